package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// Findings collects a check's problems, keeping the first roster.MaxCheckProblems and
// counting the rest, so that a badly damaged store still gives a readable report.
type Findings struct {
	list  []string
	extra int
}

// Add records one problem.
func (f *Findings) Add(format string, args ...any) {
	if len(f.list) < roster.MaxCheckProblems {
		f.list = append(f.list, fmt.Sprintf(format, args...))
		return
	}
	f.extra++
}

// Problems returns what was recorded, the count of those left out last.
func (f *Findings) Problems() []string {
	if f.extra > 0 {
		return append(slices.Clone(f.list), fmt.Sprintf("… and %d more", f.extra))
	}
	return f.list
}

// snapshot is how a reader of many tables sees one moment: a read-only transaction,
// which SQLite's WAL already reads as of its first statement, and PostgreSQL only at
// REPEATABLE READ. Under READ COMMITTED each statement would see later commits, and a
// count read before an append and a maximum read after it would look like a gap.
func (db *DB) snapshot() *sql.TxOptions {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.engine.RowLocks { // PostgreSQL, whose default is READ COMMITTED
		opts.Isolation = sql.LevelRepeatableRead
	}
	return opts
}

// Check runs the engine's own checks, then those of the invariants Roster keeps on
// every engine, all in one read-only snapshot.
func (db *DB) Check(ctx context.Context) ([]roster.CheckResult, error) {
	tx, err := db.readDB.BeginTx(ctx, db.snapshot())
	if err != nil {
		return nil, db.base.wrap("store.Check", err)
	}
	defer tx.Rollback()
	var out []roster.CheckResult
	if db.engine.Check != nil {
		rs, err := db.engine.Check(ctx, tx)
		if err != nil {
			return nil, db.base.wrap("store.Check", err)
		}
		out = append(out, rs...)
	}
	for _, check := range []func(context.Context, *sql.Tx) (roster.CheckResult, error){
		checkBookkeeping, checkAudit, checkSysadmins, checkAccounts, checkCredentials, checkProjectRefs, checkPolicy,
		checkProfileImages, checkOutbox,
	} {
		r, err := check(ctx, tx)
		if err != nil {
			return nil, db.base.wrap("store.Check", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// checkBookkeeping: the rows that migrations insert once and every write relies on.
// Without the audit counter no audited change can commit; without the policy counter
// no credential can be checked; without the sysadmin lock row no change that may
// remove an administrator can commit.
func checkBookkeeping(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "bookkeeping rows", Detail: "audit_counter, policy_counter, store_locks 'sysadmins'"}
	var audit, policy, locks int
	err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM audit_counter WHERE id = 1),
		(SELECT COUNT(*) FROM policy_counter WHERE id = 1), (SELECT COUNT(*) FROM store_locks WHERE name = 'sysadmins')`).
		Scan(&audit, &policy, &locks)
	if err != nil {
		return r, err
	}
	var f Findings
	if audit != 1 {
		f.Add("audit_counter has no row 1: no audited change can be written")
	}
	if policy != 1 {
		f.Add("policy_counter has no row 1: no credential can be checked")
	}
	if locks != 1 {
		f.Add("store_locks has no 'sysadmins' row: no change that may remove a system administrator can be written")
	}
	r.Problems = f.Problems()
	return r, nil
}

// checkAudit: the audit log is numbered 1, 2, … n without gaps, and the counter row
// holds n, the last number handed out (AppendAudit takes numbers and inserts the entries
// in the transaction of the change they record).
func checkAudit(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "audit sequence"}
	var n, lo, hi int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM audit_log").Scan(&n, &lo, &hi); err != nil {
		return r, err
	}
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(last_seq) FROM audit_counter WHERE id = 1").Scan(&last); err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("%d entries", n)
	if n > 0 {
		r.Detail += fmt.Sprintf(", numbered %d to %d", lo, hi)
	}
	var f Findings
	if n > 0 && lo != 1 {
		f.Add("entries 1 to %d are missing", lo-1)
	}
	if n > 0 && hi-lo+1 != n {
		// Where each gap starts: an entry whose successor is missing, below the last.
		rows, err := tx.QueryContext(ctx, `SELECT a.seq FROM audit_log a WHERE a.seq < $1
			AND NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.seq = a.seq + 1) ORDER BY a.seq LIMIT 5`, hi)
		if err != nil {
			return r, err
		}
		var after []string
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return r, err
			}
			after = append(after, fmt.Sprint(s))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return r, err
		}
		f.Add("%d numbers between %d and %d have no entry (gaps after %s)", hi-lo+1-n, lo, hi, strings.Join(after, ", "))
	}
	if last.Valid && last.Int64 != hi {
		if last.Int64 < hi {
			f.Add("audit_counter says %d was the last number handed out, but entries go up to %d: the next audited change will collide", last.Int64, hi)
		} else {
			f.Add("audit_counter says %d was the last number handed out, but the last entry is %d", last.Int64, hi)
		}
	}
	r.Problems = f.Problems()
	return r, nil
}

// checkSysadmins: a store with accounts has an active system administrator, which the
// core never lets a change remove; without one nobody can administer Roster over HTTP.
func checkSysadmins(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "system administrators"}
	var n, admins int64
	err := tx.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(CASE WHEN sysadmin AND state = 'active' THEN 1 END) FROM accounts").Scan(&n, &admins)
	if err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("%d active of %d accounts", admins, n)
	if n > 0 && admins == 0 {
		r.Problems = []string{fmt.Sprintf("none of the %d accounts is an active system administrator: nobody can administer Roster over HTTP (make one with 'roster users create --sysadmin')", n)}
	}
	return r, nil
}

// checkAccounts reads every account row and checks what the store derives when it
// writes one (the folded keys that carry the unique and sort indexes) and what it
// needs to read one back.
func checkAccounts(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "accounts"}
	rows, err := tx.QueryContext(ctx, `SELECT id, uuid, username, username_key, email, email_key, name, name_key,
		display_key, state, profile, version, password_hash FROM accounts ORDER BY id`)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	var f Findings
	n := 0
	for rows.Next() {
		var (
			id                                   int64
			version                              int64
			uuid, username, usernameKey, email   string
			emailKey, name, nameKey, displayK, s string
			profile                              []byte
			hash                                 sql.NullString
		)
		if err := rows.Scan(&id, &uuid, &username, &usernameKey, &email, &emailKey, &name, &nameKey, &displayK, &s,
			&profile, &version, &hash); err != nil {
			return r, err
		}
		n++
		bad := func(format string, args ...any) {
			f.Add("account %d (%q): "+format, append([]any{id, username}, args...)...)
		}
		a := &roster.Account{Username: username, Name: name}
		switch {
		case username == "" || !roster.ValidText(username):
			bad("the username is empty or not valid text")
		case usernameKey != roster.FoldKey(username):
			bad("username_key is %q, not the folded username: lookups by username miss it, and uniqueness is not enforced", usernameKey)
		}
		if !roster.ValidText(email) || !roster.ValidText(name) {
			bad("the email or name is not valid text")
		}
		if emailKey != roster.FoldKey(email) {
			bad("email_key is %q, not the folded email: uniqueness of emails is not enforced", emailKey)
		}
		if nameKey != strings.ToLower(name) || displayK != displayKey(a) {
			bad("name_key or display_key do not match the name: lists sorted by name misplace it")
		}
		if !roster.IsUUID(uuid) || strings.ToLower(uuid) != uuid {
			bad("the UUID %q is not a lower-case UUID: lookups by UUID miss it", uuid)
		}
		if !roster.State(s).Valid() {
			bad("the state %q is not one Roster knows", s)
		}
		if version < 1 {
			bad("the version is %d; versions start at 1", version)
		}
		if _, err := roster.UnmarshalProfile(profile); err != nil {
			bad("the profile is not a JSON object: %v", err)
		}
		if hash.Valid && hash.String != "" && !strings.HasPrefix(hash.String, "$argon2id$") {
			bad("the password hash is not an argon2id hash: nobody can sign in to it")
		}
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("%d rows read", n)
	r.Problems = f.Problems()
	return r, nil
}

// checkCredentials: stored key, session, device, project token and email confirmation
// key hashes are SHA-256, 32 bytes; anything else can never match a presented credential.
func checkCredentials(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "credentials"}
	var f Findings
	var total int64
	for _, t := range []struct{ table, col, where string }{
		{"api_keys", "hash", "TRUE"}, {"sessions", "hash", "TRUE"}, {"login_devices", "hash", "TRUE"},
		{"project_members", "token_hash", "token_hash IS NOT NULL"}, {"email_changes", "key_hash", "TRUE"},
	} {
		col := t.col
		var n, bad int64
		err := tx.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(CASE WHEN length("+col+") <> 32 THEN 1 END) FROM "+t.table+" WHERE "+t.where).Scan(&n, &bad)
		if err != nil {
			return r, err
		}
		total += n
		if bad > 0 {
			f.Add("%d rows of %s hold a %s that is not a SHA-256 hash", bad, t.table, col)
		}
	}
	r.Detail = fmt.Sprintf("%d hashes", total)
	r.Problems = f.Problems()
	return r, nil
}

// checkProjectRefs: the references between a project's rows that have no foreign key,
// since 0 stands for "none" (docs/redcap.md): the store keeps each pointing at a row of
// the same project, moving members off a role or DAG in the transaction that deletes it.
func checkProjectRefs(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "project references", Detail: "members' roles and DAGs, DAG switch assignments"}
	var f Findings
	for _, c := range []struct{ what, query string }{
		{"members whose role is not a role of their project", `SELECT COUNT(*) FROM project_members m WHERE m.role_id <> 0
			AND NOT EXISTS (SELECT 1 FROM project_roles r WHERE r.id = m.role_id AND r.project_id = m.project_id)`},
		{"members whose DAG is not a DAG of their project", `SELECT COUNT(*) FROM project_members m WHERE m.dag_id <> 0
			AND NOT EXISTS (SELECT 1 FROM project_dags d WHERE d.id = m.dag_id AND d.project_id = m.project_id)`},
		{"DAG switch assignments to a DAG not of the member's project", `SELECT COUNT(*) FROM project_dag_switch s WHERE s.dag_id <> 0
			AND NOT EXISTS (SELECT 1 FROM project_dags d WHERE d.id = s.dag_id AND d.project_id = s.project_id)`},
		{"DAG switch assignments whose project is not the member's", `SELECT COUNT(*) FROM project_dag_switch s
			WHERE NOT EXISTS (SELECT 1 FROM project_members m WHERE m.id = s.member_id AND m.project_id = s.project_id)`},
	} {
		var n int64
		if err := tx.QueryRowContext(ctx, c.query).Scan(&n); err != nil {
			return r, err
		}
		if n > 0 {
			f.Add("%d %s", n, c.what)
		}
	}
	r.Problems = f.Problems()
	return r, nil
}

// checkPolicy: every stored setting is one Roster knows, holds JSON (the schema
// extension one that loads), and is no newer than the policy's version, which every
// replica compares with its own to know when to reload.
func checkPolicy(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "policy"}
	var version sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM policy_counter WHERE id = 1").Scan(&version); err != nil {
		return r, err
	}
	var f Findings
	if version.Valid && version.Int64 < 1 {
		f.Add("the policy version is %d; it starts at 1", version.Int64)
	}
	rows, err := tx.QueryContext(ctx, "SELECT name, value, version FROM policy ORDER BY name")
	if err != nil {
		return r, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, value string
		var v int64
		if err := rows.Scan(&name, &value, &v); err != nil {
			return r, err
		}
		n++
		switch {
		case !slices.Contains(roster.Settings, name):
			f.Add("the setting %q is not one Roster knows", name)
		case !json.Valid([]byte(value)):
			f.Add("the setting %s is not JSON", name)
		case name == roster.SettingSchema:
			if _, err := roster.LoadSchema([]byte(value)); err != nil {
				f.Add("the stored schema extension does not load: %v", err)
			}
		}
		if version.Valid && v > version.Int64 {
			f.Add("the setting %s has version %d, newer than the policy's %d: replicas would not reload it", name, v, version.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("version %d, %d settings", version.Int64, n)
	r.Problems = f.Problems()
	return r, nil
}

// checkProfileImages: the seed of the images' names is stored; each account with images
// has one in every size, all named after the seed and its username and stamped with its
// profile_image_uploaded_at; and every account with that attribute has its images. The
// core writes the images and the attribute in one transaction, and renames the images
// with the username.
func checkProfileImages(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "profile images"}
	var f Findings
	var seeds int
	var seed sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*), MAX(seed) FROM profile_image_seed WHERE id = 1").Scan(&seeds, &seed); err != nil {
		return r, err
	}
	if seeds != 1 || seed.String == "" {
		f.Add("profile_image_seed has no row 1, or an empty seed: images cannot be named, and uploads fail")
	}
	uploadedAt := func(profile []byte) (time.Time, bool) {
		p, err := roster.UnmarshalProfile(profile)
		if err != nil {
			return time.Time{}, false
		}
		s, _ := p["profile_image_uploaded_at"].(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, err == nil
	}
	type held struct {
		username string
		profile  []byte
		sizes    []int
		names    map[string]bool
		times    map[time.Time]bool
		empty    bool
	}
	rows, err := tx.QueryContext(ctx, `SELECT i.account_id, i.size, i.name, i.uploaded_at, length(i.data), a.username, a.profile
		FROM profile_images i JOIN accounts a ON a.id = i.account_id ORDER BY i.account_id, i.size`)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	var ids []int64
	byAccount := map[int64]*held{}
	n := 0
	for rows.Next() {
		var (
			id, length     int64
			size           int
			name, username string
			at             time.Time
			profile        []byte
		)
		if err := rows.Scan(&id, &size, &name, &at, &length, &username, &profile); err != nil {
			return r, err
		}
		n++
		h := byAccount[id]
		if h == nil {
			h = &held{username: username, profile: profile, names: map[string]bool{}, times: map[time.Time]bool{}}
			byAccount[id] = h
			ids = append(ids, id)
		}
		h.sizes = append(h.sizes, size)
		h.names[name] = true
		h.times[utc(at)] = true
		h.empty = h.empty || length == 0
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	for _, id := range ids {
		h := byAccount[id]
		bad := func(format string, args ...any) {
			f.Add("account %d (%q): "+format, append([]any{id, h.username}, args...)...)
		}
		if len(h.sizes) != len(roster.ProfileImageSizes) {
			bad("%d profile images, not one in each of the %d sizes", len(h.sizes), len(roster.ProfileImageSizes))
		}
		if want := roster.ProfileImageName(seed.String, h.username); len(h.names) != 1 || !h.names[want] {
			bad("its profile images are not all named %s (the seed and its username): their addresses in its account are broken", want)
		}
		at, ok := uploadedAt(h.profile)
		if len(h.times) != 1 || !ok || !h.times[at] {
			bad("its profile images are not all of its profile_image_uploaded_at")
		}
		if h.empty {
			bad("a profile image is empty")
		}
	}
	// Accounts that say they have an image but hold none. The text search narrows the
	// rows to read; the profile is then read properly.
	missing, err := tx.QueryContext(ctx, `SELECT id, username, profile FROM accounts a
		WHERE CAST(a.profile AS TEXT) LIKE '%"profile_image_uploaded_at"%'
		AND NOT EXISTS (SELECT 1 FROM profile_images i WHERE i.account_id = a.id) ORDER BY id`)
	if err != nil {
		return r, err
	}
	defer missing.Close()
	for missing.Next() {
		var id int64
		var username string
		var profile []byte
		if err := missing.Scan(&id, &username, &profile); err != nil {
			return r, err
		}
		if _, ok := uploadedAt(profile); ok {
			f.Add("account %d (%q): profile_image_uploaded_at is set, but it has no profile images", id, username)
		}
	}
	if err := missing.Err(); err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("%d images of %d accounts", n, len(ids))
	r.Problems = f.Problems()
	return r, nil
}

// checkOutbox: what the outbox's rules keep true. A message that is no longer pending
// holds no body: the body may carry a confirmation link, which must not outlive the
// message's delivery. A pending one has a body and a recipient to deliver. Every
// Message-ID has the form <left@right>, which mail clients use to recognise a resend.
// A pending change of email names a new address, and expires after it was made.
func checkOutbox(ctx context.Context, tx *sql.Tx) (roster.CheckResult, error) {
	r := roster.CheckResult{Name: "outbox"}
	var f Findings
	var n, pending int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(CASE WHEN state = 'pending' THEN 1 END) FROM outbox").Scan(&n, &pending); err != nil {
		return r, err
	}
	for _, c := range []struct{ what, query string }{
		{"messages that are no longer pending still hold their bodies (a confirmation link outlives its message)",
			"SELECT COUNT(*) FROM outbox WHERE state <> 'pending' AND body <> ''"},
		{"pending messages have no body or no recipient: they would be sent empty, or to no one",
			"SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND (body = '' OR recipient = '')"},
		{"messages have a Message-ID not of the form <left@right>: a resend would not be recognised as the same message",
			"SELECT COUNT(*) FROM outbox WHERE message_id NOT LIKE '<%@%>'"},
		{"pending changes of email name no new address, or expire no later than they were made",
			"SELECT COUNT(*) FROM email_changes WHERE new_email = '' OR expires_at <= created_at"},
	} {
		var bad int64
		if err := tx.QueryRowContext(ctx, c.query).Scan(&bad); err != nil {
			return r, err
		}
		if bad > 0 {
			f.Add("%d %s", bad, c.what)
		}
	}
	var changes int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM email_changes").Scan(&changes); err != nil {
		return r, err
	}
	r.Detail = fmt.Sprintf("%d messages, %d pending; %d pending changes of email", n, pending, changes)
	r.Problems = f.Problems()
	return r, nil
}
