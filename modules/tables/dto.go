package tables

import (
	"encoding/json"

	"github.com/selfdb/selfdb/platform/httpserver"
)

// TableSummary is one entry of GET /tables.
type TableSummary struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Size        int64   `json:"size"`
	ColumnCount int     `json:"column_count"`
	Access      Policy  `json:"access"`
}

// TableDetail is GET /tables/{t}.
type TableDetail struct {
	Name        string       `json:"name"`
	Description *string      `json:"description"`
	Columns     []ColumnOut  `json:"columns"`
	PrimaryKeys []string     `json:"primary_keys"`
	ForeignKeys []ForeignKey `json:"foreign_keys"`
	Indexes     []Index      `json:"indexes"`
	RowCount    int64        `json:"row_count"`
	// RowCountEstimated is true when row_count is the planner's estimate.
	RowCountEstimated bool    `json:"row_count_estimated"`
	Access            Policy  `json:"access"`
	OwnerColumn       *string `json:"owner_column"`
}

// ColumnOut is a column as the routes show it.
type ColumnOut struct {
	Name        string  `json:"column_name"`
	DataType    string  `json:"data_type"`
	IsNullable  string  `json:"is_nullable"`
	Default     *string `json:"column_default"`
	MaxLength   *int    `json:"character_maximum_length"`
	Precision   *int    `json:"numeric_precision"`
	Scale       *int    `json:"numeric_scale"`
	Description *string `json:"column_description"`
}

func columnsOut(cols []Column) []ColumnOut {
	out := make([]ColumnOut, len(cols))
	for i, c := range cols {
		out[i] = ColumnOut{Name: c.Name, DataType: c.DataType, IsNullable: c.IsNullable, Default: c.Default,
			MaxLength: c.MaxLength, Precision: c.Precision, Scale: c.Scale, Description: c.Description}
	}
	return out
}

// DataColumn is a column in the metadata of GET /{t}/data.
type DataColumn struct {
	Name       string `json:"column_name"`
	DataType   string `json:"data_type"`
	IsNullable string `json:"is_nullable"`
}

// DataPage is GET /{t}/data.
type DataPage struct {
	Data     json.RawMessage `json:"data" doc:"The rows: an array of objects (column → value)."`
	Metadata DataMetadata    `json:"metadata"`
}

// DataMetadata is the paging part of DataPage. TotalCount and TotalPages
// are null when the caller asked for no count (count=none).
type DataMetadata struct {
	TotalCount *int64       `json:"total_count"`
	Page       int          `json:"page"`
	PageSize   int          `json:"page_size"`
	TotalPages *int64       `json:"total_pages"`
	Columns    []DataColumn `json:"columns"`
	// NextCursor opens the next page (?cursor=); present only when rows
	// follow this page in a table with a primary key.
	NextCursor string `json:"next_cursor,omitempty"`
}

// AccessIn is the access part of create and update bodies; missing levels
// keep their current (or default) value.
type AccessIn struct {
	Read   *Level `json:"read"`
	Insert *Level `json:"insert"`
	Update *Level `json:"update"`
	Delete *Level `json:"delete"`
}

// ColumnIn is one column of a create body.
type ColumnIn struct {
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	Nullable         *bool           `json:"nullable"`
	Default          json.RawMessage `json:"default"`
	PrimaryKey       *bool           `json:"primary_key"`
	Primary          *bool           `json:"primary"`
	Unique           bool            `json:"unique"`
	Description      *string         `json:"description"`
	IsForeignKey     bool            `json:"is_foreign_key"`
	ReferencesTable  *string         `json:"references_table"`
	ReferencesColumn *string         `json:"references_column"`
}

// CreateTableIn is the body of POST /tables.
type CreateTableIn struct {
	Name        string     `json:"name"`
	Description *string    `json:"description"`
	IfNotExists bool       `json:"if_not_exists"`
	Columns     []ColumnIn `json:"columns"`
	Access      *AccessIn  `json:"access"`
	OwnerColumn *string    `json:"owner_column"`
}

// UpdateTableIn is the body of PUT /tables/{t}. A JSON null owner_column
// clears it; an absent one keeps it.
type UpdateTableIn struct {
	NewName     *string         `json:"new_name"`
	Description *string         `json:"description"`
	Access      *AccessIn       `json:"access"`
	OwnerColumn json.RawMessage `json:"owner_column"`
}

// AddColumnIn is the body of POST /{t}/columns.
type AddColumnIn struct {
	ColumnName             string          `json:"column_name"`
	DataType               string          `json:"data_type"`
	IsNullable             *string         `json:"is_nullable"`
	ColumnDefault          json.RawMessage `json:"column_default"`
	CharacterMaximumLength *int            `json:"character_maximum_length"`
	NumericPrecision       *int            `json:"numeric_precision"`
	NumericScale           *int            `json:"numeric_scale"`
	ColumnDescription      *string         `json:"column_description"`
}

// UpdateColumnIn is the body of PUT /{t}/columns/{c}; every field is
// optional. A JSON null column_default drops the default.
type UpdateColumnIn struct {
	NewName                *string         `json:"new_name"`
	DataType               *string         `json:"data_type"`
	IsNullable             *string         `json:"is_nullable"`
	ColumnDefault          json.RawMessage `json:"column_default"`
	CharacterMaximumLength *int            `json:"character_maximum_length"`
	NumericPrecision       *int            `json:"numeric_precision"`
	NumericScale           *int            `json:"numeric_scale"`
	ColumnDescription      *string         `json:"column_description"`
}

// The routes' answers. Fields are in name order, as the maps they replace
// encoded them.

// RowDeleted is DELETE /{t}/data/{id}'s answer.
type RowDeleted struct {
	DeletedData json.RawMessage `json:"deleted_data" doc:"The deleted row (column → value)."`
	Message     string          `json:"message"`
}

// TableSQL is GET /{t}/sql's answer.
type TableSQL struct {
	SQL string `json:"sql" doc:"A CREATE TABLE statement that recreates the table."`
}

// Message is an answer that only confirms.
type Message struct {
	Message string `json:"message"`
}

// TableCreated is POST /tables' 201 for a new table, with its effective policy.
type TableCreated struct {
	Access      Policy     `json:"access"`
	Columns     []ColumnIn `json:"columns"`
	Created     bool       `json:"created" doc:"true"`
	Message     string     `json:"message"`
	Name        string     `json:"name"`
	OwnerColumn *string    `json:"owner_column"`
}

// TableExisted is POST /tables' 201 for an existing table with if_not_exists.
type TableExisted struct {
	Created bool   `json:"created" doc:"false"`
	Message string `json:"message"`
	Name    string `json:"name"`
}

// ColumnAdded is POST /{t}/columns' answer.
type ColumnAdded struct {
	ColumnName string `json:"column_name"`
	DataType   string `json:"data_type"`
	Message    string `json:"message"`
}

// ColumnChanged is the answer of PUT and DELETE /{t}/columns/{c}.
type ColumnChanged struct {
	ColumnName string `json:"column_name"`
	Message    string `json:"message"`
}

// TableUpdated is PUT /{t}'s answer: what changed.
type TableUpdated struct {
	Access      *Policy         `json:"access,omitempty" doc:"The effective policy, when it was set."`
	Description *string         `json:"description,omitempty"`
	Message     string          `json:"message"`
	NewName     *string         `json:"new_name,omitempty"`
	OldName     *string         `json:"old_name,omitempty"`
	OwnerColumn json.RawMessage `json:"owner_column,omitempty" doc:"The owner column (a name or null), when the policy was set."`
}

// OpenAPISchema: a level is one of four names.
func (Level) OpenAPISchema() httpserver.Schema {
	return httpserver.Schema{Type: "string", Enum: []any{LevelPublic, LevelAuthenticated, LevelOwner, LevelSuperuser}}
}
