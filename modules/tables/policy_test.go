package tables_test

import (
	"fmt"
	"testing"
)

// TestPolicyMatrix: four levels × four operations × anon, owner, other user,
// superuser.
func TestPolicyMatrix(t *testing.T) {
	w := start(t)
	type who struct {
		name string
		s    session
	}
	anon, owner, other, su := who{"anon", session{}}, who{"owner", w.alice}, who{"other", w.bob}, who{"superuser", w.su}
	// want[level][who] for read/insert, and for update/delete of the owner's row.
	type expect struct{ read, insert, change int }
	want := map[string]map[string]expect{
		"public":        {"anon": {200, 200, 200}, "owner": {200, 200, 200}, "other": {200, 200, 200}, "superuser": {200, 200, 200}},
		"authenticated": {"anon": {401, 401, 401}, "owner": {200, 200, 200}, "other": {200, 200, 200}, "superuser": {200, 200, 200}},
		"owner":         {"anon": {401, 401, 401}, "owner": {200, 200, 200}, "other": {200, 200, 404}, "superuser": {200, 200, 200}},
		"superuser":     {"anon": {401, 401, 401}, "owner": {403, 403, 403}, "other": {403, 403, 403}, "superuser": {200, 200, 200}},
	}
	for _, level := range []string{"public", "authenticated", "owner", "superuser"} {
		table := "pol_" + level
		w.create(t, map[string]any{"name": table, "columns": []map[string]any{
			{"name": "id", "type": "serial", "primary_key": true},
			{"name": "owner_id", "type": "uuid"},
			{"name": "note", "type": "text"},
		}, "owner_column": "owner_id", "access": map[string]any{"read": level, "insert": level, "update": level, "delete": level}})
		w.sql(t, fmt.Sprintf(`INSERT INTO public.%s (owner_id, note) VALUES ($1, 'a1'), ($1, 'a2'), ($2, 'b1')`, table), w.alice.ID, w.bob.ID)
		aliceRow := func() int {
			var id int
			if err := w.DB.DB.QueryRow(fmt.Sprintf(`INSERT INTO public.%s (owner_id, note) VALUES ($1, 'target') RETURNING id`, table), w.alice.ID).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		for _, id := range []who{anon, owner, other, su} {
			exp := want[level][id.name]
			base := "/api/v1/tables/" + table
			t.Run(level+"/"+id.name, func(t *testing.T) {
				r := w.do(t, "GET", base+"/data?page_size=1000", id.s.Token, nil).Expect(t, exp.read)
				if exp.read == 401 {
					if r.Header.Get("WWW-Authenticate") != "Bearer" {
						t.Error("401 without WWW-Authenticate: Bearer")
					}
					if r.Map(t)["detail"] != "Authentication with user credentials required for this endpoint" {
						t.Errorf("401 body %s", r.Body)
					}
				}
				if exp.read == 403 && r.Map(t)["detail"] != "The user doesn't have enough privileges" {
					t.Errorf("403 body %s", r.Body)
				}
				if exp.read == 200 {
					var page struct {
						Data []map[string]any `json:"data"`
						Meta struct {
							Total int `json:"total_count"`
						} `json:"metadata"`
					}
					r.JSON(t, &page)
					if level == "owner" && id.name != "superuser" {
						if len(page.Data) == 0 || page.Meta.Total != len(page.Data) {
							t.Fatalf("owner read: %d rows, total %d", len(page.Data), page.Meta.Total)
						}
						for _, row := range page.Data {
							if row["owner_id"] != id.s.ID {
								t.Fatalf("owner read returned another user's row: %v", row)
							}
						}
					} else if page.Meta.Total < 3 {
						t.Errorf("read saw %d rows", page.Meta.Total)
					}
				}
				// GET /{t} and /structure follow the read policy.
				r = w.do(t, "GET", base, id.s.Token, nil).Expect(t, exp.read)
				if exp.read == 200 && level == "owner" && id.name != "superuser" {
					var d map[string]any
					r.JSON(t, &d)
					own := w.count(t, fmt.Sprintf(`SELECT count(*) FROM public.%s WHERE owner_id = '%s'`, table, id.s.ID))
					if d["row_count"] != float64(own) {
						t.Errorf("owner row_count %v, own rows %d", d["row_count"], own)
					}
				}
				w.do(t, "GET", base+"/structure", id.s.Token, nil).Expect(t, exp.read)

				r = w.do(t, "POST", base+"/data", id.s.Token, map[string]any{"note": "new", "owner_id": w.bob.ID}).Expect(t, exp.insert)
				if exp.insert == 200 {
					row := r.Map(t)
					switch id.name {
					case "anon":
						if row["owner_id"] != nil {
							t.Errorf("anon insert kept owner %v", row["owner_id"])
						}
					case "superuser":
						if row["owner_id"] != w.bob.ID {
							t.Errorf("superuser's explicit owner not kept: %v", row["owner_id"])
						}
					default:
						if row["owner_id"] != id.s.ID {
							t.Errorf("owner column = %v, want the caller %s", row["owner_id"], id.s.ID)
						}
					}
				}

				target := aliceRow()
				r = w.do(t, "PUT", fmt.Sprintf("%s/data/%d?id_column=id", base, target), id.s.Token, map[string]any{"note": "changed"}).Expect(t, exp.change)
				if exp.change == 200 && r.Map(t)["note"] != "changed" {
					t.Errorf("update body %s", r.Body)
				}
				if exp.change == 404 && r.Map(t)["detail"] != fmt.Sprintf("Row with id='%d' not found in table '%s'", target, table) {
					t.Errorf("404 body %s", r.Body)
				}
				wantNote := "target"
				if exp.change == 200 {
					wantNote = "changed"
				}
				if n := w.count(t, fmt.Sprintf(`SELECT count(*) FROM public.%s WHERE id = %d AND note = '%s'`, table, target, wantNote)); n != 1 {
					t.Errorf("row after update: note is not %q", wantNote)
				}

				r = w.do(t, "DELETE", fmt.Sprintf("%s/data/%d?id_column=id", base, target), id.s.Token, nil).Expect(t, exp.change)
				left := w.count(t, fmt.Sprintf(`SELECT count(*) FROM public.%s WHERE id = %d`, table, target))
				if exp.change == 200 {
					m := r.Map(t)
					if m["message"] != fmt.Sprintf("Row with id='%d' deleted successfully", target) || m["deleted_data"] == nil {
						t.Errorf("delete body %s", r.Body)
					}
					if left != 0 {
						t.Error("row still there after delete")
					}
				} else if left != 1 {
					t.Error("refused delete removed the row")
				}
			})
		}
	}

	t.Run("owner cannot take over rows through update", func(t *testing.T) {
		var id int
		if err := w.DB.DB.QueryRow(`INSERT INTO public.pol_owner (owner_id, note) VALUES ($1, 'mine') RETURNING id`, w.alice.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		w.do(t, "PUT", fmt.Sprintf("/api/v1/tables/pol_owner/data/%d?id_column=id", id), w.alice.Token,
			map[string]any{"owner_id": w.bob.ID, "note": "x"}).Expect(t, 200)
		if n := w.count(t, fmt.Sprintf(`SELECT count(*) FROM public.pol_owner WHERE id = %d AND owner_id = '%s'`, id, w.alice.ID)); n != 1 {
			t.Error("a user changed the owner column")
		}
	})

	t.Run("list shows readable tables only", func(t *testing.T) {
		names := func(token string) map[string]bool {
			var list []map[string]any
			w.do(t, "GET", "/api/v1/tables", token, nil).Expect(t, 200).JSON(t, &list)
			out := map[string]bool{}
			for _, e := range list {
				out[e["name"].(string)] = true
				if e["access"] == nil || e["column_count"] == nil || e["size"] == nil {
					t.Errorf("entry lacks fields: %v", e)
				}
			}
			return out
		}
		anonSees, userSees, suSees := names(""), names(w.alice.Token), names(w.su.Token)
		check := func(who string, got map[string]bool, want map[string]bool) {
			for _, l := range []string{"public", "authenticated", "owner", "superuser"} {
				if got["pol_"+l] != want["pol_"+l] {
					t.Errorf("%s sees pol_%s = %v", who, l, got["pol_"+l])
				}
			}
			for n := range got {
				if n == "users" || n == "table_policies" || n == "refresh_tokens" {
					t.Errorf("%s sees SelfDB's own table %s", who, n)
				}
			}
		}
		check("anon", anonSees, map[string]bool{"pol_public": true})
		check("user", userSees, map[string]bool{"pol_public": true, "pol_authenticated": true, "pol_owner": true})
		check("superuser", suSees, map[string]bool{"pol_public": true, "pol_authenticated": true, "pol_owner": true, "pol_superuser": true})
	})
}
