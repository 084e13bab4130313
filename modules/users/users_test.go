package users_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMe(t *testing.T) {
	a := start(t)
	id := setup(t, a, "me")
	var cases []testkit.Case
	cases = append(cases, unauthenticated("GET /me", "GET", base+"/me", nil, id)...)
	cases = append(cases, unauthenticated("PUT /me", "PUT", base+"/me", map[string]any{"full_name": "x"}, id)...)
	cases = append(cases, unauthenticated("PUT /me/password", "PUT", base+"/me/password", map[string]any{"current_password": "password123", "new_password": "password456"}, id)...)
	cases = append(cases, unauthenticated("GET /me/anon-key", "GET", base+"/me/anon-key", nil, id)...)
	cases = append(cases, []testkit.Case{
		{Name: "GET /me user", Req: testkit.Req{Method: "GET", Path: base + "/me", Token: id.user.Access}, Status: 200,
			Want: map[string]any{"id": id.user.ID, "email": "me-user@example.com", "is_active": true, "is_superuser": false,
				"full_name": nil, "created_at": testkit.Present, "updated_at": nil, "hashed_password": testkit.Absent}},
		{Name: "GET /me other user", Req: testkit.Req{Method: "GET", Path: base + "/me", Token: id.other.Access}, Status: 200,
			Want: map[string]any{"id": id.other.ID}},
		{Name: "GET /me superuser", Req: testkit.Req{Method: "GET", Path: base + "/me/", Token: id.super.Access}, Status: 200,
			Want: map[string]any{"id": id.super.ID, "is_superuser": true}},
		{Name: "GET /me/anon-key user", Req: testkit.Req{Method: "GET", Path: base + "/me/anon-key", Token: id.user.Access}, Status: 200,
			Want: map[string]any{"anon_key": testkit.AnonKey}},
		{Name: "GET /me/anon-key superuser", Req: testkit.Req{Method: "GET", Path: base + "/me/anon-key", Token: id.super.Access}, Status: 200,
			Want: map[string]any{"anon_key": testkit.AnonKey}},

		{Name: "PUT /me full name, flags ignored", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"full_name": "Me Myself", "is_superuser": true, "is_active": false}}, Status: 200,
			Want: map[string]any{"id": id.user.ID, "full_name": "Me Myself", "is_superuser": false, "is_active": true, "updated_at": testkit.Present}},
		{Name: "PUT /me stays applied", Req: testkit.Req{Method: "GET", Path: base + "/me", Token: id.user.Access}, Status: 200,
			Want: map[string]any{"full_name": "Me Myself", "is_superuser": false, "is_active": true}},
		{Name: "PUT /me null full name clears it", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.other.Access,
			Body: map[string]any{"full_name": nil}}, Status: 200, Want: map[string]any{"full_name": nil}},
		{Name: "PUT /me taken email", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"email": "ME-OTHER@example.com"}}, Status: 400, Want: emailUsed},
		{Name: "PUT /me invalid email", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"email": "nope"}}, Status: 422, Want: validation("body", "email", "value_error")},
		{Name: "PUT /me short password", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"password": "short"}}, Status: 422, Want: validation("body", "password", "string_too_short")},
		{Name: "PUT /me nul in full name", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"full_name": "a\x00"}}, Status: 422, Want: validation("body", "full_name", "string_invalid")},
		{Name: "PUT /me full name of wrong type", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"full_name": 42}}, Status: 422, Want: map[string]any{"code": "validation_failed"}},
		{Name: "PUT /me 512 KiB email", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"email": strings.Repeat("e", 1<<19) + "@example.com"}}, Status: 422, Want: validation("body", "email", "value_error")},
		{Name: "PUT /me 1 MB email is over the JSON body limit", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"email": strings.Repeat("e", 1<<20) + "@example.com"}}, Status: 413, Want: map[string]any{"code": "body_too_large"}},
		{Name: "PUT /me malformed json", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: "{", Headers: map[string]string{"Content-Type": "application/json"}}, Status: 422},
		{Name: "PUT /me wrong content type", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: "full_name=x", Headers: map[string]string{"Content-Type": "text/plain"}}, Status: 422},
		{Name: "PUT /me own email in another case", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.user.Access,
			Body: map[string]any{"email": "Me-User@example.com"}}, Status: 200, Want: map[string]any{"email": "Me-User@example.com"}},
		{Name: "PUT /me superuser stays superuser", Req: testkit.Req{Method: "PUT", Path: base + "/me", Token: id.super.Access,
			Body: map[string]any{"is_superuser": false}}, Status: 200, Want: map[string]any{"is_superuser": true}},

		{Name: "PUT /me/password wrong current", Req: testkit.Req{Method: "PUT", Path: base + "/me/password", Token: id.other.Access,
			Body: map[string]any{"current_password": "wrongpassword", "new_password": "password456"}}, Status: 400,
			Want: map[string]any{"detail": "Current password is incorrect", "code": "incorrect_password"}},
		{Name: "PUT /me/password missing fields", Req: testkit.Req{Method: "PUT", Path: base + "/me/password", Token: id.other.Access,
			Body: map[string]any{}}, Status: 422, Want: map[string]any{"detail": []any{
			map[string]any{"loc": []any{"body", "current_password"}, "type": "missing", "msg": "Field required"},
			map[string]any{"loc": []any{"body", "new_password"}, "type": "missing", "msg": "Field required"}}}},
		{Name: "PUT /me/password short new", Req: testkit.Req{Method: "PUT", Path: base + "/me/password", Token: id.other.Access,
			Body: map[string]any{"current_password": "password123", "new_password": "short"}}, Status: 422,
			Want: validation("body", "new_password", "string_too_short")},
		{Name: "PUT /me/password ok", Req: testkit.Req{Method: "PUT", Path: base + "/me/password", Token: id.other.Access,
			Body: map[string]any{"current_password": "password123", "new_password": "password456"}}, Status: 200, Want: true},
	}...)
	testkit.Run(t, a, cases)

	// The new password works, the old one doesn't; the old refresh token is revoked.
	login(t, a, "me-other@example.com", "password456")
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": "me-other@example.com", "password": "password123"}}).Expect(t, 400)
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": id.other.Refresh}}).Expect(t, 401)
	// The email change took effect for login.
	login(t, a, "me-user@example.com", "password123")
	// full_name is stored, not just echoed.
	var fullName string
	if err := a.DB.NewRaw("SELECT full_name FROM selfdb.users WHERE id = ?", id.user.ID).Scan(t.Context(), &fullName); err != nil || fullName != "Me Myself" {
		t.Fatalf("stored full_name %q, %v", fullName, err)
	}
}

func TestDirectory(t *testing.T) {
	a := start(t)
	// Counts and pages are over the whole table: start from the superuser alone.
	if _, err := a.DB.NewRaw("DELETE FROM selfdb.users WHERE NOT is_superuser OR email <> 'admin@example.com'").Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	id := setup(t, a, "dir")
	// Another superuser, created after the users: the filter must still
	// apply before paging.
	a.Do(t, testkit.Req{Method: "POST", Path: base, Token: id.super.Access,
		Body: map[string]any{"email": "dir-super2@example.com", "password": "password123", "is_superuser": true}}).Expect(t, 200)
	nonSuper := []string{id.user.ID, id.other.ID, id.deactivated.ID}
	all := append([]string{id.super.ID}, append(nonSuper, "")...)

	ids := func(r *testkit.Response) []string {
		var us []map[string]any
		r.JSON(t, &us)
		out := make([]string, len(us))
		for i, u := range us {
			out[i], _ = u["id"].(string)
			if _, ok := u["hashed_password"]; ok {
				t.Error("hashed_password in a list")
			}
		}
		return out
	}
	expectIDs := func(want ...string) func(t *testing.T, r *testkit.Response) {
		return func(t *testing.T, r *testkit.Response) {
			got := ids(r)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("ids %v, want %v", got, want)
			}
		}
	}
	var cases []testkit.Case
	cases = append(cases, unauthenticated("GET /users", "GET", base, nil, id)...)
	cases = append(cases, unauthenticated("GET /list", "GET", base+"/list", nil, id)...)
	cases = append(cases, unauthenticated("GET /count", "GET", base+"/count", nil, id)...)
	cases = append(cases, []testkit.Case{
		{Name: "GET /users user", Req: testkit.Req{Method: "GET", Path: base, Token: id.user.Access}, Status: 403, Want: needSuper},
		{Name: "GET /users other user", Req: testkit.Req{Method: "GET", Path: base, Token: id.other.Access}, Status: 403, Want: needSuper},
		{Name: "GET /users superuser", Req: testkit.Req{Method: "GET", Path: base, Token: id.super.Access}, Status: 200,
			Check: func(t *testing.T, r *testkit.Response) {
				got := ids(r)
				if len(got) != 5 || strings.Join(got[:4], ",") != strings.Join(all[:4], ",") {
					t.Errorf("ids %v, want %v then the second superuser", got, all[:4])
				}
			}},
		{Name: "GET /users/ trailing slash", Req: testkit.Req{Method: "GET", Path: base + "/", Token: id.super.Access}, Status: 200},
		{Name: "GET /users paged", Req: testkit.Req{Method: "GET", Path: base + "?skip=1&limit=2", Token: id.super.Access}, Status: 200,
			Check: expectIDs(id.user.ID, id.other.ID)},
		{Name: "GET /users limit 1001", Req: testkit.Req{Method: "GET", Path: base + "?limit=1001", Token: id.super.Access}, Status: 422, Want: validation("query", "limit", "less_than_equal")},
		{Name: "GET /users limit 0", Req: testkit.Req{Method: "GET", Path: base + "?limit=0", Token: id.super.Access}, Status: 422, Want: validation("query", "limit", "greater_than_equal")},
		{Name: "GET /users skip -1", Req: testkit.Req{Method: "GET", Path: base + "?skip=-1", Token: id.super.Access}, Status: 422, Want: validation("query", "skip", "greater_than_equal")},
		{Name: "GET /users limit abc", Req: testkit.Req{Method: "GET", Path: base + "?limit=abc", Token: id.super.Access}, Status: 422, Want: validation("query", "limit", "int_parsing")},
		{Name: "GET /users limit 1000", Req: testkit.Req{Method: "GET", Path: base + "?limit=1000", Token: id.super.Access}, Status: 200},
		{Name: "GET /users skip past the end", Req: testkit.Req{Method: "GET", Path: base + "?skip=100", Token: id.super.Access}, Status: 200, Want: []any{}},

		{Name: "GET /list user", Req: testkit.Req{Method: "GET", Path: base + "/list", Token: id.user.Access}, Status: 200, Check: expectIDs(nonSuper...)},
		{Name: "GET /list superuser", Req: testkit.Req{Method: "GET", Path: base + "/list", Token: id.super.Access}, Status: 200, Check: expectIDs(nonSuper...)},
		{Name: "GET /list filter before paging", Req: testkit.Req{Method: "GET", Path: base + "/list?skip=0&limit=1", Token: id.other.Access}, Status: 200, Check: expectIDs(id.user.ID)},
		{Name: "GET /list second page", Req: testkit.Req{Method: "GET", Path: base + "/list?skip=2&limit=2", Token: id.other.Access}, Status: 200, Check: expectIDs(id.deactivated.ID)},
		{Name: "GET /list bad limit", Req: testkit.Req{Method: "GET", Path: base + "/list?limit=5000", Token: id.user.Access}, Status: 422},

		{Name: "GET /count user", Req: testkit.Req{Method: "GET", Path: base + "/count", Token: id.user.Access}, Status: 200, Want: 3},
		{Name: "GET /count superuser", Req: testkit.Req{Method: "GET", Path: base + "/count", Token: id.super.Access}, Status: 200, Want: 3},
	}...)
	testkit.Run(t, a, cases)
}

func TestStableOrderOnEqualTimestamps(t *testing.T) {
	a := start(t)
	super := admin(t, a)
	lo, hi := "00000000-0000-4000-8000-000000000001", "ffffffff-0000-4000-8000-000000000001"
	// Inserted high id first, same created_at: the id breaks the tie.
	if _, err := a.DB.NewRaw(`INSERT INTO selfdb.users (id, email, hashed_password, created_at) VALUES
		(?, 'tie-hi@example.com', 'x', '2000-01-01T00:00:00Z'), (?, 'tie-lo@example.com', 'x', '2000-01-01T00:00:00Z')`, hi, lo).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	var us []map[string]any
	a.Get(t, base+"?limit=2", super.Access).Expect(t, 200).JSON(t, &us)
	if len(us) != 2 || us[0]["id"] != lo || us[1]["id"] != hi {
		t.Fatalf("order %v", us)
	}
}

func TestUserByID(t *testing.T) {
	a := start(t)
	id := setup(t, a, "byid")
	missing := uuid.NewString()
	var cases []testkit.Case
	cases = append(cases, unauthenticated("GET /{id}", "GET", base+"/"+id.user.ID, nil, id)...)
	cases = append(cases, unauthenticated("PUT /{id}", "PUT", base+"/"+id.user.ID, map[string]any{"full_name": "x"}, id)...)
	cases = append(cases, unauthenticated("POST /users", "POST", base, map[string]any{"email": "byid-new@example.com", "password": "password123"}, id)...)
	cases = append(cases, []testkit.Case{
		{Name: "GET own", Req: testkit.Req{Method: "GET", Path: base + "/" + id.user.ID, Token: id.user.Access}, Status: 200,
			Want: map[string]any{"id": id.user.ID, "email": "byid-user@example.com", "hashed_password": testkit.Absent}},
		{Name: "GET another's as user", Req: testkit.Req{Method: "GET", Path: base + "/" + id.other.ID, Token: id.user.Access}, Status: 403, Want: needSuper},
		{Name: "GET superuser's as user", Req: testkit.Req{Method: "GET", Path: base + "/" + id.super.ID, Token: id.other.Access}, Status: 403, Want: needSuper},
		{Name: "GET missing as user", Req: testkit.Req{Method: "GET", Path: base + "/" + missing, Token: id.user.Access}, Status: 403, Want: needSuper},
		{Name: "GET any as superuser", Req: testkit.Req{Method: "GET", Path: base + "/" + id.other.ID, Token: id.super.Access}, Status: 200,
			Want: map[string]any{"id": id.other.ID}},
		{Name: "GET deactivated as superuser", Req: testkit.Req{Method: "GET", Path: base + "/" + id.deactivated.ID, Token: id.super.Access}, Status: 200,
			Want: map[string]any{"id": id.deactivated.ID, "is_active": false}},
		{Name: "GET missing as superuser", Req: testkit.Req{Method: "GET", Path: base + "/" + missing, Token: id.super.Access}, Status: 404, Want: notFound},
		{Name: "GET malformed id", Req: testkit.Req{Method: "GET", Path: base + "/not-a-uuid", Token: id.super.Access}, Status: 422, Want: validation("path", "user_id", "uuid_parsing")},

		{Name: "POST as user", Req: testkit.Req{Method: "POST", Path: base, Token: id.user.Access, Body: map[string]any{"email": "byid-new@example.com", "password": "password123"}}, Status: 403, Want: needSuper},
		{Name: "POST as superuser", Req: testkit.Req{Method: "POST", Path: base, Token: id.super.Access,
			Body: map[string]any{"email": "byid-new@example.com", "password": "password123", "full_name": "New One"}}, Status: 200,
			Want: map[string]any{"id": testkit.Present, "email": "byid-new@example.com", "full_name": "New One", "is_active": true, "is_superuser": false, "hashed_password": testkit.Absent}},
		{Name: "POST superuser with flags", Req: testkit.Req{Method: "POST", Path: base + "/", Token: id.super.Access,
			Body: map[string]any{"email": "byid-new-super@example.com", "password": "password123", "is_superuser": true, "is_active": false}}, Status: 200,
			Want: map[string]any{"is_active": false, "is_superuser": true}},
		{Name: "POST duplicate", Req: testkit.Req{Method: "POST", Path: base, Token: id.super.Access,
			Body: map[string]any{"email": "BYID-new@example.com", "password": "password123"}}, Status: 400, Want: emailUsed},
		{Name: "POST missing fields", Req: testkit.Req{Method: "POST", Path: base, Token: id.super.Access, Body: map[string]any{}}, Status: 422,
			Want: map[string]any{"detail": []any{
				map[string]any{"loc": []any{"body", "email"}, "type": "missing", "msg": "Field required"},
				map[string]any{"loc": []any{"body", "password"}, "type": "missing", "msg": "Field required"}}}},
		{Name: "POST invalid email", Req: testkit.Req{Method: "POST", Path: base, Token: id.super.Access,
			Body: map[string]any{"email": "bad", "password": "password123"}}, Status: 422, Want: validation("body", "email", "value_error")},
		{Name: "POST 512 KiB email", Req: testkit.Req{Method: "POST", Path: base, Token: id.super.Access,
			Body: map[string]any{"email": strings.Repeat("a", 1<<19) + "@example.com", "password": "password123"}}, Status: 422, Want: validation("body", "email", "value_error")},
		{Name: "POST 1 MB email is over the JSON body limit", Req: testkit.Req{Method: "POST", Path: base, Token: id.super.Access,
			Body: map[string]any{"email": strings.Repeat("a", 1<<20) + "@example.com", "password": "password123"}}, Status: 413, Want: map[string]any{"code": "body_too_large"}},
		{Name: "POST wrong flag type", Req: testkit.Req{Method: "POST", Path: base, Token: id.super.Access,
			Body: map[string]any{"email": "byid-x@example.com", "password": "password123", "is_superuser": "yes"}}, Status: 422, Want: validation("body", "is_superuser", "bool_type")},

		{Name: "PUT as user", Req: testkit.Req{Method: "PUT", Path: base + "/" + id.user.ID, Token: id.user.Access, Body: map[string]any{"is_superuser": true}}, Status: 403, Want: needSuper},
		{Name: "PUT another as user", Req: testkit.Req{Method: "PUT", Path: base + "/" + id.other.ID, Token: id.user.Access, Body: map[string]any{"full_name": "x"}}, Status: 403, Want: needSuper},
		{Name: "PUT as superuser", Req: testkit.Req{Method: "PUT", Path: base + "/" + id.other.ID, Token: id.super.Access,
			Body: map[string]any{"full_name": "Renamed", "email": "byid-renamed@example.com"}}, Status: 200,
			Want: map[string]any{"id": id.other.ID, "full_name": "Renamed", "email": "byid-renamed@example.com", "is_active": true, "is_superuser": false, "updated_at": testkit.Present}},
		{Name: "PUT taken email", Req: testkit.Req{Method: "PUT", Path: base + "/" + id.other.ID, Token: id.super.Access,
			Body: map[string]any{"email": "byid-user@example.com"}}, Status: 400, Want: emailUsed},
		{Name: "PUT missing", Req: testkit.Req{Method: "PUT", Path: base + "/" + missing, Token: id.super.Access, Body: map[string]any{"full_name": "x"}}, Status: 404, Want: notFound},
		{Name: "PUT malformed id", Req: testkit.Req{Method: "PUT", Path: base + "/123", Token: id.super.Access, Body: map[string]any{}}, Status: 422, Want: validation("path", "user_id", "uuid_parsing")},
		{Name: "PUT invalid password", Req: testkit.Req{Method: "PUT", Path: base + "/" + id.other.ID, Token: id.super.Access, Body: map[string]any{"password": "x"}}, Status: 422},
		{Name: "PUT reactivate", Req: testkit.Req{Method: "PUT", Path: base + "/" + id.deactivated.ID, Token: id.super.Access, Body: map[string]any{"is_active": true}}, Status: 200,
			Want: map[string]any{"is_active": true}},
		{Name: "reactivated user's token works again", Req: testkit.Req{Method: "GET", Path: base + "/me", Token: id.deactivated.Access}, Status: 200},
	}...)
	testkit.Run(t, a, cases)

	// A superuser-set password works and revokes the user's sessions.
	a.Do(t, testkit.Req{Method: "PUT", Path: base + "/" + id.user.ID, Token: id.super.Access, Body: map[string]any{"password": "setbyadmin"}}).Expect(t, 200)
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": id.user.Refresh}}).Expect(t, 401)
	login(t, a, "byid-user@example.com", "setbyadmin")
	// The renamed user logs in with the new email.
	login(t, a, "byid-renamed@example.com", "password123")
}
