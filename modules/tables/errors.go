package tables

import (
	"github.com/selfdb/selfdb/platform/apperr"
)

// The tables module's errors (api.md §6, §8).
var (
	// ErrTableNotFound is an unknown (or non-user) table.
	ErrTableNotFound = apperr.NotFound("table_not_found", "Table not found")
	// ErrTableExists is a create of an existing table.
	ErrTableExists = apperr.Invalid("table_exists", "Table already exists")
	// ErrInvalidIdentifier is a name that isn't ^[A-Za-z_][A-Za-z0-9_]{0,62}$.
	ErrInvalidIdentifier = apperr.Invalid("invalid_identifier", "Invalid identifier")
	// ErrInvalidType is a type outside the allow-list.
	ErrInvalidType = apperr.Invalid("invalid_type", "Unsupported data type")
	// ErrInvalidDefault is a default that is neither a literal nor an allowed expression.
	ErrInvalidDefault = apperr.Invalid("invalid_default", "Invalid default value")
	// ErrInvalidTable is a create body that can't make a table.
	ErrInvalidTable = apperr.Invalid("invalid_table", "Invalid table definition")
	// ErrUnknownColumn is a reference to a column the table doesn't have.
	ErrUnknownColumn = apperr.Invalid("unknown_column", "Column does not exist")
	// ErrColumnExists is an add of an existing column.
	ErrColumnExists = apperr.Invalid("column_exists", "Column already exists")
	// ErrColumnInPrimaryKey is a drop of a primary key column.
	ErrColumnInPrimaryKey = apperr.Invalid("column_in_primary_key", "Cannot drop a primary key column")
	// ErrBadFilter is an unparsable filter.
	ErrBadFilter = apperr.Invalid("invalid_filter", "Invalid filter")
	// ErrBadOrder is an unparsable order_by.
	ErrBadOrder = apperr.Invalid("invalid_order_by", "Invalid order_by")
	// ErrBadSelect is an unparsable select.
	ErrBadSelect = apperr.Invalid("invalid_select", "Invalid select")
	// ErrEmptyBody is an update with nothing to change.
	ErrEmptyBody = apperr.Invalid("empty_body", "No data provided")
	// ErrRowNotFound is an update or delete that matched no row the caller may touch.
	ErrRowNotFound = apperr.NotFound("row_not_found", "Row not found")
	// ErrBadPolicy is an access level or owner column that can't be used.
	ErrBadPolicy = apperr.Invalid("invalid_policy", "Invalid access policy")
	// ErrTooManyRows is a batch insert over the limit.
	ErrTooManyRows = apperr.Invalid("batch_too_large", "Too many rows in one insert")
	// ErrInvalidCursor is a cursor the server did not make, or made for
	// another query, or one that cannot be used here.
	ErrInvalidCursor = apperr.Invalid("invalid_cursor", "Invalid cursor")
)

func errBadFilterf(format string, args ...any) error {
	return ErrBadFilter.WithMessage(format, args...)
}
func errBadOrderf(format string, args ...any) error { return ErrBadOrder.WithMessage(format, args...) }
func errBadSelectf(format string, args ...any) error {
	return ErrBadSelect.WithMessage(format, args...)
}

// errUnknownColumn is the contract's 400 for a column the table lacks.
func errUnknownColumn(col, table string) error {
	return ErrUnknownColumn.WithMessage("Column '%s' does not exist in table '%s'", col, table)
}

// errTableNotFound names the table.
func errTableNotFound(table string) error {
	return ErrTableNotFound.WithMessage("Table '%s' not found", table)
}
