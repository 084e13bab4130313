package users_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/testkit"
)

// recorder is an OwnedData that remembers whom it cleaned up, and fails for
// the user in failFor.
type recorder struct {
	mu      sync.Mutex
	calls   []uuid.UUID
	failFor uuid.UUID
}

func (r *recorder) DeleteUserData(_ context.Context, id uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, id)
	if id == r.failFor {
		return apperr.Conflict("owned_data_busy", "Owned data is busy")
	}
	return nil
}

func (r *recorder) called(id uuid.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c == id {
			n++
		}
	}
	return n
}

func TestDelete(t *testing.T) {
	one, two := &recorder{}, &recorder{}
	a := start(t, fx.Provide(
		users.AsOwnedData(func() *recorder { return one }),
		fx.Annotate(func() *recorder { return two }, fx.As(new(users.OwnedData)), fx.ResultTags(`group:"owned_data"`)),
	))
	id := setup(t, a, "del")
	victim := newUser(t, a, "del-victim@example.com")
	missing := uuid.NewString()
	var cases []testkit.Case
	cases = append(cases, unauthenticated("DELETE", "DELETE", base+"/"+victim.ID, nil, id)...)
	cases = append(cases, []testkit.Case{
		{Name: "as user", Req: testkit.Req{Method: "DELETE", Path: base + "/" + victim.ID, Token: id.user.Access}, Status: 403, Want: needSuper},
		{Name: "self as user", Req: testkit.Req{Method: "DELETE", Path: base + "/" + id.user.ID, Token: id.user.Access}, Status: 403, Want: needSuper},
		{Name: "self as superuser", Req: testkit.Req{Method: "DELETE", Path: base + "/" + id.super.ID, Token: id.super.Access}, Status: 400,
			Want: map[string]any{"detail": "Super users are not allowed to delete themselves", "code": "cannot_delete_self"}},
		{Name: "missing", Req: testkit.Req{Method: "DELETE", Path: base + "/" + missing, Token: id.super.Access}, Status: 404, Want: notFound},
		{Name: "malformed id", Req: testkit.Req{Method: "DELETE", Path: base + "/zzz", Token: id.super.Access}, Status: 422, Want: validation("path", "user_id", "uuid_parsing")},
		{Name: "as superuser", Req: testkit.Req{Method: "DELETE", Path: base + "/" + victim.ID, Token: id.super.Access}, Status: 200, Want: true},
		{Name: "again", Req: testkit.Req{Method: "DELETE", Path: base + "/" + victim.ID, Token: id.super.Access}, Status: 404, Want: notFound},
		{Name: "gone for the superuser", Req: testkit.Req{Method: "GET", Path: base + "/" + victim.ID, Token: id.super.Access}, Status: 404, Want: notFound},
		{Name: "gone for its own token", Req: testkit.Req{Method: "GET", Path: base + "/me", Token: victim.Access}, Status: 401},
		{Name: "its refresh token is gone", Req: testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": victim.Refresh}}, Status: 401},
	}...)
	testkit.Run(t, a, cases)
	// The absence is cached: the deleted user's token costs no query. (The
	// change-log event of the delete tombstones the key once more when the
	// app hears it; the next look-up after that writes the absence.)
	a.Sync(t)
	key := auth.UserCacheKey(a.Cache, uuid.MustParse(victim.ID))
	deadline := time.Now().Add(2 * time.Second)
	for {
		a.Get(t, base+"/me", victim.Access).Expect(t, 401)
		var cached *auth.User
		if a.Cache.Get(key, &cached) && cached == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted user not cached as absent within 2s (%+v)", cached)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.Get(t, base+"/me", victim.Access).Expect(t, 401)
	vid := uuid.MustParse(victim.ID)
	if one.called(vid) != 1 || two.called(vid) != 1 {
		t.Fatalf("owned data calls: %d, %d; want 1 each", one.called(vid), two.called(vid))
	}
	if n := one.called(uuid.MustParse(id.super.ID)) + one.called(uuid.MustParse(missing)); n != 0 {
		t.Fatalf("owned data called %d times for refused deletes", n)
	}
	var tokens int
	if err := a.DB.NewRaw("SELECT count(*) FROM selfdb.refresh_tokens WHERE user_id = ?", victim.ID).Scan(t.Context(), &tokens); err != nil || tokens != 0 {
		t.Fatalf("%d refresh tokens left (%v)", tokens, err)
	}

	// A failing OwnedData stops the delete: the account stays.
	two.failFor = uuid.MustParse(id.other.ID)
	r := a.Do(t, testkit.Req{Method: "DELETE", Path: base + "/" + id.other.ID, Token: id.super.Access}).Expect(t, 409)
	if msg := testkit.Match(map[string]any{"code": "owned_data_busy"}, r.Map(t)); msg != "" {
		t.Fatal(msg)
	}
	a.Get(t, base+"/me", id.other.Access).Expect(t, 200)
}

// Rows no module cleans up that still reference the user give a 409 that
// names the blocker, never a 500, and the user stays.
func TestDeleteBlockedByForeignKey(t *testing.T) {
	a := start(t)
	super := admin(t, a)
	u := newUser(t, a, "blocked@example.com")
	ctx := t.Context()
	for _, q := range []string{
		"CREATE TABLE public.users_delete_blocker (owner uuid REFERENCES selfdb.users (id))",
		"INSERT INTO public.users_delete_blocker VALUES ('" + u.ID + "')",
	} {
		if _, err := a.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = a.DB.ExecContext(context.Background(), "DROP TABLE public.users_delete_blocker") })
	r := a.Do(t, testkit.Req{Method: "DELETE", Path: base + "/" + u.ID, Token: super.Access}).Expect(t, 409)
	if msg := testkit.Match(map[string]any{"code": "user_has_data", "detail": testkit.Present}, r.Map(t)); msg != "" {
		t.Fatal(msg)
	}
	a.Get(t, base+"/me", u.Access).Expect(t, 200)
}
