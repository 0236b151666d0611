package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rosterhq/roster/internal/roster"
)

// cmdOutbox reads the outbox, where messages wait for the mail workers, or for an
// operator when no mail server is configured. Every read is audited, so these commands
// need a writable store.
func cmdOutbox(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("outbox needs a subcommand: list, show")
	}
	if groupHelp(e, "outbox", args) {
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "list":
		return outboxList(ctx, e, rest)
	case "show":
		return outboxShow(ctx, e, rest)
	default:
		return usagef("unknown outbox subcommand %q", sub)
	}
}

func outboxList(ctx context.Context, e *env, args []string) error {
	fs := flags("outbox list", e)
	var c common
	c.register(fs, e)
	state := fs.String("state", "", "only messages in this state: pending, sent, failed or expired")
	after := fs.Int64("after", 0, "only messages after this id")
	limit := fs.Int("limit", 100, "at most this many messages (1 to 1000)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("outbox list takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *state != "" && !roster.MessageState(*state).Valid() {
		return usagef("--state %q: use pending, sent, failed or expired", *state)
	}
	if *limit < 1 || *limit > 1000 || *after < 0 {
		return usagef("--limit is 1 to 1000 and --after a message id")
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	ms, err := a.svc.ListOutbox(operator(ctx, e), roster.MessageFilter{State: roster.MessageState(*state), After: *after, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]map[string]any, len(ms))
		for i, m := range ms {
			out[i] = messageJSON(m, false)
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tKIND\tTO\tATTEMPTS\tCREATED\tNEXT ATTEMPT\tEXPIRES\tSENT\tLAST ERROR")
	for _, m := range ms {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.State, m.Kind, m.To, m.Attempts, fmtTime(m.CreatedAt),
			fmtTime(m.NextAttemptAt), fmtTime(m.ExpiresAt), fmtTime(m.SentAt), m.LastError)
	}
	return tw.Flush()
}

func outboxShow(ctx context.Context, e *env, args []string) error {
	fs := flags("outbox show", e)
	var c common
	c.register(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	s, err := parseOne(fs, args, "message id")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return usagef("outbox show: %q is not a message id (see roster outbox list)", s)
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	m, err := a.svc.ReadMessage(operator(ctx, e), id)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(messageJSON(m, true))
	}
	// As a message: the headers it is sent with, then its body.
	fmt.Fprintf(e.stdout, "Message-ID: %s\nTo: %s\nSubject: %s\nState: %s (%d attempts", m.MessageID, m.To, m.Subject, m.State, m.Attempts)
	if m.LastError != "" {
		fmt.Fprintf(e.stdout, ", last error: %s", m.LastError)
	}
	fmt.Fprintf(e.stdout, ")\nCreated: %s\nExpires: %s\n\n", fmtTime(m.CreatedAt), fmtTime(m.ExpiresAt))
	if m.Body == "" {
		fmt.Fprintf(e.stdout, "(the body was purged when the message was %s)\n", m.State)
		return nil
	}
	fmt.Fprint(e.stdout, m.Body)
	return nil
}

func messageJSON(m *roster.Message, body bool) map[string]any {
	out := map[string]any{"id": m.ID, "message_id": m.MessageID, "kind": m.Kind, "account_id": m.AccountID, "to": m.To,
		"subject": m.Subject, "state": m.State, "attempts": m.Attempts, "created_at": fmtTime(m.CreatedAt),
		"next_attempt_at": fmtTime(m.NextAttemptAt), "expires_at": fmtTime(m.ExpiresAt), "sent_at": fmtTime(m.SentAt),
		"last_error": m.LastError}
	if body {
		out["body"] = m.Body
	}
	return out
}
