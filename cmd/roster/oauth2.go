package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
)

// cmdOAuth2 manages the token service: the OAuth2 applications that obtain tokens, and
// the keys that sign JWTs. Every change is audited as the operator.
func cmdOAuth2(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "oauth2", []command{{"apps", cmdOAuth2Apps}, {"keys", cmdOAuth2Keys}}, args)
}

func cmdOAuth2Apps(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "oauth2 apps", []command{{"create", appsCreate}, {"list", appsList}, {"show", appsShow},
		{"update", appsUpdate}, {"rotate-secret", appsRotateSecret}, {"revoke", appsRevoke}}, args)
}

func cmdOAuth2Keys(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "oauth2 keys", []command{{"list", signingKeysList}, {"rotate", signingKeysRotate}, {"retire", signingKeysRetire}}, args)
}

// listFlag is a flag that may be repeated; with comma, each value may also be a comma
// list. set tells a flag given empty (which clears a list) from one not given.
type listFlag struct {
	values []string
	comma  bool
	set    bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(s string) error {
	l.set = true
	parts := []string{s}
	if l.comma {
		parts = strings.Split(s, ",")
	}
	for _, v := range parts {
		if v = strings.TrimSpace(v); v != "" {
			l.values = append(l.values, v)
		}
	}
	return nil
}

// appArg parses a command whose one argument is an application id.
func appArg(fs *flag.FlagSet, args []string) (int64, error) {
	s, err := parseOne(fs, args, "application id")
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%s: %q is not an application id (see roster oauth2 apps list)", fs.Name(), s)
	}
	return id, nil
}

// noArgs parses a command that takes flags only.
func noArgs(fs *flag.FlagSet, args []string) (struct{}, error) {
	pos, err := parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = usagef("%s takes no arguments, got %q", fs.Name(), strings.Join(pos, " "))
	}
	return struct{}{}, err
}

// kidArg parses a command whose one argument is a signing key's id.
func kidArg(fs *flag.FlagSet, args []string) (string, error) {
	return parseOne(fs, args, "key id (see roster oauth2 keys list)")
}

// onStore runs the command name: arg reads its arguments once its flags are parsed,
// then fn runs as the operator on the store, opened for u.
func onStore[T any](ctx context.Context, e *env, name string, args []string, u use, arg func(*flag.FlagSet, []string) (T, error),
	fn func(ctx context.Context, a *app, v T) error) error {
	fs := flags(name, e)
	var c common
	c.register(fs, e)
	v, err := arg(fs, args)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, &c, nil, u)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(operator(ctx, e), a, v)
}

func appsCreate(ctx context.Context, e *env, args []string) error {
	fs := flags("oauth2 apps create", e)
	var c common
	c.register(fs, e)
	name := fs.String("name", "", "the application's `NAME` (required)")
	owner := fs.String("owner", "", "the `ACCOUNT` a client-credentials token acts as: username, UUID or id (required)")
	clientID := fs.String("client-id", "", "the client `ID` (default: 40 random hex digits)")
	public := fs.Bool("public", false, "a client without a secret (a mobile app); it may use the password grant only")
	grants := listFlag{comma: true}
	uris := listFlag{}
	scopes := listFlag{comma: true}
	fs.Var(&grants, "grant", "a `GRANT` it may use: client_credentials or password (repeat, or a comma list; required)")
	fs.Var(&uris, "redirect-uri", "a redirect `URI` (repeat for more)")
	fs.Var(&scopes, "scope", "a `SCOPE` its tokens may carry: read, write, email, profile, user_id (repeat, or a comma list; default: read, write, email, profile)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *name == "" || *owner == "" || len(grants.values) == 0 {
		return usagef("oauth2 apps create needs --name, --owner and --grant, and takes no arguments")
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	na, err := a.oauth.CreateApp(operator(ctx, e), oauth.AppRequest{Name: *name, ClientID: *clientID, Owner: roster.ParseAccountRef(*owner),
		Public: *public, Grants: grants.values, RedirectURIs: uris.values, Scopes: scopes.values})
	if err != nil {
		return err
	}
	return printNewSecret(e, na)
}

// printNewSecret prints an application's id, its client id and the secret just made,
// which no command shows again.
func printNewSecret(e *env, na *oauth.NewApp) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%d\n", na.App.ID)
	fmt.Fprintf(tw, "client_id\t%s\n", na.App.ClientID)
	if na.Secret != "" {
		fmt.Fprintf(tw, "client_secret\t%s\n", na.Secret)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if na.Secret != "" {
		fmt.Fprintln(e.stdout, "The client secret is shown this once: it will not be shown again.")
	} else {
		fmt.Fprintln(e.stdout, "A public client has no secret.")
	}
	return nil
}

func appsList(ctx context.Context, e *env, args []string) error {
	return onStore(ctx, e, "oauth2 apps list", args, reads, noArgs, func(ctx context.Context, a *app, _ struct{}) error {
		apps, err := a.oauth.ListApps(ctx)
		if err != nil {
			return err
		}
		return printApps(e, apps)
	})
}

func printApps(e *env, apps []*roster.OAuthApp) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT ID\tNAME\tOWNER\tTYPE\tSECRET\tGRANTS\tSCOPES\tCREATED\tREVOKED")
	for _, p := range apps {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.ClientID, p.Name, p.Owner, clientType(p), secretHint(p),
			strings.Join(p.Grants, ","), strings.Join(p.Scopes, ","), fmtTime(p.CreatedAt), fmtTime(p.RevokedAt))
	}
	return tw.Flush()
}

func clientType(p *roster.OAuthApp) string {
	if p.Confidential {
		return "confidential"
	}
	return "public"
}

// secretHint is the beginning of an application's secret, to recognise it by.
func secretHint(p *roster.OAuthApp) string {
	if p.SecretPrefix == "" {
		return "-"
	}
	return p.SecretPrefix + "…"
}

func appsShow(ctx context.Context, e *env, args []string) error {
	return onStore(ctx, e, "oauth2 apps show", args, reads, appArg, func(ctx context.Context, a *app, id int64) error {
		p, err := a.oauth.GetApp(ctx, id)
		if err != nil {
			return err
		}
		return printApp(e, p)
	})
}

func printApp(e *env, p *roster.OAuthApp) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	dash := func(l []string) string {
		if len(l) == 0 {
			return "-"
		}
		return strings.Join(l, " ")
	}
	for _, kv := range [][2]string{
		{"id", strconv.FormatInt(p.ID, 10)}, {"client_id", p.ClientID}, {"name", p.Name}, {"owner", p.Owner},
		{"type", clientType(p)}, {"secret", secretHint(p)}, {"grants", dash(p.Grants)}, {"redirect_uris", dash(p.RedirectURIs)},
		{"scopes", dash(p.Scopes)}, {"created", fmtTime(p.CreatedAt)}, {"updated", fmtTime(p.UpdatedAt)}, {"revoked", fmtTime(p.RevokedAt)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

func appsUpdate(ctx context.Context, e *env, args []string) error {
	fs := flags("oauth2 apps update", e)
	var c common
	c.register(fs, e)
	name := fs.String("name", "", "a new `NAME`")
	grants := listFlag{comma: true}
	uris := listFlag{}
	scopes := listFlag{comma: true}
	fs.Var(&grants, "grant", "a `GRANT` it may use: the ones given replace its own (repeat, or a comma list)")
	fs.Var(&uris, "redirect-uri", "a redirect `URI`: the ones given replace its own (repeat; '' for none)")
	fs.Var(&scopes, "scope", "a `SCOPE` its tokens may carry: the ones given replace its own (repeat, or a comma list)")
	id, err := appArg(fs, args)
	if err != nil {
		return err
	}
	var ch roster.OAuthAppChange
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "name" {
			ch.Name = name
		}
	})
	for _, l := range []struct {
		f   *listFlag
		dst **[]string
	}{{&grants, &ch.Grants}, {&uris, &ch.RedirectURIs}, {&scopes, &ch.Scopes}} {
		if l.f.set {
			v := l.f.values
			*l.dst = &v
		}
	}
	if ch == (roster.OAuthAppChange{}) {
		return usagef("oauth2 apps update needs at least one of --name, --grant, --redirect-uri, --scope")
	}
	a, err := openApp(ctx, e, &c, nil, writes)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.oauth.UpdateApp(operator(ctx, e), id, ch)
	if err != nil {
		return err
	}
	return printApp(e, p)
}

func appsRotateSecret(ctx context.Context, e *env, args []string) error {
	return onStore(ctx, e, "oauth2 apps rotate-secret", args, writes, appArg, func(ctx context.Context, a *app, id int64) error {
		na, err := a.oauth.RotateSecret(ctx, id)
		if err != nil {
			return err
		}
		return printNewSecret(e, na)
	})
}

func appsRevoke(ctx context.Context, e *env, args []string) error {
	return onStore(ctx, e, "oauth2 apps revoke", args, writes, appArg, func(ctx context.Context, a *app, id int64) error {
		_, err := a.oauth.RevokeApp(ctx, id)
		return err
	})
}

func signingKeysList(ctx context.Context, e *env, args []string) error {
	return onStore(ctx, e, "oauth2 keys list", args, reads, noArgs, func(ctx context.Context, a *app, _ struct{}) error {
		ks, err := a.oauth.ListKeys(ctx)
		if err != nil {
			return err
		}
		return printSigningKeys(e, ks)
	})
}

// printSigningKeys prints keys with their states: the newest key not retiring signs;
// the others verify until they retire.
func printSigningKeys(e *env, ks []*roster.SigningKey) error {
	signing := -1
	for i, k := range ks {
		if k.RetireAt.IsZero() {
			signing = i
		}
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALGORITHM\tSTATE\tCREATED\tRETIRES")
	for i, k := range ks {
		state := "verifying"
		switch {
		case i == signing:
			state = "signing"
		case k.Retired(now):
			state = "retired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, state, fmtTime(k.CreatedAt), fmtTime(k.RetireAt))
	}
	return tw.Flush()
}

func signingKeysRotate(ctx context.Context, e *env, args []string) error {
	return onStore(ctx, e, "oauth2 keys rotate", args, writes, noArgs, func(ctx context.Context, a *app, _ struct{}) error {
		k, err := a.oauth.RotateKeys(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, k.KID)
		return nil
	})
}

func signingKeysRetire(ctx context.Context, e *env, args []string) error {
	return onStore(ctx, e, "oauth2 keys retire", args, writes, kidArg, func(ctx context.Context, a *app, kid string) error {
		_, err := a.oauth.RetireKey(ctx, kid)
		return err
	})
}
