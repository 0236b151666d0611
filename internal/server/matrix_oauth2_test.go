package server_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// Preparations of the matrix's rows for /v1's OAuth2 management (matrix_table_test.go,
// "OAuth2 management (/v1)").

// freshApp is an application of sam's that may use client credentials; its secret is
// one no answer may show.
func freshApp(t *testing.T, f *fixture, c *cell) map[string]string {
	na := must(f.e.OAuth.CreateApp(op(), oauth.AppRequest{Name: fmt.Sprintf("App %d", c.n), Owner: roster.AccountRef{Username: "sam"},
		Grants: []string{roster.GrantClientCredentials}}))
	f.secrets = append(f.secrets, na.Secret, hex.EncodeToString(secret.HashToken(na.Secret)))
	return map[string]string{"app": fmt.Sprint(na.App.ID)}
}

// freshSigningKey is a new signing key, made by a rotation.
func freshSigningKey(t *testing.T, f *fixture, c *cell) map[string]string {
	k := must(f.e.OAuth.RotateKeys(op()))
	return map[string]string{"kid": k.KID}
}

// grantOf signs username in through the matrix's public application (made once) with
// the password grant, and returns the token family it started.
func grantOf(t *testing.T, f *fixture, username string) map[string]string {
	const clientID = "matrix-mobile"
	if _, err := f.e.Store.GetOAuthAppByClientID(context.Background(), clientID); roster.ErrorCode(err) == roster.ENOTFOUND {
		must(f.e.OAuth.CreateApp(op(), oauth.AppRequest{Name: "Matrix mobile", ClientID: clientID, Owner: roster.AccountRef{Username: "root"},
			Public: true, Grants: []string{roster.GrantPassword}}))
	}
	p := f.people[username]
	tok := must(f.e.OAuth.Token(op(), oauth.TokenRequest{GrantType: roster.GrantPassword, ClientID: clientID, Username: p.username,
		Password: p.password}, roster.Client{IP: "192.0.2.1"}))
	f.secrets = append(f.secrets, tok.AccessToken, tok.RefreshToken)
	a := must(f.e.Store.GetAccount(context.Background(), roster.AccountRef{Username: p.username}))
	gs := must(f.e.Store.ListOAuthGrants(context.Background(), a.ID))
	return map[string]string{"grant": fmt.Sprint(gs[len(gs)-1].ID)}
}

// ownGrant is a token family of the caller (of alice, for the callers whose credential
// does not hold: dave, deactivated, signs in no more).
func ownGrant(t *testing.T, f *fixture, c *cell) map[string]string {
	if !authenticated(c.column) {
		return grantOf(t, f, "alice")
	}
	return grantOf(t, f, c.me(f).username)
}

// alicesGrant is a token family of alice's.
func alicesGrant(t *testing.T, f *fixture, c *cell) map[string]string { return grantOf(t, f, "alice") }
