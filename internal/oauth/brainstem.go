package oauth

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// BrainSTEM's tokens: an opaque bearer token that does all its account may (its scopes
// are a browser session's), in a grant of no application, listed and revoked with the
// account's other grants. They live BrainSTEMLifetime and verify as every opaque token
// does (Verify), so "Authorization: Bearer <token>" works on every surface that takes
// the token service's tokens.

// brainstemScopes: a BrainSTEM token does all its user may, as BrainSTEM's do.
var brainstemScopes = sessionScopes

// PasswordToken answers BrainSTEM's POST /api/token/: the password is checked under
// the sign-in throttles, and a new token issued. A wrong login or password is
// EUNAUTHENTICATED, too many of them ETOOMANY.
func (s *Service) PasswordToken(ctx context.Context, login, password string, c roster.Client) (*Token, error) {
	if len(login) > maxField || len(password) > maxField {
		return nil, refuse(roster.RInvalidRequest, "A field of the request is too long.")
	}
	a, err := s.accounts.VerifyPassword(ctx, login, password, c)
	if err != nil {
		return nil, err
	}
	return s.issue(ctx, nil, a, roster.GrantBrainSTEMPassword, brainstemScopes, false, false, 0)
}

// Device is the start of a device flow: what its client shows and polls with.
type Device struct {
	DeviceCode string // the client's secret, which it polls with
	UserCode   string // what the person types, XXXX-XXXX
	ExpiresIn  int    // seconds
	Interval   int    // seconds between polls
}

// DeviceInfo is what the approval page shows of a pending device flow.
type DeviceInfo struct {
	UserCode   string
	ClientName string
	ClientIP   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Statuses of a poll, as BrainSTEM's client reads them ("authorization_pending" and
// "success"; anything else stops it, showing the poll's "error").
const (
	DevicePending = "authorization_pending"
	DeviceSuccess = "success"
	DeviceExpired = "expired_token"
	DeviceDenied  = "access_denied"
)

// DevicePoll is the answer to a poll. SlowDown: the client polled before its interval
// was up; Interval is the longer one it is now given.
type DevicePoll struct {
	Status   string
	SlowDown bool
	Interval int
	Token    *Token
}

// userCodeAlphabet: consonants that no one confuses with digits or one another, as
// RFC 8628 (section 6.1) suggests; 20^8 codes, about 34 bits.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const userCodeLen = 8

// newUserCode returns a fresh user code, XXXX-XXXX.
func newUserCode() (string, error) {
	b := make([]byte, userCodeLen)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	out := make([]byte, 0, userCodeLen+1)
	for i, v := range b {
		if i == userCodeLen/2 {
			out = append(out, '-')
		}
		// 256 = 12*20 + 16: reject the top to keep the draw uniform.
		for v >= 240 {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return "", err
			}
			v = one[0]
		}
		out = append(out, userCodeAlphabet[int(v)%len(userCodeAlphabet)])
	}
	return string(out), nil
}

// NormalizeUserCode is a user code as typed, in its canonical form: upper case, its
// letters only, then XXXX-XXXX. A code that cannot be one is "".
func NormalizeUserCode(typed string) string {
	if len(typed) > 64 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	code := b.String()
	if len(code) != userCodeLen {
		return ""
	}
	return code[:userCodeLen/2] + "-" + code[userCodeLen/2:]
}

// maxClientName bounds the name a client gives itself, shown on the approval page.
const maxClientName = 100

// StartDevice starts a device flow for the client that calls itself clientName.
func (s *Service) StartDevice(ctx context.Context, clientName string, c roster.Client) (*Device, error) {
	clientName = strings.TrimSpace(clientName)
	if len(clientName) > maxClientName || !roster.ValidText(clientName) {
		return nil, refuse(roster.RInvalidRequest, "client_name is too long or not text.")
	}
	device, err := secret.NewToken()
	if err != nil {
		return nil, roster.Internal("oauth.StartDevice", err)
	}
	now := s.now()
	interval := int(s.cfg.DeviceInterval / time.Second)
	for range 3 { // a user code already in use: draw again
		user, err := newUserCode()
		if err != nil {
			return nil, roster.Internal("oauth.StartDevice", err)
		}
		d := &roster.DeviceAuthorization{DeviceCodeHash: secret.HashToken(device), UserCodeHash: secret.HashToken(user), ClientName: clientName,
			ClientIP: c.IP, CreatedAt: now, ExpiresAt: now.Add(s.cfg.DeviceLifetime), Interval: interval, State: roster.DevicePending}
		err = s.store.InTx(ctx, func(tx roster.Tx) error {
			if err := tx.CreateDeviceAuthorization(ctx, d); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "device_authorization.start", "device_authorization", d.ID, clientName,
				[]roster.Change{{Field: "client_name", New: clientName}, {Field: "expires_at", New: roster.JSONValue(d.ExpiresAt)}}))
		})
		if roster.ErrorCode(err) == roster.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Device{DeviceCode: device, UserCode: user, ExpiresIn: int(s.cfg.DeviceLifetime / time.Second), Interval: interval}, nil
	}
	return nil, roster.Errorf(roster.EUNAVAILABLE, "No user code could be drawn; try again.")
}

// unknownCode is the refusal of a user code no pending device flow has.
func unknownCode() error {
	return roster.Errorf(roster.ENOTFOUND, "No device is waiting for this code: check it, or start the login on the device again.")
}

// pendingDevice finds the pending, unexpired device flow of a user code. Codes that
// name none are counted against the client, as bad keys are.
func (s *Service) pendingDevice(ctx context.Context, r roster.Reader, userCode string, c roster.Client) (*roster.DeviceAuthorization, string, error) {
	code := NormalizeUserCode(userCode)
	if code == "" {
		return nil, "", s.accounts.FailKey(ctx, c, unknownCode())
	}
	d, err := r.GetDeviceAuthorizationByUserCode(ctx, secret.HashToken(code))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, "", s.accounts.FailKey(ctx, c, unknownCode())
	} else if err != nil {
		return nil, "", err
	}
	switch {
	case !s.now().Before(d.ExpiresAt):
		return nil, "", &roster.Error{Code: roster.ENOTFOUND, Reason: roster.RLinkExpired, Message: "This code has expired: start the login on the device again."}
	case d.State != roster.DevicePending:
		return nil, "", roster.Errorf(roster.ECONFLICT, "This code was approved or denied already.")
	}
	return d, code, nil
}

// LookupDevice returns what the approval page shows of the device flow waiting for
// userCode. The caller must be signed in.
func (s *Service) LookupDevice(ctx context.Context, userCode string, c roster.Client) (*DeviceInfo, error) {
	if err := core.RequireSignedIn(roster.ActorFromContext(ctx), false); err != nil {
		return nil, err
	}
	d, code, err := s.pendingDevice(ctx, s.store, userCode, c)
	if err != nil {
		return nil, err
	}
	return &DeviceInfo{UserCode: code, ClientName: d.ClientName, ClientIP: d.ClientIP, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt}, nil
}

// ApproveDevice approves the device flow waiting for userCode for the signed-in
// caller: the device's next poll receives a token of the caller's.
func (s *Service) ApproveDevice(ctx context.Context, userCode string, c roster.Client) (*DeviceInfo, error) {
	return s.decideDevice(ctx, userCode, roster.DeviceApproved, c)
}

// DenyDevice denies it: the device's next poll is told so.
func (s *Service) DenyDevice(ctx context.Context, userCode string, c roster.Client) (*DeviceInfo, error) {
	return s.decideDevice(ctx, userCode, roster.DeviceDenied, c)
}

func (s *Service) decideDevice(ctx context.Context, userCode, state string, c roster.Client) (*DeviceInfo, error) {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSignedIn(actor, true); err != nil {
		return nil, err
	}
	if actor.SessionID == 0 {
		return nil, roster.Errorf(roster.EFORBIDDEN, "A device is approved in a signed-in browser.")
	}
	var info *DeviceInfo
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		d, code, err := s.pendingDevice(ctx, tx, userCode, c)
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.DecideDeviceAuthorization(ctx, d.ID, state, actor.AccountID, now); err != nil {
			return err
		}
		info = &DeviceInfo{UserCode: code, ClientName: d.ClientName, ClientIP: d.ClientIP, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt}
		action := "device_authorization.approve"
		if state == roster.DeviceDenied {
			action = "device_authorization.deny"
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, action, "device_authorization", d.ID, d.ClientName,
			[]roster.Change{{Field: "state", Old: roster.DevicePending, New: state}}))
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// pollLeeway forgives a poll that comes a little early: the client sleeps the interval
// between the end of one poll and the start of the next, but networks jitter.
const pollLeeway = time.Second

// PollDevice answers a device's poll: pending (with a longer interval when it polled
// too soon), expired, denied, or, once approved, a token, exactly once. A device code
// no flow has, or one whose token was issued already, is EINVALID (invalid_grant),
// counted against the client as a bad key.
func (s *Service) PollDevice(ctx context.Context, deviceCode string, c roster.Client) (*DevicePoll, error) {
	used := refuse(roster.RInvalidGrant, "The device code is unknown or was used already: start the login again.")
	if deviceCode == "" || len(deviceCode) > maxField {
		return nil, s.accounts.FailKey(ctx, c, used)
	}
	d, err := s.store.GetDeviceAuthorization(ctx, secret.HashToken(deviceCode))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, s.accounts.FailKey(ctx, c, used)
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case d.State == roster.DeviceDone:
		return nil, s.accounts.FailKey(ctx, c, used)
	case d.State == roster.DeviceDenied:
		return &DevicePoll{Status: DeviceDenied, Interval: d.Interval}, nil
	case d.State == roster.DeviceApproved:
		return s.deviceToken(ctx, d, used)
	case !now.Before(d.ExpiresAt):
		return &DevicePoll{Status: DeviceExpired, Interval: d.Interval}, nil
	}
	out := &DevicePoll{Status: DevicePending, Interval: d.Interval}
	if !d.PolledAt.IsZero() && now.Sub(d.PolledAt) < time.Duration(d.Interval)*time.Second-pollLeeway {
		// RFC 8628's slow_down: five seconds more, as long as the flow lasts at most.
		out.SlowDown = true
		out.Interval = min(d.Interval+5, int(s.cfg.DeviceLifetime/time.Second))
	}
	err = s.store.InTx(ctx, func(tx roster.Tx) error { return tx.PollDeviceAuthorization(ctx, d.ID, now, out.Interval) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deviceToken issues the token of an approved device flow, in the transaction that
// marks the flow done: of two polls at once, one gets the token and the other is
// refused as a code used already.
func (s *Service) deviceToken(ctx context.Context, d *roster.DeviceAuthorization, used error) (*DevicePoll, error) {
	a, err := s.store.GetAccount(ctx, roster.RefID(d.AccountID))
	if err != nil {
		return nil, err
	}
	if a.State != roster.StateActive {
		return &DevicePoll{Status: DeviceDenied, Interval: d.Interval}, nil
	}
	g := &roster.OAuthGrant{AccountID: a.ID, GrantType: roster.GrantBrainSTEMDevice, Scopes: brainstemScopes}
	tok, err := s.issueIn(ctx, nil, a, g, brainstemScopes, false, false, func(tx roster.Tx, _ time.Time) error {
		return tx.CompleteDeviceAuthorization(ctx, d.ID, g.ID)
	})
	if roster.ErrorCode(err) == roster.ECONFLICT {
		return nil, used
	}
	if err != nil {
		return nil, err
	}
	return &DevicePoll{Status: DeviceSuccess, Interval: d.Interval, Token: tok}, nil
}
