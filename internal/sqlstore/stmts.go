package sqlstore

import (
	"context"
	"database/sql"
	"errors"
)

// The reads on every request's path, prepared once per pool.
const (
	sqlAccountByID       = "SELECT " + accountCols + " FROM accounts a WHERE a.id = $1"
	sqlAccountByUUID     = "SELECT " + accountCols + " FROM accounts a WHERE a.uuid = $1"
	sqlAccountByUsername = "SELECT " + accountCols + " FROM accounts a WHERE a.username_key = $1"
	// A credential is read with the policy version, so that a replica learns of a policy
	// change on the request's one read.
	sqlKeyByHash     = "SELECT " + sqlPolicyVersion + ", " + authKeyCols + ", " + principalCols + " FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.hash = $1"
	sqlSessionByHash = "SELECT " + sqlPolicyVersion + ", " + sessionCols + ", " + principalCols + " FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = $1"
)

type stmts struct {
	accountByID, accountByUUID, accountByUsername, keyByHash, sessionByHash *sql.Stmt
	// An OAuth2 token's family, and an opaque token, read on every request that
	// carries one: preparing the family's joins each time cost more than running them.
	grantForAuth, oauthTokenByHash *sql.Stmt
}

func prepareStmts(ctx context.Context, db *sql.DB) (*stmts, error) {
	var s stmts
	var err error
	prep := func(dst **sql.Stmt, query string) {
		if err == nil {
			*dst, err = db.PrepareContext(ctx, query)
		}
	}
	prep(&s.accountByID, sqlAccountByID)
	prep(&s.accountByUUID, sqlAccountByUUID)
	prep(&s.accountByUsername, sqlAccountByUsername)
	prep(&s.keyByHash, sqlKeyByHash)
	prep(&s.sessionByHash, sqlSessionByHash)
	prep(&s.grantForAuth, sqlGrantForAuth)
	prep(&s.oauthTokenByHash, sqlOAuthTokenByHash)
	if err != nil {
		s.close()
		return nil, err
	}
	return &s, nil
}

func (s *stmts) close() {
	if s == nil {
		return
	}
	var errs []error
	for _, st := range []*sql.Stmt{s.accountByID, s.accountByUUID, s.accountByUsername, s.keyByHash, s.sessionByHash, s.grantForAuth, s.oauthTokenByHash} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	_ = errors.Join(errs...)
}

// For the benchmarks' baseline: the query GetAccount runs by username, and how many
// columns it reads.
const (
	AccountByUsernameSQL = sqlAccountByUsername
	AccountColumns       = 16
)
