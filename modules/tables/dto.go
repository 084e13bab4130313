package tables

import "encoding/json"

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
	Data     json.RawMessage `json:"data"`
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
