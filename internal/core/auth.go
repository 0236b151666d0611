package core

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// The generic answer to a failed sign-in: it does not say whether the account exists.
var errBadLogin = roster.Errorf(roster.EUNAUTHENTICATED, "Invalid username or password.")

// ActorOf is the actor an authenticated account acts as.
func ActorOf(a *roster.Account) roster.Actor {
	return roster.Actor{AccountID: a.ID, Username: a.Username, Sysadmin: a.Sysadmin, Staff: a.Staff, Capabilities: a.Capabilities}
}

// block is how long a key is blocked after n failures: nothing up to the allowance, then
// doubling from one second, capped.
func (s *Service) block(allowed int) func(int) time.Duration {
	return func(n int) time.Duration {
		if n <= allowed {
			return 0
		}
		d := time.Duration(math.Pow(2, math.Min(float64(n-allowed-1), 20))) * time.Second
		return min(d, s.cfg.MaxBlock)
	}
}

// blocked returns ETOOMANY if key is blocked now.
func (s *Service) blocked(ctx context.Context, key string) error {
	t, err := s.store.GetThrottle(ctx, key)
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil
		}
		return err
	}
	now := s.cfg.Now()
	if now.Before(t.BlockedUntil) {
		return &roster.Error{Code: roster.ETOOMANY, Message: "Too many failed attempts; try again later.",
			RetryAfter: int(math.Ceil(t.BlockedUntil.Sub(now).Seconds()))}
	}
	return nil
}

// budget is a throttle key and the failures it allows before blocking.
type budget struct {
	key     string
	allowed int
}

// fail records a failure against each budget and returns ETOOMANY if that blocks one of
// them, else err.
func (s *Service) fail(ctx context.Context, err error, budgets ...budget) error {
	now := s.cfg.Now()
	for _, b := range budgets {
		t, rerr := s.store.RecordFailure(ctx, b.key, now, now.Add(-s.cfg.FailureWindow), s.block(b.allowed))
		if rerr != nil {
			s.log.Warn("recording an authentication failure", "err", rerr)
			continue
		}
		if now.Before(t.BlockedUntil) {
			err = &roster.Error{Code: roster.ETOOMANY, Message: "Too many failed attempts; try again later.",
				RetryAfter: int(math.Ceil(t.BlockedUntil.Sub(now).Seconds()))}
		}
	}
	return err
}

// AuthenticateKey returns the actor an API key stands for. Unknown, revoked and expired
// keys are EUNAUTHENTICATED; after too many from one client address, ETOOMANY. Valid
// keys are never slowed: they cannot be guessed, so only the failures need counting.
func (s *Service) AuthenticateKey(ctx context.Context, key string, c roster.Client) (roster.Actor, error) {
	fail := func(msg string) (roster.Actor, error) {
		return roster.Actor{}, s.FailKey(ctx, c, roster.Errorf(roster.EUNAUTHENTICATED, "%s", msg))
	}
	if !strings.HasPrefix(key, secret.KeyPrefix) || len(key) > 200 {
		return fail("Invalid API key.")
	}
	k, a, err := s.store.GetAPIKeyByHash(ctx, secret.HashToken(key))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return fail("Invalid API key.")
		}
		return roster.Actor{}, err
	}
	now := s.cfg.Now()
	if !k.Live(now) {
		return fail("This API key has been revoked or has expired.")
	}
	if a.State != roster.StateActive {
		return fail("This account is not active.")
	}
	if now.Sub(k.LastUsedAt) > time.Minute {
		s.touch(func(ctx context.Context) error { return s.store.TouchAPIKey(ctx, k.ID, now) })
	}
	actor := ActorOf(a)
	actor.KeyID, actor.ReadOnly, actor.ClientIP, actor.PolicyVersion = k.ID, k.ReadOnly, c.IP, k.PolicyVersion
	return actor, nil
}

// FailKey counts a bad key from c (an API key, or a project's API token) against the
// failures its address is allowed, and returns refusal, or ETOOMANY once the address is
// blocked. Every kind of key shares the one budget, so that guessing one kind does not
// go unthrottled while guessing another is slowed.
func (s *Service) FailKey(ctx context.Context, c roster.Client, refusal error) error {
	ipKey := "key:ip:" + c.IP
	if err := s.blocked(ctx, ipKey); err != nil {
		return err
	}
	return s.fail(ctx, refusal, budget{ipKey, s.cfg.KeyFailuresAllowed})
}

// touch records a last-used time in the background: it is bookkeeping, not worth
// making a request wait for the write lock. When many are in flight it skips; the next
// use a minute later records the time instead.
func (s *Service) touch(fn func(context.Context) error) {
	select {
	case s.touches <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-s.touches }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := fn(ctx); err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			s.log.Warn("recording last use", "err", err)
		}
	}()
}

// Quiesce waits for background bookkeeping to finish, for a clean shutdown.
func (s *Service) Quiesce() {
	for range cap(s.touches) {
		s.touches <- struct{}{}
	}
	for range cap(s.touches) {
		<-s.touches
	}
}

// deviceLifetime is how long a browser stays known after it last signed in.
const deviceLifetime = 180 * 24 * time.Hour

// Login checks a login name (username or email address) and password and opens a
// session. Failed attempts are throttled so that guessing is slow and no one can lock
// the owner out:
//   - a browser that signed in to the account before (its device token) has a budget
//     of its own, untouched by failures anywhere else;
//   - every other client has a budget per account and address, one per address across
//     all accounts, and one per account across all addresses, which blocks only clients
//     without the account's device token.
//
// An account's username and email address share its budgets.
func (s *Service) Login(ctx context.Context, cred roster.Credentials, c roster.Client) (*roster.SessionInfo, error) {
	a, device, budgets, err := s.checkPassword(ctx, cred, c)
	if err != nil {
		return nil, err
	}
	now := s.now()
	token, err := secret.NewToken()
	if err != nil {
		return nil, roster.Internal("core.Login", err)
	}
	var deviceToken string
	if device == nil {
		if deviceToken, err = secret.NewToken(); err != nil {
			return nil, roster.Internal("core.Login", err)
		}
	}
	sess := &roster.Session{AccountID: a.ID, Hash: secret.HashToken(token), CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionLifetime),
		LastSeenAt: now, ClientIP: c.IP, UserAgent: cleanText(c.UserAgent, 512)}
	actor := ActorOf(a)
	actor.Via, actor.ClientIP, actor.RequestID = roster.ActorFromContext(ctx).Via, c.IP, roster.ActorFromContext(ctx).RequestID
	actx := roster.NewContextWithActor(ctx, actor)
	err = s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		if err := tx.SetLastLogin(ctx, a.ID, now); err != nil {
			return err
		}
		if device != nil {
			if err := tx.TouchLoginDevice(ctx, device.ID, now); err != nil {
				return err
			}
		} else if err := tx.CreateLoginDevice(ctx, &roster.LoginDevice{AccountID: a.ID, Hash: secret.HashToken(deviceToken), CreatedAt: now, LastUsedAt: now}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(actx, now, "session.login", "account", a.ID, a.Username, nil))
	})
	if err != nil {
		return nil, err
	}
	// The owner's success clears what was counted against this client only; failures
	// counted against the account from everywhere else stay until their window ends.
	if err := s.store.ClearThrottle(ctx, budgets[0].key); err != nil {
		s.log.Warn("clearing a throttle", "err", err)
	}
	a.LastLoginAt = now
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	return &roster.SessionInfo{Token: token, CSRFToken: secret.CSRFToken(token), ExpiresAt: sess.ExpiresAt,
		Account: s.record(s.newReader(p, actor, a, roster.ReadOptions{}, nil)), DeviceToken: deviceToken}, nil
}

// checkPassword checks a login name and password under the sign-in throttles (see
// Login), and returns the active account, the known device it came from (nil when
// none), and the budgets it was counted against.
func (s *Service) checkPassword(ctx context.Context, cred roster.Credentials, c roster.Client) (*roster.Account, *roster.LoginDevice, []budget, error) {
	login := strings.TrimSpace(cred.Login)
	if err := roster.CheckText("login", login); err != nil {
		return nil, nil, nil, err
	}
	a, err := s.findLogin(ctx, login)
	if err != nil {
		return nil, nil, nil, err
	}
	subject := "name:" + roster.FoldKey(login)
	if a != nil {
		subject = "account:" + strconv.FormatInt(a.ID, 10)
	}
	now := s.now()
	var device *roster.LoginDevice
	if a != nil && cred.DeviceToken != "" && len(cred.DeviceToken) <= 200 {
		d, err := s.store.GetLoginDevice(ctx, secret.HashToken(cred.DeviceToken))
		switch {
		case err == nil && d.AccountID == a.ID && now.Sub(d.LastUsedAt) < deviceLifetime:
			device = d
		case err != nil && roster.ErrorCode(err) != roster.ENOTFOUND:
			return nil, nil, nil, err
		}
	}
	var budgets []budget
	if device != nil {
		budgets = []budget{{"login:device:" + strconv.FormatInt(device.ID, 10), s.cfg.LoginFailuresAllowed}}
	} else {
		budgets = []budget{
			{"login:" + subject + ":ip:" + c.IP, s.cfg.LoginFailuresAllowed},
			{"login:ip:" + c.IP, s.cfg.LoginFailuresPerAddress},
			{"login:" + subject, s.cfg.LoginFailuresPerAccount},
		}
	}
	for _, b := range budgets {
		if err := s.blocked(ctx, b.key); err != nil {
			return nil, nil, nil, err
		}
	}
	reject := func() (*roster.Account, *roster.LoginDevice, []budget, error) {
		s.log.Info("sign-in refused", "login", login, "client_ip", c.IP, "known_device", device != nil)
		return nil, nil, nil, s.fail(ctx, errBadLogin, budgets...)
	}
	if a == nil {
		secret.DummyCheck(cred.Password, s.cfg.PasswordParams)
		return reject()
	}
	hash, err := s.store.GetPasswordHash(ctx, a.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	if hash == "" {
		secret.DummyCheck(cred.Password, s.cfg.PasswordParams)
		return reject()
	}
	ok, err := secret.CheckPassword(hash, cred.Password)
	if err != nil {
		s.log.Error("stored password hash unreadable", "account_id", a.ID, "err", err)
	}
	if !ok || a.State != roster.StateActive {
		return reject()
	}
	return a, device, budgets, nil
}

// VerifyPassword checks a login name and password for a client that opens no session
// (an OAuth2 password grant), under the same throttles as a sign-in from a browser
// the account does not know. A success clears what this client had counted.
func (s *Service) VerifyPassword(ctx context.Context, login, password string, c roster.Client) (*roster.Account, error) {
	a, _, budgets, err := s.checkPassword(ctx, roster.Credentials{Login: login, Password: password}, c)
	if err != nil {
		return nil, err
	}
	if err := s.store.ClearThrottle(ctx, budgets[0].key); err != nil {
		s.log.Warn("clearing a throttle", "err", err)
	}
	return a, nil
}

// findLogin returns the account a login name names (by email address when it holds an
// @), or nil.
func (s *Service) findLogin(ctx context.Context, login string) (*roster.Account, error) {
	if login == "" {
		return nil, nil
	}
	if strings.Contains(login, "@") {
		email, err := emailAttr()
		if err != nil {
			return nil, err
		}
		p, err := s.store.ListAccounts(ctx, roster.AccountSelection{Limit: 1,
			Where: roster.Match{Attr: email, Lookup: roster.IExact, Value: login}})
		if err != nil || len(p.Accounts) == 0 {
			return nil, err
		}
		return p.Accounts[0], nil
	}
	a, err := s.store.GetAccount(ctx, roster.AccountRef{Username: login})
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, nil
	}
	return a, err
}

// cleanText makes client-supplied text that Roster only records (a User-Agent) valid
// text of at most n bytes, rather than refusing the request for it.
func cleanText(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// AuthenticateSession returns the actor a session cookie token stands for.
func (s *Service) AuthenticateSession(ctx context.Context, token string, c roster.Client) (roster.Actor, error) {
	bad := roster.Errorf(roster.EUNAUTHENTICATED, "Your session has ended; sign in again.")
	if token == "" || len(token) > 200 {
		return roster.Actor{}, bad
	}
	sess, a, err := s.store.GetSessionByHash(ctx, secret.HashToken(token))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return roster.Actor{}, bad
		}
		return roster.Actor{}, err
	}
	now := s.cfg.Now()
	if !now.Before(sess.ExpiresAt) || a.State != roster.StateActive {
		s.touch(func(ctx context.Context) error { return s.store.DeleteSession(ctx, sess.ID) })
		return roster.Actor{}, bad
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		s.touch(func(ctx context.Context) error { return s.store.TouchSession(ctx, sess.ID, now) })
	}
	actor := ActorOf(a)
	actor.SessionID, actor.ClientIP, actor.PolicyVersion = sess.ID, c.IP, sess.PolicyVersion
	return actor, nil
}

// CheckCSRF reports whether token is the CSRF token of the session cookie token. Every
// unsafe request that a session cookie authenticates must carry it.
func (s *Service) CheckCSRF(sessionToken, token string) bool {
	return sessionToken != "" && token != "" && secret.Equal(secret.CSRFToken(sessionToken), token)
}

// CSRFToken returns the CSRF token of a session cookie token.
func (s *Service) CSRFToken(sessionToken string) string { return secret.CSRFToken(sessionToken) }

// Logout ends the session a cookie token names.
func (s *Service) Logout(ctx context.Context, token string) error {
	sess, a, err := s.store.GetSessionByHash(ctx, secret.HashToken(token))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil
		}
		return err
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.DeleteSession(ctx, sess.ID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "session.logout", "account", a.ID, a.Username, nil))
	})
}

// ExpireSessions deletes sessions that have ended; the server calls it now and then.
func (s *Service) ExpireSessions(ctx context.Context) (int, error) {
	return s.store.DeleteExpiredSessions(ctx, s.cfg.Now())
}
