package projects

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// newProjectToken returns a REDCap API token: 32 upper-case hex digits (128 bits).
func newProjectToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// IssueProjectToken gives a member a new API token for the project, replacing any they
// had; the token is returned this once. Project administrators may issue tokens, and
// members with an API right may issue their own. Only members with an active account
// may hold one: the account is who acts.
func (s *Service) IssueProjectToken(ctx context.Context, id int64, username string) (*roster.NewProjectToken, error) {
	token, err := newProjectToken()
	if err != nil {
		return nil, roster.Internal("projects.IssueProjectToken", err)
	}
	var out *roster.NewProjectToken
	err = s.tokenTx(ctx, id, username, func(tx roster.Tx, a *access, m *roster.ProjectMember, now time.Time) error {
		if m.AccountID == 0 || m.Suspended {
			return roster.Errorf(roster.ECONFLICT, "Only members with an active account may hold an API token; %q has none.", m.Username)
		}
		if err := tx.SetProjectToken(ctx, m.ID, secret.HashToken(token), now); err != nil {
			return err
		}
		m.HasToken = true
		m.Account = nil // surfaces show the member's username only
		out = &roster.NewProjectToken{Token: token, Member: m}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.token.issue", a.project, []roster.Change{
			{Field: "member", New: m.Username}, {Field: "token", Redacted: true}}))
	})
	return out, err
}

// RevokeProjectToken revokes a member's API token.
func (s *Service) RevokeProjectToken(ctx context.Context, id int64, username string) error {
	return s.tokenTx(ctx, id, username, func(tx roster.Tx, a *access, m *roster.ProjectMember, now time.Time) error {
		if !m.HasToken {
			return roster.Errorf(roster.ENOTFOUND, "%s has no API token in this project.", m.Username)
		}
		if err := tx.SetProjectToken(ctx, m.ID, nil, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.token.revoke", a.project, []roster.Change{
			{Field: "member", Old: m.Username}, {Field: "token", Redacted: true}}))
	})
}

func (s *Service) tokenTx(ctx context.Context, id int64, username string, fn func(roster.Tx, *access, *roster.ProjectMember, time.Time) error) error {
	return s.projectTx(ctx, id, func(a *access) error {
		if a.token {
			return roster.Errorf(roster.EFORBIDDEN, "API tokens cannot manage API tokens.")
		}
		return nil
	}, func(tx roster.Tx, a *access, now time.Time) error {
		self := !a.admin && a.member.Username == roster.FoldKey(username)
		if !a.admin && !(self && (a.priv.Rights[roster.RightAPIExport] == 1 || a.priv.Rights[roster.RightAPIImport] == 1)) {
			return roster.Errorf(roster.EFORBIDDEN, "Only project administrators, or members with an API right for their own token, may manage API tokens.")
		}
		ms, err := tx.GetProjectMembers(ctx, id, []string{username})
		if err != nil {
			return err
		}
		m := ms[roster.FoldKey(username)]
		if m == nil {
			return roster.Errorf(roster.ENOTFOUND, "%s is not a member of this project.", roster.FoldKey(username))
		}
		return fn(tx, a, m, now)
	})
}

// tokenFormat is what REDCap accepts as a token before looking it up.
var tokenFormat = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// AuthenticateProjectToken returns the actor a project API token stands for: its member,
// confined to the project. Unknown tokens, and tokens of members without an active
// account, are EUNAUTHENTICATED; expired rights are EFORBIDDEN. Like bad API keys, bad
// tokens from one client address are slowed down.
func (s *Service) AuthenticateProjectToken(ctx context.Context, token string, c roster.Client) (roster.Actor, error) {
	fail := func() (roster.Actor, error) {
		return roster.Actor{}, s.accounts.FailKey(ctx, c, roster.Errorf(roster.EUNAUTHENTICATED, "Invalid API token."))
	}
	if len(token) > 128 || !tokenFormat.MatchString(token) {
		return fail()
	}
	m, err := s.store.GetProjectMemberByToken(ctx, secret.HashToken(strings.ToUpper(token)))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return fail()
		}
		return roster.Actor{}, err
	}
	if m.AccountID == 0 || m.Suspended {
		return fail()
	}
	if m.Expired(s.today()) {
		return roster.Actor{}, expiredError(m)
	}
	return roster.Actor{AccountID: m.AccountID, Username: m.Username, ClientIP: c.IP,
		Project: &roster.ProjectGrant{ProjectID: m.ProjectID, MemberID: m.ID}}, nil
}
