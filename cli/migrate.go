package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/dmflow/dmflow/store/postgres"
)

func migrateCmd() *Command {
	return &Command{
		Name:    "migrate",
		Summary: "create or upgrade the PostgreSQL schema",
		Usage: `Usage: dmflow migrate [--store postgres://…] [--list]

Applies the schema migrations embedded in this binary that the PostgreSQL
database lacks, in the schema named by the URL's search_path parameter
(default "dmflow"). Safe to run from several machines at once. The bbolt
file needs no migration. The URL may also come from DMFLOW_DATABASE_URL or
the config file (--config).`,
		Flags: func(fs *flag.FlagSet) {
			declareFlags(fs, "config", "store")
			fs.Bool("list", false, "only list the migrations embedded in this binary")
		},
		Run: runMigrate,
	}
}

func runMigrate(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO) int {
	if code, ok := parseNoArgs(fs, args, stdio); !ok {
		return code
	}
	if fs.Lookup("list").Value.String() == "true" {
		for _, m := range postgres.Migrations() {
			fmt.Fprintf(stdio.Out, "%04d  %s\n", m.Version, m.Name)
		}
		return exitOK
	}
	cfg, err := loadConfig(fs, stdio.Env)
	if err == nil && !isPostgresURL(cfg.StoreURL) {
		err = configErrorf("dmflow migrate: set --store postgres://… (or DMFLOW_DATABASE_URL)")
	}
	if err != nil {
		fmt.Fprintln(stdio.Err, err)
		return exitUsage
	}
	if err := postgres.Migrate(ctx, cfg.StoreURL); err != nil {
		fmt.Fprintf(stdio.Err, "dmflow migrate: %v\n", redactURL(err.Error(), cfg))
		return exitFail
	}
	ms := postgres.Migrations()
	fmt.Fprintf(stdio.Out, "schema is current (%d migrations, latest %04d)\n", len(ms), ms[len(ms)-1].Version)
	return exitOK
}

// redactURL removes configured secrets (the database password) from s.
func redactURL(s string, cfg *serveConfig) string {
	if r := newRedactor(cfg.secretValues(IO{})); r != nil {
		return r.Replace(s)
	}
	return s
}
