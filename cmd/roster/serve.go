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
	"time"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/dialect/ckan"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/metrics"
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
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	// The port first: a second serve started by mistake must fail before it creates
	// or migrates a store.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	a, err := openApp(ctx, e, &c.common, log, serves)
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

	reg := metrics.NewRegistry()
	metrics.RegisterDB(reg, "roster_read", a.store.ReadDB())
	if a.store.WriteDB() != a.store.ReadDB() {
		metrics.RegisterDB(reg, "roster_write", a.store.WriteDB())
	}
	ips := &httpx.ClientIPs{Trusted: prefixes}
	handler := server.New(server.Config{
		Core: a.svc, Projects: a.projects, Store: a.store, ReadOnly: sqlstore.ReadOnlyError, Log: log, Registry: reg, IPs: ips,
		API:       api.Options{SecureCookies: c.secureCookies},
		CKAN:      ckan.Options{SiteURL: c.publicURL, RequireEDXUserAgent: c.requireEDXUserAgent},
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
	go expireSessions(ctx, a)

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

// expireSessions deletes ended sessions now and then. Every replica may do it; the
// deletes are idempotent.
func expireSessions(ctx context.Context, a *app) {
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
		}
	}
}
