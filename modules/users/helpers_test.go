package users_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const base = "/api/v1/users"

func start(t *testing.T, opts ...fx.Option) *testkit.App {
	t.Helper()
	return testkit.Start(t, testkit.With(append([]fx.Option{auth.Module, users.Module}, opts...)...))
}

// session is a logged-in user.
type session struct {
	ID, Email, Access, Refresh string
}

func login(t *testing.T, a *testkit.App, email, password string) session {
	t.Helper()
	m := a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": password}}).Expect(t, 200).Map(t)
	return session{ID: m["user_id"].(string), Email: email, Access: m["access_token"].(string), Refresh: m["refresh_token"].(string)}
}

func newUser(t *testing.T, a *testkit.App, email string) session {
	t.Helper()
	a.Do(t, testkit.Req{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{"email": email, "password": "password123"}}).Expect(t, 200)
	return login(t, a, email, "password123")
}

func admin(t *testing.T, a *testkit.App) session {
	return login(t, a, "admin@example.com", "adminpassword")
}

// expired is a correctly signed access token for id that expired a minute ago.
func expired(t *testing.T, id string) string {
	t.Helper()
	now := time.Now()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": id, "email": "x@example.com", "is_superuser": false, "typ": "access",
		"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Minute).Unix(), "jti": uuid.NewString(),
	}).SignedString([]byte(testkit.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// identities are the callers of the matrix.
type identities struct {
	user, other, super, deactivated session
	expired                         string
}

func setup(t *testing.T, a *testkit.App, prefix string) identities {
	t.Helper()
	id := identities{
		user:        newUser(t, a, prefix+"-user@example.com"),
		other:       newUser(t, a, prefix+"-other@example.com"),
		super:       admin(t, a),
		deactivated: newUser(t, a, prefix+"-deactivated@example.com"),
	}
	a.Do(t, testkit.Req{Method: "PUT", Path: base + "/" + id.deactivated.ID, Token: id.super.Access, Body: map[string]any{"is_active": false}}).Expect(t, 200)
	id.expired = expired(t, id.user.ID)
	return id
}

var (
	needUser  = map[string]any{"detail": "Authentication with user credentials required for this endpoint", "code": "not_authenticated"}
	needSuper = map[string]any{"detail": "The user doesn't have enough privileges", "code": "not_enough_privileges"}
	notFound  = map[string]any{"detail": "The user with this id does not exist in the system", "code": "user_not_found"}
	emailUsed = map[string]any{"detail": "The user with this email already exists in the system.", "code": "email_exists"}
	bearerHdr = map[string]string{"WWW-Authenticate": "Bearer"}
)

// unauthenticated are the three ways of being anon on a user route.
func unauthenticated(name, method, path string, body any, id identities) []testkit.Case {
	return []testkit.Case{
		{Name: name + " anon", Req: testkit.Req{Method: method, Path: path, Body: body}, Status: 401, Want: needUser, WantHeader: bearerHdr},
		{Name: name + " deactivated", Req: testkit.Req{Method: method, Path: path, Body: body, Token: id.deactivated.Access}, Status: 401, Want: needUser, WantHeader: bearerHdr},
		{Name: name + " expired token", Req: testkit.Req{Method: method, Path: path, Body: body, Token: id.expired}, Status: 401, Want: needUser, WantHeader: bearerHdr},
	}
}

func validation(where, field, typ string) map[string]any {
	return map[string]any{"code": "validation_failed", "detail": []any{map[string]any{"loc": []any{where, field}, "type": typ, "msg": testkit.Present}}}
}
