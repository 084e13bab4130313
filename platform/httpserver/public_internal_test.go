package httpserver

import "testing"

// A Public entry ending in "/" opens every path under it; any other entry
// opens that one path (a trailing slash allowed), nothing beside or below it.
func TestPublicPathEntries(t *testing.T) {
	declared := []string{"/files/", "/api/v1/auth/refresh", "/api/v1/realtime/ws"}
	for path, want := range map[string]bool{
		"/files/download/b/o":            true,
		"/files/":                        true,
		"/files":                         false,
		"/filesx/y":                      false,
		"/api/v1/auth/refresh":           true,
		"/api/v1/auth/refresh/":          true,
		"/api/v1/auth/refreshx":          false,
		"/api/v1/auth/refresh/x":         false,
		"/api/v1/auth/refresh//":         false,
		"/api/v1/auth/login":             false,
		"/api/v1/auth":                   false,
		"/api/v1/realtime/ws":            true,
		"/api/v1/realtime/ws/extra":      false,
		"/api/v1/realtime/wsx":           false,
		"/readyz":                        true,
		"/api/v1/users/me":               false,
		"/static/app.js":                 true,
		"/api/v1/tables/refresh":         false,
		"/api/v1/auth/refresh/../logout": false,
	} {
		if got := publicPath("POST", path, declared); got != want {
			t.Errorf("publicPath(%q) = %v, want %v", path, got, want)
		}
	}
	if !publicPath("OPTIONS", "/api/v1/users/me", declared) {
		t.Error("preflight requests need no key")
	}
}
