package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// cmdCheck verifies a store: the engine's checks and Roster's invariants
// (roster.Store.Check). It opens the store without the services, so that a store
// whose stored policy no longer loads can still be checked.
func cmdCheck(ctx context.Context, e *env, args []string) error {
	fs := flags("check", e)
	var c common
	c.register(fs, e)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("check takes no arguments, got %q", strings.Join(pos, " "))
	}
	st, t, err := openStore(ctx, e, &c, slog.New(&warnings{w: e.stderr}), reads)
	if err != nil {
		return err
	}
	defer st.Close()
	results, err := st.Check(ctx)
	if err != nil {
		return fmt.Errorf("checking the store at %s: %w", t.where(), err)
	}
	failed := 0
	for _, r := range results {
		status := "ok  "
		if !r.OK() {
			status = "FAIL"
			failed++
		}
		line := status + "  " + r.Name
		if r.Detail != "" {
			line += " (" + r.Detail + ")"
		}
		fmt.Fprintln(e.stdout, line)
		for _, p := range r.Problems {
			fmt.Fprintln(e.stdout, "      - "+p)
		}
	}
	if failed > 0 {
		return fmt.Errorf("the store at %s failed %d of %d checks", t.where(), failed, len(results))
	}
	fmt.Fprintf(e.stdout, "The store at %s passed all %d checks.\n", t.where(), len(results))
	return nil
}
