package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const accountCols = `a.id, a.uuid, a.username, a.email, a.name, a.first_name, a.last_name, a.state,
	a.sysadmin, a.staff, a.capabilities, a.created_at, a.updated_at, a.last_login_at, a.profile, a.version`

type scanner interface{ Scan(dest ...any) error }

// principalCols are the account columns authorisation needs: what every authenticated
// request reads, without the profile.
const principalCols = "a.id, a.uuid, a.username, a.state, a.sysadmin, a.staff, a.capabilities"

// scanPrincipal reads principalCols after the prefix columns of a joined row.
func scanPrincipal(row scanner, prefix ...any) (*roster.Account, error) {
	var (
		a     roster.Account
		state string
		caps  string
	)
	if err := row.Scan(append(prefix, &a.ID, &a.UUID, &a.Username, &state, &a.Sysadmin, &a.Staff, &caps)...); err != nil {
		return nil, err
	}
	a.State = roster.State(state)
	if caps != "" {
		a.Capabilities = strings.Split(caps, ",")
	}
	return &a, nil
}

// scanAccount reads the accountCols of one row. A joined row has other columns first:
// prefix receives them.
func scanAccount(row scanner, prefix ...any) (*roster.Account, error) {
	var (
		a       roster.Account
		state   string
		caps    string
		profile []byte
	)
	dest := append(prefix, &a.ID, &a.UUID, &a.Username, &a.Email, &a.Name, &a.FirstName, &a.LastName, &state,
		&a.Sysadmin, &a.Staff, &caps, &a.CreatedAt, &a.UpdatedAt, &a.LastLoginAt, &profile, &a.Version)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	a.State = roster.State(state)
	if caps != "" {
		a.Capabilities = strings.Split(caps, ",")
	}
	a.CreatedAt, a.UpdatedAt, a.LastLoginAt = utc(a.CreatedAt), utc(a.UpdatedAt), utc(a.LastLoginAt)
	p, err := roster.UnmarshalProfile(profile)
	if err != nil {
		return nil, fmt.Errorf("account %d: profile: %w", a.ID, err)
	}
	a.Profile = p
	return &a, nil
}

// zeroTime is what the database holds for "never": every time column is NOT NULL, so
// indexes order and compare them without NULL cases. It reads back as the zero time.
var zeroTime = time.Time{}

func utc(t time.Time) time.Time {
	t = t.UTC()
	if t.Equal(zeroTime) {
		return time.Time{}
	}
	return t
}

func dbTime(t time.Time) time.Time {
	if t.IsZero() {
		return zeroTime
	}
	return t.UTC().Truncate(time.Microsecond)
}

func (q *q) GetAccount(ctx context.Context, ref roster.AccountRef) (*roster.Account, error) {
	ctx = q.pointCtx(ctx)
	var row *sql.Row
	switch {
	case ref.ID != 0:
		if q.stmts != nil {
			row = q.stmts.accountByID.QueryRowContext(ctx, ref.ID)
		} else {
			row = q.r.QueryRowContext(ctx, sqlAccountByID, ref.ID)
		}
	case ref.UUID != "":
		if q.stmts != nil {
			row = q.stmts.accountByUUID.QueryRowContext(ctx, strings.ToLower(ref.UUID))
		} else {
			row = q.r.QueryRowContext(ctx, sqlAccountByUUID, strings.ToLower(ref.UUID))
		}
	case ref.Username != "" && !roster.ValidText(ref.Username):
		// No account has such a name, and PostgreSQL would refuse to look for one.
		return nil, notFound("Account")
	case ref.Username != "":
		if q.stmts != nil {
			row = q.stmts.accountByUsername.QueryRowContext(ctx, roster.FoldKey(ref.Username))
		} else {
			row = q.r.QueryRowContext(ctx, sqlAccountByUsername, roster.FoldKey(ref.Username))
		}
	default:
		return nil, notFound("Account")
	}
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Account")
	}
	if err != nil {
		return nil, q.wrap("store.GetAccount", err)
	}
	return a, nil
}

func (q *q) GetAccountForUpdate(ctx context.Context, ref roster.AccountRef) (*roster.Account, error) {
	var query string
	var arg any
	switch {
	case ref.ID != 0:
		query, arg = sqlAccountByID, ref.ID
	case ref.UUID != "":
		query, arg = sqlAccountByUUID, strings.ToLower(ref.UUID)
	case ref.Username != "" && roster.ValidText(ref.Username):
		query, arg = sqlAccountByUsername, roster.FoldKey(ref.Username)
	default:
		return nil, notFound("Account")
	}
	if q.e.RowLocks {
		query += " FOR UPDATE"
	}
	a, err := scanAccount(q.r.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Account")
	}
	if err != nil {
		return nil, q.wrap("store.GetAccountForUpdate", err)
	}
	return a, nil
}

func (q *q) LockSysadminGuard(ctx context.Context) error {
	// An UPDATE rather than SELECT … FOR UPDATE: both engines take a write lock for it,
	// and so do PostgreSQL-compatible engines without FOR UPDATE.
	return q.execOne(ctx, "store.LockSysadminGuard", "Lock", "UPDATE store_locks SET n = n + 1 WHERE name = 'sysadmins'")
}

// The largest number of values bound in one IN list or multi-row insert. SQLite allows
// 32766 variables per statement and PostgreSQL 65535.
const batchSize = 1000

func (q *q) GetAccounts(ctx context.Context, refs []roster.AccountRef) ([]*roster.Account, error) {
	var ids []any
	var uuids, names []any
	for _, r := range refs {
		switch {
		case r.ID != 0:
			ids = append(ids, r.ID)
		case r.UUID != "":
			uuids = append(uuids, strings.ToLower(r.UUID))
		case r.Username != "" && roster.ValidText(r.Username):
			names = append(names, roster.FoldKey(r.Username))
		}
	}
	seen := map[int64]bool{}
	var out []*roster.Account
	for _, part := range []struct {
		col  string
		vals []any
	}{{"a.id", ids}, {"a.uuid", uuids}, {"a.username_key", names}} {
		for start := 0; start < len(part.vals); start += batchSize {
			chunk := part.vals[start:min(start+batchSize, len(part.vals))]
			a := q.args()
			ph := make([]string, len(chunk))
			for i, v := range chunk {
				ph[i] = a.add(v)
			}
			query := "SELECT " + accountCols + " FROM accounts a WHERE " + part.col + " IN (" + strings.Join(ph, ",") + ")"
			err := q.each(ctx, q.r, query, a, func(acct *roster.Account) error {
				if !seen[acct.ID] {
					seen[acct.ID] = true
					out = append(out, acct)
				}
				return nil
			})
			if err != nil {
				return nil, q.wrap("store.GetAccounts", err)
			}
		}
	}
	return out, nil
}

// each runs an account query and calls fn per row.
func (q *q) each(ctx context.Context, db execer, query string, a args, fn func(*roster.Account) error) error {
	rows, err := db.QueryContext(ctx, query, a.vals...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		acct, err := scanAccount(rows)
		if err != nil {
			return err
		}
		if err := fn(acct); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sortColumn is the indexed column behind each sort key.
var sortColumn = map[roster.AccountSort]string{
	roster.SortID:        "a.id",
	roster.SortUsername:  "a.username_key",
	roster.SortName:      "a.name_key",
	roster.SortCreated:   "a.created_at",
	roster.SortLastLogin: "a.last_login_at",
	roster.SortEmail:     "a.email_key",
	roster.SortDisplay:   "a.display_key",
	roster.SortUUID:      "a.uuid",
}

// cursor is the keyset position after the last row of a page.
type cursor struct {
	Sort string `json:"s"`
	Desc bool   `json:"d,omitempty"`
	Key  string `json:"k,omitempty"` // sort key value; times in RFC 3339
	Kind string `json:"t,omitempty"` // the key's type, for orders by an attribute: s, n, t or b
	ID   int64  `json:"i"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, roster.Invalid(roster.Problem{Field: "cursor", Code: roster.PFormat, Message: "The cursor is not one this server issued."})
	}
	return c, nil
}

// where builds the WHERE clause of a selection, without paging.
func (q *q) where(f roster.AccountSelection, a *args) (string, error) {
	var conds []string
	switch {
	case f.AnyState:
	case len(f.States) > 0:
		ph := make([]string, len(f.States))
		for i, s := range f.States {
			ph[i] = a.add(string(s))
		}
		conds = append(conds, "a.state IN ("+strings.Join(ph, ",")+")")
	default:
		conds = append(conds, "a.state <> 'deleted'")
	}
	c, err := q.cond(f.Where, a)
	if err != nil {
		return "", roster.Internal("store.where", err)
	}
	if c != "" {
		conds = append(conds, "("+c+")")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sortKeyHidden is what a row sorts by when the caller may not read its sort key: the
// key's empty value, or for the display name the username it falls back to.
func sortKeyHidden(key roster.AccountSort, a *args) string {
	switch key {
	case roster.SortDisplay:
		return "a.username_key"
	case roster.SortCreated, roster.SortLastLogin:
		return a.add(zeroTime)
	}
	return "''"
}

// order is how a selection sorts: its name in cursors, the index expression, and what a
// row sorts by where the caller may not read the key.
type order struct {
	name   string
	expr   func(a *args) string
	hidden func(a *args) string
	kind   string // the key's type when it is selected: s, n, t or b
}

// orderOf resolves a selection's first key.
func (q *q) orderOf(f roster.AccountSelection) (order, error) {
	return q.orderOfKey(f.Sort, f.SortAttr)
}

// orderOfKey resolves one key of an order: an attribute without an index, else a sort.
func (q *q) orderOfKey(key roster.AccountSort, at *roster.Attribute) (order, error) {
	if at != nil {
		s, err := q.attr(at)
		if err != nil {
			return order{}, roster.Internal("store.listQuery", err)
		}
		// A missing value sorts as the type's least one, so that keys are never NULL
		// (row comparisons with NULL would lose rows between pages).
		o := order{name: "attr:" + at.Name}
		switch at.Type {
		case roster.TypeInt:
			o.kind = "n"
			o.expr = func(*args) string { return "CAST(COALESCE(" + s.expr + ", -1e18) AS DOUBLE PRECISION)" }
			o.hidden = func(*args) string { return "CAST(-1e18 AS DOUBLE PRECISION)" }
		case roster.TypeTime:
			o.kind = "t"
			o.expr = func(a *args) string { return "COALESCE(" + s.expr + ", " + a.add(zeroTime) + ")" }
			o.hidden = func(a *args) string { return a.add(zeroTime) }
		case roster.TypeBool:
			o.kind = "b"
			o.expr = func(*args) string { return "COALESCE(" + s.expr + ", FALSE)" }
			o.hidden = func(*args) string { return "FALSE" }
		default:
			o.kind = "s"
			o.expr = func(*args) string { return "COALESCE(" + s.fold + ", '')" }
			o.hidden = func(*args) string { return "''" }
		}
		return o, nil
	}
	if key == "" {
		key = roster.SortID
	}
	col, ok := sortColumn[key]
	if !ok {
		return order{}, roster.Invalid(roster.Problem{Field: "sort", Code: roster.PChoice, Message: fmt.Sprintf("%q is not a valid sort key.", key)})
	}
	return order{name: string(key), expr: func(*args) string { return col }, hidden: func(a *args) string { return sortKeyHidden(key, a) }}, nil
}

// listQuery builds the SELECT for a page or a stream. When the sort key is visible to
// the caller only in some rows, or is an attribute the store keeps no index for, the
// statement selects the key as the caller sees it as its first column (keyed reports
// so), for the cursor. Later keys (Then) order the ties, each masked as the first is;
// such a list pages by offset only.
func (q *q) listQuery(f roster.AccountSelection, a args) (query string, keyed bool, _ args, _ error) {
	o, err := q.orderOf(f)
	if err != nil {
		return "", false, a, err
	}
	byID := o.name == string(roster.SortID)
	// The sort expression appears up to three times; with ? placeholders each use binds
	// its own arguments, so it is written afresh, in the statement's order.
	vis := f.SortVisible
	if byID {
		vis = nil
	}
	sortExpr := func() (string, error) { return q.maskedKey(o, vis, &a) }
	later, idDesc := laterKeys(f)
	if f.Cursor != "" && !keyset(f) {
		return "", false, a, roster.Invalid(roster.Problem{Field: "cursor", Code: roster.PFormat,
			Message: "A list ordered by several keys pages by offset, not by cursor."})
	}
	var head string
	if (f.SortVisible != nil || o.kind != "") && !byID {
		if head, err = sortExpr(); err != nil {
			return "", false, a, roster.Internal("store.listQuery", err)
		}
		head, keyed = head+", ", true
	}
	w, err := q.where(f, &a)
	if err != nil {
		return "", false, a, err
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", false, a, err
		}
		if c.Sort != o.name || c.Desc != f.Desc {
			return "", false, a, roster.Invalid(roster.Problem{Field: "cursor", Code: roster.PFormat, Message: "The cursor belongs to a different sort order."})
		}
		op := ">"
		if f.Desc {
			op = "<"
		}
		var cond string
		if byID {
			cond = "a.id " + op + " " + a.add(c.ID)
		} else {
			key, err := cursorKey(c, o)
			if err != nil {
				return "", false, a, err
			}
			// A row-value comparison is what both engines turn into an index range;
			// the equivalent OR form is only a filter to PostgreSQL.
			e, err := sortExpr()
			if err != nil {
				return "", false, a, roster.Internal("store.listQuery", err)
			}
			cond = "(" + e + ", a.id) " + op + " (" + a.add(key) + ", " + a.add(c.ID) + ")"
		}
		if w == "" {
			w = " WHERE " + cond
		} else {
			w += " AND " + cond
		}
	}
	dir := descSQL(f.Desc)
	e, err := sortExpr()
	if err != nil {
		return "", false, a, roster.Internal("store.listQuery", err)
	}
	ord := " ORDER BY " + e + dir
	for _, k := range later {
		ko, err := q.orderOfKey(k.Sort, k.Attr)
		if err != nil {
			return "", false, a, err
		}
		ke, err := q.maskedKey(ko, k.Visible, &a)
		if err != nil {
			return "", false, a, roster.Internal("store.listQuery", err)
		}
		ord += ", " + ke + descSQL(k.Desc)
	}
	if !byID {
		ord += ", a.id" + descSQL(idDesc)
	}
	query = "SELECT " + head + accountCols + " FROM accounts a" + w + ord
	if f.Limit > 0 {
		query += " LIMIT " + a.add(f.Limit)
		if f.Offset > 0 && f.Cursor == "" {
			query += " OFFSET " + a.add(f.Offset)
		}
	} else if f.Offset > 0 && f.Cursor == "" {
		query += " LIMIT " + a.add(int64(math.MaxInt64)) + " OFFSET " + a.add(f.Offset) // SQLite needs a LIMIT before OFFSET
	}
	return query, keyed, a, nil
}

// maskedKey is a key as the caller sees it: where vis does not hold, the key's hidden
// value (nil: everywhere the key itself).
func (q *q) maskedKey(o order, vis roster.Cond, a *args) (string, error) {
	v, err := q.cond(vis, a)
	if err != nil || v == "" {
		return o.expr(a), err
	}
	return "(CASE WHEN " + v + " THEN " + o.expr(a) + " ELSE " + o.hidden(a) + " END)", nil
}

// laterKeys are a selection's keys after the first, up to one by id, which is unique and
// ends the order; and the direction of the id that breaks the ties left.
func laterKeys(f roster.AccountSelection) ([]roster.SortKey, bool) {
	byID := func(s roster.AccountSort, at *roster.Attribute) bool {
		return at == nil && (s == "" || s == roster.SortID)
	}
	if byID(f.Sort, f.SortAttr) {
		return nil, f.Desc
	}
	for i, k := range f.Then {
		if byID(k.Sort, k.Attr) {
			return f.Then[:i], k.Desc
		}
	}
	return f.Then, f.Desc
}

// keyset reports whether a selection pages by cursor: it orders by one key, and by id in
// that key's direction.
func keyset(f roster.AccountSelection) bool {
	later, idDesc := laterKeys(f)
	return len(later) == 0 && idDesc == f.Desc
}

func descSQL(desc bool) string {
	if desc {
		return " DESC"
	}
	return ""
}

// cursorKey is a cursor's key as the statement compares it.
func cursorKey(c cursor, o order) (any, error) {
	bad := roster.Invalid(roster.Problem{Field: "cursor", Code: roster.PFormat, Message: "The cursor is not one this server issued."})
	kind := o.kind
	if kind == "" {
		switch roster.AccountSort(o.name) {
		case roster.SortCreated, roster.SortLastLogin:
			kind = "t"
		default:
			kind = "s"
		}
	}
	switch kind {
	case "t":
		t, err := time.Parse(time.RFC3339Nano, c.Key)
		if err != nil {
			return nil, bad
		}
		return dbTime(t), nil
	case "n":
		f, err := strconv.ParseFloat(c.Key, 64)
		if err != nil {
			return nil, bad
		}
		return f, nil
	case "b":
		b, err := strconv.ParseBool(c.Key)
		if err != nil {
			return nil, bad
		}
		return b, nil
	}
	return c.Key, nil
}

// cursorAfter is the cursor past last. key is the sort key as the caller saw it, when
// the statement selected it.
func cursorAfter(f roster.AccountSelection, o order, last *roster.Account, key any) string {
	c := cursor{Sort: o.name, Desc: f.Desc, ID: last.ID}
	if key != nil {
		switch k := key.(type) {
		case time.Time:
			c.Key = dbTime(k).Format(time.RFC3339Nano)
		case int64:
			if o.kind == "n" {
				c.Key = strconv.FormatInt(k, 10)
			} else { // SQLite: a time read through an expression comes back as microseconds
				c.Key = dbTime(time.UnixMicro(k)).Format(time.RFC3339Nano)
			}
		case float64:
			c.Key = strconv.FormatFloat(k, 'g', -1, 64)
		case bool:
			c.Key = strconv.FormatBool(k)
		case []byte:
			c.Key = string(k)
		default:
			c.Key = fmt.Sprint(k)
		}
		return encodeCursor(c)
	}
	switch roster.AccountSort(o.name) {
	case roster.SortUsername:
		c.Key = roster.FoldKey(last.Username)
	case roster.SortName:
		c.Key = strings.ToLower(last.Name)
	case roster.SortEmail:
		c.Key = roster.FoldKey(last.Email)
	case roster.SortDisplay:
		c.Key = displayKey(last)
	case roster.SortUUID:
		c.Key = last.UUID
	case roster.SortCreated:
		c.Key = dbTime(last.CreatedAt).Format(time.RFC3339Nano)
	case roster.SortLastLogin:
		c.Key = dbTime(last.LastLoginAt).Format(time.RFC3339Nano)
	}
	return encodeCursor(c)
}

// eachListed runs a list statement and calls fn with each account and, for a keyed
// statement, its sort key as the caller sees it.
func (q *q) eachListed(ctx context.Context, query string, keyed bool, a args, fn func(*roster.Account, any) error) error {
	var (
		rows *sql.Rows
		err  error
	)
	if st := q.shape(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, a.vals...)
	} else {
		rows, err = q.r.QueryContext(ctx, query, a.vals...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key any
		var prefix []any
		if keyed {
			prefix = []any{&key}
		}
		acct, err := scanAccount(rows, prefix...)
		if err != nil {
			return err
		}
		if err := fn(acct, key); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (q *q) ListAccounts(ctx context.Context, f roster.AccountSelection) (*roster.AccountPage, error) {
	if f.Limit <= 0 {
		// Pages are the core's to size (core.MaxPage); a page without a limit would be
		// the whole table in memory.
		return nil, roster.Internal("store.ListAccounts", errors.New("a page needs a limit"))
	}
	want := f.Limit
	f.Limit++ // one more row tells whether a next page exists
	query, keyed, a, err := q.listQuery(f, q.args())
	if err != nil {
		return nil, err
	}
	page := &roster.AccountPage{Total: -1}
	var keys []any
	err = q.eachListed(ctx, query, keyed, a, func(acct *roster.Account, key any) error {
		page.Accounts = append(page.Accounts, acct)
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return nil, q.wrap("store.ListAccounts", err)
	}
	f.Limit = want
	if len(page.Accounts) > want {
		page.Accounts = page.Accounts[:want]
		if keyset(f) { // several keys page by offset
			o, _ := q.orderOf(f)
			page.NextCursor = cursorAfter(f, o, page.Accounts[want-1], keys[want-1])
		}
	}
	if f.WantTotal {
		if page.Total, err = q.CountAccounts(ctx, f); err != nil {
			return nil, err
		}
	}
	return page, nil
}

func (q *q) CountAccounts(ctx context.Context, f roster.AccountSelection) (int, error) {
	query, a, err := q.countQuery(f)
	if err != nil {
		return 0, err
	}
	var (
		n   int
		row *sql.Row
	)
	if st := q.shape(ctx, query); st != nil {
		row = st.QueryRowContext(ctx, a.vals...)
	} else {
		row = q.r.QueryRowContext(ctx, query, a.vals...)
	}
	err = row.Scan(&n)
	return n, q.wrap("store.CountAccounts", err)
}

// shape is the prepared statement of a list or count statement, outside transactions
// (nil inside one, or when not cached).
func (q *q) shape(ctx context.Context, query string) *sql.Stmt {
	if q.stmts == nil || q.stmts.shapes == nil {
		return nil
	}
	return q.stmts.shapes.stmt(ctx, query)
}

// countQuery builds the SELECT COUNT(*) of a selection.
func (q *q) countQuery(f roster.AccountSelection) (string, args, error) {
	a := q.args()
	w, err := q.where(f, &a)
	return "SELECT COUNT(*) FROM accounts a" + w, a, err
}

// Statement is a statement and its arguments, as the store runs it.
type Statement struct {
	SQL  string
	Args []any
}

// ListStatements returns the statements ListAccounts runs for a selection: the page's
// (with one row more than f.Limit, which tells whether a next page exists) and the
// count's. It is for the benchmarks, which explain them (bench/plans_test.go).
func (db *DB) ListStatements(f roster.AccountSelection) (page, count Statement, err error) {
	f.Limit++
	query, _, a, err := db.base.listQuery(f, db.base.args())
	if err != nil {
		return page, count, err
	}
	page = Statement{query, a.vals}
	query, a, err = db.base.countQuery(f)
	return page, Statement{query, a.vals}, err
}

func (q *q) StreamAccounts(ctx context.Context, f roster.AccountSelection, fn func(*roster.Account) error) error {
	query, keyed, a, err := q.listQuery(f, q.args())
	if err != nil {
		return err
	}
	var fnErr error
	err = q.eachListed(ctx, query, keyed, a, func(acct *roster.Account, _ any) error {
		fnErr = fn(acct)
		return fnErr
	})
	if fnErr != nil {
		return fnErr // the caller's own error, untouched
	}
	return q.wrap("store.StreamAccounts", err)
}

// accountValues are the insert/update values of an account, in accountWriteCols order.
const accountWriteCols = `uuid, username, username_key, email, email_key, name, name_key, first_name, last_name,
	state, sysadmin, staff, capabilities, created_at, updated_at, last_login_at, profile, version, display_key`

const accountWriteN = 19

// displayKey is the folded display name: the full name, else the username.
func displayKey(a *roster.Account) string {
	if a.Name != "" {
		return strings.ToLower(a.Name)
	}
	return roster.FoldKey(a.Username)
}

// appendAccountValues appends an account's values, in accountWriteCols order.
func appendAccountValues(vals []any, a *roster.Account) ([]any, error) {
	profile, err := roster.MarshalProfile(a.Profile)
	if err != nil {
		return nil, err
	}
	caps := ""
	if len(a.Capabilities) > 0 {
		caps = strings.Join(a.Capabilities, ",")
	}
	return append(vals, a.UUID, a.Username, roster.FoldKey(a.Username), a.Email, roster.FoldKey(a.Email), a.Name,
		strings.ToLower(a.Name), a.FirstName, a.LastName, string(a.State), a.Sysadmin, a.Staff,
		caps, dbTime(a.CreatedAt), dbTime(a.UpdatedAt), dbTime(a.LastLoginAt), profile, a.Version, displayKey(a)), nil
}

func (q *q) CreateAccount(ctx context.Context, a *roster.Account) error {
	return q.CreateAccounts(ctx, []*roster.Account{a})
}

func (q *q) CreateAccounts(ctx context.Context, as []*roster.Account) error {
	vals := make([]any, 0, min(len(as), batchSize)*accountWriteN)
	for start := 0; start < len(as); start += batchSize {
		chunk := as[start:min(start+batchSize, len(as))]
		vals = vals[:0]
		byKey := make(map[string]*roster.Account, len(chunk))
		for _, acct := range chunk {
			if acct.Version == 0 {
				acct.Version = 1
			}
			var err error
			if vals, err = appendAccountValues(vals, acct); err != nil {
				return roster.Internal("store.CreateAccounts", err)
			}
			byKey[roster.FoldKey(acct.Username)] = acct
		}
		query := "INSERT INTO accounts (" + accountWriteCols + ") VALUES " + q.valuesList(len(chunk), accountWriteN) + " RETURNING id, username_key"
		res, err := q.batchQuery(ctx, query, len(chunk) == batchSize, args{vals: vals})
		if err != nil {
			return q.wrap("store.CreateAccounts", err)
		}
		for res.Next() {
			var id int64
			var key string
			if err := res.Scan(&id, &key); err != nil {
				res.Close()
				return q.wrap("store.CreateAccounts", err)
			}
			if acct := byKey[key]; acct != nil {
				acct.ID = id
			}
		}
		if err := errors.Join(res.Err(), res.Close()); err != nil {
			return q.wrap("store.CreateAccounts", err)
		}
	}
	return nil
}

func (q *q) UpdateAccount(ctx context.Context, a *roster.Account) error {
	vals, err := appendAccountValues(make([]any, 0, accountWriteN+2), a)
	if err != nil {
		return roster.Internal("store.UpdateAccount", err)
	}
	vals[17] = a.Version + 1
	vals = append(vals, a.ID, a.Version)
	res, err := q.w.ExecContext(ctx, `UPDATE accounts SET uuid = $1, username = $2, username_key = $3, email = $4,
		email_key = $5, name = $6, name_key = $7, first_name = $8, last_name = $9, state = $10, sysadmin = $11,
		staff = $12, capabilities = $13, created_at = $14, updated_at = $15, last_login_at = $16, profile = $17,
		version = $18, display_key = $19 WHERE id = $20 AND version = $21`, vals...)
	if err != nil {
		return q.wrap("store.UpdateAccount", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := q.GetAccount(ctx, roster.RefID(a.ID)); err != nil {
			return err
		}
		return roster.Errorf(roster.ECONFLICT, "The account was changed by someone else; reload it and try again.")
	}
	a.Version++
	return nil
}

func (q *q) GetPasswordHash(ctx context.Context, accountID int64) (string, error) {
	var h sql.NullString
	err := q.r.QueryRowContext(ctx, "SELECT password_hash FROM accounts WHERE id = $1", accountID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("Account")
	}
	return h.String, q.wrap("store.GetPasswordHash", err)
}

func (q *q) SetPasswordHash(ctx context.Context, accountID int64, hash string) error {
	var h any
	if hash != "" {
		h = hash
	}
	return q.execOne(ctx, "store.SetPasswordHash", "Account", "UPDATE accounts SET password_hash = $1 WHERE id = $2", h, accountID)
}

func (q *q) SetLastLogin(ctx context.Context, accountID int64, at time.Time) error {
	return q.execOne(ctx, "store.SetLastLogin", "Account", "UPDATE accounts SET last_login_at = $1 WHERE id = $2", dbTime(at), accountID)
}

// execOne runs a write that must touch exactly one row.
func (q *q) execOne(ctx context.Context, op, what, query string, a ...any) error {
	res, err := q.w.ExecContext(ctx, query, a...)
	if err != nil {
		return q.wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(what)
	}
	return nil
}
