package main

import (
	"strings"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

// The product's OpenAPI document is valid OpenAPI 3 and describes every
// route the server registers, under its method: a route added without a
// description in its module's API fails here.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	app := testkit.Start(t, testkit.With(modules))
	if problems := testkit.OpenAPIProblems(t, app); len(problems) > 0 {
		t.Fatalf("the OpenAPI document is incomplete:\n%s", strings.Join(problems, "\n"))
	}
}
