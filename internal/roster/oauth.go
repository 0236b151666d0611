package roster

import (
	"context"
	"slices"
	"strings"
	"time"
)

// OAuth2 grant types an application may be allowed, by their names in a token request.
const (
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	// GrantSession is no OAuth2 grant: it names the tokens a signed-in browser receives
	// as JWT cookies (Open edX's /login_refresh), which live as long as the session.
	GrantSession = "session"
	// GrantBrainSTEMPassword and GrantBrainSTEMDevice are no OAuth2 grants either: they
	// name the opaque tokens BrainSTEM's clients obtain, by password (POST /api/token/)
	// and by the device flow (POST /api/auth/device/), which no application requests.
	GrantBrainSTEMPassword = "brainstem_password"
	GrantBrainSTEMDevice   = "brainstem_device"
)

// OAuth2 scopes, as Open edX names them. A token without "write" acts read-only.
const (
	ScopeRead    = "read"
	ScopeWrite   = "write"
	ScopeEmail   = "email"
	ScopeProfile = "profile"
	ScopeUserID  = "user_id"
)

// Scopes are the scopes Roster knows, in the order tokens list them.
var Scopes = []string{ScopeRead, ScopeWrite, ScopeEmail, ScopeProfile, ScopeUserID}

// OAuthApp is an OAuth2 client registered by an operator: a service or a portal that
// obtains tokens for its owner (client credentials) or for the people who sign in
// through it (password). Only a hash of a confidential client's secret is stored.
type OAuthApp struct {
	ID           int64
	ClientID     string
	Name         string
	OwnerID      int64
	Owner        string // the owner's username, when read
	Confidential bool   // has a secret; public clients (a mobile app, the login service) do not
	SecretHash   []byte `json:"-"`
	SecretPrefix string // the first characters of the secret, to recognise it
	Grants       []string
	RedirectURIs []string
	Scopes       []string // the most a token of this application may carry
	CreatedAt    time.Time
	UpdatedAt    time.Time
	RevokedAt    time.Time // zero: live
}

// Allows reports whether the application may use grant.
func (a *OAuthApp) Allows(grant string) bool { return slices.Contains(a.Grants, grant) }

// Live reports whether the application may still obtain or use tokens.
func (a *OAuthApp) Live() bool { return a.RevokedAt.IsZero() }

// OAuthGrant is a family of tokens: what one client-credentials or password exchange,
// or one browser session, started. Refreshing a token keeps its family; revoking the
// family ends every token in it, JWTs included, on the next request to any replica.
type OAuthGrant struct {
	ID        int64
	AppID     int64
	AccountID int64
	// SessionID ties a browser's JWT cookies to its session: signing out ends them.
	SessionID int64
	GrantType string
	Scopes    []string
	CreatedAt time.Time
	RevokedAt time.Time // zero: live
	// Read with the grant by GetOAuthGrantForAuth, so that verifying a token is one read.
	AppRevokedAt  time.Time `json:"-"`
	SessionLive   bool      `json:"-"`
	PolicyVersion int64     `json:"-"`
	// KeyRetireAt is when the signing key named in the lookup stops verifying (zero:
	// not retiring); KeyKnown is false when there is no such key.
	KeyRetireAt time.Time `json:"-"`
	KeyKnown    bool      `json:"-"`
	// App is the application's client id and name, for listings.
	ClientID string
	AppName  string
}

// HasScope reports whether the grant carries scope.
func (g *OAuthGrant) HasScope(scope string) bool { return slices.Contains(g.Scopes, scope) }

// OAuthToken is an opaque token of a grant: an access token of token_type bearer, or a
// refresh token. Only its hash is stored.
type OAuthToken struct {
	Hash      []byte
	GrantID   int64
	Kind      string // TokenAccess or TokenRefresh
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // a refresh token is used once; zero: not yet
}

// Kinds of opaque OAuth2 token.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// SigningKey is an asymmetric key that signs JWTs. Every replica reads the same keys
// from the store, so a token issued by one verifies on all. A key past its RetireAt
// verifies nothing; the newest key not retiring signs.
type SigningKey struct {
	KID        string
	Algorithm  string
	PrivateDER []byte `json:"-"` // PKCS #8; never leaves the server
	PublicJWK  string // the public half, as it appears in the JWKS
	CreatedAt  time.Time
	RetireAt   time.Time // zero: not retiring
}

// Retired reports whether the key no longer verifies at now.
func (k *SigningKey) Retired(now time.Time) bool {
	return !k.RetireAt.IsZero() && !now.Before(k.RetireAt)
}

// DeviceAuthorization is one run of a device flow (RFC 8628's shape, as BrainSTEM's
// client speaks it): a client without a browser asks for it, shows its user code, and
// polls with its device code until a signed-in person approves or denies the code in a
// browser, or it expires. Only hashes of both codes are stored. An approved
// authorization issues its token once: the poll that does so marks it done.
type DeviceAuthorization struct {
	ID             int64
	DeviceCodeHash []byte `json:"-"`
	UserCodeHash   []byte `json:"-"`
	ClientName     string // what the client calls itself, shown on the approval page
	ClientIP       string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	Interval       int       // seconds the client must wait between polls
	PolledAt       time.Time // the last poll; zero: none yet
	State          string    // DevicePending, DeviceApproved, DeviceDenied or DeviceDone
	AccountID      int64     // who approved or denied it; 0 while pending
	DecidedAt      time.Time
	GrantID        int64 // the grant its token started, once done
}

// States of a device authorization.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceDone     = "done" // approved, and its token issued
)

// OAuthAppChange is a change to an application; nil fields stay.
type OAuthAppChange struct {
	Name         *string
	Grants       *[]string
	RedirectURIs *[]string
	Scopes       *[]string
}

// JoinScopes writes scopes as OAuth2 does: space-separated.
func JoinScopes(s []string) string { return strings.Join(s, " ") }

// OAuthReader reads OAuth2 applications, grants, tokens and signing keys.
type OAuthReader interface {
	GetOAuthApp(ctx context.Context, id int64) (*OAuthApp, error)
	GetOAuthAppByClientID(ctx context.Context, clientID string) (*OAuthApp, error)
	ListOAuthApps(ctx context.Context) ([]*OAuthApp, error)
	// GetOAuthGrantForAuth reads a grant with all a request's verification needs in one
	// read: its application's revocation, its session's life, its account, the policy
	// version and the retirement of the signing key kid ("" for opaque tokens).
	GetOAuthGrantForAuth(ctx context.Context, id int64, kid string, now time.Time) (*OAuthGrant, *Account, error)
	GetOAuthGrant(ctx context.Context, id int64) (*OAuthGrant, error)
	ListOAuthGrants(ctx context.Context, accountID int64) ([]*OAuthGrant, error)
	GetOAuthToken(ctx context.Context, hash []byte) (*OAuthToken, error)
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	GetSigningKey(ctx context.Context, kid string) (*SigningKey, error)
	// GetDeviceAuthorization finds a device authorization by its device code's hash;
	// GetDeviceAuthorizationByUserCode by its user code's.
	GetDeviceAuthorization(ctx context.Context, deviceCodeHash []byte) (*DeviceAuthorization, error)
	GetDeviceAuthorizationByUserCode(ctx context.Context, userCodeHash []byte) (*DeviceAuthorization, error)
}

// OAuthWriter changes them.
type OAuthWriter interface {
	CreateOAuthApp(ctx context.Context, a *OAuthApp) error
	UpdateOAuthApp(ctx context.Context, a *OAuthApp) error
	SetOAuthAppSecret(ctx context.Context, id int64, hash []byte, prefix string, at time.Time) error
	RevokeOAuthApp(ctx context.Context, id int64, at time.Time) error
	CreateOAuthGrant(ctx context.Context, g *OAuthGrant) error
	RevokeOAuthGrant(ctx context.Context, id int64, at time.Time) error
	CreateOAuthToken(ctx context.Context, t *OAuthToken) error
	// UseOAuthToken marks a refresh token used, once: ECONFLICT if it was already.
	UseOAuthToken(ctx context.Context, hash []byte, at time.Time) error
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// RetireSigningKeys sets the retirement of every key but keep that has none, or a
	// later one, to at.
	RetireSigningKeys(ctx context.Context, keep string, at time.Time) error
	RetireSigningKey(ctx context.Context, kid string, at time.Time) error
	// CreateDeviceAuthorization stores d and sets its ID; a user code already held by
	// another is ECONFLICT (field user_code).
	CreateDeviceAuthorization(ctx context.Context, d *DeviceAuthorization) error
	// DecideDeviceAuthorization approves or denies (state) a pending authorization for
	// accountID: ECONFLICT when it is no longer pending.
	DecideDeviceAuthorization(ctx context.Context, id int64, state string, accountID int64, at time.Time) error
	// PollDeviceAuthorization records a poll at at, and the interval the client is told.
	PollDeviceAuthorization(ctx context.Context, id int64, at time.Time, interval int) error
	// CompleteDeviceAuthorization marks an approved authorization done with the grant
	// its token started, once: ECONFLICT when it is not approved (done already).
	CompleteDeviceAuthorization(ctx context.Context, id, grantID int64) error
}
