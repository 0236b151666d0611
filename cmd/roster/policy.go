package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/rosterhq/roster/internal/roster"
)

// cmdPolicy shows and changes the policy the store holds: the settings every replica
// and command decide by (docs/accounts.md, "Policy").
func cmdPolicy(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("policy needs a subcommand: show, set, unset")
	}
	if groupHelp(e, "policy", args) {
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "show":
		return policyShow(ctx, e, rest)
	case "set":
		return policySet(ctx, e, rest, false)
	case "unset":
		return policySet(ctx, e, rest, true)
	default:
		return usagef("unknown policy subcommand %q", sub)
	}
}

func policyShow(ctx context.Context, e *env, args []string) error {
	fs := flags("policy show", e)
	var c common
	c.register(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("policy show takes at most one setting name")
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	pv, err := a.svc.GetPolicy(operator(ctx, e))
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		for _, s := range pv.Settings {
			if s.Name == pos[0] {
				fmt.Fprintln(e.stdout, indentJSON(s.Value))
				return nil
			}
		}
		if !slices.Contains(roster.Settings, pos[0]) {
			return usagef("%q is not a setting (want one of %s)", pos[0], strings.Join(roster.Settings, ", "))
		}
		fmt.Fprintf(e.stderr, "%s is not set: Roster's default applies\n", pos[0])
		return nil
	}
	if *asJSON {
		out := map[string]any{"version": pv.Version, "settings": settingsJSON(pv.Settings)}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return nil
	}
	fmt.Fprintf(e.stdout, "policy version %d\n", pv.Version)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVERSION\tSET BY\tSET AT\tVALUE")
	for _, name := range roster.Settings {
		var s *roster.PolicySetting
		for i := range pv.Settings {
			if pv.Settings[i].Name == name {
				s = &pv.Settings[i]
			}
		}
		if s == nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t(default)\n", name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", name, s.Version, s.UpdatedBy, s.UpdatedAt.Format("2006-01-02T15:04:05Z"), abbreviate(s.Value, 60))
	}
	return tw.Flush()
}

func policySet(ctx context.Context, e *env, args []string, unset bool) error {
	name := "policy set"
	if unset {
		name = "policy unset"
	}
	fs := flags(name, e)
	var c common
	c.register(fs, e)
	file := fs.String("file", "", "read the value, JSON, from `FILE` (- for standard input)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	var setting, value string
	switch {
	case unset && len(pos) == 1:
		setting = pos[0]
	case !unset && len(pos) == 2 && *file == "":
		setting, value = pos[0], pos[1]
	case !unset && len(pos) == 1 && *file != "":
		setting = pos[0]
		var b []byte
		if *file == "-" {
			b, err = io.ReadAll(e.stdin)
		} else {
			b, err = os.ReadFile(*file)
		}
		if err != nil {
			return err
		}
		value = string(b)
	case unset:
		return usagef("policy unset needs exactly one setting name")
	default:
		return usagef("policy set needs a setting name and a JSON value, or a name and --file FILE")
	}
	if !slices.Contains(roster.Settings, setting) {
		return usagef("%q is not a setting (want one of %s)", setting, strings.Join(roster.Settings, ", "))
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	pv, err := a.svc.SetPolicy(operator(ctx, e), setting, value)
	if err != nil {
		return err
	}
	verb := "set"
	if unset {
		verb = "unset"
	}
	fmt.Fprintf(e.stderr, "%s %s; the policy is at version %d\n", verb, setting, pv.Version)
	return nil
}

func settingsJSON(ss []roster.PolicySetting) []map[string]any {
	out := []map[string]any{}
	for _, s := range ss {
		out = append(out, map[string]any{"name": s.Name, "value": json.RawMessage(s.Value), "version": s.Version,
			"updated_by": s.UpdatedBy, "updated_at": s.UpdatedAt})
	}
	return out
}

func indentJSON(v string) string {
	var out any
	if json.Unmarshal([]byte(v), &out) != nil {
		return v
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return string(b)
}

func abbreviate(s string, n int) string {
	if len([]rune(s)) > n {
		return string([]rune(s)[:n-1]) + "…"
	}
	return s
}
