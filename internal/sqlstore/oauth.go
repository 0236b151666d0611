package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const appCols = "p.id, p.client_id, p.name, p.owner_id, o.username, p.confidential, p.secret_hash, p.secret_prefix, p.grants, p.redirect_uris, p.scopes, p.created_at, p.updated_at, p.revoked_at"

const appFrom = " FROM oauth_apps p JOIN accounts o ON o.id = p.owner_id"

func words(s string) []string { return strings.Fields(s) }

func scanApp(row scanner) (*roster.OAuthApp, error) {
	var (
		a                    roster.OAuthApp
		grants, uris, scopes string
	)
	err := row.Scan(&a.ID, &a.ClientID, &a.Name, &a.OwnerID, &a.Owner, &a.Confidential, &a.SecretHash, &a.SecretPrefix,
		&grants, &uris, &scopes, &a.CreatedAt, &a.UpdatedAt, &a.RevokedAt)
	if err != nil {
		return nil, err
	}
	a.Grants, a.RedirectURIs, a.Scopes = words(grants), words(uris), words(scopes)
	a.CreatedAt, a.UpdatedAt, a.RevokedAt = utc(a.CreatedAt), utc(a.UpdatedAt), utc(a.RevokedAt)
	return &a, nil
}

func (q *q) getApp(ctx context.Context, op, where string, arg any) (*roster.OAuthApp, error) {
	a, err := scanApp(q.r.QueryRowContext(ctx, "SELECT "+appCols+appFrom+" WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Application")
	}
	return a, q.wrap(op, err)
}

func (q *q) GetOAuthApp(ctx context.Context, id int64) (*roster.OAuthApp, error) {
	return q.getApp(ctx, "store.GetOAuthApp", "p.id = $1", id)
}

func (q *q) GetOAuthAppByClientID(ctx context.Context, clientID string) (*roster.OAuthApp, error) {
	return q.getApp(ctx, "store.GetOAuthAppByClientID", "p.client_id = $1", clientID)
}

func (q *q) ListOAuthApps(ctx context.Context) ([]*roster.OAuthApp, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT "+appCols+appFrom+" ORDER BY p.id")
	if err != nil {
		return nil, q.wrap("store.ListOAuthApps", err)
	}
	defer rows.Close()
	var out []*roster.OAuthApp
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, q.wrap("store.ListOAuthApps", err)
		}
		out = append(out, a)
	}
	return out, q.wrap("store.ListOAuthApps", rows.Err())
}

func (q *q) CreateOAuthApp(ctx context.Context, a *roster.OAuthApp) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO oauth_apps (client_id, name, owner_id, confidential, secret_hash, secret_prefix, grants, redirect_uris, scopes, created_at, updated_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		a.ClientID, a.Name, a.OwnerID, a.Confidential, a.SecretHash, a.SecretPrefix, strings.Join(a.Grants, " "), strings.Join(a.RedirectURIs, " "),
		strings.Join(a.Scopes, " "), dbTime(a.CreatedAt), dbTime(a.UpdatedAt), dbTime(a.RevokedAt)).Scan(&a.ID)
	return q.wrap("store.CreateOAuthApp", err)
}

func (q *q) UpdateOAuthApp(ctx context.Context, a *roster.OAuthApp) error {
	return q.execOne(ctx, "store.UpdateOAuthApp", "Application",
		"UPDATE oauth_apps SET name = $1, grants = $2, redirect_uris = $3, scopes = $4, updated_at = $5 WHERE id = $6",
		a.Name, strings.Join(a.Grants, " "), strings.Join(a.RedirectURIs, " "), strings.Join(a.Scopes, " "), dbTime(a.UpdatedAt), a.ID)
}

func (q *q) SetOAuthAppSecret(ctx context.Context, id int64, hash []byte, prefix string, at time.Time) error {
	return q.execOne(ctx, "store.SetOAuthAppSecret", "Application",
		"UPDATE oauth_apps SET secret_hash = $1, secret_prefix = $2, updated_at = $3 WHERE id = $4", hash, prefix, dbTime(at), id)
}

func (q *q) RevokeOAuthApp(ctx context.Context, id int64, at time.Time) error {
	return q.execOne(ctx, "store.RevokeOAuthApp", "Application", "UPDATE oauth_apps SET revoked_at = $1, updated_at = $1 WHERE id = $2", dbTime(at), id)
}

const grantCols = "g.id, COALESCE(g.app_id, 0), g.account_id, g.session_id, g.grant_type, g.scopes, g.created_at, g.revoked_at, COALESCE(p.client_id, ''), COALESCE(p.name, '')"

const grantFrom = " FROM oauth_grants g LEFT JOIN oauth_apps p ON p.id = g.app_id"

func grantDest(g *roster.OAuthGrant, scopes *string) []any {
	return []any{&g.ID, &g.AppID, &g.AccountID, &g.SessionID, &g.GrantType, scopes, &g.CreatedAt, &g.RevokedAt, &g.ClientID, &g.AppName}
}

func fixGrant(g *roster.OAuthGrant, scopes string) *roster.OAuthGrant {
	g.Scopes = words(scopes)
	g.CreatedAt, g.RevokedAt, g.AppRevokedAt, g.KeyRetireAt = utc(g.CreatedAt), utc(g.RevokedAt), utc(g.AppRevokedAt), utc(g.KeyRetireAt)
	return g
}

// sqlGrantForAuth reads a grant with everything verifying one of its tokens needs; the
// session and the signing key are outer joins, NULL when there is none.
const sqlGrantForAuth = "SELECT " + sqlPolicyVersion + ", " + grantCols + ", p.revoked_at, s.id, k.retire_at, " +
	principalCols + grantFrom + " JOIN accounts a ON a.id = g.account_id" +
	" LEFT JOIN sessions s ON s.id = g.session_id AND s.expires_at > $3" +
	" LEFT JOIN signing_keys k ON k.kid = $2 WHERE g.id = $1"

func (q *q) GetOAuthGrantForAuth(ctx context.Context, id int64, kid string, now time.Time) (*roster.OAuthGrant, *roster.Account, error) {
	ctx = q.pointCtx(ctx)
	var (
		g       roster.OAuthGrant
		scopes  string
		session sql.NullInt64
		retire  sql.NullTime
		appGone sql.NullTime
	)
	dest := append([]any{&g.PolicyVersion}, grantDest(&g, &scopes)...)
	dest = append(dest, &appGone, &session, &retire)
	var row *sql.Row
	if q.stmts != nil {
		row = q.stmts.grantForAuth.QueryRowContext(ctx, id, kid, dbTime(now))
	} else {
		row = q.r.QueryRowContext(ctx, sqlGrantForAuth, id, kid, dbTime(now))
	}
	acct, err := scanPrincipal(row, dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("Grant")
	}
	if err != nil {
		return nil, nil, q.wrap("store.GetOAuthGrantForAuth", err)
	}
	g.SessionLive, g.KeyKnown, g.KeyRetireAt, g.AppRevokedAt = session.Valid, retire.Valid, retire.Time, appGone.Time
	return fixGrant(&g, scopes), acct, nil
}

func (q *q) GetOAuthGrant(ctx context.Context, id int64) (*roster.OAuthGrant, error) {
	var (
		g      roster.OAuthGrant
		scopes string
	)
	err := q.r.QueryRowContext(ctx, "SELECT "+grantCols+grantFrom+" WHERE g.id = $1", id).Scan(grantDest(&g, &scopes)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Grant")
	}
	if err != nil {
		return nil, q.wrap("store.GetOAuthGrant", err)
	}
	return fixGrant(&g, scopes), nil
}

func (q *q) ListOAuthGrants(ctx context.Context, accountID int64) ([]*roster.OAuthGrant, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT "+grantCols+grantFrom+" WHERE g.account_id = $1 ORDER BY g.id", accountID)
	if err != nil {
		return nil, q.wrap("store.ListOAuthGrants", err)
	}
	defer rows.Close()
	var out []*roster.OAuthGrant
	for rows.Next() {
		var (
			g      roster.OAuthGrant
			scopes string
		)
		if err := rows.Scan(grantDest(&g, &scopes)...); err != nil {
			return nil, q.wrap("store.ListOAuthGrants", err)
		}
		out = append(out, fixGrant(&g, scopes))
	}
	return out, q.wrap("store.ListOAuthGrants", rows.Err())
}

func (q *q) CreateOAuthGrant(ctx context.Context, g *roster.OAuthGrant) error {
	var app any // a session's grant has no application
	if g.AppID != 0 {
		app = g.AppID
	}
	err := q.w.QueryRowContext(ctx, `INSERT INTO oauth_grants (app_id, account_id, session_id, grant_type, scopes, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		app, g.AccountID, g.SessionID, g.GrantType, strings.Join(g.Scopes, " "), dbTime(g.CreatedAt), dbTime(g.RevokedAt)).Scan(&g.ID)
	return q.wrap("store.CreateOAuthGrant", err)
}

func (q *q) RevokeOAuthGrant(ctx context.Context, id int64, at time.Time) error {
	return q.execOne(ctx, "store.RevokeOAuthGrant", "Grant", "UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2", dbTime(at), id)
}

func (q *q) CreateOAuthToken(ctx context.Context, t *roster.OAuthToken) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO oauth_tokens (hash, grant_id, kind, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.Hash, t.GrantID, t.Kind, dbTime(t.CreatedAt), dbTime(t.ExpiresAt), dbTime(t.UsedAt))
	return q.wrap("store.CreateOAuthToken", err)
}

func (q *q) GetOAuthToken(ctx context.Context, hash []byte) (*roster.OAuthToken, error) {
	var (
		t   roster.OAuthToken
		row *sql.Row
	)
	ctx = q.pointCtx(ctx)
	if q.stmts != nil {
		row = q.stmts.oauthTokenByHash.QueryRowContext(ctx, hash)
	} else {
		row = q.r.QueryRowContext(ctx, sqlOAuthTokenByHash, hash)
	}
	err := row.Scan(&t.Hash, &t.GrantID, &t.Kind, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Token")
	}
	if err != nil {
		return nil, q.wrap("store.GetOAuthToken", err)
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = utc(t.CreatedAt), utc(t.ExpiresAt), utc(t.UsedAt)
	return &t, nil
}

const sqlOAuthTokenByHash = "SELECT hash, grant_id, kind, created_at, expires_at, used_at FROM oauth_tokens WHERE hash = $1"

func (q *q) UseOAuthToken(ctx context.Context, hash []byte, at time.Time) error {
	res, err := q.w.ExecContext(ctx, "UPDATE oauth_tokens SET used_at = $1 WHERE hash = $2 AND used_at = $3", dbTime(at), hash, zeroTime)
	if err != nil {
		return q.wrap("store.UseOAuthToken", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return roster.Errorf(roster.ECONFLICT, "The token was used already.")
	}
	return nil
}

func (q *q) DeleteExpiredOAuthTokens(ctx context.Context, now time.Time) (int, error) {
	res, err := q.w.ExecContext(ctx, "DELETE FROM oauth_tokens WHERE expires_at < $1", dbTime(now))
	if err != nil {
		return 0, q.wrap("store.DeleteExpiredOAuthTokens", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const signingKeyCols = "kid, algorithm, private_der, public_jwk, created_at, retire_at"

func scanSigningKey(row scanner) (*roster.SigningKey, error) {
	var k roster.SigningKey
	if err := row.Scan(&k.KID, &k.Algorithm, &k.PrivateDER, &k.PublicJWK, &k.CreatedAt, &k.RetireAt); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetireAt = utc(k.CreatedAt), utc(k.RetireAt)
	return &k, nil
}

func (q *q) ListSigningKeys(ctx context.Context) ([]*roster.SigningKey, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT "+signingKeyCols+" FROM signing_keys ORDER BY created_at, kid")
	if err != nil {
		return nil, q.wrap("store.ListSigningKeys", err)
	}
	defer rows.Close()
	var out []*roster.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, q.wrap("store.ListSigningKeys", err)
		}
		out = append(out, k)
	}
	return out, q.wrap("store.ListSigningKeys", rows.Err())
}

func (q *q) GetSigningKey(ctx context.Context, kid string) (*roster.SigningKey, error) {
	k, err := scanSigningKey(q.r.QueryRowContext(ctx, "SELECT "+signingKeyCols+" FROM signing_keys WHERE kid = $1", kid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Signing key")
	}
	return k, q.wrap("store.GetSigningKey", err)
}

func (q *q) CreateSigningKey(ctx context.Context, k *roster.SigningKey) error {
	_, err := q.w.ExecContext(ctx, "INSERT INTO signing_keys ("+signingKeyCols+") VALUES ($1, $2, $3, $4, $5, $6)",
		k.KID, k.Algorithm, k.PrivateDER, k.PublicJWK, dbTime(k.CreatedAt), dbTime(k.RetireAt))
	return q.wrap("store.CreateSigningKey", err)
}

func (q *q) RetireSigningKeys(ctx context.Context, keep string, at time.Time) error {
	_, err := q.w.ExecContext(ctx, "UPDATE signing_keys SET retire_at = $1 WHERE kid <> $2 AND (retire_at = $3 OR retire_at > $1)",
		dbTime(at), keep, zeroTime)
	return q.wrap("store.RetireSigningKeys", err)
}

func (q *q) RetireSigningKey(ctx context.Context, kid string, at time.Time) error {
	return q.execOne(ctx, "store.RetireSigningKey", "Signing key", "UPDATE signing_keys SET retire_at = $1 WHERE kid = $2", dbTime(at), kid)
}
