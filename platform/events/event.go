package events

import (
	"encoding/json"
	"strings"
	"time"
)

// Channel is the notification channel of the change log.
const Channel = "selfdb_changes"

// The operations of the log.
const (
	OpInsert = "INSERT"
	OpUpdate = "UPDATE"
	OpDelete = "DELETE"
	// OpDDL is a schema change of public; Row is {"tag", "objects"}.
	OpDDL = "DDL"
)

// The topics of internal events (Event.Topic).
const (
	TopicSchemaChanged = "schema.changed"
	TopicUserChanged   = "user.changed"
	TopicUserDeleted   = "user.deleted"
	TopicPolicyChanged = "policy.changed"
)

// SystemPrefix starts the Table of SelfDB's own tables.
const SystemPrefix = "selfdb."

// Event is one row of selfdb.change_log.
type Event struct {
	ID int64
	// Table is a user table's name, "selfdb.<name>" for SelfDB's own
	// tables, "" for DDL.
	Table string
	// Op is OpInsert, OpUpdate, OpDelete or OpDDL.
	Op string
	// Row is the new row (null for a delete), OldRow the previous one (null
	// for an insert), as JSON objects in column order.
	Row, OldRow json.RawMessage
	// CreatedAt is when the change was written (its transaction's clock).
	CreatedAt time.Time
}

// System reports an event of one of SelfDB's own tables.
func (e *Event) System() bool { return strings.HasPrefix(e.Table, SystemPrefix) }

// UserTable reports a change of a user table (public).
func (e *Event) UserTable() bool { return e.Table != "" && !e.System() }

// Topic names an internal event: TopicSchemaChanged for DDL, the user and
// policy topics for those system tables, "" for anything else.
func (e *Event) Topic() string {
	switch {
	case e.Op == OpDDL:
		return TopicSchemaChanged
	case e.Table == "selfdb.users" && e.Op == OpDelete:
		return TopicUserDeleted
	case e.Table == "selfdb.users":
		return TopicUserChanged
	case e.Table == "selfdb.table_policies":
		return TopicPolicyChanged
	}
	return ""
}

// Of returns a filter that takes the events of the given topics.
func Of(topics ...string) func(*Event) bool {
	return func(e *Event) bool {
		t := e.Topic()
		for _, want := range topics {
			if t == want {
				return true
			}
		}
		return false
	}
}
