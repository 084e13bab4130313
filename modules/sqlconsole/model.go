package sqlconsole

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Snippet is a saved query (selfdb.sql_snippets).
type Snippet struct {
	bun.BaseModel `bun:"table:selfdb.sql_snippets,alias:s"`

	ID          uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id"`
	Name        string    `bun:"name,notnull" json:"name"`
	Description *string   `bun:"description" json:"description"`
	SQLCode     string    `bun:"sql_code,notnull" json:"sql_code"`
	UserID      uuid.UUID `bun:"user_id,type:uuid,notnull" json:"user_id"`
	IsShared    bool      `bun:"is_shared,notnull" json:"is_shared"`
	CreatedAt   time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp" json:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp" json:"updated_at"`
}

// HistoryEntry is one console run (selfdb.sql_history).
type HistoryEntry struct {
	bun.BaseModel `bun:"table:selfdb.sql_history,alias:h"`

	ID            uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id"`
	UserID        uuid.UUID `bun:"user_id,type:uuid,notnull" json:"-"`
	Query         string    `bun:"query,notnull" json:"query"`
	IsReadOnly    bool      `bun:"is_read_only,notnull" json:"is_read_only"`
	ExecutionTime float64   `bun:"execution_time,notnull" json:"execution_time"`
	RowCount      *int64    `bun:"row_count" json:"row_count"`
	Error         *string   `bun:"error" json:"error"`
	ExecutedAt    time.Time `bun:"executed_at,nullzero,notnull,default:current_timestamp" json:"executed_at"`
	// AwaitingEcho marks a run the server recorded, until a client reports
	// the same run (see Service.AddHistory).
	AwaitingEcho bool `bun:"awaiting_echo,notnull" json:"-"`
}
