// Command benchrt is the realtime load client of `make bench`: it holds N
// WebSocket subscribers of a SelfDB server while it inserts rows at a fixed
// rate straight into Postgres, and reports commit-to-client latency
// (receive time minus the row's clock_timestamp() column "at"), frames/s and
// the insert rate reached. Modes:
//
//	fanout  N anon subscribers of one public-read table: every change to every subscriber
//	own     N users subscribed to an owner-read table: each change to its owner only
//	idle    N authenticated connections without subscriptions, held for the duration
package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun/driver/pgdriver"
)

func main() {
	wsURL := flag.String("ws", "", "the server's ws://host:port/api/v1/realtime/ws")
	dsn := flag.String("db", "", "Postgres URL of the server's database (inserts go straight in)")
	anon := flag.String("anon", "", "the anon key")
	secret := flag.String("secret", "", "SECRET_KEY (own mode mints users' tokens)")
	mode := flag.String("mode", "fanout", "fanout | own | idle")
	subs := flag.Int("subs", 1000, "subscribers (connections)")
	rate := flag.Int("rate", 1000, "inserts per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to insert (or hold idle connections)")
	table := flag.String("table", "rt_bench", "table to insert into and follow")
	flag.Parse()
	if err := run(*wsURL, *dsn, *anon, *secret, *mode, *table, *subs, *rate, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "benchrt:", err)
		os.Exit(1)
	}
}

// stats are one client goroutine's observations.
type stats struct {
	frames int64
	lat    []time.Duration // sampled
}

func run(wsURL, dsn, anon, secret, mode, table string, n, rate int, d time.Duration) error {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	defer db.Close()
	db.SetMaxOpenConns(16)
	ctx := context.Background()

	var owners []string
	tokens := make([]string, n)
	switch mode {
	case "own":
		var err error
		if owners, err = makeUsers(ctx, db, n); err != nil {
			return err
		}
		for i, id := range owners {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"sub": id, "typ": "access", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
			}).SignedString([]byte(secret))
			if err != nil {
				return err
			}
			tokens[i] = "token=" + url.QueryEscape(tok)
		}
	default:
		for i := range tokens {
			tokens[i] = "apikey=" + url.QueryEscape(anon)
		}
	}

	// Connect and subscribe everyone first.
	t0 := time.Now()
	conns := make([]*websocket.Conn, n)
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 512}
	var wg sync.WaitGroup
	var dialErr atomic.Value
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := dialer.Dial(wsURL+"?"+tokens[i], nil)
			if err != nil {
				dialErr.Store(err)
				return
			}
			if _, _, err := c.ReadMessage(); err != nil { // connected
				dialErr.Store(err)
				return
			}
			if mode != "idle" {
				if err := c.WriteJSON(map[string]any{"type": "subscribe", "channel": table}); err != nil {
					dialErr.Store(err)
					return
				}
				if _, _, err := c.ReadMessage(); err != nil { // subscribed
					dialErr.Store(err)
					return
				}
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if err, ok := dialErr.Load().(error); ok {
		return fmt.Errorf("connecting %d clients: %w", n, err)
	}
	fmt.Printf("connected %d clients (%s) in %s\n", n, mode, time.Since(t0).Round(time.Millisecond))

	if mode == "idle" {
		time.Sleep(d)
		fmt.Printf("held %d idle connections for %s\n", n, d)
		for _, c := range conns {
			c.Close()
		}
		return nil
	}

	// Readers.
	all := make([]*stats, n)
	warm := time.Now().Add(time.Second)
	for i, c := range conns {
		s := &stats{}
		all[i] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, b, err := c.ReadMessage()
				if err != nil {
					return
				}
				now := time.Now()
				if !bytes.Contains(b, []byte(`"database_change"`)) {
					continue
				}
				s.frames++
				if now.After(warm) && (s.frames%8 == 0 || n <= 100) {
					if at, ok := rowTime(b); ok {
						s.lat = append(s.lat, now.Sub(at))
					}
				}
			}
		}()
	}

	// Inserts at a fixed rate, spread over workers.
	var inserted, failed atomic.Int64
	stop := time.Now().Add(d)
	// Enough workers that one slow commit does not hold the rate back.
	workers := max(8, rate/25)
	per := max(rate/workers, 1)
	var iw sync.WaitGroup
	for w := range workers {
		iw.Add(1)
		go func() {
			defer iw.Done()
			tick := time.NewTicker(time.Second / time.Duration(per))
			defer tick.Stop()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for now := range tick.C {
				if now.After(stop) {
					return
				}
				var owner any
				if len(owners) > 0 {
					owner = owners[r.IntN(len(owners))]
				}
				if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (owner_id, note) VALUES ($1, 'bench')", owner); err != nil {
					failed.Add(1)
					continue
				}
				inserted.Add(1)
			}
		}()
	}
	iw.Wait()
	time.Sleep(2 * time.Second) // let the last frames arrive
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()

	var frames int64
	var lat []time.Duration
	for _, s := range all {
		frames += s.frames
		lat = append(lat, s.lat...)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	want := inserted.Load()
	if mode == "fanout" {
		want *= int64(n)
	}
	fmt.Printf("inserts: %d (%.0f/s, target %d/s), failed %d\n", inserted.Load(), float64(inserted.Load())/d.Seconds(), rate, failed.Load())
	fmt.Printf("frames: %d of %d expected (%.0f/s)\n", frames, want, float64(frames)/d.Seconds())
	fmt.Printf("commit-to-client latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d samples)\n",
		ms(pct(0.50)), ms(pct(0.99)), ms(pct(1)), len(lat))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rowTime finds the row's "at" column in a frame without decoding it all.
func rowTime(b []byte) (time.Time, bool) {
	i := bytes.Index(b, []byte(`"at":"`))
	if i < 0 {
		return time.Time{}, false
	}
	rest := b[i+6:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999Z07:00", string(rest[:j]))
	return t, err == nil
}

// makeUsers creates n accounts straight in the database (their tokens are
// minted here, so they need no password) and returns their ids.
func makeUsers(ctx context.Context, db *sql.DB, n int) ([]string, error) {
	rows, err := db.QueryContext(ctx, `INSERT INTO selfdb.users (email, hashed_password)
SELECT 'rt-' || g || '-' || md5(random()::text) || '@bench.example', 'no-password' FROM generate_series(1, $1) g RETURNING id::text`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
