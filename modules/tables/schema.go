package tables

import (
	"context"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
	"github.com/selfdb/selfdb/platform/identity"
)

// SchemaTable is one table of GET /schema.
type SchemaTable struct {
	TableName        string         `json:"table_name"`
	TableDescription *string        `json:"table_description"`
	Columns          []SchemaColumn `json:"columns"`
	PrimaryKeys      []string       `json:"primary_keys"`
}

// SchemaColumn is one column of GET /schema.
type SchemaColumn struct {
	ColumnName        string  `json:"column_name"`
	DataType          string  `json:"data_type"`
	IsNullable        string  `json:"is_nullable"`
	ColumnDefault     *string `json:"column_default"`
	ColumnDescription *string `json:"column_description"`
	IsPrimaryKey      bool    `json:"is_primary_key"`
}

// SchemaFK is one foreign key column of GET /schema.
type SchemaFK struct {
	TableName         string `json:"table_name"`
	ColumnName        string `json:"column_name"`
	ForeignTableName  string `json:"foreign_table_name"`
	ForeignColumnName string `json:"foreign_column_name"`
}

// schemaTablesSQL reads every user table with its columns and primary key
// in one query (no per-table round trips).
const schemaTablesSQL = `SELECT coalesce(json_agg(json_build_object(
  'table_name', c.relname,
  'table_description', obj_description(c.oid, 'pg_class'),
  'columns', coalesce((SELECT json_agg(json_build_object(
      'column_name', ic.column_name, 'data_type', ic.data_type, 'is_nullable', ic.is_nullable,
      'column_default', ic.column_default, 'column_description', col_description(c.oid, ic.ordinal_position::int),
      'is_primary_key', ic.column_name = ANY(pk.cols)) ORDER BY ic.ordinal_position)
    FROM information_schema.columns ic WHERE ic.table_schema = 'public' AND ic.table_name = c.relname), '[]'),
  'primary_keys', to_json(coalesce(pk.cols, '{}'::name[]))) ORDER BY c.relname), '[]')::text
FROM pg_class c
LEFT JOIN LATERAL (SELECT array_agg(a.attname ORDER BY k.ord) AS cols
  FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  WHERE i.indrelid = c.oid AND i.indisprimary) pk ON true
WHERE ` + userTable

// schemaFKSQL reads every foreign key between user tables in one query.
const schemaFKSQL = `SELECT coalesce(json_agg(json_build_object('table_name', c.relname, 'column_name', a.attname,
  'foreign_table_name', fc.relname, 'foreign_column_name', fa.attname) ORDER BY c.relname, con.conname, k.ord), '[]')::text
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_class fc ON fc.oid = con.confrelid
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY k(col, fcol, ord)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col
JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fcol
WHERE con.contype = 'f' AND ` + userTable + ` AND fc.relnamespace = 'public'::regnamespace`

// Schema reads every user table and foreign key: two catalog queries.
func (r *Repository) Schema(ctx context.Context) ([]SchemaTable, []SchemaFK, error) {
	var tdoc, fdoc string
	if err := r.db.QueryRowContext(ctx, schemaTablesSQL).Scan(&tdoc); err != nil {
		return nil, nil, db.Err(err)
	}
	if err := r.db.QueryRowContext(ctx, schemaFKSQL).Scan(&fdoc); err != nil {
		return nil, nil, db.Err(err)
	}
	var tables []SchemaTable
	var fks []SchemaFK
	if err := json.Unmarshal([]byte(tdoc), &tables); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal([]byte(fdoc), &fks); err != nil {
		return nil, nil, err
	}
	return tables, fks, nil
}

// SchemaRoutes registers /api/v1/schema (superuser).
type SchemaRoutes struct {
	repo *Repository
}

var _ httpserver.Routes = (*SchemaRoutes)(nil)

// NewSchemaRoutes builds the schema routes.
func NewSchemaRoutes(repo *Repository) *SchemaRoutes {
	return &SchemaRoutes{repo: repo}
}

// Register adds GET /api/v1/schema and /api/v1/schema/visualization.
func (s *SchemaRoutes) Register(app fiber.Router) {
	g := app.Group("/api/v1/schema")
	g.Get("", identity.RequireSuperuser, s.schema)
	g.Get("/visualization", identity.RequireSuperuser, s.visualization)
}

// schemaColumn is the column shape of GET /schema (no is_primary_key).
type schemaColumn struct {
	ColumnName        string  `json:"column_name"`
	DataType          string  `json:"data_type"`
	IsNullable        string  `json:"is_nullable"`
	ColumnDefault     *string `json:"column_default"`
	ColumnDescription *string `json:"column_description"`
}

func (s *SchemaRoutes) schema(c *fiber.Ctx) error {
	tables, fks, err := s.repo.Schema(c.UserContext())
	if err != nil {
		return err
	}
	type table struct {
		TableName        string         `json:"table_name"`
		TableDescription *string        `json:"table_description"`
		Columns          []schemaColumn `json:"columns"`
		PrimaryKeys      []string       `json:"primary_keys"`
	}
	out := make([]table, len(tables))
	for i, t := range tables {
		cols := make([]schemaColumn, len(t.Columns))
		for j, col := range t.Columns {
			cols[j] = schemaColumn{col.ColumnName, col.DataType, col.IsNullable, col.ColumnDefault, col.ColumnDescription}
		}
		out[i] = table{t.TableName, t.TableDescription, cols, nonNil(t.PrimaryKeys)}
	}
	return c.JSON(fiber.Map{"tables": out, "foreign_keys": fks})
}

func (s *SchemaRoutes) visualization(c *fiber.Ctx) error {
	tables, fks, err := s.repo.Schema(c.UserContext())
	if err != nil {
		return err
	}
	nodes := make([]fiber.Map, len(tables))
	for i, t := range tables {
		nodes[i] = fiber.Map{"id": t.TableName, "label": t.TableName, "description": t.TableDescription,
			"columns": t.Columns, "primary_keys": nonNil(t.PrimaryKeys)}
	}
	edges := make([]fiber.Map, len(fks))
	for i, fk := range fks {
		edges[i] = fiber.Map{
			"id":            fk.TableName + "_" + fk.ColumnName + "_" + fk.ForeignTableName + "_" + fk.ForeignColumnName,
			"source":        fk.TableName,
			"target":        fk.ForeignTableName,
			"source_column": fk.ColumnName,
			"target_column": fk.ForeignColumnName,
			"label":         fk.TableName + " → " + fk.ForeignTableName,
			"source_handle": fk.TableName + "-" + fk.ColumnName + "-source",
			"target_handle": fk.ForeignTableName + "-" + fk.ForeignColumnName + "-target",
		}
	}
	return c.JSON(fiber.Map{"nodes": nodes, "edges": edges})
}
