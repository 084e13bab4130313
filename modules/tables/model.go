package tables

import "strings"

// Level is who may do one operation on a table (api.md §6.1).
type Level string

// The access levels, from most to least open.
const (
	LevelPublic        Level = "public"
	LevelAuthenticated Level = "authenticated"
	LevelOwner         Level = "owner"
	LevelSuperuser     Level = "superuser"
)

// valid reports whether l is one of the four levels.
func (l Level) valid() bool {
	switch l {
	case LevelPublic, LevelAuthenticated, LevelOwner, LevelSuperuser:
		return true
	}
	return false
}

// Policy is a table's access policy, stored in selfdb.table_policies. A
// stored policy may leave levels unset (""): Effective fills them with the
// defaults. Every check and every response uses the effective policy.
type Policy struct {
	Read        Level   `json:"read"`
	Insert      Level   `json:"insert"`
	Update      Level   `json:"update"`
	Delete      Level   `json:"delete"`
	OwnerColumn *string `json:"owner_column"`
}

// DefaultPolicy is the stored policy of a new table, and of one first seen
// after being created through SQL: read and insert authenticated; update
// and delete unset, so that they follow the owner column (Effective).
func DefaultPolicy() Policy {
	return Policy{Read: LevelAuthenticated, Insert: LevelAuthenticated}
}

// Effective is the policy p stands for (api.md §6.1): unset read and insert
// levels are authenticated; unset update and delete levels are owner when
// the table has an owner column, else superuser (secure by default:
// registration is open to anyone). A table may get its owner column after
// it was first seen, so the rule is applied to the current owner column
// rather than written down once.
func (p Policy) Effective() Policy {
	change := LevelSuperuser
	if p.OwnerColumn != nil {
		change = LevelOwner
	}
	for _, f := range []struct {
		l   *Level
		def Level
	}{{&p.Read, LevelAuthenticated}, {&p.Insert, LevelAuthenticated}, {&p.Update, change}, {&p.Delete, change}} {
		if *f.l == "" {
			*f.l = f.def
		}
	}
	return p
}

// Column is one column as read from the catalog.
type Column struct {
	Name        string  `json:"column_name"`
	DataType    string  `json:"data_type"`
	IsNullable  string  `json:"is_nullable"`
	Default     *string `json:"column_default"`
	MaxLength   *int    `json:"character_maximum_length"`
	Precision   *int    `json:"numeric_precision"`
	Scale       *int    `json:"numeric_scale"`
	Description *string `json:"column_description"`
	// CastType is format_type(atttypid, NULL): the type values are cast to
	// (without a length, so that an over-long value fails instead of being
	// truncated by an explicit cast).
	CastType string `json:"cast_type"`
	// FullType is format_type with the modifier, for GET /{t}/sql.
	FullType string `json:"full_type"`
}

// json reports whether values of the column are JSON documents.
func (c *Column) json() bool { return c.CastType == "json" || c.CastType == "jsonb" }

// array reports whether the column holds a Postgres array.
func (c *Column) array() bool { return strings.HasSuffix(c.CastType, "[]") }

// ForeignKey is one column of a foreign key.
type ForeignKey struct {
	ColumnName        string `json:"column_name"`
	ForeignTableName  string `json:"foreign_table_name"`
	ForeignColumnName string `json:"foreign_column_name"`
}

// Index is one column of an index.
type Index struct {
	IndexName  string `json:"index_name"`
	ColumnName string `json:"column_name"`
	IsUnique   bool   `json:"is_unique"`
	IsPrimary  bool   `json:"is_primary"`
}

// Meta is everything the data routes need to know about a table; it is
// cached per table name and schema generation.
type Meta struct {
	OID         uint32       `json:"oid"`
	Name        string       `json:"name"`
	Description *string      `json:"description"`
	Columns     []Column     `json:"columns"`
	PrimaryKeys []string     `json:"primary_keys"`
	ForeignKeys []ForeignKey `json:"foreign_keys"`
	Indexes     []Index      `json:"indexes"`
	// Policy is the effective policy; stored is the row as written (unset
	// levels left unset), what policy changes start from.
	Policy Policy `json:"-"`
	stored Policy
}

// column finds a column by name.
func (m *Meta) column(name string) *Column {
	for i := range m.Columns {
		if m.Columns[i].Name == name {
			return &m.Columns[i]
		}
	}
	return nil
}

// ownerColumn is the policy's owner column, if it still exists.
func (m *Meta) ownerColumn() *Column {
	if m.Policy.OwnerColumn == nil {
		return nil
	}
	return m.column(*m.Policy.OwnerColumn)
}
