package tables_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// pageOut is one GET /{t}/data answer, its rows kept as sent.
type pageOut struct {
	Data     json.RawMessage `json:"data"`
	Metadata struct {
		TotalCount *int64  `json:"total_count"`
		Page       int     `json:"page"`
		PageSize   int     `json:"page_size"`
		TotalPages *int64  `json:"total_pages"`
		NextCursor *string `json:"next_cursor"`
	} `json:"metadata"`
}

func getPage(t *testing.T, w *world, token, path string) pageOut {
	t.Helper()
	var p pageOut
	w.do(t, "GET", path, token, nil).Expect(t, 200).JSON(t, &p)
	return p
}

// withCursor adds cursor to a path that has a query string or not.
func withCursor(path, cursor string) string {
	if strings.Contains(path, "?") {
		return path + "&cursor=" + cursor
	}
	return path + "?cursor=" + cursor
}

// walk reads the page at path and follows next_cursor to the end.
func walk(t *testing.T, w *world, token, path string) []pageOut {
	t.Helper()
	pages := []pageOut{getPage(t, w, token, path)}
	for pages[len(pages)-1].Metadata.NextCursor != nil {
		if len(pages) > 1000 {
			t.Fatalf("%s: no end after 1000 pages", path)
		}
		pages = append(pages, getPage(t, w, token, withCursor(path, *pages[len(pages)-1].Metadata.NextCursor)))
	}
	return pages
}

// rowIDs reads the id of each row of a page.
func rowIDs(t *testing.T, data json.RawMessage) []int {
	t.Helper()
	var rows []struct {
		ID int `json:"id"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatalf("rows %s: %v", data, err)
	}
	out := []int{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

// TestCursorWalkMatchesPages: for every ordering column type, both
// directions and multi-column orders, with NULLs, NaN, infinities and ties,
// following next_cursor serves byte for byte the pages page=k serves, with
// the same metadata, and stops after the last row.
func TestCursorWalkMatchesPages(t *testing.T) {
	w := kindsWorld(t)
	var orders []string
	for _, c := range kindsColumns {
		name := c["name"].(string)
		if name == "js" || name == "x" { // json and xml have no ordering
			continue
		}
		orders = append(orders, name, name+":desc")
	}
	orders = append(orders, "", "t,num102:desc", "b:desc,tstz", "ch,vc:desc,d", "num102:desc,id:desc", "id:desc", "i2d,ta:desc")
	for _, order := range orders {
		for _, size := range []int{1, 4} {
			base := fmt.Sprintf("/api/v1/tables/kinds/data?page_size=%d", size)
			if order != "" {
				base += "&order_by=" + q(order)
			}
			t.Run(fmt.Sprintf("%s/%d", order, size), func(t *testing.T) {
				pages := walk(t, w, "", base)
				if want := (6 + size - 1) / size; len(pages) != want {
					t.Fatalf("%d pages, want %d", len(pages), want)
				}
				var seen []int
				for i, p := range pages {
					byPage := getPage(t, w, "", fmt.Sprintf("%s&page=%d", base, i+1))
					if string(p.Data) != string(byPage.Data) {
						t.Fatalf("page %d by cursor:\n%s\nby number:\n%s", i+1, p.Data, byPage.Data)
					}
					if p.Metadata.Page != i+1 || *p.Metadata.TotalCount != 6 || *p.Metadata.TotalPages != int64(len(pages)) {
						t.Errorf("page %d metadata %+v", i+1, p.Metadata)
					}
					if (byPage.Metadata.NextCursor == nil) != (i == len(pages)-1) {
						t.Errorf("page %d by number: next_cursor %v", i+1, byPage.Metadata.NextCursor)
					}
					seen = append(seen, rowIDs(t, p.Data)...)
				}
				slices.Sort(seen)
				if !slices.Equal(seen, []int{1, 2, 3, 4, 5, 6}) {
					t.Errorf("rows seen %v", seen)
				}
			})
		}
	}
	t.Run("a page number's cursor goes on from there", func(t *testing.T) {
		base := "/api/v1/tables/kinds/data?page_size=2&order_by=f8:desc&select=id,f8"
		p2 := getPage(t, w, "", base+"&page=2")
		p3 := getPage(t, w, "", withCursor(base, *p2.Metadata.NextCursor))
		if want := getPage(t, w, "", base+"&page=3"); string(p3.Data) != string(want.Data) || p3.Metadata.Page != 3 || p3.Metadata.NextCursor != nil {
			t.Errorf("after page 2: %s %+v, want %s", p3.Data, p3.Metadata, want.Data)
		}
	})
	t.Run("filters and select", func(t *testing.T) {
		base := "/api/v1/tables/kinds/data?page_size=1&select=t,num102&order_by=t:desc&num102=is.not_null&t=neq.x"
		pages := walk(t, w, "", base)
		var got []string
		for _, p := range pages {
			got = append(got, string(p.Data))
		}
		want := `[{"t":"quote\" back\\ nl\n tab\t ctl\u0001 é ✓ 😀","num102":"-99999999.99"}] [{"t":"cherry","num102":"0.10"}] [{"t":"apple","num102":"12.50"}] [{"t":"apple","num102":"12.50"}] [{"t":"Banana","num102":"0.00"}]`
		if strings.Join(got, " ") != want {
			t.Errorf("pages %s", strings.Join(got, " "))
		}
	})
}

// tiesWorld makes a table of 40 rows whose order columns repeat and hold
// NULLs: grp has 4 values, opt is NULL in every third row.
func tiesWorld(t *testing.T) *world {
	t.Helper()
	w := start(t)
	w.create(t, map[string]any{"name": "ties", "access": map[string]any{"read": "public", "insert": "public", "update": "public", "delete": "public"},
		"columns": []map[string]any{
			{"name": "id", "type": "integer", "primary_key": true},
			{"name": "grp", "type": "integer", "nullable": false},
			{"name": "opt", "type": "text"},
		}})
	w.sql(t, `INSERT INTO public.ties SELECT g, g % 4, CASE WHEN g % 3 = 0 THEN NULL ELSE chr(97 + g % 5) END
		FROM generate_series(40, 1, -1) g`)
	return w
}

// TestCursorTiesAndNulls: rows that tie on order_by come in primary key
// order, by page number as by cursor; NULLs come last ascending and first
// descending, as Postgres sorts them.
func TestCursorTiesAndNulls(t *testing.T) {
	w := tiesWorld(t)
	want := func(order string) []int {
		var ids []int
		rows, err := w.DB.DB.Query(`SELECT id FROM public.ties ORDER BY ` + order)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	for _, c := range []struct{ orderBy, sql string }{
		{"grp", "grp, id"},
		{"grp:desc", "grp DESC, id"},
		{"opt", "opt, id"},
		{"opt:desc", "opt DESC, id"},
		{"opt,grp:desc", "opt, grp DESC, id"},
		{"opt:desc,grp", "opt DESC, grp, id"},
		{"grp:desc,opt", "grp DESC, opt, id"},
		{"grp,id:desc", "grp, id DESC"},
	} {
		t.Run(c.orderBy, func(t *testing.T) {
			base := "/api/v1/tables/ties/data?page_size=3&order_by=" + q(c.orderBy)
			var byCursor, byNumber []int
			pages := walk(t, w, "", base)
			for i, p := range pages {
				byCursor = append(byCursor, rowIDs(t, p.Data)...)
				byNumber = append(byNumber, rowIDs(t, getPage(t, w, "", fmt.Sprintf("%s&page=%d", base, i+1)).Data)...)
			}
			if exp := want(c.sql); !slices.Equal(byCursor, exp) || !slices.Equal(byNumber, exp) {
				t.Errorf("by cursor %v\nby number %v\nwant %v", byCursor, byNumber, exp)
			}
		})
	}
}

// TestCursorDeletesAndInsertsBetweenPages: rows deleted while a client
// pages (the cursor's own row included) neither make it skip nor repeat any
// surviving row; rows inserted behind the cursor are not seen, those ahead
// of it are.
func TestCursorDeletesAndInsertsBetweenPages(t *testing.T) {
	for _, order := range []string{"", "grp", "opt:desc", "grp:desc,opt"} {
		// Subtest names make user emails (start): no ':' or ','.
		t.Run(strings.NewReplacer(":", "-", ",", "-").Replace(order), func(t *testing.T) {
			w := tiesWorld(t)
			base := "/api/v1/tables/ties/data?page_size=4&select=id"
			if order != "" {
				base += "&order_by=" + q(order)
			}
			seen := map[int]int{}
			deleted := map[int]bool{}
			p := getPage(t, w, "", base)
			for step := 0; ; step++ {
				ids := rowIDs(t, p.Data)
				for _, id := range ids {
					seen[id]++
				}
				if p.Metadata.NextCursor == nil {
					break
				}
				// Delete the page's last row (the cursor's position), a row
				// seen before and two not seen yet.
				victims := []int{ids[len(ids)-1], ids[0], 40 - step, 1 + step*2}
				for _, id := range victims {
					deleted[id] = true
					w.sql(t, `DELETE FROM public.ties WHERE id = $1`, id)
				}
				w.sql(t, `INSERT INTO public.ties VALUES ($1, 0, NULL) ON CONFLICT DO NOTHING`, 1000+step)
				p = getPage(t, w, "", withCursor(base, *p.Metadata.NextCursor))
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("row %d served %d times", id, n)
				}
			}
			for id := 1; id <= 40; id++ {
				if !deleted[id] && seen[id] == 0 {
					t.Errorf("surviving row %d never served", id)
				}
			}
		})
	}
}

// TestCursorRefusals: a cursor works only for the query that made it.
func TestCursorRefusals(t *testing.T) {
	w := tiesWorld(t)
	w.sql(t, `CREATE TABLE public.nokey (id int, "count" int, "cursor" text)`)
	w.sql(t, `INSERT INTO public.nokey SELECT g, g % 3, 'c' || g FROM generate_series(1, 5) g`)
	w.sql(t, `CREATE TABLE public.ties2 (LIKE public.ties INCLUDING ALL)`)
	w.sql(t, `INSERT INTO public.ties2 SELECT * FROM public.ties`)
	tok := w.alice.Token
	base := "/api/v1/tables/ties/data?page_size=5&order_by=grp&grp=gte.1&select=id,grp"
	cur := *getPage(t, w, tok, base).Metadata.NextCursor
	tampered := []byte(cur)
	if tampered[len(tampered)/2] == 'A' {
		tampered[len(tampered)/2] = 'B'
	} else {
		tampered[len(tampered)/2] = 'A'
	}
	mismatch := map[string]any{"code": "invalid_cursor", "detail": "The cursor belongs to another query: keep the table, order_by, select and filters of the page that returned it"}
	invalid := map[string]any{"code": "invalid_cursor", "detail": "Invalid cursor: use the next_cursor of a page as it was returned"}
	get := func(name, path string, status int, want any) testkit.Case {
		return testkit.Case{Name: name, Req: testkit.Req{Method: "GET", Path: path, Token: tok}, Status: status, Want: want}
	}
	testkit.Run(t, w.App, []testkit.Case{
		get("the same query", withCursor(base, cur), 200, map[string]any{"metadata": map[string]any{"page": 2, "total_count": 30}}),
		get("another page size", withCursor(strings.Replace(base, "page_size=5", "page_size=7", 1), cur), 200,
			map[string]any{"metadata": map[string]any{"page_size": 7}}),
		get("an empty cursor is the first page", withCursor(base, ""), 200, map[string]any{"metadata": map[string]any{"page": 1}}),
		get("tampered", withCursor(base, string(tampered)), 400, invalid),
		get("not base64", withCursor(base, "not*a*cursor"), 400, invalid),
		get("truncated", withCursor(base, cur[:40]), 400, invalid),
		get("too long", withCursor(base, strings.Repeat("A", 13000)), 400, invalid),
		get("another order", withCursor(strings.Replace(base, "order_by=grp", "order_by=grp:desc", 1), cur), 400, mismatch),
		get("order_by left out", withCursor(strings.Replace(base, "&order_by=grp", "", 1), cur), 400, mismatch),
		get("another filter value", withCursor(strings.Replace(base, "grp=gte.1", "grp=gte.2", 1), cur), 400, mismatch),
		get("a filter more", withCursor(base+"&opt=is.null", cur), 400, mismatch),
		get("filter left out", withCursor(strings.Replace(base, "&grp=gte.1", "", 1), cur), 400, mismatch),
		get("filter_value added", withCursor(base+"&filter_column=opt&filter_value=a", cur), 400, mismatch),
		get("another select", withCursor(strings.Replace(base, "select=id,grp", "select=id", 1), cur), 400, mismatch),
		get("another table", withCursor(strings.Replace(base, "/ties/", "/ties2/", 1), cur), 400, mismatch),
		get("with page", withCursor(base+"&page=2", cur), 400, map[string]any{"code": "invalid_cursor", "detail": "Use either page or cursor, not both"}),
		get("no primary key", withCursor("/api/v1/tables/nokey/data", cur), 400,
			map[string]any{"code": "invalid_cursor", "detail": "Table 'nokey' has no primary key: page through it with page and page_size"}),
		get("no primary key: no next_cursor", "/api/v1/tables/nokey/data?page_size=2", 200,
			map[string]any{"data": []any{map[string]any{"id": 1}, map[string]any{"id": 2}}, "metadata": map[string]any{"total_count": 5, "next_cursor": testkit.Absent}}),
		get("a column named count is still a filter", "/api/v1/tables/nokey/data?count=eq.1", 200,
			map[string]any{"data": []any{map[string]any{"id": 1}, map[string]any{"id": 4}}, "metadata": map[string]any{"total_count": 2}}),
		get("a column named cursor is still a filter", "/api/v1/tables/nokey/data?cursor=in.(c2,c3)&count=exact", 200,
			map[string]any{"data": []any{map[string]any{"id": 2}, map[string]any{"id": 3}}, "metadata": map[string]any{"total_count": 2}}),
		get("the last page has no next_cursor", "/api/v1/tables/ties/data?page=8&page_size=5", 200,
			map[string]any{"metadata": map[string]any{"next_cursor": testkit.Absent}}),
		get("a full last page has none either", "/api/v1/tables/ties/data?page=1&page_size=40", 200,
			map[string]any{"metadata": map[string]any{"next_cursor": testkit.Absent}}),
	})
	t.Run("a cursor signed with another secret", func(t *testing.T) {
		other := testkit.Start(t, testkit.With(auth.Module, users.Module, tables.Module), testkit.Env("SECRET_KEY", strings.Repeat("z", 40)))
		var p pageOut
		other.Do(t, testkit.Req{Method: "GET", Path: base}).Expect(t, 200).JSON(t, &p)
		r := w.do(t, "GET", withCursor(base, *p.Metadata.NextCursor), tok, nil).Expect(t, 400)
		if r.Map(t)["code"] != "invalid_cursor" {
			t.Errorf("body %s", r.Body)
		}
	})
}

// TestCursorIdentityMatrix: the read policy is checked on every page; an
// owner-level table pages through the caller's rows only, and a cursor
// made for one owner is refused to another (it cannot carry them into
// someone else's rows).
func TestCursorIdentityMatrix(t *testing.T) {
	w := start(t)
	for _, level := range []string{"public", "authenticated", "owner", "superuser"} {
		w.create(t, map[string]any{"name": "cur_" + level, "owner_column": "owner_id",
			"access":  map[string]any{"read": level, "insert": level, "update": level, "delete": level},
			"columns": []map[string]any{{"name": "id", "type": "serial", "primary_key": true}, {"name": "owner_id", "type": "uuid"}, {"name": "n", "type": "int"}}})
		// alice owns 7 rows, bob 5, interleaved.
		w.sql(t, fmt.Sprintf(`INSERT INTO public.cur_%s (owner_id, n) SELECT CASE WHEN g %% 2 = 0 OR g > 10 THEN $1::uuid ELSE $2::uuid END, g
			FROM generate_series(1, 12) g`, level), w.alice.ID, w.bob.ID)
	}
	type who struct {
		name string
		s    session
	}
	ids := []who{{"anon", session{}}, {"alice", w.alice}, {"bob", w.bob}, {"superuser", w.su}}
	// rows[level][who]: rows a full walk serves, or the status of the first page.
	status := map[string]map[string]int{
		"public":        {"anon": 200, "alice": 200, "bob": 200, "superuser": 200},
		"authenticated": {"anon": 401, "alice": 200, "bob": 200, "superuser": 200},
		"owner":         {"anon": 401, "alice": 200, "bob": 200, "superuser": 200},
		"superuser":     {"anon": 401, "alice": 403, "bob": 403, "superuser": 200},
	}
	owned := map[string]int{"alice": 7, "bob": 5}
	for _, level := range []string{"public", "authenticated", "owner", "superuser"} {
		for _, id := range ids {
			t.Run(level+"/"+id.name, func(t *testing.T) {
				base := fmt.Sprintf("/api/v1/tables/cur_%s/data?page_size=2&order_by=n:desc", level)
				want := status[level][id.name]
				if want != 200 {
					// The policy answers before the cursor is looked at.
					r := w.do(t, "GET", base, id.s.Token, nil).Expect(t, want)
					suCursor := *getPage(t, w, w.su.Token, base).Metadata.NextCursor
					w.do(t, "GET", withCursor(base, suCursor), id.s.Token, nil).Expect(t, want)
					if want == 401 && r.Header.Get("WWW-Authenticate") != "Bearer" {
						t.Error("401 without WWW-Authenticate")
					}
					return
				}
				rows := 0
				for _, p := range walk(t, w, id.s.Token, base) {
					var data []map[string]any
					if err := json.Unmarshal(p.Data, &data); err != nil {
						t.Fatal(err)
					}
					for _, row := range data {
						rows++
						if level == "owner" && id.name != "superuser" && row["owner_id"] != id.s.ID {
							t.Fatalf("%s was served another owner's row %v", id.name, row)
						}
					}
				}
				wantRows := 12
				if level == "owner" && id.name != "superuser" {
					wantRows = owned[id.name]
				}
				if rows != wantRows {
					t.Errorf("walk served %d rows, want %d", rows, wantRows)
				}
			})
		}
	}
	t.Run("owner cursors are the owner's", func(t *testing.T) {
		base := "/api/v1/tables/cur_owner/data?page_size=2&order_by=n:desc"
		aliceCursor := *getPage(t, w, w.alice.Token, base).Metadata.NextCursor
		suCursor := *getPage(t, w, w.su.Token, base).Metadata.NextCursor
		testkit.Run(t, w.App, []testkit.Case{
			{Name: "alice's cursor to bob", Req: testkit.Req{Method: "GET", Path: withCursor(base, aliceCursor), Token: w.bob.Token},
				Status: 400, Want: map[string]any{"code": "invalid_cursor"}},
			{Name: "the superuser's cursor to alice", Req: testkit.Req{Method: "GET", Path: withCursor(base, suCursor), Token: w.alice.Token},
				Status: 400, Want: map[string]any{"code": "invalid_cursor"}},
			{Name: "alice's cursor to anon", Req: testkit.Req{Method: "GET", Path: withCursor(base, aliceCursor)}, Status: 401},
			{Name: "alice's cursor to alice", Req: testkit.Req{Method: "GET", Path: withCursor(base, aliceCursor), Token: w.alice.Token},
				Status: 200, Want: map[string]any{"metadata": map[string]any{"page": 2, "total_count": 7}}},
		})
	})
	t.Run("public cursors are anyone's", func(t *testing.T) {
		base := "/api/v1/tables/cur_public/data?page_size=5"
		anonCursor := *getPage(t, w, "", base).Metadata.NextCursor
		p := getPage(t, w, w.bob.Token, withCursor(base, anonCursor))
		if got := rowIDs(t, p.Data); !slices.Equal(got, []int{6, 7, 8, 9, 10}) {
			t.Errorf("rows %v", got)
		}
	})
}

// TestCountOptions: ?count= and Prefer: count= choose how total_count is
// made; the default keeps the contract's rule.
func TestCountOptions(t *testing.T) {
	w := start(t)
	w.create(t, map[string]any{"name": "big", "access": map[string]any{"read": "public"}, "columns": []map[string]any{{"name": "id", "type": "int", "primary_key": true}}})
	w.sql(t, `INSERT INTO public.big SELECT g FROM generate_series(1, 1000) g`)
	w.sql(t, `ANALYZE public.big`)
	// Pretend the table is huge: the planner scales its estimates to this.
	w.sql(t, `UPDATE pg_class SET reltuples = 5000000 WHERE oid = 'public.big'::regclass`)
	base := "/api/v1/tables/big/data?page_size=10"
	total := func(n int) map[string]any {
		return map[string]any{"metadata": map[string]any{"total_count": n, "total_pages": (n + 9) / 10}}
	}
	estimated := func(t *testing.T, r *testkit.Response) {
		var p pageOut
		r.JSON(t, &p)
		if p.Metadata.TotalCount == nil || *p.Metadata.TotalCount < 100000 {
			t.Errorf("total_count %v is not the planner's estimate", p.Metadata.TotalCount)
		}
	}
	get := func(name, query string, headers map[string]string, status int, want any) testkit.Case {
		return testkit.Case{Name: name, Req: testkit.Req{Method: "GET", Path: base + query, Headers: headers}, Status: status, Want: want}
	}
	none := map[string]any{"metadata": map[string]any{"total_count": nil, "total_pages": nil, "page": 1, "page_size": 10, "next_cursor": testkit.Present}}
	prefer := func(v string) map[string]string { return map[string]string{"Prefer": v} }
	cases := []testkit.Case{
		get("default unfiltered: the estimate", "", nil, 200, total(5000000)),
		get("default filtered: exact", "&id=lte.10", nil, 200, total(10)),
		get("exact", "&count=exact", nil, 200, total(1000)),
		get("exact is case-insensitive", "&count=EXACT", nil, 200, total(1000)),
		get("estimated unfiltered", "&count=estimated", nil, 200, total(5000000)),
		get("estimated filtered, few rows: exact", "&count=estimated&id=lte.10", nil, 200, total(10)),
		get("none", "&count=none", nil, 200, none),
		get("none filtered", "&count=none&id=gt.5", nil, 200, none),
		get("Prefer: count=exact", "", prefer("count=exact"), 200, total(1000)),
		get("Prefer among others", "", prefer("return=representation, count=none"), 200, none),
		get("?count wins over Prefer", "&count=exact", prefer("count=none"), 200, total(1000)),
		get("unknown Prefer tokens are ignored", "", prefer("return=minimal"), 200, total(5000000)),
		get("bad count", "&count=all", nil, 422, map[string]any{"code": "validation_failed",
			"detail": []any{map[string]any{"loc": []any{"query", "count"}, "type": "enum"}}}),
		get("bad Prefer count", "", prefer("count=all"), 422, map[string]any{"code": "validation_failed",
			"detail": []any{map[string]any{"loc": []any{"header", "prefer"}, "type": "enum"}}}),
	}
	for i := range cases {
		if h := cases[i].Headers["Prefer"]; h != "" && cases[i].Status == 200 && !strings.Contains(cases[i].Path, "count=") && strings.Contains(h, "count=") {
			cases[i].WantHeader = map[string]string{"Preference-Applied": strings.TrimSpace(h[strings.Index(h, "count="):])}
		}
	}
	cases = append(cases,
		testkit.Case{Name: "planned", Req: testkit.Req{Method: "GET", Path: base + "&count=planned&id=gte.0"}, Status: 200, Check: estimated},
		testkit.Case{Name: "Prefer: count=planned", Req: testkit.Req{Method: "GET", Path: base, Headers: prefer("count=planned")}, Status: 200, Check: estimated},
		testkit.Case{Name: "estimated filtered, many rows: the estimate", Req: testkit.Req{Method: "GET", Path: base + "&count=estimated&id=gte.0"}, Status: 200, Check: estimated},
		testkit.Case{Name: "planned with a cursor", Req: testkit.Req{Method: "GET", Path: base + "&count=planned"}, Status: 200, Check: func(t *testing.T, r *testkit.Response) {
			var p pageOut
			r.JSON(t, &p)
			q := getPage(t, w, "", withCursor(base+"&count=none", *p.Metadata.NextCursor))
			if got := rowIDs(t, q.Data); len(got) != 10 || got[0] != 11 || q.Metadata.TotalCount != nil {
				t.Errorf("next page %v %+v", got, q.Metadata)
			}
		}},
	)
	testkit.Run(t, w.App, cases)
	if r := w.do(t, "GET", base+"&count=none", "", nil); r.Header.Get("Preference-Applied") != "" {
		t.Errorf("Preference-Applied without Prefer: %q", r.Header.Get("Preference-Applied"))
	}
}
