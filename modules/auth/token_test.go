package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// AccessToken mints a token that acts as the account (a function's owner);
// a deactivated or unknown account gets none.
func TestAccessTokenForAnAccount(t *testing.T) {
	var svc *auth.Service
	a := testkit.Start(t, testkit.With(auth.Module, users.Module, fx.Populate(&svc)))
	ctx := context.Background()
	admin := login(t, a, adminEmail, adminPassword)
	u := newUser(t, a, "minted@example.com")

	tok, err := svc.AccessToken(ctx, uuid.MustParse(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	me := a.Get(t, "/api/v1/users/me", tok).Expect(t, 200).Map(t)
	if me["id"] != u.ID {
		t.Fatalf("the minted token acts as %v, want %s", me["id"], u.ID)
	}
	if c := claims(t, tok); c["typ"] != "access" || c["is_superuser"] != false {
		t.Errorf("claims %v", c)
	}

	a.Do(t, testkit.Req{Method: "PUT", Path: "/api/v1/users/" + u.ID, Token: admin.Access, Body: map[string]any{"is_active": false}}).Expect(t, 200)
	if _, err := svc.AccessToken(ctx, uuid.MustParse(u.ID)); !errors.Is(err, auth.ErrUserGone) {
		t.Errorf("deactivated account: %v, want user_gone", err)
	}
	if _, err := svc.AccessToken(ctx, uuid.New()); !errors.Is(err, auth.ErrUserGone) {
		t.Errorf("unknown account: %v, want user_gone", err)
	}
}
