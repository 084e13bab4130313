package testkit

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
)

// OpenAPIProblems fetches the app's OpenAPI document (no anon key: it is
// public), validates it as OpenAPI 3 (kin-openapi) and lists what keeps a
// client generator from using it: every route the app serves must be in it
// under its method, described (not "x-undocumented"), with a summary and
// its responses. Nil means the document is complete.
func OpenAPIProblems(t testing.TB, a *App) []string {
	t.Helper()
	r := a.Do(t, Req{Method: "GET", Path: "/api/v1/openapi.json", NoKey: true}).Expect(t, 200)
	var problems []string
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		return []string{"the document does not load: " + err.Error()}
	}
	if err := doc.Validate(context.Background()); err != nil {
		problems = append(problems, "the document is not valid OpenAPI 3: "+err.Error())
	}
	var raw struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, route := range a.Fiber.GetRoutes(true) {
		switch route.Method {
		case fiber.MethodHead, fiber.MethodConnect, fiber.MethodTrace:
			continue
		}
		path := openAPIPath(route.Path)
		name := route.Method + " " + route.Path
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(route.Method) == nil {
			problems = append(problems, name+": not in the document (as "+path+")")
			continue
		}
		op := item.GetOperation(route.Method)
		var ext struct {
			Undocumented bool `json:"x-undocumented"`
		}
		_ = json.Unmarshal(raw.Paths[path][strings.ToLower(route.Method)], &ext)
		switch {
		case ext.Undocumented:
			problems = append(problems, name+": registered without a description (describe it in the module's API)")
		case op.Summary == "":
			problems = append(problems, name+": no summary")
		case len(op.Responses.Map()) < 2:
			problems = append(problems, name+": no responses besides the default")
		}
	}
	sort.Strings(problems)
	return problems
}

// openAPIPath is a Fiber path in the document's syntax.
func openAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			segs[i] = "{" + strings.TrimSuffix(s[1:], "?") + "}"
		case s == "*" || s == "+":
			segs[i] = "{path}"
		}
	}
	return strings.Join(segs, "/")
}
