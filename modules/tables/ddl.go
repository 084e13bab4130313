package tables

import (
	"encoding/json"
	"strings"

	"github.com/selfdb/selfdb/platform/db"
)

// DDL is built only from validated identifiers (always quoted), allow-listed
// types and escaped literals; see ident.go and types.go.

// ownerTypes are the column types an owner column may have: it holds a user id.
var ownerTypes = map[string]bool{"uuid": true, "text": true, "character varying": true}

// baseType strips modifiers and array brackets: "character varying(20)" → "character varying".
func baseType(t string) string {
	if i := strings.IndexAny(t, "(["); i >= 0 {
		return strings.TrimSpace(t[:i])
	}
	return t
}

// applyAccess overlays in on p, checking each level.
func applyAccess(p Policy, in *AccessIn) (Policy, error) {
	if in == nil {
		return p, nil
	}
	set := func(dst *Level, v *Level, name string) error {
		if v == nil {
			return nil
		}
		if !v.valid() {
			return ErrBadPolicy.WithMessage("Invalid access level '%s' for %s: use public, authenticated, owner or superuser", *v, name)
		}
		*dst = *v
		return nil
	}
	for _, f := range []struct {
		dst  *Level
		v    *Level
		name string
	}{{&p.Read, in.Read, "read"}, {&p.Insert, in.Insert, "insert"}, {&p.Update, in.Update, "update"}, {&p.Delete, in.Delete, "delete"}} {
		if err := set(f.dst, f.v, f.name); err != nil {
			return p, err
		}
	}
	return p, nil
}

// checkOwnerLevels refuses an owner level without an owner column.
func checkOwnerLevels(p Policy) error {
	if p.OwnerColumn != nil {
		return nil
	}
	for _, l := range []Level{p.Read, p.Insert, p.Update, p.Delete} {
		if l == LevelOwner {
			return ErrBadPolicy.WithMessage("The owner access level needs an owner_column")
		}
	}
	return nil
}

// reference is a foreign key target to check against the catalog.
type reference struct{ Table, Column string }

// createPlan is a checked POST /tables body, ready to run.
type createPlan struct {
	Statements []string
	Refs       []reference
	Policy     Policy
}

// isNull reports an absent or JSON-null raw value.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// defaultClause renders DEFAULT for a raw JSON default of canonical type typ.
func defaultClause(raw json.RawMessage, typ, col string) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", ErrInvalidDefault.WithMessage("Invalid default for column '%s'", col)
	}
	d, ok := defaultSQL(v, typ)
	if !ok {
		return "", ErrInvalidDefault.WithMessage("Invalid default for column '%s': use a literal or now(), gen_random_uuid(), CURRENT_TIMESTAMP", col)
	}
	return " DEFAULT " + d, nil
}

// planCreate checks a create body and renders its statements.
func planCreate(in CreateTableIn) (*createPlan, error) {
	if !ValidIdent(in.Name) {
		return nil, ErrInvalidIdentifier.WithMessage("Invalid table name '%s': use letters, digits and underscores, starting with a letter or underscore (max 63)", in.Name)
	}
	if len(in.Columns) == 0 {
		return nil, ErrInvalidTable.WithMessage("A table needs at least one column")
	}
	if len(in.Columns) > 1600 {
		return nil, ErrInvalidTable.WithMessage("Too many columns")
	}
	plan := &createPlan{}
	seen := map[string]string{}
	var defs, pks []string
	var comments []string
	table := qualified(in.Name)
	for _, c := range in.Columns {
		if !ValidIdent(c.Name) {
			return nil, ErrInvalidIdentifier.WithMessage("Invalid column name '%s'", c.Name)
		}
		if _, dup := seen[c.Name]; dup {
			return nil, ErrInvalidTable.WithMessage("Duplicate column '%s'", c.Name)
		}
		typ, ok := ParseType(c.Type)
		if !ok {
			return nil, ErrInvalidType.WithMessage("Unsupported data type '%s' for column '%s'", c.Type, c.Name)
		}
		seen[c.Name] = typ
		def := quoteIdent(c.Name) + " " + typ
		pk := (c.PrimaryKey != nil && *c.PrimaryKey) || (c.Primary != nil && *c.Primary)
		if pk {
			pks = append(pks, quoteIdent(c.Name))
		}
		if (c.Nullable != nil && !*c.Nullable) && !pk {
			def += " NOT NULL"
		}
		if !isNull(c.Default) {
			d, err := defaultClause(c.Default, typ, c.Name)
			if err != nil {
				return nil, err
			}
			def += d
		}
		if c.Unique && !pk {
			def += " UNIQUE"
		}
		if c.IsForeignKey || c.ReferencesTable != nil {
			if c.ReferencesTable == nil || c.ReferencesColumn == nil {
				return nil, ErrInvalidTable.WithMessage("Foreign key column '%s' needs references_table and references_column", c.Name)
			}
			rt, rc := *c.ReferencesTable, *c.ReferencesColumn
			if !ValidIdent(rt) || !ValidIdent(rc) {
				return nil, ErrInvalidIdentifier.WithMessage("Invalid foreign key reference '%s.%s'", rt, rc)
			}
			if rt != in.Name {
				plan.Refs = append(plan.Refs, reference{Table: rt, Column: rc})
			}
			def += " REFERENCES " + qualified(rt) + " (" + quoteIdent(rc) + ")"
		}
		defs = append(defs, def)
		if c.Description != nil {
			l, ok := quoteLiteral(*c.Description)
			if !ok {
				return nil, db.ErrInvalidValue.WithMessage("Invalid description for column '%s'", c.Name)
			}
			comments = append(comments, "COMMENT ON COLUMN "+table+"."+quoteIdent(c.Name)+" IS "+l)
		}
	}
	for _, c := range in.Columns {
		if c.ReferencesTable != nil && *c.ReferencesTable == in.Name && c.ReferencesColumn != nil {
			if _, ok := seen[*c.ReferencesColumn]; !ok {
				return nil, errUnknownColumn(*c.ReferencesColumn, in.Name)
			}
		}
	}
	if len(pks) > 0 {
		defs = append(defs, "PRIMARY KEY ("+strings.Join(pks, ", ")+")")
	}
	plan.Statements = append(plan.Statements, "CREATE TABLE "+table+" (\n  "+strings.Join(defs, ",\n  ")+"\n)")
	if in.Description != nil {
		l, ok := quoteLiteral(*in.Description)
		if !ok {
			return nil, db.ErrInvalidValue.WithMessage("Invalid table description")
		}
		plan.Statements = append(plan.Statements, "COMMENT ON TABLE "+table+" IS "+l)
	}
	plan.Statements = append(plan.Statements, comments...)

	p, err := applyAccess(DefaultPolicy(), in.Access)
	if err != nil {
		return nil, err
	}
	if in.OwnerColumn != nil {
		typ, ok := seen[*in.OwnerColumn]
		if !ok {
			return nil, ErrBadPolicy.WithMessage("owner_column '%s' is not a column of the table", *in.OwnerColumn)
		}
		if !ownerTypes[typ] && !ownerTypes[baseType(typ)] {
			return nil, ErrBadPolicy.WithMessage("owner_column '%s' must be uuid or text", *in.OwnerColumn)
		}
		o := *in.OwnerColumn
		p.OwnerColumn = &o
	}
	if err := checkOwnerLevels(p); err != nil {
		return nil, err
	}
	plan.Policy = p
	return plan, nil
}

// nullable reads the is_nullable field ("YES"/"NO", also true/false spellings).
func nullable(s string) (bool, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "YES", "TRUE", "Y", "1":
		return true, nil
	case "NO", "FALSE", "N", "0":
		return false, nil
	}
	return false, db.ErrInvalidValue.WithMessage("is_nullable must be YES or NO")
}

// planAddColumn renders POST /{t}/columns.
func planAddColumn(table string, in AddColumnIn) ([]string, string, error) {
	if !ValidIdent(in.ColumnName) {
		return nil, "", ErrInvalidIdentifier.WithMessage("Invalid column name '%s'", in.ColumnName)
	}
	typ, ok := ParseType(withModifiers(in.DataType, in.CharacterMaximumLength, in.NumericPrecision, in.NumericScale))
	if !ok {
		return nil, "", ErrInvalidType.WithMessage("Unsupported data type '%s'", in.DataType)
	}
	t := qualified(table)
	def := "ALTER TABLE " + t + " ADD COLUMN " + quoteIdent(in.ColumnName) + " " + typ
	if in.IsNullable != nil {
		n, err := nullable(*in.IsNullable)
		if err != nil {
			return nil, "", err
		}
		if !n {
			def += " NOT NULL"
		}
	}
	if !isNull(in.ColumnDefault) {
		d, err := defaultClause(in.ColumnDefault, typ, in.ColumnName)
		if err != nil {
			return nil, "", err
		}
		def += d
	}
	stmts := []string{def}
	if in.ColumnDescription != nil {
		l, ok := quoteLiteral(*in.ColumnDescription)
		if !ok {
			return nil, "", db.ErrInvalidValue.WithMessage("Invalid column description")
		}
		stmts = append(stmts, "COMMENT ON COLUMN "+t+"."+quoteIdent(in.ColumnName)+" IS "+l)
	}
	return stmts, typ, nil
}

// planUpdateColumn renders PUT /{t}/columns/{c} against the current column.
func planUpdateColumn(table string, cur *Column, in UpdateColumnIn) ([]string, error) {
	t := qualified(table)
	col := quoteIdent(cur.Name)
	var stmts []string
	typ := cur.CastType
	if in.DataType != nil || in.CharacterMaximumLength != nil || in.NumericPrecision != nil || in.NumericScale != nil {
		raw := baseType(cur.FullType)
		if in.DataType != nil {
			raw = *in.DataType
		}
		parsed, ok := ParseType(withModifiers(raw, in.CharacterMaximumLength, in.NumericPrecision, in.NumericScale))
		if !ok {
			return nil, ErrInvalidType.WithMessage("Unsupported data type '%s'", raw)
		}
		typ = parsed
		stmts = append(stmts, "ALTER TABLE "+t+" ALTER COLUMN "+col+" TYPE "+parsed+" USING "+col+"::"+parsed)
	}
	if in.IsNullable != nil {
		n, err := nullable(*in.IsNullable)
		if err != nil {
			return nil, err
		}
		if n {
			stmts = append(stmts, "ALTER TABLE "+t+" ALTER COLUMN "+col+" DROP NOT NULL")
		} else {
			stmts = append(stmts, "ALTER TABLE "+t+" ALTER COLUMN "+col+" SET NOT NULL")
		}
	}
	if in.ColumnDefault != nil {
		if isNull(in.ColumnDefault) {
			stmts = append(stmts, "ALTER TABLE "+t+" ALTER COLUMN "+col+" DROP DEFAULT")
		} else {
			d, err := defaultClause(in.ColumnDefault, typ, cur.Name)
			if err != nil {
				return nil, err
			}
			stmts = append(stmts, "ALTER TABLE "+t+" ALTER COLUMN "+col+" SET"+d)
		}
	}
	if in.ColumnDescription != nil {
		l, ok := quoteLiteral(*in.ColumnDescription)
		if !ok {
			return nil, db.ErrInvalidValue.WithMessage("Invalid column description")
		}
		stmts = append(stmts, "COMMENT ON COLUMN "+t+"."+col+" IS "+l)
	}
	if in.NewName != nil && *in.NewName != cur.Name {
		if !ValidIdent(*in.NewName) {
			return nil, ErrInvalidIdentifier.WithMessage("Invalid column name '%s'", *in.NewName)
		}
		stmts = append(stmts, "ALTER TABLE "+t+" RENAME COLUMN "+col+" TO "+quoteIdent(*in.NewName))
	}
	return stmts, nil
}
