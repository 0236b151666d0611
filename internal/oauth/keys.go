package oauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
)

// Algorithm signs every JWT Roster issues: RSA with SHA-512, Open edX's default
// (JWT_SIGNING_ALGORITHM). Verification accepts this algorithm alone, so "none" and
// HMAC tokens forged with the public key are refused before any key is used.
const Algorithm = jose.RS512

const rsaBits = 2048

// newSigningKey makes a key; its kid is its RFC 7638 thumbprint, in hex rather than the
// usual base64url, whose leading "-" a command line would take for a flag.
func newSigningKey(now time.Time) (*roster.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: string(Algorithm), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pub.KeyID = hex.EncodeToString(tp)
	jwk, err := pub.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return &roster.SigningKey{KID: pub.KeyID, Algorithm: string(Algorithm), PrivateDER: der, PublicJWK: string(jwk), CreatedAt: now}, nil
}

// signer returns the key that signs now: the newest that is not retiring. When there
// is none (a new store, or every key retiring), it makes one; two replicas doing so at
// once make two, both valid, and the newer signs.
func (s *Service) signer(ctx context.Context) (*roster.SigningKey, *rsa.PrivateKey, error) {
	keys, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	var k *roster.SigningKey
	for _, c := range keys {
		if c.RetireAt.IsZero() {
			k = c // listed oldest first
		}
	}
	if k == nil {
		if k, err = s.addKey(ctx, "signing_key.create", false); err != nil {
			return nil, nil, err
		}
	}
	priv, err := s.privateKey(k)
	return k, priv, err
}

// addKey makes a signing key and stores it, audited as action; with retireOthers, the
// keys before it retire after the overlap.
func (s *Service) addKey(ctx context.Context, action string, retireOthers bool) (*roster.SigningKey, error) {
	now := s.now()
	k, err := newSigningKey(now)
	if err != nil {
		return nil, roster.Internal("oauth.addKey", err)
	}
	retireAt := now.Add(s.cfg.KeyOverlap)
	err = s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		changes := []roster.Change{{Field: "algorithm", New: k.Algorithm}}
		if retireOthers {
			if err := tx.RetireSigningKeys(ctx, k.KID, retireAt); err != nil {
				return err
			}
			changes = append(changes, roster.Change{Field: "others_retire_at", New: roster.JSONValue(retireAt)})
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, action, "signing_key", 0, k.KID, changes))
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (s *Service) privateKey(k *roster.SigningKey) (*rsa.PrivateKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.private[k.KID]; ok {
		return p, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(k.PrivateDER)
	if err != nil {
		return nil, roster.Internal("oauth.privateKey", err)
	}
	p, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, roster.Internal("oauth.privateKey", errNotRSA)
	}
	s.private[k.KID] = p
	return p, nil
}

var errNotRSA = roster.Errorf(roster.EINTERNAL, "signing key is not RSA")

// publicKey returns the public key of kid, from the cache or the store; nil, nil when
// there is no such key.
func (s *Service) publicKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	s.mu.Lock()
	p, ok := s.public[kid]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	k, err := s.store.GetSigningKey(ctx, kid)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(k.PublicJWK)); err != nil {
		return nil, roster.Internal("oauth.publicKey", err)
	}
	p, ok = jwk.Key.(*rsa.PublicKey)
	if !ok {
		return nil, roster.Internal("oauth.publicKey", errNotRSA)
	}
	s.mu.Lock()
	s.public[kid] = p
	s.mu.Unlock()
	return p, nil
}

// RotateKeys makes a new signing key, which signs from now on; the keys before it keep
// verifying for the overlap (Config.KeyOverlap), so that tokens they signed live out
// their lives, and then verify nothing. System administrators may.
func (s *Service) RotateKeys(ctx context.Context) (*roster.SigningKey, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), true); err != nil {
		return nil, err
	}
	return s.addKey(ctx, "signing_key.rotate", true)
}

// RetireKey ends a signing key at once, for a key that may have leaked: every token it
// signed is refused from the next request on. A new key is made when it was the one
// signing. System administrators may.
func (s *Service) RetireKey(ctx context.Context, kid string) (*roster.SigningKey, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), true); err != nil {
		return nil, err
	}
	now := s.now()
	var out *roster.SigningKey
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		k, err := tx.GetSigningKey(ctx, kid)
		if err != nil {
			return err
		}
		out = k
		if k.Retired(now) {
			return nil
		}
		if err := tx.RetireSigningKey(ctx, kid, now); err != nil {
			return err
		}
		k.RetireAt = now
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "signing_key.retire", "signing_key", 0, kid,
			[]roster.Change{{Field: "retire_at", New: roster.JSONValue(now)}}))
	})
	return out, err
}

// ListKeys lists the signing keys (their public halves). System administrators may.
func (s *Service) ListKeys(ctx context.Context) ([]*roster.SigningKey, error) {
	if err := core.RequireSysadmin(roster.ActorFromContext(ctx), false); err != nil {
		return nil, err
	}
	return s.store.ListSigningKeys(ctx)
}

// JWKS is the JSON Web Key Set of the keys that verify now, for services that check
// Roster's tokens themselves. It holds public keys only. An empty store gets its first
// key here, so that a service fetching the set before any token is issued caches the
// key that will sign.
func (s *Service) JWKS(ctx context.Context) ([]byte, error) {
	keys, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(keys, func(k *roster.SigningKey) bool { return k.RetireAt.IsZero() }) {
		k, _, err := s.signer(ctx) // makes the key that will sign
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	now := s.now()
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	for i := len(keys) - 1; i >= 0; i-- { // newest first
		if !keys[i].Retired(now) {
			set.Keys = append(set.Keys, json.RawMessage(keys[i].PublicJWK))
		}
	}
	return json.Marshal(set)
}
