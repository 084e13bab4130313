// Package migrations embeds SelfDB's one ordered stream of SQL migrations:
// NNNN_<domain>_<what>.tx.up.sql and .tx.down.sql, each run in a transaction.
package migrations

import (
	"embed"

	"github.com/uptrace/bun/migrate"
)

// Files holds the SQL files themselves.
//
//go:embed *.sql
var Files embed.FS

// Migrations is the embedded set, discovered once.
var Migrations = migrate.NewMigrations()

func init() {
	if err := Migrations.Discover(Files); err != nil {
		panic(err)
	}
}
