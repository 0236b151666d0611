package api

import (
	"encoding/json"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// The wire forms of /v1's documents. The domain's types carry no JSON of their own: a
// change of /v1's wire is a change here, and one of the domain changes no wire.

type decisionJSON struct {
	Allowed bool   `json:"allowed"`
	Rule    string `json:"rule"`
	Detail  string `json:"detail,omitempty"`
}

func toDecision(d roster.Decision) decisionJSON {
	return decisionJSON{Allowed: d.Allowed, Rule: string(d.Rule), Detail: d.Detail}
}

type fieldAccessJSON struct {
	Field string       `json:"field"`
	Read  decisionJSON `json:"read"`
	Write decisionJSON `json:"write"`
}

type accountAccessJSON struct {
	AccountID int64             `json:"account_id"`
	UUID      string            `json:"uuid"`
	Username  string            `json:"username"`
	Caller    string            `json:"caller"`
	Surface   string            `json:"surface"`
	Visible   decisionJSON      `json:"visible"`
	Edit      decisionJSON      `json:"edit"`
	Fields    []fieldAccessJSON `json:"fields"`
}

func toAccountAccess(a *roster.AccountAccess) accountAccessJSON {
	out := accountAccessJSON{AccountID: a.AccountID, UUID: a.UUID, Username: a.Username, Caller: a.Caller, Surface: a.Surface,
		Visible: toDecision(a.Visible), Edit: toDecision(a.Edit), Fields: make([]fieldAccessJSON, len(a.Fields))}
	for i, f := range a.Fields {
		out.Fields[i] = fieldAccessJSON{Field: f.Field, Read: toDecision(f.Read), Write: toDecision(f.Write)}
	}
	return out
}

type rightAccessJSON struct {
	Right    string       `json:"right"`
	Value    int          `json:"value"`
	Decision decisionJSON `json:"decision"`
}

type projectAccessJSON struct {
	ProjectID int64             `json:"project_id"`
	Caller    string            `json:"caller"`
	Member    bool              `json:"member"`
	Role      string            `json:"role"`
	DAG       string            `json:"dag"`
	Token     bool              `json:"token"`
	Rights    []rightAccessJSON `json:"rights"`
	SeesDAGs  string            `json:"sees_dags"`
}

func toProjectAccess(a *roster.ProjectAccess) projectAccessJSON {
	out := projectAccessJSON{ProjectID: a.ProjectID, Caller: a.Caller, Member: a.Member, Role: a.Role, DAG: a.DAG, Token: a.Token,
		SeesDAGs: a.SeesDAGs, Rights: make([]rightAccessJSON, len(a.Rights))}
	for i, r := range a.Rights {
		out.Rights[i] = rightAccessJSON{Right: r.Right, Value: r.Value, Decision: toDecision(r.Decision)}
	}
	return out
}

type changeJSON struct {
	Field    string `json:"field"`
	Old      any    `json:"old,omitempty"`
	New      any    `json:"new,omitempty"`
	Redacted bool   `json:"redacted,omitempty"`
}

type auditEntryJSON struct {
	Seq        int64        `json:"seq"`
	At         time.Time    `json:"at"`
	ActorID    int64        `json:"actor_id,omitempty"`
	ActorName  string       `json:"actor,omitempty"`
	KeyID      int64        `json:"key_id,omitempty"`
	Via        string       `json:"via"`
	RequestID  string       `json:"request_id,omitempty"`
	ClientIP   string       `json:"client_ip,omitempty"`
	Action     string       `json:"action"`
	TargetType string       `json:"target_type"`
	TargetID   int64        `json:"target_id,omitempty"`
	TargetName string       `json:"target_name,omitempty"`
	Changes    []changeJSON `json:"changes,omitempty"`
}

func toAuditEntry(e *roster.AuditEntry) auditEntryJSON {
	out := auditEntryJSON{Seq: e.Seq, At: e.At, ActorID: e.ActorID, ActorName: e.ActorName, KeyID: e.KeyID, Via: e.Via,
		RequestID: e.RequestID, ClientIP: e.ClientIP, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		TargetName: e.TargetName}
	for _, c := range e.Changes {
		out.Changes = append(out.Changes, changeJSON{Field: c.Field, Old: c.Old, New: c.New, Redacted: c.Redacted})
	}
	return out
}

type roleJSON struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Description string `json:"description"`
}

func toRoles(rs []roster.Role) []roleJSON {
	out := make([]roleJSON, len(rs))
	for i, r := range rs {
		out[i] = roleJSON{Name: r.Name, Kind: r.Kind, Description: r.Description}
	}
	return out
}

// oauthAppJSON is an OAuth2 application as /v1 shows it: never its secret or the
// secret's hash. ClientSecret is present only in the answer that made the secret (the
// application's creation, a rotation).
type oauthAppJSON struct {
	ID           int64    `json:"id"`
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	OwnerID      int64    `json:"owner_id"`
	Owner        string   `json:"owner"`
	Public       bool     `json:"public"`
	SecretPrefix string   `json:"secret_prefix"`
	Grants       []string `json:"grants"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
	CreatedAt    any      `json:"created_at"`
	UpdatedAt    any      `json:"updated_at"`
	RevokedAt    any      `json:"revoked_at"`
	ClientSecret string   `json:"client_secret,omitempty"`
}

func toOAuthApp(a *roster.OAuthApp) oauthAppJSON {
	return oauthAppJSON{ID: a.ID, ClientID: a.ClientID, Name: a.Name, OwnerID: a.OwnerID, Owner: a.Owner, Public: !a.Confidential,
		SecretPrefix: a.SecretPrefix, Grants: orEmpty(a.Grants), RedirectURIs: orEmpty(a.RedirectURIs), Scopes: orEmpty(a.Scopes),
		CreatedAt: isoTime(a.CreatedAt), UpdatedAt: isoTime(a.UpdatedAt), RevokedAt: isoTime(a.RevokedAt)}
}

// signingKeyJSON is a signing key as /v1 shows it: its public half, never the private
// key.
type signingKeyJSON struct {
	KID       string          `json:"kid"`
	Algorithm string          `json:"algorithm"`
	CreatedAt any             `json:"created_at"`
	RetireAt  any             `json:"retire_at"`
	PublicJWK json.RawMessage `json:"public_jwk"`
}

func toSigningKey(k *roster.SigningKey) signingKeyJSON {
	return signingKeyJSON{KID: k.KID, Algorithm: k.Algorithm, CreatedAt: isoTime(k.CreatedAt), RetireAt: isoTime(k.RetireAt),
		PublicJWK: json.RawMessage(k.PublicJWK)}
}

// oauthGrantJSON is a token family: what one token request through an application, or
// one browser session's JWT cookies, started. Its tokens are never shown.
type oauthGrantJSON struct {
	ID        int64    `json:"id"`
	ClientID  string   `json:"client_id"`
	AppName   string   `json:"app_name"`
	GrantType string   `json:"grant_type"`
	Scopes    []string `json:"scopes"`
	CreatedAt any      `json:"created_at"`
	RevokedAt any      `json:"revoked_at"`
}

func toOAuthGrant(g *roster.OAuthGrant) oauthGrantJSON {
	return oauthGrantJSON{ID: g.ID, ClientID: g.ClientID, AppName: g.AppName, GrantType: g.GrantType, Scopes: orEmpty(g.Scopes),
		CreatedAt: isoTime(g.CreatedAt), RevokedAt: isoTime(g.RevokedAt)}
}

// each returns every item in its wire form.
func each[T, W any](items []T, wire func(T) W) []W {
	out := make([]W, len(items))
	for i, it := range items {
		out[i] = wire(it)
	}
	return out
}

// orEmpty writes no values as [], not null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
