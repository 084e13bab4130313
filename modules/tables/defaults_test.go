package tables_test

import (
	"fmt"
	"testing"

	"github.com/selfdb/selfdb/platform/testkit"
)

// defaultMatrix is the identity matrix of a table with the default policy
// (api.md §6.1, amended): anyone signed in reads and inserts; the owner of a
// row updates and deletes it when the table has an owner column, only a
// superuser when it has none. alice owns the target rows.
func defaultMatrix(t *testing.T, w *world, table string, owned bool) []testkit.Case {
	t.Helper()
	base := "/api/v1/tables/" + table
	row := func() string {
		var id int
		q := fmt.Sprintf(`INSERT INTO public.%s (note) VALUES ('target') RETURNING id`, table)
		args := []any{}
		if owned {
			q = fmt.Sprintf(`INSERT INTO public.%s (owner_id, note) VALUES ($1, 'target') RETURNING id`, table)
			args = append(args, w.alice.ID)
		}
		if err := w.DB.DB.QueryRow(q, args...).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(id)
	}
	change := map[string]int{"owner": 403, "other": 403}
	if owned {
		change = map[string]int{"owner": 200, "other": 404}
	}
	var cases []testkit.Case
	for _, who := range []struct {
		name  string
		token string
		chg   int
	}{{"anon", "", 401}, {"owner", w.alice.Token, change["owner"]}, {"other", w.bob.Token, change["other"]}, {"superuser", w.su.Token, 200}} {
		read, insert := 200, 200
		if who.token == "" {
			read, insert = 401, 401
		}
		upd, del := row(), row()
		cases = append(cases,
			testkit.Case{Name: table + "/" + who.name + "/read", Req: testkit.Req{Method: "GET", Path: base + "/data", Token: who.token}, Status: read},
			testkit.Case{Name: table + "/" + who.name + "/insert", Req: testkit.Req{Method: "POST", Path: base + "/data", Token: who.token, Body: map[string]any{"note": "new"}}, Status: insert},
			testkit.Case{Name: table + "/" + who.name + "/update", Req: testkit.Req{Method: "PUT", Path: base + "/data/" + upd + "?id_column=id", Token: who.token, Body: map[string]any{"note": "changed"}}, Status: who.chg,
				Check: func(t *testing.T, r *testkit.Response) {
					want := 0
					if who.chg == 200 {
						want = 1
					}
					if n := w.count(t, fmt.Sprintf(`SELECT count(*) FROM public.%s WHERE id = %s AND note = 'changed'`, table, upd)); n != want {
						t.Errorf("row changed %d times, want %d", n, want)
					}
				}},
			testkit.Case{Name: table + "/" + who.name + "/delete", Req: testkit.Req{Method: "DELETE", Path: base + "/data/" + del + "?id_column=id", Token: who.token}, Status: who.chg,
				Check: func(t *testing.T, r *testkit.Response) {
					want := 1
					if who.chg == 200 {
						want = 0
					}
					if n := w.count(t, fmt.Sprintf(`SELECT count(*) FROM public.%s WHERE id = %s`, table, del)); n != want {
						t.Errorf("%d rows left, want %d", n, want)
					}
				}},
		)
	}
	return cases
}

var (
	ownedDefaults   = map[string]any{"read": "authenticated", "insert": "authenticated", "update": "owner", "delete": "owner"}
	unownedDefaults = map[string]any{"read": "authenticated", "insert": "authenticated", "update": "superuser", "delete": "superuser"}
)

// A new table without an access body gets the secure defaults, and the
// create response says so.
func TestDefaultPolicyOfNewTables(t *testing.T) {
	w := start(t)
	create := func(name string, owned bool) testkit.Req {
		body := map[string]any{"name": name, "columns": []map[string]any{
			{"name": "id", "type": "serial", "primary_key": true}, {"name": "note", "type": "text"}}}
		if owned {
			body["columns"] = append(body["columns"].([]map[string]any), map[string]any{"name": "owner_id", "type": "uuid"})
			body["owner_column"] = "owner_id"
		}
		return testkit.Req{Method: "POST", Path: "/api/v1/tables", Token: w.su.Token, Body: body}
	}
	testkit.Run(t, w.App, []testkit.Case{
		{Name: "create with an owner column", Req: create("owned", true), Status: 201,
			Want: map[string]any{"created": true, "access": ownedDefaults, "owner_column": "owner_id"}},
		{Name: "create without", Req: create("unowned", false), Status: 201,
			Want: map[string]any{"created": true, "access": unownedDefaults, "owner_column": nil}},
		{Name: "describe owned", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/owned", Token: w.alice.Token}, Status: 200,
			Want: map[string]any{"access": ownedDefaults, "owner_column": "owner_id"}},
		{Name: "describe unowned", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/unowned", Token: w.alice.Token}, Status: 200,
			Want: map[string]any{"access": unownedDefaults}},
	})
	testkit.Run(t, w.App, defaultMatrix(t, w, "owned", true))
	testkit.Run(t, w.App, defaultMatrix(t, w, "unowned", false))
}

// A table created through SQL gets the same defaults when first seen, in
// the listing as in its description; given an owner column later, its
// update and delete levels follow it (they were never chosen), while levels
// chosen explicitly stay.
func TestDefaultPolicyOfSQLTables(t *testing.T) {
	w := start(t)
	w.sql(t, `CREATE TABLE public.from_sql (id serial PRIMARY KEY, note text)`)
	w.sql(t, `CREATE TABLE public.listed_first (id serial PRIMARY KEY)`)
	entry := func(name string, want map[string]any) func(t *testing.T, r *testkit.Response) {
		return func(t *testing.T, r *testkit.Response) {
			var list []map[string]any
			r.JSON(t, &list)
			for _, e := range list {
				if e["name"] == name {
					if msg := testkit.Match(want, e["access"]); msg != "" {
						t.Error(msg)
					}
					return
				}
			}
			t.Errorf("%s not listed: %s", name, r.Body)
		}
	}
	testkit.Run(t, w.App, []testkit.Case{
		{Name: "never seen, listed", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables", Token: w.alice.Token}, Status: 200, Check: entry("listed_first", unownedDefaults)},
		{Name: "first seen", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables/from_sql", Token: w.alice.Token}, Status: 200,
			Want: map[string]any{"access": unownedDefaults, "owner_column": nil}},
		{Name: "stored, listed", Req: testkit.Req{Method: "GET", Path: "/api/v1/tables", Token: w.alice.Token}, Status: 200, Check: entry("from_sql", unownedDefaults)},
	})
	if n := w.count(t, `SELECT count(*) FROM selfdb.table_policies WHERE table_name = 'from_sql' AND update_level IS NULL AND delete_level IS NULL`); n != 1 {
		t.Fatalf("first-seen policy row: %d rows with unset update/delete levels", n)
	}
	testkit.Run(t, w.App, defaultMatrix(t, w, "from_sql", false))

	// The owner column comes after the table was first seen.
	w.sql(t, `ALTER TABLE public.from_sql ADD COLUMN owner_id uuid`)
	w.Sync(t)
	testkit.Run(t, w.App, []testkit.Case{
		{Name: "owner column set later", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/from_sql", Token: w.su.Token, Body: map[string]any{"owner_column": "owner_id"}}, Status: 200,
			Want: map[string]any{"access": ownedDefaults, "owner_column": "owner_id"}},
	})
	testkit.Run(t, w.App, defaultMatrix(t, w, "from_sql", true))
	testkit.Run(t, w.App, []testkit.Case{
		{Name: "a chosen level stays", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/from_sql", Token: w.su.Token, Body: map[string]any{"access": map[string]any{"delete": "superuser"}}}, Status: 200,
			Want: map[string]any{"access": map[string]any{"update": "owner", "delete": "superuser"}}},
		{Name: "owner column cleared: unset levels fall back to superuser", Req: testkit.Req{Method: "PUT", Path: "/api/v1/tables/from_sql", Token: w.su.Token, Body: map[string]any{"owner_column": nil}}, Status: 200,
			Want: map[string]any{"access": unownedDefaults, "owner_column": nil}},
	})
}
