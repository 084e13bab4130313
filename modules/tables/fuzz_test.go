package tables

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/selfdb/selfdb/platform/apperr"
)

// sqlParts is generated SQL taken apart: the quoted identifiers and the
// literals (decoded), and everything else, which must be the builder's own text.
type sqlParts struct {
	idents, literals []string
	rest             string
}

// splitSQL lexes what the builders emit: "ident" with "" escapes, E'...'
// with ” and \\ (quoteLiteral never leaves a lone backslash, which would
// start an escape sequence) and plain '...' (the builder's own constants).
// Anything unterminated is an error: caller text would have escaped.
func splitSQL(s string) (sqlParts, error) {
	var p sqlParts
	var rest strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		escape := c == 'E' && i+1 < len(s) && s[i+1] == '\'' && (i == 0 || !isWordByte(s[i-1]))
		if !escape && c != '\'' && c != '"' {
			rest.WriteByte(c)
			i++
			continue
		}
		q := c
		if escape {
			q = '\''
			i++
		}
		i++
		var v strings.Builder
		closed := false
		for i < len(s) && !closed {
			switch {
			case escape && s[i] == '\\':
				if i+1 >= len(s) || s[i+1] != '\\' {
					return p, fmt.Errorf("lone backslash at %d in %q", i, s)
				}
				v.WriteByte('\\')
				i += 2
			case s[i] == q && i+1 < len(s) && s[i+1] == q:
				v.WriteByte(q)
				i += 2
			case s[i] == q:
				closed = true
				i++
			default:
				v.WriteByte(s[i])
				i++
			}
		}
		if !closed {
			return p, fmt.Errorf("unterminated %c in %q", q, s)
		}
		if q == '"' {
			p.idents = append(p.idents, v.String())
			rest.WriteString(`""`)
		} else {
			p.literals = append(p.literals, v.String())
			rest.WriteString("''")
		}
	}
	p.rest = rest.String()
	return p, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// builderWords is every bare word the list builder writes itself: keywords,
// functions, aliases and the cast types of testMeta's columns.
var builderWords = wordSet(`SELECT CASE WHEN THEN ELSE END FROM WHERE AND OR AS ORDER BY ASC DESC LIMIT OFFSET
	IS NULL NOT TRUE FALSE UNKNOWN LIKE ILIKE IN AT TIME ZONE WITH MATERIALIZED EXISTS EXPLAIN FORMAT JSON UNION ALL
	count coalesce json_agg json_build_array to_char json text bigint c reltuples pg_class oid j p src ctid
	integer character varying numeric timestamp with time zone jsonb uuid`)

// buildList renders a page query as the service does, without a cursor.
func buildList(m *Meta, lp ListParams, ownerID *string) (string, []*Column, error) {
	pl, err := planList(m, lp, ownerID)
	if err != nil {
		return "", nil, err
	}
	return pl.pageSQL(pl.countSQL(lp.Count, 1), nil, lp.PageSize, (lp.Page-1)*lp.PageSize), pl.cols, nil
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// checkOwnText fails unless rest (SQL outside quotes) is only the builder's
// words, numbers and punctuation: no comment, no second statement.
func checkOwnText(t *testing.T, rest, sql string) {
	t.Helper()
	if strings.Contains(rest, ";") || strings.Contains(rest, "--") || strings.Contains(rest, "/*") || strings.Contains(rest, "$") {
		t.Fatalf("statement separator, comment or dollar quote outside quotes: %s", sql)
	}
	for _, w := range strings.FieldsFunc(rest, func(r rune) bool { return r > 0x7f || !isWordByte(byte(r)) }) {
		if !builderWords[w] && strings.Trim(w, "0123456789") != "" {
			t.Fatalf("word %q outside quotes is not the builder's: %s", w, sql)
		}
	}
	for _, r := range rest {
		if r > 0x7f || r < 0x20 && r != '\n' {
			t.Fatalf("byte %q outside quotes: %s", r, sql)
		}
	}
}

// client4xx fails unless err is an apperr of a 4xx status.
func client4xx(t *testing.T, what string, err error) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind.Status() < 400 || ae.Kind.Status() >= 500 {
		t.Fatalf("%s: %v is not a 4xx apperr", what, err)
	}
}

// FuzzListQuery drives GET /{t}/data's query string (select, order_by,
// filter_column/filter_value, col=op.value, page, page_size, count) through
// parseListParams and buildList, plus a cursor condition whose key values
// are the query's filter values. Either one refuses it with a 4xx, or the
// SQL names only the table and its columns, every caller value sits in an
// escaped literal, and the rest is the builder's own text.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{
		"", "select=id,name&order_by=name:desc,id&name=eq.x&page=2&page_size=10",
		"select=*&order_by=price%20desc&price=gte.1.5&at=lt.2024-01-01",
		"id=in.(1,2,%223,4%22)&doc=is.null&tags=is.not_null",
		"name=like.*a%27b*&filter_column=name&filter_value=50%25_off%5C",
		"order_by=nope", "select=id,nope", "nope=eq.1", "select=id;drop", "order_by=id;drop",
		"name=eq.x%27);%20DROP%20TABLE%20items;%20--", "name=eq.%00", "filter_column=name&filter_value=%00",
		"filter_column=x%22y&filter_value=1", "%22id%22=eq.1", "select=%22id%22", "order_by=id%20desc%20nulls%20first",
		"page=0", "page=1073741824&page_size=1000", "page_size=-1", "name=in.(%22%5C%22%22,%27)",
		"apikey=k&anon-key=k&id=is.true", "id=eq.1&id=eq.2&id=neq.3", "select=&order_by=", "name=eq.$$;$$",
		"order_by=name:desc,price&name=eq.a%27b&price=is.null&count=exact", "count=eq.1", "cursor=abc&count=none",
		"order_by=at,doc:desc&name=in.(x,%22y%5C%22%22)&cursor=eq.x", "count=planned&id=gt.1",
	} {
		f.Add(q, false)
		f.Add(q, true)
	}
	m := testMeta()
	owner := "11111111-1111-1111-1111-111111111111"
	app := fiber.New()
	f.Fuzz(func(t *testing.T, query string, owned bool) {
		fctx := &fasthttp.RequestCtx{}
		fctx.Request.SetRequestURI("/api/v1/tables/items/data?" + query)
		c := app.AcquireCtx(fctx)
		defer app.ReleaseCtx(c)
		lp, err := parseListParams(c)
		if err != nil {
			client4xx(t, "parseListParams", err)
			return
		}
		var ownerID *string
		if owned {
			ownerID = &owner
		}
		sql, cols, err := buildList(m, lp, ownerID)
		if err != nil {
			client4xx(t, "buildList", err)
			return
		}
		// A cursor position made of the caller's values (a cursor's keys
		// are the server's, but afterSQL must not trust them either).
		pl, _ := planList(m, lp, ownerID)
		var keys []*string
		for i := range pl.order {
			var v *string
			if len(lp.Filters) > 0 && len(lp.Filters[0].Values) > 0 && (i%3 != 2 || pl.order[i].col.IsNullable == "NO") {
				v = &lp.Filters[0].Values[0]
			}
			keys = append(keys, v)
		}
		stmts := []string{sql, pl.estimateSQL()}
		if after, err := pl.afterSQL(keys); err == nil {
			stmts = append(stmts, pl.pageSQL("NULL::bigint", after, lp.PageSize, 0))
		} else {
			client4xx(t, "afterSQL", err)
		}
		for _, c := range cols {
			if m.column(c.Name) != c {
				t.Fatalf("output column %q is not the table's", c.Name)
			}
		}
		// Every literal is a value the caller sent (or ours).
		values := map[string]bool{"UTC": true, "[]": true, strings.Trim(rfc3339, "'"): true, owner: owned}
		for _, flt := range lp.Filters {
			for _, v := range flt.Values {
				values[v] = true
			}
		}
		if lp.SearchColumn != "" {
			values["%"+escapeLike(lp.SearchValue)+"%"] = true
		}
		for _, sql := range stmts {
			p, err := splitSQL(sql)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range p.idents {
				if id != "public" && id != m.Name && m.column(id) == nil {
					t.Fatalf("identifier %q is not a column of %s: %s", id, m.Name, sql)
				}
			}
			checkOwnText(t, p.rest, sql)
			for _, l := range p.literals {
				if !values[l] {
					t.Fatalf("literal %q is not a value of the query: %s", l, sql)
				}
			}
		}
	})
}

// FuzzCutRows: whatever the rows hold, cutRows keeps exactly the first
// limit rows of json_agg's array, byte for byte, and reads the order key
// of the last one kept.
func FuzzCutRows(f *testing.F) {
	for _, s := range []string{"", "a, \n {b}", `"]},[`, `\`, "\x00\u2028é", `{"x": [1, "]"]}`} {
		f.Add(s, 3, uint8(1))
	}
	order, _ := ParseOrderBy("opt")
	pl, err := planList(cursorMeta(), ListParams{Order: order}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, n int, limit uint8) {
		n = n%8 + 1
		if n < 0 {
			n = -n
		}
		if limit == 0 {
			limit = 1
		}
		elems := make([]string, n)
		for i := range elems {
			b, err := json.Marshal(map[string]any{"id": i, "opt": text + strings.Repeat("]", i), "bits": json.RawMessage(`[1, {"a": "` + strconv.Itoa(i) + `"}]`)})
			if err != nil {
				t.Fatal(err)
			}
			elems[i] = string(b)
		}
		rows := "[" + strings.Join(elems, ", \n ") + "]"
		page, key, err := pl.cutRows(rows, int(limit))
		if err != nil {
			t.Fatal(err)
		}
		if n <= int(limit) {
			if page != rows || key != nil {
				t.Fatalf("%d rows, limit %d: cut to %q, key %v", n, limit, page, key)
			}
			return
		}
		if want := "[" + strings.Join(elems[:limit], ", \n ") + "]"; page != want {
			t.Fatalf("page %q, want %q", page, want)
		}
		var last struct{ Opt string }
		_ = json.Unmarshal([]byte(elems[limit-1]), &last)
		if len(key) != 2 || key[0] == nil || *key[0] != last.Opt || key[1] == nil || *key[1] != strconv.Itoa(int(limit)-1) {
			t.Fatalf("key %v", key)
		}
	})
}
