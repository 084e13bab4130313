package tables_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// BenchmarkData measures the figures over the real listener: a page
// of 50 rows of a 100,000-row table, the same with an indexed eq filter, page
// 200 (with a total, and with count=none), the page after it by cursor (depth
// 10,000), and single-row inserts. Run: go test -run XXX -bench Data ./modules/tables/
func BenchmarkData(b *testing.B) {
	a := testkit.Start(b, testkit.With(auth.Module, users.Module, tables.Module))
	if _, err := a.DB.DB.Exec(`DROP TABLE IF EXISTS public.bench;
		CREATE TABLE public.bench (id serial PRIMARY KEY, k int NOT NULL, name text, at timestamptz DEFAULT now());
		INSERT INTO public.bench (k, name) SELECT g % 5000, 'name ' || g FROM generate_series(1, 100000) g;
		CREATE INDEX bench_k_idx ON public.bench (k); ANALYZE public.bench;
		INSERT INTO selfdb.table_policies (table_name, read_level, insert_level) VALUES ('bench', 'public', 'public')
		ON CONFLICT (table_name) DO UPDATE SET read_level = 'public', insert_level = 'public'`); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	run := func(b *testing.B, req func() *http.Request) {
		var mu sync.Mutex
		var lat []time.Duration
		b.SetParallelism(8)
		b.ResetTimer()
		t0 := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				s := time.Now()
				resp, err := client.Do(req())
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
		elapsed := time.Since(t0)
		b.StopTimer()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) > 0 {
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
		}
	}
	get := func(path string) *http.Request {
		r, _ := http.NewRequest("GET", a.URL()+path, nil)
		r.Header.Set("apikey", testkit.AnonKey)
		return r
	}
	b.Run("page", func(b *testing.B) {
		run(b, func() *http.Request { return get("/api/v1/tables/bench/data?page_size=50") })
	})
	b.Run("eq_filter", func(b *testing.B) {
		run(b, func() *http.Request {
			return get(fmt.Sprintf("/api/v1/tables/bench/data?page_size=50&k=eq.%d", rand.IntN(5000)))
		})
	})
	b.Run("deep_page", func(b *testing.B) {
		run(b, func() *http.Request { return get("/api/v1/tables/bench/data?page=200&page_size=50") })
	})
	b.Run("deep_page_nocount", func(b *testing.B) {
		run(b, func() *http.Request { return get("/api/v1/tables/bench/data?page=200&page_size=50&count=none") })
	})
	b.Run("cursor_10000", func(b *testing.B) {
		var p struct {
			Metadata struct {
				NextCursor string `json:"next_cursor"`
			} `json:"metadata"`
		}
		resp, err := client.Do(get("/api/v1/tables/bench/data?page=200&page_size=50"))
		if err != nil {
			b.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil || p.Metadata.NextCursor == "" {
			b.Fatalf("no next_cursor from page 200: %v", err)
		}
		run(b, func() *http.Request {
			return get("/api/v1/tables/bench/data?page_size=50&cursor=" + p.Metadata.NextCursor)
		})
	})
	b.Run("insert", func(b *testing.B) {
		run(b, func() *http.Request {
			r, _ := http.NewRequest("POST", a.URL()+"/api/v1/tables/bench/data", bytes.NewReader([]byte(`{"k": 7, "name": "bench"}`)))
			r.Header.Set("apikey", testkit.AnonKey)
			r.Header.Set("Content-Type", "application/json")
			return r
		})
	})
}
