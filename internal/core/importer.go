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
	if err := requireSysadmin(actor, true); err != nil {
		return nil, err
	}
	res := &roster.ImportResult{}
	var dryRun = errors.New("dry run")
	imp := &importer{s: s, ctx: ctx, actor: actor, res: res, progress: opt.Progress, usernames: map[string]int{}, emails: map[string]int{}, unknown: map[string]bool{}}
	ran := false
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		// The rows are read as they arrive and cannot be read twice: if the store would
		// retry the transaction after a concurrency failure, give up instead.
		if ran {
			return roster.Errorf(roster.ECONFLICT, "A concurrent change interrupted the import; nothing was imported. Run it again.")
		}
		ran = true
		*res = roster.ImportResult{}
		imp.reset(tx)
		var chunk []roster.ImportRow
		for row, err := range rows {
			if err != nil {
				return err
			}
			chunk = append(chunk, row)
			if len(chunk) == importChunk {
				if err := imp.chunk(chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
		}
		if err := imp.chunk(chunk); err != nil {
			return err
		}
		if len(imp.problems) > 0 {
			return imp.invalid()
		}
		if imp.demoted {
			if err := lastSysadminGuard(ctx, tx, 0); err != nil {
				return err
			}
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

const importChunk = 500

type importer struct {
	s        *Service
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
}

func (im *importer) chunk(rows []roster.ImportRow) error {
	if len(rows) == 0 {
		return nil
	}
	ctx := im.ctx
	// Read the chunk's existing accounts and the owners of its emails in two queries.
	refs := make([]roster.AccountRef, 0, len(rows))
	var emails []string
	for _, r := range rows {
		if u, ok := r.Values["username"].(string); ok && u != "" {
			refs = append(refs, roster.AccountRef{Username: u})
		}
		if e, ok := r.Values["email"].(string); ok && e != "" {
			emails = append(emails, e)
		}
	}
	existing, err := im.tx.GetAccounts(ctx, refs)
	if err != nil {
		return err
	}
	byName := make(map[string]*roster.Account, len(existing))
	for _, a := range existing {
		byName[roster.FoldKey(a.Username)] = a
	}
	emailOwner := map[string]int64{}
	if len(emails) > 0 {
		err := im.tx.StreamAccounts(ctx, roster.AccountFilter{Emails: emails, AnyState: true}, func(a *roster.Account) error {
			emailOwner[roster.FoldKey(a.Email)] = a.ID
			return nil
		})
		if err != nil {
			return err
		}
	}

	var work []pending
	for _, r := range rows {
		im.res.Rows++
		p, ok := im.check(r, byName, emailOwner)
		if ok && p != nil {
			work = append(work, *p)
		}
	}
	if im.progress != nil {
		im.progress(im.res.Rows)
	}
	if len(im.problems) > 0 {
		return nil // keep checking the rest of the file, but write nothing more
	}
	return im.write(work)
}

// check validates one row; it returns the pending write, or ok=false with problems
// recorded.
func (im *importer) check(r roster.ImportRow, byName map[string]*roster.Account, emailOwner map[string]int64) (*pending, bool) {
	s := im.s
	values := make(map[string]any, len(r.Values))
	for k, v := range r.Values {
		attr := s.schema.Attr(k)
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
	uattr := s.schema.Attr("username")
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
		p.change, err = s.applyPatch(im.actor, p.acct, values, patchOptions{})
	} else {
		now := s.now()
		p.acct = &roster.Account{UUID: newUUID(), State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: map[string]any{}}
		if _, ok := values["email"]; !ok {
			im.problem(r.Line, roster.Problem{Field: "email", Code: roster.PRequired, Message: "This field is required."})
			return nil, false
		}
		p.created = true
		p.change, err = s.applyPatch(im.actor, p.acct, values, patchOptions{creating: true})
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
				if err := tx.DeleteAccountSessions(ctx, p.acct.ID); err != nil {
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
			if err := tx.SetPasswordHash(ctx, p.acct.ID, hash); err != nil {
				return err
			}
		}
		action := "account.update"
		if p.created {
			action = "account.create"
		}
		entries = append(entries, audit(ctx, now, action, "account", p.acct.ID, p.acct.Username, p.change.changes))
	}
	return tx.AppendAudit(ctx, entries...)
}
