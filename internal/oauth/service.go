// Package oauth is Roster's token service: the OAuth2 applications operators register,
// the token endpoint's grants (client credentials, password, refresh), the JWTs Open
// edX's clients carry and the keys that sign them, and the verification of every token
// it issued. Everything it knows is in the store, so every replica issues and verifies
// the same tokens, and a revocation or deactivation on one replica is honoured by all
// on their next request. Surfaces word its neutral refusals (roster.Error reasons named
// after RFC 6749's error codes) as their platforms do.
package oauth

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// Accounts is what the token service needs of the accounts core.
type Accounts interface {
	// VerifyPassword checks a password under the sign-in throttles.
	VerifyPassword(ctx context.Context, login, password string, c roster.Client) (*roster.Account, error)
	// FailKey counts a bad credential from c and returns refusal, or ETOOMANY.
	FailKey(ctx context.Context, c roster.Client, refusal error) error
}

// Config tunes the service. Zero values take the defaults noted.
type Config struct {
	// Issuer is the tokens' "iss" (default "roster"); Open edX's is the LMS's address
	// followed by /oauth2.
	Issuer string
	// Audience is the tokens' "aud" (default "roster"), which verifiers expect.
	Audience string
	// AccessLifetime is how long a JWT lives (default 1h, Open edX's
	// JWT_ACCESS_TOKEN_EXPIRE_SECONDS and JWT_IN_COOKIE_EXPIRATION).
	AccessLifetime time.Duration
	// BearerLifetime is how long an opaque access token lives (default 10h, Open edX's
	// ACCESS_TOKEN_EXPIRE_SECONDS).
	BearerLifetime time.Duration
	// RefreshLifetime is how long a refresh token lives (default 90 days, Open edX's
	// REFRESH_TOKEN_EXPIRE_SECONDS).
	RefreshLifetime time.Duration
	// BrainSTEMLifetime is how long a BrainSTEM token (POST /api/token/ or the device
	// flow) lives (default 1 year: BrainSTEM's historical tokens never expire, its
	// personal access tokens live a year). Revoking its grant ends it sooner.
	BrainSTEMLifetime time.Duration
	// DeviceLifetime is how long a device flow's codes wait for approval (default 10
	// minutes); DeviceInterval how long its client waits between polls (default 5 s).
	DeviceLifetime time.Duration
	DeviceInterval time.Duration
	// KeyOverlap is how long a signing key keeps verifying after a newer key replaced
	// it (default AccessLifetime: every JWT it signed has expired by then).
	KeyOverlap time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

// Service issues and verifies tokens.
type Service struct {
	store    roster.Store
	accounts Accounts
	cfg      Config
	log      *slog.Logger
	// Parsed keys by kid. A kid's key material never changes, so these caches never go
	// stale; whether a key still verifies is read from the store with every token.
	mu      sync.Mutex
	public  map[string]*rsa.PublicKey
	private map[string]*rsa.PrivateKey
}

// New returns the token service over store.
func New(store roster.Store, accounts Accounts, cfg Config) *Service {
	if cfg.Issuer == "" {
		cfg.Issuer = "roster"
	}
	if cfg.Audience == "" {
		cfg.Audience = "roster"
	}
	if cfg.AccessLifetime <= 0 {
		cfg.AccessLifetime = time.Hour
	}
	if cfg.BearerLifetime <= 0 {
		cfg.BearerLifetime = 10 * time.Hour
	}
	if cfg.RefreshLifetime <= 0 {
		cfg.RefreshLifetime = 90 * 24 * time.Hour
	}
	if cfg.BrainSTEMLifetime <= 0 {
		cfg.BrainSTEMLifetime = 365 * 24 * time.Hour
	}
	if cfg.DeviceLifetime <= 0 {
		cfg.DeviceLifetime = 10 * time.Minute
	}
	if cfg.DeviceInterval < time.Second {
		cfg.DeviceInterval = 5 * time.Second
	}
	if cfg.KeyOverlap <= 0 {
		cfg.KeyOverlap = cfg.AccessLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, accounts: accounts, cfg: cfg, log: cfg.Log,
		public: map[string]*rsa.PublicKey{}, private: map[string]*rsa.PrivateKey{}}
}

// AccessLifetime is how long the access tokens it issues live.
func (s *Service) AccessLifetime() time.Duration { return s.cfg.AccessLifetime }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }
