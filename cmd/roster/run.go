package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/roster"
)

// env is what a command may use of its surroundings; tests pass their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// usageError marks bad usage: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

const usage = `Roster: one user directory, served through its own API (/v1/) and the user APIs of CKAN/EDX, REDCap, PYBOSSA and Open edX.

Usage:
  roster serve [--addr 127.0.0.1:8080] [--db URL] [--log-level info] [--trusted-proxies CIDRS] [--secure-cookies] [--public-url URL] [--smtp-url URL]
  roster init [--db URL] [--no-admin]
  roster users create --username U --email E [--name "Full Name"] [--sysadmin] [--staff] [--password-stdin]
  roster users list [--q TEXT] [--state STATE] [--json]
  roster users show U [--json]
  roster users set-password U --password-stdin
  roster users deactivate|activate|delete U
  roster users import FILE [--format csv|json] [--dry-run]
  roster users export [--format csv|json] [--out FILE] [--state STATE]
  roster keys create --username U [--label L] [--read-only] [--expires DURATION]
  roster keys list U
  roster keys revoke ID
  roster projects create --title T --forms f1,f2[,…] [--purpose N] [--notes TEXT]
  roster projects list [--json]
  roster projects members --project ID [--json]
  roster projects add-user --project ID --username U [--rights-json '{"design":1,"forms":{"f1":1}}']
  roster projects remove-user --project ID --username U
  roster projects token --project ID --username U
  roster projects revoke-token --project ID --username U
  roster oauth2 apps create --name N --owner U --grant client_credentials|password [--client-id ID] [--public] [--redirect-uri URI] [--scope S]
  roster oauth2 apps list
  roster oauth2 apps show ID
  roster oauth2 apps update ID [--name N] [--grant G] [--redirect-uri URI] [--scope S]
  roster oauth2 apps rotate-secret ID
  roster oauth2 apps revoke ID
  roster oauth2 keys list
  roster oauth2 keys rotate
  roster oauth2 keys retire KID
  roster outbox list [--state STATE] [--after ID] [--limit N] [--json]
  roster outbox show ID [--json]
  roster backup FILE
  roster check
  roster schema [--default] [--markdown]
  roster policy show [NAME] [--json]
  roster policy set NAME (VALUE | --file FILE)
  roster policy unset NAME
  roster migrate

serve creates the store on its first start, as init does; every other command needs
an existing store. Every command takes --db URL (default: $ROSTER_DB, else
sqlite://roster-data/roster.db). URLs: sqlite:///abs/path.db, sqlite://rel/path.db,
postgres://user@host/db. 'roster COMMAND --help' describes a command's flags.
Exit status: 0 success, 1 failure, 2 bad usage.
`

// synopsis returns the usage lines of a command ("users activate") or of a group of
// them ("users"), from usage above, so that there is one description of each.
func synopsis(name string) string {
	want := strings.Fields(name)
	var b strings.Builder
	for _, line := range strings.Split(usage, "\n") {
		words := strings.Fields(line)
		if len(words) <= len(want) || words[0] != "roster" {
			continue
		}
		match := true
		for i, w := range want {
			alts := strings.Split(words[i+1], "|")
			if !slices.Contains(alts, w) {
				match = false
				break
			}
			words[i+1] = w // "deactivate|activate|delete" names one of them
		}
		if match {
			b.WriteString("  " + strings.Join(words, " ") + "\n")
		}
	}
	return b.String()
}

// groupNotes says what a group's arguments mean, where its usage lines cannot.
var groupNotes = map[string]string{
	"policy": "NAME is one of " + strings.Join(roster.Settings, ", ") + "; VALUE is JSON (docs/accounts.md, \"Policy\").\n" +
		"A change is validated against stored accounts, audited, and seen by every replica.\n\n",
	"oauth2": "OAuth2 applications obtain tokens at POST /oauth2/access_token; the keys sign the JWTs among them\n" +
		"(docs/api.md, \"OAuth2 applications and signing keys\"). A client secret is printed once, when it is made.\n" +
		"Every change is audited.\n\n",
	"outbox": "The outbox holds the messages Roster mails (email confirmations and notices) until the mail workers of\n" +
		"'roster serve --smtp-url' deliver them; without a mail server they wait there. show prints a pending\n" +
		"message's body, which may hold a confirmation link. Every read is audited (docs/operations.md, \"Mail\").\n\n",
}

// groupHelp answers "roster users --help" with the group's commands.
func groupHelp(e *env, group string, args []string) bool {
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stdout, "Usage:\n%s\n%s'roster %s COMMAND --help' describes a command's flags.\n", synopsis(group), groupNotes[group], group)
		return true
	}
	return false
}

// command is a command of a group: its name, and what runs it with the arguments that
// follow the name.
type command struct {
	name string
	run  func(ctx context.Context, e *env, args []string) error
}

// runGroup runs the command of group that args name, or answers the group's help.
func runGroup(ctx context.Context, e *env, group string, cmds []command, args []string) error {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	if len(args) == 0 {
		return usagef("%s needs a subcommand: %s", group, strings.Join(names, ", "))
	}
	if groupHelp(e, group, args) {
		return nil
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return usagef("unknown %s subcommand %q", group, args[0])
}

// run runs one command line and returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, args)
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "roster: %s\nRun 'roster help' for usage.\n", ue.msg)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	printError(stderr, err)
	return 1
}

// printError writes an error as one line per problem, then the error itself.
func printError(w io.Writer, err error) {
	var re *roster.Error
	if errors.As(err, &re) {
		for _, p := range re.Problems {
			if p.Line > 0 {
				fmt.Fprintf(w, "roster: line %d: %s: %s\n", p.Line, p.Field, p.Message)
			} else {
				fmt.Fprintf(w, "roster: %s: %s\n", p.Field, p.Message)
			}
		}
		msg := roster.ErrorMessage(re)
		redundant := len(re.Problems) > 0 && msg == "Invalid input."
		msgs := make([]string, len(re.Problems))
		for i, p := range re.Problems {
			redundant = redundant || p.Message == msg
			msgs[i] = p.Message
		}
		redundant = redundant || len(msgs) > 0 && msg == strings.Join(msgs, "\n")
		if !redundant {
			fmt.Fprintf(w, "roster: %s\n", oneLine(msg))
		}
		return
	}
	fmt.Fprintf(w, "roster: %s\n", oneLine(err.Error()))
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	case "serve":
		return cmdServe(ctx, e, rest)
	case "init":
		return cmdInit(ctx, e, rest)
	case "users":
		return cmdUsers(ctx, e, rest)
	case "keys":
		return cmdKeys(ctx, e, rest)
	case "projects":
		return cmdProjects(ctx, e, rest)
	case "backup":
		return cmdBackup(ctx, e, rest)
	case "check":
		return cmdCheck(ctx, e, rest)
	case "schema":
		return cmdSchema(ctx, e, rest)
	case "policy":
		return cmdPolicy(ctx, e, rest)
	case "outbox":
		return cmdOutbox(ctx, e, rest)
	case "oauth2":
		return cmdOAuth2(ctx, e, rest)
	case "migrate":
		return cmdMigrate(ctx, e, rest)
	}
	return usagef("unknown command %q", cmd)
}

// flags returns a flag set for a command. What the flag package prints is kept: only
// a request for help is shown (on standard output), since errors are reported once, as
// usage errors.
func flags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := &helpOut{stdout: e.stdout}
	fs.SetOutput(out)
	fs.Usage = func() {
		out.Reset()
		fmt.Fprintf(out, "Usage:\n%s\nFlags:\n", synopsis(name))
		fs.PrintDefaults()
	}
	return fs
}

// helpOut holds a flag set's output until parse knows whether help was asked for.
type helpOut struct {
	bytes.Buffer
	stdout io.Writer
}

// parse parses args, allowing flags after positional arguments ("users show alice --json").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				if h, ok := fs.Output().(*helpOut); ok {
					h.WriteTo(h.stdout)
				}
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
