// Command selfdb is the SelfDB server: `selfdb [serve]`, `selfdb migrate
// up|down|status`, `selfdb import-python`, `selfdb version`, `selfdb
// healthcheck`. serve, migrate, import-python and healthcheck read .env
// from the working directory when there is one; variables already set in
// the environment win.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.uber.org/fx"

	"github.com/selfdb/selfdb/cmd/selfdb/importpython"
	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/modules/functions"
	"github.com/selfdb/selfdb/modules/realtime"
	"github.com/selfdb/selfdb/modules/sqlconsole"
	"github.com/selfdb/selfdb/modules/tables"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/db"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// modules are the product's domains; adding one is one line here.
var modules = fx.Options(
	auth.Module,
	users.Module,
	buckets.Module,
	files.Module,
	tables.Module,
	sqlconsole.Module,
	realtime.Module,
	functions.Module,
)

func main() { os.Exit(run(os.Args[1:])) }

// run runs the command args names and returns the exit code. The commands
// that read the configuration first load .env from the working directory.
func run(args []string) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	var err error
	switch cmd {
	case "serve", "migrate", "import-python", "healthcheck":
		if err := loadDotEnv(".env"); err != nil {
			fmt.Fprintln(os.Stderr, "selfdb:", err)
			return 1
		}
	}
	switch cmd {
	case "serve":
		err = serve()
	case "migrate":
		sub := "up"
		if len(args) > 1 {
			sub = args[1]
		}
		err = migrate(sub)
	case "import-python":
		err = importpython.Main(args[1:], os.Stdout)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, importpython.ErrDifferent) {
			return 1 // the differences are printed
		}
	case "version", "--version", "-v":
		fmt.Println("selfdb", version)
	case "healthcheck":
		err = healthcheck()
	case "help", "--help", "-h":
		usage()
	default:
		usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "selfdb:", err)
		return 1
	}
	return 0
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: selfdb [command]
  serve                  run the server (default)
  migrate up|down|status apply, roll back the last group, or list migrations
  import-python          import a Python SelfDB deployment (--help for its flags)
  version                print the version
  healthcheck            exit 0 when the local /readyz answers 200 (for Docker)
The configuration comes from the environment, and from .env in the working
directory when there is one (variables already set win); every variable is
documented in configs/selfdb.example.env.`)
}

// serve runs the server until SIGINT or SIGTERM. A failure to start is
// returned (one line: main prints it), not logged by Fx.
func serve() error {
	// Load once up front so a bad variable is reported by name, not inside
	// Fx's dependency error.
	if _, err := config.Load(); err != nil {
		return err
	}
	app := fx.New(platform.Module, platform.Quiet, modules)
	if err := app.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(ctx); err != nil {
		// Database unreachable: its own one-line message, not Fx's chain.
		var unreachable *db.UnreachableError
		if errors.As(err, &unreachable) {
			return unreachable
		}
		return err
	}
	sig := <-app.Wait()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer stopCancel()
	if err := app.Stop(stopCtx); err != nil {
		return err
	}
	if sig.ExitCode != 0 {
		return fmt.Errorf("stopped with exit code %d", sig.ExitCode)
	}
	return nil
}

func migrate(sub string) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	database, err := db.Open(cfg)
	if err != nil {
		return err
	}
	defer database.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := db.PingAtStart(ctx, database, cfg); err != nil {
		return err
	}
	switch sub {
	case "up":
		applied, err := db.Migrate(ctx, database)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Println("nothing to apply")
		}
		for _, m := range applied {
			fmt.Println("applied", m)
		}
	case "down":
		undone, err := db.Rollback(ctx, database)
		if err != nil {
			return err
		}
		if len(undone) == 0 {
			fmt.Println("nothing to roll back")
		}
		for _, m := range undone {
			fmt.Println("rolled back", m)
		}
	case "status":
		applied, pending, err := db.Pending(ctx, database)
		if err != nil {
			return err
		}
		for _, m := range applied {
			fmt.Println("applied ", m)
		}
		for _, m := range pending {
			fmt.Println("pending ", m)
		}
	default:
		return fmt.Errorf("migrate: unknown subcommand %q (up, down, status)", sub)
	}
	return nil
}

func healthcheck() error {
	port := os.Getenv("API_PORT")
	if port == "" {
		port = "8000"
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz answered %d", resp.StatusCode)
	}
	return nil
}
