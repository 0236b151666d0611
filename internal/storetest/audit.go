package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlite"
)

func entry(action string, target int64) *roster.AuditEntry {
	return &roster.AuditEntry{At: base, ActorID: 1, ActorName: "admin", Via: roster.ViaCLI, Action: action, TargetType: "account", TargetID: target}
}

func testAuditAppend(t *testing.T, s roster.Store) {
	ctx := context.Background()
	e1 := entry("account.create", 1)
	e1.Changes = []roster.Change{{Field: "email", Old: nil, New: "a@example.org"}, {Field: "password", Redacted: true}}
	inTx(t, s, func(tx roster.Tx) error { return tx.AppendAudit(ctx, e1, entry("account.update", 1)) })
	// A rolled-back transaction must not leave a gap.
	_ = s.InTx(ctx, func(tx roster.Tx) error {
		_ = tx.AppendAudit(ctx, entry("lost", 2))
		return errors.New("rollback")
	})
	inTx(t, s, func(tx roster.Tx) error { return tx.AppendAudit(ctx, entry("account.delete", 1)) })
	got, err := s.ListAudit(ctx, roster.AuditFilter{})
	mustNil(t, err)
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	for i, e := range got {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d: the sequence has a gap", i, e.Seq)
		}
	}
	if got[0].Action != "account.create" || len(got[0].Changes) != 2 || got[0].Changes[0].New != "a@example.org" ||
		!got[0].Changes[1].Redacted || got[0].Changes[1].New != nil || got[0].ActorName != "admin" || !got[0].At.Equal(base) {
		t.Fatalf("entry 1 = %+v", got[0])
	}

	// Concurrent writers get distinct, consecutive numbers.
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx roster.Tx) error {
				return tx.AppendAudit(ctx, entry("concurrent", int64(i)), entry("concurrent", int64(i)))
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all, err := s.ListAudit(ctx, roster.AuditFilter{})
	mustNil(t, err)
	if len(all) != 63 {
		t.Fatalf("%d entries after concurrent appends, want 63", len(all))
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d after concurrent appends", i, e.Seq)
		}
		if i >= 3 && i%2 == 1 && all[i+1].TargetID != e.TargetID {
			t.Fatalf("the two entries of one transaction are not adjacent: %d and %d", e.Seq, all[i+1].Seq)
		}
	}
}

func testAuditFilters(t *testing.T, s roster.Store) {
	ctx := context.Background()
	var es []*roster.AuditEntry
	for i := range 12 {
		e := entry([]string{"account.create", "account.update", "key.create"}[i%3], int64(i%4))
		e.ActorID = int64(i%2 + 1)
		e.At = base.Add(time.Duration(i) * time.Hour)
		es = append(es, e)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.AppendAudit(ctx, es...) })
	count := func(f roster.AuditFilter) int {
		got, err := s.ListAudit(ctx, f)
		mustNil(t, err)
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Fatal("entries not in sequence order")
			}
		}
		return len(got)
	}
	for _, tc := range []struct {
		f    roster.AuditFilter
		want int
	}{
		{roster.AuditFilter{After: 5}, 7},
		{roster.AuditFilter{After: 5, Limit: 3}, 3},
		{roster.AuditFilter{ActorID: 2}, 6},
		{roster.AuditFilter{TargetType: "account", TargetID: 3}, 3},
		{roster.AuditFilter{Action: "key.create"}, 4},
		{roster.AuditFilter{Since: base.Add(3 * time.Hour), Until: base.Add(6 * time.Hour)}, 3},
		{roster.AuditFilter{ActorID: 1, Action: "account.create"}, 2},
	} {
		if got := count(tc.f); got != tc.want {
			t.Errorf("ListAudit(%+v) = %d entries, want %d", tc.f, got, tc.want)
		}
	}
}

func testBackup(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := newAccount(1)
	a.Profile = map[string]any{"bio": "hello", "subscribed": true}
	a.Capabilities = []string{"group_admin"}
	MustCreate(t, s, a)
	inTx(t, s, func(tx roster.Tx) error {
		return tx.SetPasswordHash(ctx, a.ID, "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA")
	})
	inTx(t, s, func(tx roster.Tx) error {
		return tx.CreateAPIKey(ctx, &roster.APIKey{AccountID: a.ID, Prefix: "rk_x", Hash: hash("k"), CreatedAt: base})
	})
	g := &roster.Group{Name: "g", CreatedAt: base, UpdatedAt: base}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateGroup(ctx, g) })
	inTx(t, s, func(tx roster.Tx) error { return tx.SetGroupMember(ctx, g.ID, a.ID, roster.GroupOwner, base) })
	inTx(t, s, func(tx roster.Tx) error { return tx.AppendAudit(ctx, entry("account.create", 1)) })
	p := newProject(t, s, "Backed up", "f1")
	member := &roster.ProjectMember{ProjectID: p.ID, Username: a.Username, AddedAt: base, UpdatedAt: base}
	member.Privileges.Rights[roster.RightAPIExport] = 1
	site := &roster.DAG{ProjectID: p.ID, Label: "Site", CreatedAt: base}
	inTx(t, s, func(tx roster.Tx) error {
		if err := tx.CreateProjectDAG(ctx, site); err != nil {
			return err
		}
		if err := tx.CreateProjectRole(ctx, &roster.ProjectRole{ProjectID: p.ID, UniqueName: "U-111AAAAAAA", Label: "R", CreatedAt: base, UpdatedAt: base}); err != nil {
			return err
		}
		if err := tx.CreateProjectMembers(ctx, []*roster.ProjectMember{member}); err != nil {
			return err
		}
		if err := tx.SetMemberDAGSwitch(ctx, p.ID, member.ID, []int64{0, site.ID}); err != nil {
			return err
		}
		return tx.SetProjectToken(ctx, member.ID, hash("project token"), base)
	})
	// A pending change of email and its message, which a restored store still delivers.
	msg := newMessage(a.ID, 1)
	inTx(t, s, func(tx roster.Tx) error {
		if err := tx.SetEmailChange(ctx, &roster.EmailChange{AccountID: a.ID, NewEmail: "new@example.org", KeyHash: hash("confirm"),
			CreatedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.QueueMessage(ctx, msg)
	})

	seed, err := s.ProfileImageSeed(ctx)
	mustNil(t, err)
	imageName := roster.ProfileImageName(seed, a.Username)
	inTx(t, s, func(tx roster.Tx) error {
		return tx.SetProfileImages(ctx, a.ID, profileImages(a.ID, imageName, base, "backed"))
	})

	path := filepath.Join(t.TempDir(), "backup.db")
	var tables []string
	mustNil(t, s.Backup(ctx, path, func(table string, _ int64) { tables = append(tables, table) }))
	if len(tables) == 0 {
		t.Fatal("backup reported no progress")
	}
	wantCode(t, s.Backup(ctx, path, nil), roster.ECONFLICT) // never overwrites

	b, err := sqlite.Open(ctx, path, nil)
	mustNil(t, err)
	defer b.Close()
	got, err := b.GetAccount(ctx, roster.AccountRef{Username: "user0001"})
	mustNil(t, err)
	if got.ID != a.ID || got.Profile["bio"] != "hello" || got.Profile["subscribed"] != true || !got.HasCapability("group_admin") || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("backup holds %+v", got)
	}
	if h, _ := b.GetPasswordHash(ctx, a.ID); h == "" {
		t.Fatal("backup lost the password hash")
	}
	if _, acct, err := b.GetAPIKeyByHash(ctx, hash("k")); err != nil || acct.ID != a.ID {
		t.Fatalf("backup lost the API key: %v", err)
	}
	if ms, _ := b.ListGroupMembers(ctx, g.ID); len(ms) != 1 {
		t.Fatal("backup lost group members")
	}
	if bp, err := b.GetProject(ctx, p.ID); err != nil || bp.Title != "Backed up" || len(bp.Forms) != 1 {
		t.Fatalf("backup lost the project: %+v, %v", bp, err)
	}
	if m, err := b.GetProjectMemberByToken(ctx, hash("project token")); err != nil || m.AccountID != a.ID || m.Privileges.Rights[roster.RightAPIExport] != 1 {
		t.Fatalf("backup lost the project member or its token: %+v, %v", m, err)
	}
	roles, _ := b.ListProjectRoles(ctx, p.ID)
	dags, _ := b.ListProjectDAGs(ctx, p.ID)
	if len(roles) != 1 || len(dags) != 1 {
		t.Fatalf("backup lost roles or DAGs: %d, %d", len(roles), len(dags))
	}
	if ids, err := b.ListMemberDAGSwitch(ctx, member.ID); err != nil || fmt.Sprint(ids) != fmt.Sprint([]int64{0, site.ID}) {
		t.Fatalf("backup lost the DAG switch assignments: %v, %v", ids, err)
	}
	// The images and their names' seed, so that the accounts' image addresses still hold.
	if got, err := b.ProfileImageSeed(ctx); err != nil || got != seed {
		t.Fatalf("backup's seed %q (%v), want %q", got, err, seed)
	}
	for _, size := range roster.ProfileImageSizes {
		img, err := b.GetProfileImage(ctx, imageName, size)
		if err != nil || img.AccountID != a.ID || string(img.Data[2:]) != fmt.Sprintf("backed-%d", size) || !img.UploadedAt.Equal(base) {
			t.Fatalf("backup lost the %d image: %+v, %v", size, img, err)
		}
	}
	if ch, err := b.GetEmailChangeByHash(ctx, hash("confirm")); err != nil || ch.AccountID != a.ID || ch.NewEmail != "new@example.org" {
		t.Fatalf("backup lost the pending change of email: %+v, %v", ch, err)
	}
	if m, err := b.GetMessage(ctx, msg.ID); err != nil || m.MessageID != msg.MessageID || m.Body != msg.Body || m.State != roster.MessagePending {
		t.Fatalf("backup lost the outbox: %+v, %v", m, err)
	}
	// The copy continues the audit sequence where the original stands.
	mustNil(t, b.InTx(ctx, func(tx roster.Tx) error { return tx.AppendAudit(ctx, entry("after", 1)) }))
	es, _ := b.ListAudit(ctx, roster.AuditFilter{})
	if len(es) != 2 || es[1].Seq != 2 {
		t.Fatalf("audit in backup = %+v", es)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("backup file: %v", err)
	}
}
