package core

import (
	"context"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// Bootstrap is the first system administrator made on an empty store.
type Bootstrap struct {
	Username string
	Password string // the generated password, or "" if the operator supplied one
}

// EnsureAdmin makes the system administrator "admin" if the store holds no account at
// all, with the given password or a random one, so a newcomer can sign in. It returns
// nil when accounts already exist. Replicas starting together on one empty database
// make one admin: the others' inserts hit the unique username and they find it made.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (*Bootstrap, error) {
	n, err := s.store.CountAccounts(ctx, roster.AccountSelection{AnyState: true})
	if err != nil || n > 0 {
		return nil, err
	}
	generated := password == ""
	if generated {
		if password, err = secret.NewPassword(); err != nil {
			return nil, roster.Internal("core.EnsureAdmin", err)
		}
	}
	ctx = roster.NewContextWithActor(ctx, roster.Actor{Trusted: true, Via: roster.ViaSystem})
	_, err = s.CreateAccount(ctx, map[string]any{"username": "admin", "email": "admin@localhost", "name": "Administrator",
		"sysadmin": true, "password": password})
	if err != nil {
		if roster.ErrorCode(err) == roster.ECONFLICT {
			return nil, nil
		}
		return nil, err
	}
	b := &Bootstrap{Username: "admin"}
	if generated {
		b.Password = password
	}
	return b, nil
}
