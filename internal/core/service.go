// Package core holds Roster's use cases about accounts: accounts themselves, API keys and
// sessions, groups, the policy, the audit log and account files. It is the only place
// that decides who may read or change an account, validates input against the profile
// schema, and writes the audit log, each change in the same transaction as its audit
// entry. The project use cases (package projects) build on it: they render members'
// accounts through its decisions and throttle bad tokens with its counts. The native
// API, the dialects, the console and the CLI are thin translations onto these methods.
package core

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/rosterhq/roster/internal/profileimage"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// Config tunes the service. Zero values take the defaults noted.
type Config struct {
	PasswordParams secret.Params // default: secret.DefaultParams
	// SessionLifetime bounds a browser session (default 12h).
	SessionLifetime time.Duration
	// Throttling of failed sign-ins and bad keys, counted in the database so every
	// replica sees the same counts.
	LoginFailuresAllowed int // per account and client address, or per known device; default 5
	// LoginFailuresPerAddress: failed sign-ins from one address to any accounts
	// (default 20).
	LoginFailuresPerAddress int
	// LoginFailuresPerAccount: failed sign-ins to one account from clients that never
	// signed in to it (default 50). Past it such clients are blocked; the owner's known
	// browsers are not.
	LoginFailuresPerAccount int
	KeyFailuresAllowed      int           // per client address, default 20
	FailureWindow           time.Duration // default 15m
	MaxBlock                time.Duration // default 15m
	// ProfileImages bounds profile image uploads (zero fields: the defaults of
	// profileimage.Limits).
	ProfileImages profileimage.Limits
	Now           func() time.Time
	Log           *slog.Logger
	// PublicURL is the address people reach Roster at ("https://roster.example.org"),
	// for the links Roster mails. Without it, the address the request that causes the
	// mail reached Roster at (roster.WriteOptions.Origin).
	PublicURL string
	// EmailChangeLifetime is how long the link confirming a change of email works
	// (default 24h).
	EmailChangeLifetime time.Duration
	// MessageLifetime is how long a notification waits in the outbox for delivery before
	// it is given up (default 7 days). A confirmation link's message expires with its
	// link.
	MessageLifetime time.Duration
	// MessageQueued, when set, is called after a change that queued a message commits,
	// so that a worker in this process delivers it at once rather than at its next poll.
	MessageQueued func()
}

// Service runs Roster's use cases over a store.
type Service struct {
	store roster.Store
	pol   policyState // the policy in force, read from the store
	cfg   Config
	log   *slog.Logger
	// touches bounds the background updates of last-used times.
	touches chan struct{}
	hooks   hooks
}

// hooks let tests stop a use case at a chosen point, to force an interleaving of
// concurrent requests instead of hoping for it. Nil in production.
type hooks struct {
	// afterSysadminGuard runs after the last-administrator check has counted them and
	// before the change is written.
	afterSysadminGuard func()
	// beforeQueue runs as a message is queued, in the transaction of its change; an
	// error it returns fails the queueing.
	beforeQueue func(m *roster.Message) error
}

// New returns a service over store.
func New(store roster.Store, cfg Config) (*Service, error) {
	if cfg.PasswordParams == (secret.Params{}) {
		cfg.PasswordParams = secret.DefaultParams
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	if cfg.LoginFailuresAllowed <= 0 {
		cfg.LoginFailuresAllowed = 5
	}
	if cfg.LoginFailuresPerAddress <= 0 {
		cfg.LoginFailuresPerAddress = 20
	}
	if cfg.LoginFailuresPerAccount <= 0 {
		cfg.LoginFailuresPerAccount = 50
	}
	if cfg.KeyFailuresAllowed <= 0 {
		cfg.KeyFailuresAllowed = 20
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	if cfg.MaxBlock <= 0 {
		cfg.MaxBlock = 15 * time.Minute
	}
	cfg.ProfileImages = cfg.ProfileImages.WithDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.EmailChangeLifetime <= 0 {
		cfg.EmailChangeLifetime = 24 * time.Hour
	}
	if cfg.MessageLifetime <= 0 {
		cfg.MessageLifetime = 7 * 24 * time.Hour
	}
	return &Service{store: store, cfg: cfg, log: cfg.Log, touches: make(chan struct{}, 8)}, nil
}

// ProfileImageLimits are the bounds of profile image uploads in force.
func (s *Service) ProfileImageLimits() profileimage.Limits { return s.cfg.ProfileImages }

// Ping reports whether the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// now is the service's clock, truncated to what the store keeps.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// today is the date by the service's clock, as project rights' expirations are written.
func (s *Service) today() string { return s.cfg.Now().UTC().Format(time.DateOnly) }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RequireSignedIn refuses anonymous actors, and read-only keys when write is set.
func RequireSignedIn(a roster.Actor, write bool) error {
	if a.Anonymous() {
		return roster.Errorf(roster.EUNAUTHENTICATED, "Authentication required.")
	}
	if write && a.ReadOnly {
		return roster.Errorf(roster.EFORBIDDEN, "This API key is read-only.")
	}
	return nil
}

// RequireSysadmin refuses anyone but a system administrator (with write: also a
// read-only credential).
func RequireSysadmin(a roster.Actor, write bool) error {
	if err := RequireSignedIn(a, write); err != nil {
		return err
	}
	if !a.IsSysadmin() {
		return roster.Errorf(roster.EFORBIDDEN, "Only system administrators may do this.")
	}
	return nil
}
