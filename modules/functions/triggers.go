package functions

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// The trigger types (api.md §9.1).
const (
	TriggerHTTP     = "http"
	TriggerSchedule = "schedule"
	TriggerDatabase = "database"
	TriggerEvent    = "event"
	TriggerOnce     = "once"
)

// Trigger says when a function runs. Which fields count depends on Type:
// http (Method), schedule (Cron, Name), database (Table, Operations,
// Channel), event (Event), once.
type Trigger struct {
	Type       string   `json:"type"`
	Method     Methods  `json:"method,omitempty"`
	Cron       string   `json:"cron,omitempty"`
	Name       string   `json:"name,omitempty"`
	Table      string   `json:"table,omitempty"`
	Operations []string `json:"operations,omitempty"`
	Channel    string   `json:"channel,omitempty"`
	Event      string   `json:"event,omitempty"`
}

// Methods are HTTP methods; in JSON a string or a list of strings.
type Methods []string

// UnmarshalJSON accepts "GET" as well as ["GET", "POST"].
func (m *Methods) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*m = Methods{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("method must be a string or a list of strings")
	}
	*m = many
	return nil
}

var (
	httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	operations  = []string{"INSERT", "UPDATE", "DELETE"}
	tableRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	// cronParser reads the five standard fields; schedules run in UTC.
	cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
)

// parseCron parses a five-field cron expression (ranges, lists and steps).
func parseCron(expr string) (cron.Schedule, error) {
	if n := len(strings.Fields(expr)); n != 5 {
		return nil, fmt.Errorf("cron %q must have 5 fields (minute hour day-of-month month day-of-week), not %d", expr, n)
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %v", expr, err)
	}
	return s, nil
}

// latestDue is the latest time a schedule fires in (after, now], or zero.
func latestDue(s cron.Schedule, after, now time.Time) time.Time {
	after, now = after.UTC(), now.UTC()
	// A schedule left unclaimed for a long time replays once, whenever it
	// last fired: looking back a year bounds the walk.
	if floor := now.AddDate(-1, 0, 0); after.Before(floor) {
		after = floor
	}
	var due time.Time
	for t := s.Next(after); !t.IsZero() && !t.After(now); t = s.Next(t) {
		due = t
	}
	return due
}

// normalize checks a trigger and puts it in canonical form.
func normalize(t Trigger) (Trigger, error) {
	t.Type = strings.ToLower(strings.TrimSpace(t.Type))
	switch t.Type {
	case TriggerHTTP:
		var ms Methods
		for _, m := range t.Method {
			m = strings.ToUpper(strings.TrimSpace(m))
			if !slices.Contains(httpMethods, m) {
				return t, fmt.Errorf("http trigger: unknown method %q", m)
			}
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
		return Trigger{Type: t.Type, Method: ms}, nil
	case TriggerSchedule:
		t.Cron = strings.Join(strings.Fields(t.Cron), " ")
		if _, err := parseCron(t.Cron); err != nil {
			return t, fmt.Errorf("schedule trigger: %v", err)
		}
		return Trigger{Type: t.Type, Cron: t.Cron, Name: t.Name}, nil
	case TriggerDatabase:
		if !tableRe.MatchString(t.Table) {
			return t, fmt.Errorf("database trigger: table must name a table of the public schema, got %q", t.Table)
		}
		var ops []string
		for _, op := range t.Operations {
			op = strings.ToUpper(strings.TrimSpace(op))
			if !slices.Contains(operations, op) {
				return t, fmt.Errorf("database trigger: unknown operation %q (INSERT, UPDATE, DELETE)", op)
			}
			if !slices.Contains(ops, op) {
				ops = append(ops, op)
			}
		}
		return Trigger{Type: t.Type, Table: t.Table, Operations: ops, Channel: t.Channel}, nil
	case TriggerEvent:
		t.Event = strings.TrimSpace(t.Event)
		if t.Event == "" || len(t.Event) > 128 || strings.ContainsFunc(t.Event, func(r rune) bool { return r < ' ' || r == '/' }) {
			return t, fmt.Errorf("event trigger: event must be 1-128 characters without '/' or control characters, got %q", t.Event)
		}
		return Trigger{Type: t.Type, Event: t.Event}, nil
	case TriggerOnce:
		return Trigger{Type: t.Type}, nil
	}
	return t, fmt.Errorf("unknown trigger type %q (http, schedule, database, event, once)", t.Type)
}

// normalizeAll checks a list of triggers.
func normalizeAll(ts []Trigger) ([]Trigger, error) {
	out := make([]Trigger, 0, len(ts))
	for _, t := range ts {
		n, err := normalize(t)
		if err != nil {
			return nil, ErrInvalidTrigger.WithMessage("Invalid trigger: %v", err)
		}
		out = append(out, n)
	}
	return mergeTriggers(out, nil, false), nil
}

// mergeTriggers joins lists without duplicates; withDefault gives an empty
// result the default http trigger.
func mergeTriggers(a, b []Trigger, withDefault ...bool) []Trigger {
	seen := map[string]bool{}
	out := []Trigger{}
	for _, t := range slices.Concat(a, b) {
		k, _ := json.Marshal(t)
		if !seen[string(k)] {
			seen[string(k)] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 && (len(withDefault) == 0 || withDefault[0]) {
		out = append(out, Trigger{Type: TriggerHTTP})
	}
	return out
}

// of returns the triggers of one type.
func of(ts []Trigger, typ string) []Trigger {
	var out []Trigger
	for _, t := range ts {
		if t.Type == typ {
			out = append(out, t)
		}
	}
	return out
}

// allowsMethod reports whether the http triggers accept method; invocable
// is false when there is no http trigger at all.
func allowsMethod(ts []Trigger, method string) (invocable, allowed bool) {
	for _, t := range of(ts, TriggerHTTP) {
		invocable = true
		if len(t.Method) == 0 || slices.Contains(t.Method, method) ||
			(method == "HEAD" && slices.Contains(t.Method, "GET")) {
			return true, true
		}
	}
	return invocable, false
}

// wants reports whether a database trigger takes a change of table by op.
func (t Trigger) wants(table, op string) bool {
	return t.Table == table && (len(t.Operations) == 0 || slices.Contains(t.Operations, op))
}

// channel is the X-Database-Channel of a database trigger.
func (t Trigger) channel() string {
	if t.Channel != "" {
		return t.Channel
	}
	return t.Table + "_changes"
}

// codeTriggers turns what the code declares (export const triggers,
// runOnce) into triggers.
func codeTriggers(raw json.RawMessage, runOnce bool) ([]Trigger, error) {
	var ts []Trigger
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &ts); err != nil {
			return nil, ErrInvalidTrigger.WithMessage("Invalid trigger: export const triggers must be a list of trigger objects (%v)", err)
		}
	}
	if runOnce {
		ts = append(ts, Trigger{Type: TriggerOnce})
	}
	return normalizeAll(ts)
}
