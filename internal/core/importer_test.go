package core_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

func rowsOf(rows ...map[string]any) iter.Seq2[roster.ImportRow, error] {
	return func(yield func(roster.ImportRow, error) bool) {
		for i, r := range rows {
			if !yield(roster.ImportRow{Line: i + 2, Values: r}, nil) {
				return
			}
		}
	}
}

func TestImport(t *testing.T) {
	e := newEnv(t)
	root := e.user(t, "root", map[string]any{"sysadmin": true})
	e.user(t, "existing", map[string]any{"name": "Old Name", "bio": "old bio"})
	ctx := as(root)
	count := func() int {
		n, err := e.store.CountAccounts(context.Background(), roster.AccountSelection{AnyState: true})
		mustNil(t, err)
		return n
	}

	t.Run("CreatesUpdatesAndSkipsUnchanged", func(t *testing.T) {
		var progress []int
		res, err := e.svc.ImportAccounts(ctx, rowsOf(
			map[string]any{"username": "new1", "email": "new1@example.org", "name": "New One", "country": "FR", "is_active": "true", "id": "77"},
			map[string]any{"username": "EXISTING", "email": "existing@example.org", "name": "New Name", "bio": ""},
			map[string]any{"username": "root", "email": "root@example.org"},
		), roster.ImportOptions{Progress: func(n int) { progress = append(progress, n) }})
		mustNil(t, err)
		if *res != (roster.ImportResult{Rows: 3, Created: 1, Updated: 1, Unchanged: 1}) {
			t.Fatalf("result %+v", res)
		}
		if len(progress) == 0 || progress[len(progress)-1] != 3 {
			t.Fatalf("progress %v", progress)
		}
		got, err := e.svc.GetAccount(ctx, roster.AccountRef{Username: "existing"}, roster.ReadOptions{})
		mustNil(t, err)
		if v, _ := got.Get("name"); v != "New Name" {
			t.Fatalf("name = %v", v)
		}
		if v, _ := got.Get("bio"); v != "" {
			t.Fatalf("an empty cell should set an empty bio, got %v", v)
		}
		es := auditLog(t, e)
		tail := es[len(es)-2:]
		if tail[0].Action != "account.create" || tail[0].TargetName != "new1" || tail[1].Action != "account.update" || tail[1].TargetName != "existing" ||
			tail[0].Changes[0].Old != nil || len(tail[1].Changes) != 3 || tail[1].Changes[0].Field != "name" {
			t.Fatalf("audit tail %+v %+v", tail[0], tail[1])
		}
	})

	t.Run("ErrOneBadRowChangesNothing", func(t *testing.T) {
		before, beforeAudit := count(), len(auditLog(t, e))
		_, err := e.svc.ImportAccounts(ctx, rowsOf(
			map[string]any{"username": "fine1", "email": "fine1@example.org"},
			map[string]any{"username": "bad", "email": "not an email", "year_of_birth": "x"},
			map[string]any{"username": "fine2", "email": "fine1@example.org"},
			map[string]any{"username": "fine1", "email": "other@example.org"},
			map[string]any{"username": "fine3", "email": "existing@example.org", "colour": "red"},
			map[string]any{"email": "nouser@example.org"},
			map[string]any{"username": "existing", "email": "existing@example.org", "sysadmin": "maybe"},
		), roster.ImportOptions{})
		re := wantCode(t, err, roster.EINVALID)
		var got []string
		for _, p := range re.Problems {
			got = append(got, fmt.Sprintf("%d:%s:%s", p.Line, p.Field, p.Code))
		}
		want := "3:email:invalid_format 3:year_of_birth:invalid_type 4:email:duplicate 5:username:duplicate 6:colour:unknown_field 6:email:taken 7:username:required 8:sysadmin:invalid_type"
		if strings.Join(got, " ") != want {
			t.Fatalf("problems\n%s\nwant\n%s", strings.Join(got, " "), want)
		}
		if !strings.Contains(re.Message, "nothing was imported") {
			t.Fatalf("message %q", re.Message)
		}
		if count() != before || len(auditLog(t, e)) != beforeAudit {
			t.Fatal("a refused import changed something")
		}
	})

	t.Run("ErrEmailOfAnotherAccount", func(t *testing.T) {
		_, err := e.svc.ImportAccounts(ctx, rowsOf(map[string]any{"username": "thief", "email": "EXISTING@example.org"}), roster.ImportOptions{})
		re := wantCode(t, err, roster.EINVALID)
		if len(re.Problems) != 1 || re.Problems[0].Field != "email" || re.Problems[0].Code != roster.PTaken || re.Problems[0].Line != 2 {
			t.Fatalf("problems %+v", re.Problems)
		}
	})

	t.Run("DryRun", func(t *testing.T) {
		before := count()
		res, err := e.svc.ImportAccounts(ctx, rowsOf(map[string]any{"username": "dry", "email": "dry@example.org"}), roster.ImportOptions{DryRun: true})
		mustNil(t, err)
		if res.Created != 1 || count() != before {
			t.Fatalf("dry run %+v changed the count %d → %d", res, before, count())
		}
	})

	t.Run("ManyRowsAcrossChunks", func(t *testing.T) {
		const n = 1203
		rows := make([]map[string]any, n)
		for i := range rows {
			rows[i] = map[string]any{"username": fmt.Sprintf("bulk%04d", i), "email": fmt.Sprintf("bulk%04d@example.org", i)}
		}
		rows[1100]["email"] = "broken"
		_, err := e.svc.ImportAccounts(ctx, rowsOf(rows...), roster.ImportOptions{})
		re := wantCode(t, err, roster.EINVALID)
		if len(re.Problems) != 1 || re.Problems[0].Line != 1102 {
			t.Fatalf("problems %+v", re.Problems)
		}
		if _, err := e.store.GetAccount(context.Background(), roster.AccountRef{Username: "bulk0001"}); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatal("rows of an earlier chunk were kept after a later chunk failed")
		}
		rows[1100]["email"] = "fixed@example.org"
		res, err := e.svc.ImportAccounts(ctx, rowsOf(rows...), roster.ImportOptions{})
		mustNil(t, err)
		if res.Created != n {
			t.Fatalf("created %d", res.Created)
		}
	})

	t.Run("ErrReadError", func(t *testing.T) {
		boom := errors.New("line 9: bare quote")
		_, err := e.svc.ImportAccounts(ctx, func(yield func(roster.ImportRow, error) bool) {
			if yield(roster.ImportRow{Line: 2, Values: map[string]any{"username": "x1", "email": "x1@example.org"}}, nil) {
				yield(roster.ImportRow{}, boom)
			}
		}, roster.ImportOptions{})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("ErrNotSysadmin", func(t *testing.T) {
		bob := e.user(t, "bobimp", nil)
		_, err := e.svc.ImportAccounts(as(bob), rowsOf(), roster.ImportOptions{})
		wantCode(t, err, roster.EFORBIDDEN)
	})
}
