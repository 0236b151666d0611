package core

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/rosterhq/roster/internal/roster"
)

// MaxImportProblems bounds the problems one import reports; the count of the rest is
// given in the error message.
const MaxImportProblems = 1000

// importKept are the Roster-maintained attributes an import does not read past: a new
// account keeps its uuid and join date, so a file moved between instances keeps them.
var importKept = map[string]bool{"uuid": true, "created": true}

// ImportAccounts creates or updates accounts from rows, matching existing accounts by
// username, in one transaction: if any row is invalid nothing changes, and the error
// lists every problem with its line and field. Cells that are empty clear the attribute
// of an existing account. Only system administrators may import.
func (s *Service) ImportAccounts(ctx context.Context, rows iter.Seq2[roster.ImportRow, error], opt roster.ImportOptions) (*roster.ImportResult, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSysadmin(actor, true); err != nil {
		return nil, err
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	res := &roster.ImportResult{}
	var dryRun = errors.New("dry run")
	imp := &importer{s: s, pol: p, ctx: ctx, actor: actor, res: res, progress: opt.Progress, usernames: map[string]int{}, emails: map[string]int{}, unknown: map[string]bool{}}
	ran := false
	err = s.store.InTx(ctx, func(tx roster.Tx) error {
		// The rows are read as they arrive and cannot be read twice: if the store would
		// retry the transaction after a concurrency failure, give up instead.
		if ran {
			return roster.Errorf(roster.ECONFLICT, "A concurrent change interrupted the import; nothing was imported. Run it again.")
		}
		ran = true
		*res = roster.ImportResult{}
		// Decide by the policy in force when the import begins; fencePolicy below
		// refuses the import if it changes before the end.
		v, err := tx.PolicyVersion(ctx)
		if err != nil {
			return err
		}
		if imp.pol.version != v {
			if imp.pol, err = s.policyAt(ctx, v); err != nil {
				return err
			}
		}
		imp.reset(tx)
		if err := imp.run(rows); err != nil {
			return err
		}
		if len(imp.problems) > 0 {
			return imp.invalid()
		}
		if imp.demoted {
			if err := tx.LockSysadminGuard(ctx); err != nil {
				return err
			}
			if err := s.lastSysadminGuard(ctx, imp.pol, tx, 0); err != nil {
				return err
			}
		}
		if err := fencePolicy(ctx, tx, imp.pol); errors.Is(err, errPolicyMoved) {
			return roster.Errorf(roster.ECONFLICT, "The policy changed during the import; nothing was imported. Run it again.")
		} else if err != nil {
			return err
		}
		if opt.DryRun {
			return dryRun
		}
		return nil
	})
	if errors.Is(err, dryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

const importChunk = 1000

type importer struct {
	s        *Service
	pol      *policy
	ctx      context.Context
	tx       roster.Tx
	actor    roster.Actor
	res      *roster.ImportResult
	progress func(int)
	// usernames and emails seen so far in the file, by fold key → line.
	usernames, emails map[string]int
	unknown           map[string]bool
	problems          []roster.Problem
	extra             int // problems beyond MaxImportProblems
	demoted           bool
}

func (im *importer) reset(tx roster.Tx) {
	im.tx = tx
	clear(im.usernames)
	clear(im.emails)
	clear(im.unknown)
	im.problems, im.extra, im.demoted = nil, 0, false
}

func (im *importer) problem(line int, p roster.Problem) {
	if len(im.problems) >= MaxImportProblems {
		im.extra++
		return
	}
	p.Line = line
	p.Value = nil // problems are printed; keep cell values out of logs
	im.problems = append(im.problems, p)
}

func (im *importer) invalid() error {
	e := roster.Invalid(im.problems...)
	total := len(im.problems) + im.extra
	e.Message = fmt.Sprintf("%d problems; nothing was imported.", total)
	if total == 1 {
		e.Message = "1 problem; nothing was imported."
	}
	return e
}

// pending is one checked row waiting to be written.
type pending struct {
	line    int
	acct    *roster.Account
	before  *roster.Account // nil for a new account
	change  *change
	created bool
	// changes is the audit entry's changes, encoded on the checking goroutine.
	changes []byte
}

// lookedUp is a chunk of rows with what the database holds for them.
type lookedUp struct {
	rows       []roster.ImportRow
	byName     map[string]*roster.Account // existing accounts, by fold key
	emailOwner map[string]int64           // owners of the chunk's emails
}

// checked is a chunk's writes, and whether the file is still free of problems.
type checked struct {
	work  []pending
	clean bool
	err   error
}

// run checks and writes the rows in chunks, as a pipeline on two goroutines: a worker
// reads the file, looks up and checks each chunk, while this goroutine, the
// transaction's, writes the chunk before it. Checking is Go's work and writing the
// database's, so they overlap on two cores. The worker reads through the store's pool,
// not the transaction: it asks what existed before the import, and rows that collide
// with earlier rows of the same file are caught by the file's own username and email
// sets. A writer that commits meanwhile is caught by the unique constraints and the
// version check of every update, which fail the whole import.
func (im *importer) run(rows iter.Seq2[roster.ImportRow, error]) error {
	results := make(chan checked, 1)
	stop := make(chan struct{})
	go func() {
		defer close(results)
		put := func(c checked) bool {
			select {
			case results <- c:
				return true
			case <-stop:
				return false
			}
		}
		chunk := make([]roster.ImportRow, 0, importChunk)
		flush := func() bool {
			lu, err := im.lookup(chunk)
			if err != nil {
				put(checked{err: err})
				return false
			}
			chunk = make([]roster.ImportRow, 0, importChunk)
			return put(im.checkChunk(lu))
		}
		for row, err := range rows {
			if err != nil {
				put(checked{err: err})
				return
			}
			chunk = append(chunk, row)
			if len(chunk) == importChunk && !flush() {
				return
			}
		}
		if len(chunk) > 0 {
			flush()
		}
	}()
	defer func() { // however this returns, stop the worker and let it finish
		close(stop)
		for range results {
		}
	}()
	for c := range results {
		if c.err != nil {
			return c.err
		}
		if !c.clean {
			continue // keep checking the rest of the file, but write nothing more
		}
		if err := im.write(c.work); err != nil {
			return err
		}
	}
	return nil
}

// lookup reads a chunk's existing accounts and the owners of its emails: two queries,
// through the store's pool.
func (im *importer) lookup(rows []roster.ImportRow) (lookedUp, error) {
	ctx := im.ctx
	lu := lookedUp{rows: rows, byName: map[string]*roster.Account{}, emailOwner: map[string]int64{}}
	refs := make([]roster.AccountRef, 0, len(rows))
	var emails []string
	// Values that are not valid text name no account; the row's check refuses them.
	for _, r := range rows {
		if u, ok := r.Values["username"].(string); ok && u != "" && roster.ValidText(u) {
			refs = append(refs, roster.AccountRef{Username: u})
		}
		if e, ok := r.Values["email"].(string); ok && e != "" && roster.ValidText(e) {
			emails = append(emails, e)
		}
	}
	existing, err := im.s.store.GetAccounts(ctx, refs)
	if err != nil {
		return lu, err
	}
	for _, a := range existing {
		lu.byName[roster.FoldKey(a.Username)] = a
	}
	if len(emails) > 0 {
		sel := roster.AccountSelection{AnyState: true, Where: roster.Match{Attr: im.pol.schema.Attr("email"), Lookup: roster.IIn, Value: anyList(emails)}}
		err := im.s.store.StreamAccounts(ctx, sel, func(a *roster.Account) error {
			lu.emailOwner[roster.FoldKey(a.Email)] = a.ID
			return nil
		})
		if err != nil {
			return lu, err
		}
	}
	return lu, nil
}

// checkChunk validates a chunk's rows. It runs on the worker and is the only code that
// touches the importer's record of usernames, emails and problems while the run lasts.
func (im *importer) checkChunk(lu lookedUp) checked {
	var work []pending
	for _, r := range lu.rows {
		im.res.Rows++
		if p, ok := im.check(r, lu.byName, lu.emailOwner); ok && p != nil {
			work = append(work, *p)
		}
	}
	if im.progress != nil {
		im.progress(im.res.Rows)
	}
	return checked{work: work, clean: len(im.problems) == 0}
}

// check validates one row; it returns the pending write, or ok=false with problems
// recorded.
func (im *importer) check(r roster.ImportRow, byName map[string]*roster.Account, emailOwner map[string]int64) (*pending, bool) {
	s, sch := im.s, im.pol.schema
	values := make(map[string]any, len(r.Values))
	for k, v := range r.Values {
		attr := sch.Attr(k)
		switch {
		case attr != nil && (attr.Storage == roster.StoreComputed || attr.Write == roster.WriteNone && !importKept[k]):
			// Columns Roster maintains (id, updated, last_login, …): an export writes
			// them, an import reads past them.
		case attr == nil && k != "password":
			if !im.unknown[k] {
				im.unknown[k] = true
				im.problem(r.Line, roster.Problem{Field: k, Code: roster.PUnknown, Message: fmt.Sprintf("Unknown column %q.", k)})
			}
		default:
			values[k] = v
		}
	}
	if pw, ok := values["password"].(string); ok && pw == "" {
		delete(values, "password") // an empty password cell means "leave it"
	}
	uattr := sch.Attr("username")
	uv, up := uattr.Normalize(values["username"])
	if up != nil {
		im.problem(r.Line, *up)
		return nil, false
	}
	username := uv.(string)
	key := roster.FoldKey(username)
	if first, dup := im.usernames[key]; dup {
		im.problem(r.Line, roster.Problem{Field: "username", Code: roster.PDuplicate, Message: fmt.Sprintf("The username %q appears again (first on line %d).", username, first)})
		return nil, false
	}
	im.usernames[key] = r.Line

	p := &pending{line: r.Line}
	var err error
	if before := byName[key]; before != nil {
		delete(values, "created")
		if u, ok := values["uuid"].(string); ok && u != "" && !equalFold(u, before.UUID) {
			im.problem(r.Line, roster.Problem{Field: "uuid", Code: roster.PFormat, Message: "The uuid differs from the existing account's."})
			return nil, false
		}
		delete(values, "uuid")
		delete(values, "username") // the row's username names the account; imports do not rename
		p.before, p.acct = before, before.Clone()
		p.change, err = s.applyPatch(im.pol, im.actor, p.acct, values, patchOptions{})
	} else {
		now := s.now()
		p.acct = &roster.Account{UUID: newUUID(), State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: map[string]any{}}
		if _, ok := values["email"]; !ok {
			im.problem(r.Line, roster.Problem{Field: "email", Code: roster.PRequired, Message: "This field is required."})
			return nil, false
		}
		p.created = true
		p.change, err = s.applyPatch(im.pol, im.actor, p.acct, values, patchOptions{creating: true})
	}
	if err != nil {
		re := roster.AsError(err)
		if len(re.Problems) == 0 {
			return nil, false
		}
		for _, pr := range re.Problems {
			im.problem(r.Line, pr)
		}
		return nil, false
	}
	ek := roster.FoldKey(p.acct.Email)
	if first, dup := im.emails[ek]; dup {
		im.problem(r.Line, roster.Problem{Field: "email", Code: roster.PDuplicate, Message: fmt.Sprintf("The email address appears again (first on line %d).", first)})
		return nil, false
	}
	im.emails[ek] = r.Line
	if owner, ok := emailOwner[ek]; ok && (p.before == nil || owner != p.before.ID) {
		im.problem(r.Line, roster.Problem{Field: "email", Code: roster.PTaken, Message: "That email address is already in use."})
		return nil, false
	}
	im.demoted = im.demoted || p.change.demoted
	if len(p.change.changes) > 0 {
		enc, err := roster.MarshalChanges(p.change.changes)
		if err != nil {
			im.problem(r.Line, roster.Problem{Field: "(row)", Code: roster.PType, Message: "A value cannot be recorded: " + err.Error()})
			return nil, false
		}
		p.changes = enc
	}
	return p, true
}

func equalFold(a, b string) bool { return roster.FoldKey(a) == roster.FoldKey(b) }

// write applies a checked chunk: new accounts in batches, changed ones one by one, and
// one audit entry per account changed.
func (im *importer) write(work []pending) error {
	ctx, s, tx := im.ctx, im.s, im.tx
	now := s.now()
	var creates []*roster.Account
	for _, p := range work {
		if p.created {
			creates = append(creates, p.acct)
		}
	}
	if err := tx.CreateAccounts(ctx, creates); err != nil {
		return err
	}
	entries := make([]*roster.AuditEntry, 0, len(work))
	for _, p := range work {
		switch {
		case p.created:
			im.res.Created++
		case len(p.change.changes) == 0:
			im.res.Unchanged++
			continue
		default:
			p.acct.UpdatedAt = now
			if err := tx.UpdateAccount(ctx, p.acct); err != nil {
				return err
			}
			if p.change.state && p.acct.State != roster.StateActive {
				if err := tx.DeleteAccountSessions(ctx, p.acct.ID, 0); err != nil {
					return err
				}
			}
			im.res.Updated++
		}
		if p.change.password != nil {
			hash, err := s.hashIfSet(p.change.password)
			if err != nil {
				return err
			}
			if p.created {
				err = tx.SetPasswordHash(ctx, p.acct.ID, hash)
			} else {
				err = setPassword(ctx, tx, p.acct.ID, hash)
			}
			if err != nil {
				return err
			}
		}
		action := "account.update"
		if p.created {
			action = "account.create"
		}
		e := roster.NewAuditEntry(ctx, now, action, "account", p.acct.ID, p.acct.Username, p.change.changes)
		e.EncodedChanges = p.changes
		entries = append(entries, e)
	}
	return tx.AppendAudit(ctx, entries...)
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
