package main

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/postgres/pgtest"
)

// roster check reports every check on standard output and exits 0 on a sound store; a
// broken invariant is a FAIL line naming the problem, one error line, and exit 1.
func TestCheckCommand(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			te := newTestEnv(t)
			driver, dsn := "sqlite", strings.TrimPrefix(te.db, "sqlite://")
			if engine == "postgres" {
				te.db = pgtest.URL(t)
				driver, dsn = "pgx", te.db
			}
			te.vars["ROSTER_ADMIN_PASSWORD"] = "admin password 1"
			te.mustCLI(t, "", "init")
			te.mustCLI(t, "", "users", "create", "--username", "alice", "--email", "alice@example.org")
			out := te.mustCLI(t, "", "check")
			for _, want := range []string{
				"ok    " + engine + " ", "ok    audit sequence (2 entries, numbered 1 to 2)",
				"ok    system administrators (1 active of 2 accounts)", "ok    accounts (2 rows read)", "passed all ",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("roster check does not say %q:\n%s", want, out)
				}
			}

			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("DELETE FROM audit_log WHERE seq = 1"); err != nil {
				t.Fatal(err)
			}
			code, out, errs := te.cli(t, "", "check")
			if code != 1 || !strings.Contains(out, "FAIL  audit sequence (1 entries, numbered 2 to 2)\n      - entries 1 to 1 are missing\n") ||
				len(errorLines(errs)) != 1 || !strings.Contains(errs, "failed 1 of ") {
				t.Errorf("roster check on a store missing audit entry 1: exit %d, stdout:\n%s\nstderr: %s", code, out, errs)
			}
		})
	}
}
