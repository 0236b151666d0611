package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/internal/accountfile"
	"github.com/rosterhq/roster/internal/roster"
)

func cmdUsers(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("users needs a subcommand: create, list, show, set-password, deactivate, activate, delete, import, export")
	}
	if groupHelp(e, "users", args) {
		return nil
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return usersCreate(ctx, e, rest)
	case "list":
		return usersList(ctx, e, rest)
	case "show":
		return usersShow(ctx, e, rest)
	case "set-password":
		return usersSetPassword(ctx, e, rest)
	case "deactivate":
		return usersState(ctx, e, rest, "deactivate", roster.StateDeactivated)
	case "activate":
		return usersState(ctx, e, rest, "activate", roster.StateActive)
	case "delete":
		return usersState(ctx, e, rest, "delete", roster.StateDeleted)
	case "import":
		return usersImport(ctx, e, rest)
	case "export":
		return usersExport(ctx, e, rest)
	default:
		return usagef("unknown users subcommand %q", sub)
	}
}

// readPassword reads one line from standard input: the password, without its newline.
func readPassword(e *env) (string, error) {
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	p := strings.TrimRight(line, "\r\n")
	if p == "" {
		return "", usagef("no password on standard input")
	}
	return p, nil
}

func usersCreate(ctx context.Context, e *env, args []string) error {
	fs := flags("users create", e)
	var c common
	c.register(fs, e)
	username := fs.String("username", "", "username (required)")
	email := fs.String("email", "", "email address (required)")
	name := fs.String("name", "", "full name")
	sysadmin := fs.Bool("sysadmin", false, "make a system administrator")
	staff := fs.Bool("staff", false, "make staff (reads every account)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("users create takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *username == "" || *email == "" {
		return usagef("users create needs --username and --email")
	}
	in := map[string]any{"username": *username, "email": *email}
	if *name != "" {
		in["name"] = *name
	}
	if *sysadmin {
		in["sysadmin"] = true
	}
	if *staff {
		in["staff"] = true
	}
	if *pwStdin {
		p, err := readPassword(e)
		if err != nil {
			return err
		}
		in["password"] = p
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	rec, err := a.svc.CreateAccount(operator(ctx, e), in)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, rec.ID)
	return nil
}

func usersList(ctx context.Context, e *env, args []string) error {
	fs := flags("users list", e)
	var c common
	c.register(fs, e)
	q := fs.String("q", "", "substring of username, name or email")
	state := fs.String("state", "", "active, pending, deactivated, deleted or any (default: all but deleted)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	f := roster.AccountFilter{Query: *q, Sort: roster.SortUsername}
	switch *state {
	case "":
	case "any":
		f.AnyState = true
	default:
		if !roster.State(*state).Valid() {
			return usagef("--state %q: use active, pending, deactivated, deleted or any", *state)
		}
		f.States = []roster.State{roster.State(*state)}
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tNAME\tSTATE\tROLES")
	}
	err = a.svc.StreamAccounts(operator(ctx, e), f, roster.ReadOptions{}, func(r *roster.Record) error {
		if *asJSON {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "%s\n", b)
			return err
		}
		var roles []string
		for _, attr := range r.Attrs() {
			if v, _ := r.Get(attr.Name); v == true && (attr.Storage == roster.StoreCapability || attr.Name == "sysadmin" || attr.Name == "staff") {
				roles = append(roles, attr.Name)
			}
		}
		email, _ := r.Get("email")
		name, _ := r.Get("name")
		st, _ := r.Get("state")
		_, err := fmt.Fprintf(tw, "%d\t%s\t%v\t%v\t%v\t%s\n", r.ID, r.Username, email, name, st, strings.Join(roles, ","))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// parseOne parses a command that takes exactly one argument, and returns it.
func parseOne(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usagef("%s needs exactly one %s", fs.Name(), what)
	}
	return pos[0], nil
}

func usersShow(ctx context.Context, e *env, args []string) error {
	fs := flags("users show", e)
	var c common
	c.register(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	ref, err := parseOne(fs, args, "account (id, UUID or username)")
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.svc.GetAccount(operator(ctx, e), roster.ParseAccountRef(ref), roster.ReadOptions{})
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	for _, attr := range r.Attrs() {
		v, _ := r.Get(attr.Name)
		if v == nil {
			continue
		}
		s := fmt.Sprint(v)
		switch x := v.(type) {
		case time.Time:
			s = x.Format(time.RFC3339)
		case map[string]any, []string, []any:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		fmt.Fprintf(tw, "%s\t%s\n", attr.Name, s)
	}
	return tw.Flush()
}

func usersSetPassword(ctx context.Context, e *env, args []string) error {
	fs := flags("users set-password", e)
	var c common
	c.register(fs, e)
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input (required)")
	ref, err := parseOne(fs, args, "account")
	if err != nil {
		return err
	}
	if !*pwStdin {
		return usagef("users set-password needs --password-stdin: passwords are never taken as arguments")
	}
	p, err := readPassword(e)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.svc.SetPassword(operator(ctx, e), roster.ParseAccountRef(ref), p, "")
}

func usersState(ctx context.Context, e *env, args []string, verb string, st roster.State) error {
	fs := flags("users "+verb, e)
	var c common
	c.register(fs, e)
	ref, err := parseOne(fs, args, "account")
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	_, err = a.svc.SetState(operator(ctx, e), roster.ParseAccountRef(ref), st, roster.WriteOptions{})
	return err
}

func usersImport(ctx context.Context, e *env, args []string) error {
	fs := flags("users import", e)
	var c common
	c.register(fs, e)
	format := fs.String("format", "", "csv or json (default: from the file's extension)")
	dryRun := fs.Bool("dry-run", false, "check everything, change nothing")
	path, err := parseOne(fs, args, "file (- for standard input)")
	if err != nil {
		return err
	}
	f, err := accountfile.FormatOf(path, *format)
	if err != nil {
		return usagef("%v", err)
	}
	var in io.Reader = e.stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	prog := newProgress(e.stderr, "checked", "rows")
	// A batch job on two pipelined goroutines: collect garbage less often, so the
	// collector does not take the cores they are using. Memory stays bounded by the
	// import's chunks.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	res, err := a.svc.ImportAccounts(operator(ctx, e), accountfile.Read(f, in), roster.ImportOptions{DryRun: *dryRun, Progress: prog.update})
	prog.done()
	if err != nil {
		return err
	}
	what := "imported"
	if *dryRun {
		what = "dry run, nothing written; would have imported"
	}
	fmt.Fprintf(e.stderr, "%s %d rows in %s: %d created, %d updated, %d unchanged\n", what, res.Rows,
		time.Since(start).Round(time.Millisecond), res.Created, res.Updated, res.Unchanged)
	return nil
}

func usersExport(ctx context.Context, e *env, args []string) error {
	fs := flags("users export", e)
	var c common
	c.register(fs, e)
	format := fs.String("format", "csv", "csv or json")
	outPath := fs.String("out", "", "write to this file instead of standard output")
	state := fs.String("state", "any", "which accounts: active, pending, deactivated, deleted or any")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("users export takes no arguments (use --out FILE)")
	}
	f, err := accountfile.FormatOf("", *format)
	if err != nil {
		return usagef("%v", err)
	}
	filter := roster.AccountFilter{Sort: roster.SortID}
	if *state == "any" {
		filter.AnyState = true
	} else if roster.State(*state).Valid() {
		filter.States = []roster.State{roster.State(*state)}
	} else {
		return usagef("--state %q: use active, pending, deactivated, deleted or any", *state)
	}
	a, err := openApp(ctx, e, &c, nil, reads)
	if err != nil {
		return err
	}
	defer a.Close()
	var out io.Writer = e.stdout
	var file *os.File
	if *outPath != "" {
		if file, err = os.OpenFile(*outPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return err
		}
		out = file
	}
	sch, err := a.svc.Schema(operator(ctx, e))
	if err != nil {
		return err
	}
	w := accountfile.NewWriter(f, out, sch)
	prog := newProgress(e.stderr, "exported", "accounts")
	n := 0
	err = a.svc.StreamAccounts(operator(ctx, e), filter, roster.ReadOptions{}, func(r *roster.Record) error {
		n++
		if n%1000 == 0 {
			prog.update(n)
		}
		return w.Write(r)
	})
	if err == nil {
		err = w.Close()
	}
	prog.update(n)
	prog.done()
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// progress reports a long command's progress on standard error: one updating line on a
// terminal, a line every so often otherwise.
type progress struct {
	w          io.Writer
	verb, noun string
	tty        bool
	last       time.Time
	n          int
	shown      bool
}

func newProgress(w io.Writer, verb, noun string) *progress {
	return &progress{w: w, verb: verb, noun: noun, tty: isTerminal(w), last: time.Now()}
}

func (p *progress) update(n int) {
	p.n = n
	if time.Since(p.last) < time.Second && (p.tty || n%10000 != 0) {
		return
	}
	p.last = time.Now()
	p.shown = true
	if p.tty {
		fmt.Fprintf(p.w, "\r%s %d %s…", p.verb, n, p.noun)
	} else {
		fmt.Fprintf(p.w, "%s %d %s\n", p.verb, n, p.noun)
	}
}

func (p *progress) done() {
	if p.tty && p.shown {
		fmt.Fprintf(p.w, "\r%s %d %s\n", p.verb, p.n, p.noun)
	}
}
