package sqlconsole

import "encoding/json"

// QueryIn is the body of POST /sql/query.
type QueryIn struct {
	Query    string            `json:"query"`
	Params   []json.RawMessage `json:"params"`
	ReadOnly bool              `json:"read_only"`
}

// SnippetIn is the body of POST /sql/snippets.
type SnippetIn struct {
	Name        string  `json:"name"`
	SQLCode     string  `json:"sql_code"`
	Description *string `json:"description"`
	IsShared    bool    `json:"is_shared"`
}

// SnippetPatch is the body of PUT /sql/snippets/{id}.
type SnippetPatch struct {
	Name        *string `json:"name"`
	SQLCode     *string `json:"sql_code"`
	Description *string `json:"description"`
	IsShared    *bool   `json:"is_shared"`
}

// HistoryIn is the body of POST /sql/history.
type HistoryIn struct {
	Query         string   `json:"query"`
	IsReadOnly    bool     `json:"is_read_only"`
	ExecutionTime *float64 `json:"execution_time"`
	RowCount      *int64   `json:"row_count"`
	Error         *string  `json:"error"`
}

// HistoryPage is GET /sql/history.
type HistoryPage struct {
	History  []HistoryEntry  `json:"history"`
	Metadata HistoryMetadata `json:"metadata"`
}

// HistoryMetadata is HistoryPage's paging.
type HistoryMetadata struct {
	TotalCount int `json:"total_count"`
	Page       int `json:"page"`
	PageSize   int `json:"page_size"`
	TotalPages int `json:"total_pages"`
}

// QueryFailed is POST /sql/query's 200 for a script that failed (rolled back).
type QueryFailed struct {
	Error   string `json:"error"`
	Success bool   `json:"success" doc:"false"`
}

// SnippetDeleted is DELETE /sql/snippets/{id}'s answer.
type SnippetDeleted struct {
	DeletedSnippet *Snippet `json:"deleted_snippet"`
	Message        string   `json:"message"`
}
