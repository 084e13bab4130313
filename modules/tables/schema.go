package tables

import (
	"context"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/httpserver"
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

var (
	_ httpserver.Routes     = (*SchemaRoutes)(nil)
	_ httpserver.Documented = (*SchemaRoutes)(nil)
)

// NewSchemaRoutes builds the schema routes.
func NewSchemaRoutes(repo *Repository) *SchemaRoutes {
	return &SchemaRoutes{repo: repo}
}

// Register adds GET /api/v1/schema and /api/v1/schema/visualization.
func (s *SchemaRoutes) Register(app fiber.Router) { httpserver.Mount(app, s.API()) }

// API describes the routes of api.md §8.
func (s *SchemaRoutes) API() httpserver.API {
	return httpserver.API{Tag: "tables", Operations: []httpserver.Operation{
		{Method: fiber.MethodGet, Path: "/api/v1/schema", Summary: "The user tables' schema", Access: httpserver.Superuser,
			Responses: []httpserver.Response{httpserver.OK(SchemaOut{})}, Handlers: httpserver.H(s.schema)},
		{Method: fiber.MethodGet, Path: "/api/v1/schema/visualization", Summary: "The schema as a graph", Access: httpserver.Superuser,
			Description: "Nodes are tables, edges foreign keys (the admin UI's diagram).",
			Responses:   []httpserver.Response{httpserver.OK(Visualization{})}, Handlers: httpserver.H(s.visualization)},
	}}
}

// schemaTableColumn is the column shape of GET /schema (no is_primary_key).
type schemaTableColumn struct {
	ColumnName        string  `json:"column_name"`
	DataType          string  `json:"data_type"`
	IsNullable        string  `json:"is_nullable"`
	ColumnDefault     *string `json:"column_default"`
	ColumnDescription *string `json:"column_description"`
}

// SchemaOut is GET /schema's answer.
type SchemaOut struct {
	ForeignKeys []SchemaFK       `json:"foreign_keys"`
	Tables      []SchemaTableOut `json:"tables"`
}

// SchemaTableOut is one table of GET /schema.
type SchemaTableOut struct {
	TableName        string              `json:"table_name"`
	TableDescription *string             `json:"table_description"`
	Columns          []schemaTableColumn `json:"columns"`
	PrimaryKeys      []string            `json:"primary_keys"`
}

// Visualization is GET /schema/visualization's answer.
type Visualization struct {
	Edges []VisEdge `json:"edges"`
	Nodes []VisNode `json:"nodes"`
}

// VisNode is a table of the diagram.
type VisNode struct {
	Columns     []SchemaColumn `json:"columns"`
	Description *string        `json:"description"`
	ID          string         `json:"id"`
	Label       string         `json:"label"`
	PrimaryKeys []string       `json:"primary_keys"`
}

// VisEdge is a foreign key of the diagram.
type VisEdge struct {
	ID           string `json:"id"`
	Label        string `json:"label"`
	Source       string `json:"source"`
	SourceColumn string `json:"source_column"`
	SourceHandle string `json:"source_handle"`
	Target       string `json:"target"`
	TargetColumn string `json:"target_column"`
	TargetHandle string `json:"target_handle"`
}

func (s *SchemaRoutes) schema(c *fiber.Ctx) error {
	tables, fks, err := s.repo.Schema(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]SchemaTableOut, len(tables))
	for i, t := range tables {
		cols := make([]schemaTableColumn, len(t.Columns))
		for j, col := range t.Columns {
			cols[j] = schemaTableColumn{col.ColumnName, col.DataType, col.IsNullable, col.ColumnDefault, col.ColumnDescription}
		}
		out[i] = SchemaTableOut{t.TableName, t.TableDescription, cols, nonNil(t.PrimaryKeys)}
	}
	return c.JSON(SchemaOut{Tables: out, ForeignKeys: fks})
}

func (s *SchemaRoutes) visualization(c *fiber.Ctx) error {
	tables, fks, err := s.repo.Schema(c.UserContext())
	if err != nil {
		return err
	}
	nodes := make([]VisNode, len(tables))
	for i, t := range tables {
		nodes[i] = VisNode{ID: t.TableName, Label: t.TableName, Description: t.TableDescription,
			Columns: t.Columns, PrimaryKeys: nonNil(t.PrimaryKeys)}
	}
	edges := make([]VisEdge, len(fks))
	for i, fk := range fks {
		edges[i] = VisEdge{
			ID:           fk.TableName + "_" + fk.ColumnName + "_" + fk.ForeignTableName + "_" + fk.ForeignColumnName,
			Source:       fk.TableName,
			Target:       fk.ForeignTableName,
			SourceColumn: fk.ColumnName,
			TargetColumn: fk.ForeignColumnName,
			Label:        fk.TableName + " → " + fk.ForeignTableName,
			SourceHandle: fk.TableName + "-" + fk.ColumnName + "-source",
			TargetHandle: fk.ForeignTableName + "-" + fk.ForeignColumnName + "-target",
		}
	}
	return c.JSON(Visualization{Nodes: nodes, Edges: edges})
}
