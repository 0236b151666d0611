package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

func cmdKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("keys needs a subcommand: create, list, revoke")
	}
	if groupHelp(e, "keys", args) {
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return keysCreate(ctx, e, rest)
	case "list":
		return keysList(ctx, e, rest)
	case "revoke":
		return keysRevoke(ctx, e, rest)
	default:
		return usagef("unknown keys subcommand %q", sub)
	}
}

func keysCreate(ctx context.Context, e *env, args []string) error {
	fs := flags("keys create", e)
	var c common
	c.register(fs, e)
	username := fs.String("username", "", "the key's account (required)")
	label := fs.String("label", "", "a label to recognise the key by")
	readOnly := fs.Bool("read-only", false, "the key may read but not change anything")
	expires := fs.String("expires", "", "lifetime (e.g. 720h) or an RFC 3339 time; default: never")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *username == "" {
		return usagef("keys create needs --username and takes no arguments")
	}
	req := roster.KeyRequest{Label: *label, ReadOnly: *readOnly}
	if *expires != "" {
		if d, err := time.ParseDuration(*expires); err == nil {
			req.ExpiresAt = time.Now().Add(d)
		} else if t, err := time.Parse(time.RFC3339, *expires); err == nil {
			req.ExpiresAt = t
		} else {
			return usagef("--expires %q: give a duration such as 720h or an RFC 3339 time", *expires)
		}
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	k, err := a.svc.CreateAPIKey(operator(ctx, e), roster.ParseAccountRef(*username), req)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, k.Secret)
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func keysList(ctx context.Context, e *env, args []string) error {
	fs := flags("keys list", e)
	var c common
	c.register(fs, e)
	ref, err := parseOne(fs, args, "account")
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	ks, err := a.svc.ListAPIKeys(operator(ctx, e), roster.ParseAccountRef(ref))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tLABEL\tSCOPE\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
	for _, k := range ks {
		scope := "read-write"
		if k.ReadOnly {
			scope = "read-only"
		}
		fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Label, scope, fmtTime(k.CreatedAt),
			fmtTime(k.LastUsedAt), fmtTime(k.ExpiresAt), fmtTime(k.RevokedAt))
	}
	return tw.Flush()
}

func keysRevoke(ctx context.Context, e *env, args []string) error {
	fs := flags("keys revoke", e)
	var c common
	c.register(fs, e)
	s, err := parseOne(fs, args, "key id")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return usagef("keys revoke: %q is not a key id (see roster keys list)", s)
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	_, err = a.svc.RevokeAPIKey(operator(ctx, e), id)
	return err
}
