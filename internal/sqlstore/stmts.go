package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
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
	// shapes holds the list and count statements, built at run time from a request's
	// filters and order.
	shapes *shapeCache
}

// shapeCache prepares each list and count statement once per pool. Their text depends
// on a request's shape (which filters, lookups and sort keys), never on its values,
// which are arguments: a few hundred texts cover what clients send, and parsing a
// statement anew each time was a third of a filtered list's time. Past maxShapes the
// cache takes no more, so a caller inventing shapes costs parsing, never memory.
type shapeCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const maxShapes = 512

// stmt returns the prepared statement of query, or nil when it is not to be cached
// (the cache is full, or preparing failed: the caller runs the text as it is).
func (c *shapeCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.m[query]
	full := len(c.m) >= maxShapes
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok { // another request prepared it meanwhile
		st.Close()
		return prev
	}
	c.m[query] = st
	return st
}

func (c *shapeCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
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
	if s.shapes != nil {
		s.shapes.close()
	}
}

// For the benchmarks' baseline: the query GetAccount runs by username, and how many
// columns it reads.
const (
	AccountByUsernameSQL = sqlAccountByUsername
	AccountColumns       = 16
)
