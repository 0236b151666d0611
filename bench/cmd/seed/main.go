// Command seed makes the load test's data and its import baseline.
//
//	seed csv N                 write N synthetic accounts as an import CSV to stdout
//	seed rawinsert DBFILE N    insert the same N accounts into a fresh database with
//	                           batched multi-row INSERTs in one transaction, and print
//	                           the rows per second: the ceiling an import is measured
//	                           against
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/bench"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: seed csv N | seed rawinsert DBFILE N")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "csv":
		err = writeCSV(os.Args[2])
	case "rawinsert":
		if len(os.Args) != 4 {
			err = fmt.Errorf("usage: seed rawinsert DBFILE N")
			break
		}
		err = rawInsert(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	return n, nil
}

func writeCSV(ns string) error {
	n, err := count(ns)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	w.WriteString(bench.CSVHeader)
	for i := 1; i <= n; i++ {
		w.WriteString(bench.CSVRow(i))
	}
	return w.Flush()
}

// rawInsert is the baseline: the same rows the import makes, already built, written
// with batched INSERTs and nothing else (no parsing, validation, lookups or audit).
func rawInsert(path, ns string) error {
	n, err := count(ns)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil) // creates and migrates the schema
	if err != nil {
		return err
	}
	defer st.Close()
	const cols = 19
	rows := make([][]any, n)
	now := time.Now().UTC()
	for i := range rows {
		a := bench.Account(i + 1)
		profile, _ := roster.MarshalProfile(a.Profile)
		rows[i] = []any{a.UUID, a.Username, roster.FoldKey(a.Username), a.Email, roster.FoldKey(a.Email), a.Name,
			strings.ToLower(a.Name), a.FirstName, a.LastName, "active", false, false, "", now, now, time.Time{}, profile, 1, strings.ToLower(a.Name)}
	}
	const batch = 500
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	start := time.Now()
	tx, err := st.WriteDB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		vals := make([]any, 0, (hi-lo)*cols)
		for _, r := range rows[lo:hi] {
			vals = append(vals, r...)
		}
		q := `INSERT INTO accounts (uuid, username, username_key, email, email_key, name, name_key, first_name, last_name,
			state, sysadmin, staff, capabilities, created_at, updated_at, last_login_at, profile, version, display_key) VALUES ` +
			strings.TrimSuffix(strings.Repeat(ph+",", hi-lo), ",")
		if _, err := tx.ExecContext(ctx, q, vals...); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	d := time.Since(start)
	fmt.Printf("%d rows in %.3fs: %.0f rows/s\n", n, d.Seconds(), float64(n)/d.Seconds())
	return nil
}
