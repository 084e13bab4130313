package realtime

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/events"
)

// inFrame is any frame a client sends (api.md §10.1, §10.2).
type inFrame struct {
	Type           string  `json:"type"`
	Token          string  `json:"token"`
	SubscriptionID *string `json:"subscription_id"`
	Channel        *string `json:"channel"`
	Data           struct {
		Table string `json:"table"`
	} `json:"data"`
	// Since resumes after this event id (a number, or a string of one).
	Since json.RawMessage `json:"since"`
}

// since parses Since; ok is false when it is absent.
func (f *inFrame) since() (id int64, ok bool, valid bool) {
	raw := bytes.TrimSpace(f.Since)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, true
	}
	s := strings.Trim(string(raw), `"`)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, true, false
	}
	return id, true, true
}

// The system tables the original admin UI follows, by subscription id:
// superusers only, with sanitized rows (the capture trigger strips password
// hashes and secret values).
var systemFeeds = map[string]string{
	"users_changes":             "selfdb.users",
	"buckets_changes":           "selfdb.buckets",
	"files_changes":             "selfdb.files",
	"functions_changes":         "selfdb.functions",
	"function_env_vars_changes": "selfdb.function_env",
}

// allTables is the subscription id of every table the caller can read.
const allTables = "tables_changes"

// target resolves what a subscribe frame asks for: its id, the table
// ("" for every table), whether it is a system feed and whether it uses
// the JS SDK's dialect (channel).
func (f *inFrame) target() (id, table string, system, js bool, ok bool) {
	switch {
	case f.SubscriptionID != nil && *f.SubscriptionID != "":
		id = *f.SubscriptionID
	case f.Channel != nil && *f.Channel != "":
		id, js = *f.Channel, true
	default:
		return "", "", false, false, false
	}
	if t, sys := systemFeeds[id]; sys && f.Data.Table == "" {
		return id, t, true, js, true
	}
	switch {
	case f.Data.Table != "":
		table = f.Data.Table
	case id == allTables:
		table = ""
	case strings.HasSuffix(id, "_changes"):
		table = strings.TrimSuffix(id, "_changes")
	default:
		table = id
	}
	return id, table, false, js, true
}

// unsubID is the id an unsubscribe frame names.
func (f *inFrame) unsubID() string {
	if f.SubscriptionID != nil && *f.SubscriptionID != "" {
		return *f.SubscriptionID
	}
	if f.Channel != nil {
		return *f.Channel
	}
	return ""
}

// frame writes small JSON objects without reflection.
type frame struct{ b []byte }

func (f *frame) key(k string) {
	if len(f.b) > 1 {
		f.b = append(f.b, ',')
	}
	f.b = strconv.AppendQuote(f.b, k)
	f.b = append(f.b, ':')
}

func (f *frame) str(k, v string) *frame {
	f.key(k)
	f.b = appendJSONString(f.b, v)
	return f
}

func (f *frame) raw(k string, v []byte) *frame {
	f.key(k)
	f.b = append(f.b, v...)
	return f
}

func (f *frame) done() []byte { return append(f.b, '}') }

func newFrame(typ string) *frame {
	f := &frame{b: make([]byte, 1, 128)}
	f.b[0] = '{'
	if typ != "" {
		f.str("type", typ)
	}
	return f
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s)
	return append(b, enc...)
}

// tableName is how frames name a table: system tables without "selfdb.".
func tableName(t string) string { return strings.TrimPrefix(t, events.SystemPrefix) }

// changeFrame is the database_change frame of e for subscription id (§10.1
// item 5), with the JS SDK's fields (§10.2) for subscriptions made by channel.
func changeFrame(e *events.Event, id string, js bool) []byte {
	table := appendJSONString(nil, tableName(e.Table))
	op := appendJSONString(nil, e.Op)
	f := newFrame("database_change").str("subscription_id", id)
	f.raw("event_id", strconv.AppendInt(nil, e.ID, 10))
	data := make([]byte, 0, 64+len(e.Row)+len(e.OldRow))
	data = append(data, `{"operation":`...)
	data = append(data, op...)
	data = append(data, `,"table":`...)
	data = append(data, table...)
	data = append(data, `,"data":`...)
	data = append(data, e.Row...)
	data = append(data, `,"old_data":`...)
	data = append(data, e.OldRow...)
	data = append(data, '}')
	f.raw("data", data)
	if js {
		f.str("channel", id)
		f.raw("event", op)
		payload := make([]byte, 0, 64+len(e.Row)+len(e.OldRow))
		payload = append(payload, `{"eventType":`...)
		payload = append(payload, op...)
		payload = append(payload, `,"table":`...)
		payload = append(payload, table...)
		payload = append(payload, `,"new":`...)
		payload = append(payload, e.Row...)
		payload = append(payload, `,"old":`...)
		payload = append(payload, e.OldRow...)
		payload = append(payload, '}')
		f.raw("payload", payload)
	}
	return f.done()
}

// errorFrame reports a refused or malformed request: its code, and its
// message in "error" as the protocol's first error frames did;
// subscription_id names the subscription it concerns, if any.
func errorFrame(e *apperr.Error, subID string) []byte {
	f := newFrame("error").str("error", e.Message).str("code", e.Code)
	if subID != "" {
		f.str("subscription_id", subID)
	}
	return f.done()
}

// authErrorFrame is the protocol's own refusal before authentication:
// {"error": msg}.
func authErrorFrame(msg string) []byte { return newFrame("").str("error", msg).done() }

func connectedFrame(userID string) []byte {
	f := newFrame("connected")
	if userID == "" {
		return f.raw("user_id", []byte("null")).done()
	}
	return f.str("user_id", userID).done()
}

func subFrame(typ, id string, js bool) []byte {
	f := newFrame(typ).str("subscription_id", id)
	if js {
		f.str("channel", id)
	}
	return f.done()
}

var pongFrame = []byte(`{"type":"pong"}`)
