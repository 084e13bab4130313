package functions

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// latestDue walks a schedule to the newest time in (after, now], UTC.
func TestLatestDue(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		cron, after, now, want string
	}{
		{"*/1 * * * *", "2100-01-01T00:00:00Z", "2100-01-01T00:00:59Z", ""},
		{"*/1 * * * *", "2100-01-01T00:00:00Z", "2100-01-01T00:01:00Z", "2100-01-01T00:01:00Z"},
		{"*/1 * * * *", "2100-01-01T00:00:00Z", "2100-01-01T00:10:30Z", "2100-01-01T00:10:00Z"},
		{"*/5 * * * *", "2100-01-01T00:00:00Z", "2100-01-01T00:14:00Z", "2100-01-01T00:10:00Z"},
		// 2100-01-01 is a Friday: on Saturday the latest weekday hour is Friday's last.
		{"0 9-17 * * 1-5", "2100-01-01T00:00:00Z", "2100-01-02T12:30:00Z", "2100-01-01T17:00:00Z"},
		{"0 9-17 * * 1-5", "2100-01-01T00:00:00Z", "2100-01-01T12:30:00Z", "2100-01-01T12:00:00Z"},
		{"0,30 8,20 1 1,7 *", "2100-01-01T00:00:00Z", "2100-01-01T21:00:00Z", "2100-01-01T20:30:00Z"},
		// Times in other zones are compared in UTC: 13:30+02:00 is before noon UTC.
		{"0 12 * * *", "2100-01-01T00:00:00Z", "2100-01-01T13:30:00+02:00", ""},
		{"0 12 * * *", "2100-01-01T00:00:00Z", "2100-01-01T14:30:00+02:00", "2100-01-01T12:00:00Z"},
		// A schedule left alone for years fires once, looking back one year.
		{"0 0 * * *", "2000-01-01T00:00:00Z", "2100-01-01T06:00:00Z", "2100-01-01T00:00:00Z"},
	} {
		s, err := parseCron(c.cron)
		if err != nil {
			t.Fatal(err)
		}
		got := latestDue(s, at(c.after), at(c.now))
		want := ""
		if !got.IsZero() {
			want = got.Format(time.RFC3339)
		}
		if want != c.want {
			t.Errorf("%s after %s at %s: %q, want %q", c.cron, c.after, c.now, want, c.want)
		}
	}
}

// Triggers are checked and put in canonical form; the default is http.
func TestNormalize(t *testing.T) {
	ok, err := normalizeAll([]Trigger{
		{Type: "HTTP", Method: Methods{"get", "Post", "GET"}},
		{Type: "schedule", Cron: "  */5   * * * *  "},
		{Type: "database", Table: "orders", Operations: []string{"insert", "DELETE"}},
		{Type: "event", Event: " user.signup "},
		{Type: "once"}, {Type: "once"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ok)
	want := `[{"type":"http","method":["GET","POST"]},{"type":"schedule","cron":"*/5 * * * *"},` +
		`{"type":"database","table":"orders","operations":["INSERT","DELETE"]},{"type":"event","event":"user.signup"},{"type":"once"}]`
	if string(b) != want {
		t.Fatalf("%s\nwant %s", b, want)
	}
	for _, bad := range []Trigger{
		{Type: "webhook"}, {Type: "http", Method: Methods{"FETCH"}}, {Type: "schedule"}, {Type: "schedule", Cron: "* * * *"},
		{Type: "database"}, {Type: "database", Table: "a;drop"}, {Type: "database", Table: "t", Operations: []string{"TRUNCATE"}},
		{Type: "event"}, {Type: "event", Event: "a/b"},
	} {
		if _, err := normalizeAll([]Trigger{bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if eff := (&Function{}).Effective(); len(eff) != 1 || eff[0].Type != TriggerHTTP {
		t.Errorf("default triggers %v", eff)
	}
	var m Methods
	if err := json.Unmarshal([]byte(`"GET"`), &m); err != nil || fmt.Sprint(m) != "[GET]" {
		t.Errorf("method as a string: %v %v", m, err)
	}
	for _, c := range []struct {
		ts              []Trigger
		method          string
		invocable, okay bool
	}{
		{nil, "DELETE", true, true},
		{[]Trigger{{Type: "http", Method: Methods{"GET"}}}, "HEAD", true, true},
		{[]Trigger{{Type: "http", Method: Methods{"GET"}}}, "POST", true, false},
		{[]Trigger{{Type: "schedule", Cron: "* * * * *"}}, "GET", false, false},
	} {
		inv, ok := allowsMethod(mergeTriggers(c.ts, nil), c.method)
		if inv != c.invocable || ok != c.okay {
			t.Errorf("%v %s: %v %v", c.ts, c.method, inv, ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(time.Second, 10*time.Second, n))
	}
	if fmt.Sprint(got) != "[1s 2s 4s 8s 10s 10s]" {
		t.Fatal(got)
	}
}

// The call header is ASCII whatever the call carries.
func TestASCIIJSON(t *testing.T) {
	b, _ := json.Marshal(map[string]string{"v": "caf\u00e9 \u20ac \U0001F600 \"q\""})
	got := asciiJSON(b)
	for _, c := range got {
		if c > 0x7e || c < 0x20 {
			t.Fatalf("non-ASCII in %q", got)
		}
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(got), &back); err != nil || back["v"] != "caf\u00e9 \u20ac \U0001F600 \"q\"" {
		t.Fatalf("%s → %v %v", got, back, err)
	}
}
