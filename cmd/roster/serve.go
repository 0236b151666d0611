package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/dialect/ckan"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/mail"
	"github.com/rosterhq/roster/internal/metrics"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// multipartRoom is what a profile image upload's body holds besides the file.
const multipartRoom = 64 << 10

// serveConfig is what serve reads from flags and the environment.
type serveConfig struct {
	common
	addr           string
	logLevel       string
	trustedProxies string
	secureCookies  bool
	maxBody        int64
	maxImport      int64
	publicURL      string
	// requireEDXUserAgent makes the CKAN dialect refuse requests without User-Agent:
	// EDX-USER, as NETL's EDX does.
	requireEDXUserAgent bool
	// smtpURL is the mail server the outbox is delivered through; "" leaves messages in
	// the outbox.
	smtpURL     string
	mailWorkers int
	// The token service's JWTs: their issuer and audience, the Domain of the cookies
	// browsers hold them in, and the origins whose pages may call with cookies.
	jwtIssuer, jwtAudience, jwtCookieDomain, corsOrigins string
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flags("serve", e)
	var c serveConfig
	c.register(fs, e)
	fs.StringVar(&c.addr, "addr", envOr(e, "ROSTER_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&c.logLevel, "log-level", envOr(e, "ROSTER_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", e.getenv("ROSTER_TRUSTED_PROXIES"), "proxies whose X-Forwarded-For is believed (CIDRs, comma-separated)")
	fs.BoolVar(&c.secureCookies, "secure-cookies", e.getenv("ROSTER_SECURE_COOKIES") == "true", "mark cookies Secure (serve over HTTPS)")
	fs.StringVar(&c.publicURL, "public-url", e.getenv("ROSTER_PUBLIC_URL"), "the address clients reach Roster at, for links in responses (default: from each request)")
	fs.BoolVar(&c.requireEDXUserAgent, "require-edx-user-agent", e.getenv("ROSTER_REQUIRE_EDX_USER_AGENT") == "true", "CKAN dialect: refuse requests without User-Agent: EDX-USER")
	fs.StringVar(&c.smtpURL, "smtp-url", e.getenv("ROSTER_SMTP_URL"), "the mail server that delivers the outbox: smtp://[USER:PASSWORD@]HOST[:PORT]?from=ADDRESS or smtps://… (default: $ROSTER_SMTP_URL; none: messages wait in the outbox)")
	fs.StringVar(&c.jwtIssuer, "jwt-issuer", e.getenv("ROSTER_JWT_ISSUER"), "the iss of the JWTs Roster issues (default: --public-url followed by /oauth2, else roster)")
	fs.StringVar(&c.jwtAudience, "jwt-audience", envOr(e, "ROSTER_JWT_AUDIENCE", "roster"), "the aud of the JWTs Roster issues and accepts")
	fs.StringVar(&c.jwtCookieDomain, "jwt-cookie-domain", e.getenv("ROSTER_JWT_COOKIE_DOMAIN"), "the Domain of the JWT cookies /login_refresh sets, for micro-frontends on other hosts (default: this host only)")
	fs.StringVar(&c.corsOrigins, "cors-origins", e.getenv("ROSTER_CORS_ORIGINS"), "origins whose pages may call Roster with cookies, comma-separated (https://apps.example.org); none by default")
	// Help shows where the default comes from, not its value: it may hold a password.
	fs.Lookup("smtp-url").DefValue = ""
	c.mailWorkers = 1
	if v := e.getenv("ROSTER_MAIL_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 32 {
			return usagef("ROSTER_MAIL_WORKERS=%q is not a number of workers from 1 to 32", v)
		}
		c.mailWorkers = n
	}
	c.maxBody, c.maxImport = 4<<20, 512<<20
	for _, lim := range []struct {
		env string
		n   *int64
	}{{"ROSTER_MAX_BODY_BYTES", &c.maxBody}, {"ROSTER_MAX_IMPORT_BYTES", &c.maxImport}} {
		if v := e.getenv(lim.env); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				return usagef("%s=%q is not a size in bytes (at least 1024)", lim.env, v)
			}
			*lim.n = n
		}
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", strings.Join(pos, " "))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return usagef("--log-level %q: use debug, info, warn or error", c.logLevel)
	}
	prefixes, err := httpx.ParsePrefixes(c.trustedProxies)
	if err != nil {
		return usagef("%v", err)
	}
	if _, err := parseDB(c.db); err != nil {
		return err
	}
	svcCfg, err := serviceConfig(e, nil)
	if err != nil {
		return err
	}
	// An upload arrives through the body limit, in a multipart form around the file.
	if images := svcCfg.ProfileImages.WithDefaults().MaxBytes; c.maxBody < images+multipartRoom {
		return usagef("ROSTER_MAX_BODY_BYTES (%d) must be at least ROSTER_PROFILE_IMAGE_MAX_BYTES (%d) and %d bytes more, for the form around an upload",
			c.maxBody, images, multipartRoom)
	}
	origins, err := httpx.ParseOrigins(c.corsOrigins)
	if err != nil {
		return usagef("--cors-origins: %v", err)
	}
	if c.jwtIssuer == "" {
		c.jwtIssuer = "roster"
		if c.publicURL != "" {
			c.jwtIssuer = strings.TrimSuffix(c.publicURL, "/") + "/oauth2"
		}
	}
	var smtpCfg *mail.Config
	if c.smtpURL != "" {
		if smtpCfg, err = mail.ParseURL(c.smtpURL); err != nil {
			return usagef("--smtp-url: %v", err)
		}
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	// The port first: a second serve started by mistake must fail before it creates
	// or migrates a store.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	var workers []*mail.Worker
	a, err := openApp(ctx, e, &c.common, log, serves, func(cfg *core.Config) {
		if c.publicURL != "" {
			cfg.PublicURL = c.publicURL
		}
		// A message queued by a request of this replica is delivered at once; those of
		// other replicas at the next poll.
		cfg.MessageQueued = func() {
			for _, w := range workers {
				w.Wake()
			}
		}
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.store.Created() {
		announceNewStore(e, a)
	}
	readOnly, err := a.store.ReadOnly(ctx)
	if err != nil {
		return err
	}
	if readOnly {
		log.Warn("the store is read-only: Roster answers reads, refuses changes with 503 and reports not ready", "db", a.target.String())
		fmt.Fprintf(e.stdout, "The store at %s is read-only: Roster answers reads, and refuses changes with 503.\n", a.target.where())
	} else if err := bootstrapAdmin(ctx, e, a); err != nil {
		return err
	}

	// The mail workers are made before the server answers anything: requests wake them
	// (MessageQueued). They run until the server has shut down, so that a request in
	// flight still finds them.
	mailCtx, stopMail := context.WithCancel(context.WithoutCancel(ctx))
	var mailDone sync.WaitGroup
	defer func() { stopMail(); mailDone.Wait() }()
	switch {
	case readOnly:
	case smtpCfg == nil:
		log.Info("no mail server configured (--smtp-url, ROSTER_SMTP_URL): messages wait in the outbox (roster outbox list)")
	default:
		for range c.mailWorkers {
			workers = append(workers, mail.New(a.svc, &mail.SMTP{Config: smtpCfg}, log))
		}
		log.Info("delivering mail", "smtp", smtpCfg.String(), "from", smtpCfg.From, "workers", len(workers))
	}

	reg := metrics.NewRegistry()
	metrics.RegisterDB(reg, "roster_read", a.store.ReadDB())
	if a.store.WriteDB() != a.store.ReadDB() {
		metrics.RegisterDB(reg, "roster_write", a.store.WriteDB())
	}
	ips := &httpx.ClientIPs{Trusted: prefixes}
	a.oauth = oauth.New(a.store, a.svc, oauth.Config{Issuer: c.jwtIssuer, Audience: c.jwtAudience, Log: log})
	handler := server.New(server.Config{
		Core: a.svc, Projects: a.projects, OAuth: a.oauth, Store: a.store, ReadOnly: sqlstore.ReadOnlyError, Log: log, Registry: reg, IPs: ips,
		API:             api.Options{SecureCookies: c.secureCookies},
		CKAN:            ckan.Options{SiteURL: c.publicURL, RequireEDXUserAgent: c.requireEDXUserAgent},
		JWTCookieDomain: c.jwtCookieDomain, CORSOrigins: origins,
		BodyLimit: c.maxBody, ImportLimit: c.maxImport,
	})

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    httpx.ServerMaxHeaderBytes, // below it, each surface refuses in its own format
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", a.target.String())
	fmt.Fprintf(e.stdout, "Roster is listening on http://%s (database %s)\n", ln.Addr(), a.target)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	go housekeeping(ctx, a)
	for _, w := range workers {
		mailDone.Add(1)
		go func() { defer mailDone.Done(); w.Run(mailCtx) }()
	}

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// SIGTERM: stop accepting, let in-flight requests finish.
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// The workers finish the message they are sending (its deadline bounds it); the
	// others stay leased until their leases end, and are sent by another worker then.
	stopMail()
	mailDone.Wait()
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// announceNewStore says, on standard output and in the log, that opening the store
// created it, and where: a store appearing somewhere unexpected should not go unseen.
func announceNewStore(e *env, a *app) {
	a.log.Info("created a new store", "store", a.describe())
	fmt.Fprintf(e.stdout, "Created a new Roster store at %s\n", a.describe())
}

// bootstrapAdmin makes the first system administrator on an empty store and shows its
// password once, on standard output (not in the log stream).
func bootstrapAdmin(ctx context.Context, e *env, a *app) error {
	b, err := a.svc.EnsureAdmin(ctx, e.getenv("ROSTER_ADMIN_PASSWORD"))
	if err != nil || b == nil {
		return err
	}
	a.log.Info("created the first system administrator", "username", b.Username)
	if b.Password == "" {
		fmt.Fprintf(e.stdout, "Created the system administrator %q with the password from ROSTER_ADMIN_PASSWORD.\n", b.Username)
		return nil
	}
	fmt.Fprintf(e.stdout, "\nCreated the system administrator %q. Its password, shown only this once:\n\n    %s\n\n"+
		"Sign in with it and change it (roster users set-password %s --password-stdin).\n\n", b.Username, b.Password, b.Username)
	return nil
}

// housekeeping deletes ended sessions and gives up expired messages of the outbox
// (purging their bodies) now and then. Every replica may do it; both are idempotent.
func housekeeping(ctx context.Context, a *app) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ro, err := a.store.ReadOnly(ctx); err != nil || ro {
				continue // the deletes would fail; readiness reports why
			}
			if n, err := a.svc.ExpireSessions(ctx); err != nil {
				a.log.Warn("expiring sessions", "err", err)
			} else if n > 0 {
				a.log.Info("expired sessions", "count", n)
			}
			if n, err := a.oauth.ExpireTokens(ctx); err != nil {
				a.log.Warn("expiring OAuth2 tokens", "err", err)
			} else if n > 0 {
				a.log.Info("expired OAuth2 tokens", "count", n)
			}
			if n, err := a.svc.ExpireOutbox(ctx); err != nil {
				a.log.Warn("expiring messages", "err", err)
			} else if n > 0 {
				a.log.Info("gave up expired messages", "count", n)
			}
		}
	}
}
