package core_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/profileimage"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

func pngUpload(t *testing.T) profileimage.Upload {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	img.SetNRGBA(0, 0, color.NRGBA{1, 2, 3, 255})
	var b bytes.Buffer
	mustNil(t, png.Encode(&b, img))
	return profileimage.Upload{Filename: "me.png", MediaType: "image/png", Size: int64(b.Len()), Data: b.Bytes()}
}

// TestProfileImageUseCases: the owner uploads, replaces and removes its image, each in
// one audited change holding the times only; the image follows a new username; the
// parental-consent rule withholds it from everyone, the owner and staff too, in records
// and when its files are asked for, and gives it back when the rule no longer holds.
func TestProfileImageUseCases(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		year := e.clock.now().Year()
		kid := e.user(t, "kid", map[string]any{"year_of_birth": year - 10, "privacy": "all_users"})
		other := e.user(t, "other", map[string]any{"year_of_birth": year - 30})
		staff := e.user(t, "watcher", map[string]any{"staff": true})
		for _, a := range []*roster.Actor{&kid, &other, &staff} {
			a.Via = roster.ViaOpenEdX
		}
		ref := roster.AccountRef{Username: "KID"} // as the URL names it: any case

		wantCode(t, e.svc.SetProfileImage(as(other), ref, pngUpload(t)), roster.EFORBIDDEN)
		wantCode(t, e.svc.SetProfileImage(as(staff), ref, pngUpload(t)), roster.EFORBIDDEN)
		wantCode(t, e.svc.SetProfileImage(anonymous(), ref, pngUpload(t)), roster.EUNAUTHENTICATED)
		wantCode(t, e.svc.DeleteProfileImage(as(other), ref), roster.EFORBIDDEN)
		bad := pngUpload(t)
		bad.Filename = "me.bmp"
		if err := e.svc.SetProfileImage(as(kid), ref, bad); roster.AsError(err).Reason != roster.RImageType {
			t.Fatalf("a .bmp: %v", err)
		}
		if n := len(auditLog(t, e)); n != 3 { // the three accounts' creation
			t.Fatalf("%d audit entries after refusals", n)
		}

		mustNil(t, e.svc.SetProfileImage(as(kid), ref, pngUpload(t)))
		uploaded := e.clock.now().UTC()
		rec, err := e.svc.GetAccount(as(other), ref, roster.ReadOptions{})
		mustNil(t, err)
		name := fmt.Sprint(must(rec.Get("profile_image_name")))
		if at, _ := rec.Get("profile_image_uploaded_at"); at != uploaded || len(name) != 32 {
			t.Fatalf("after the upload: uploaded_at %v, name %q", at, name)
		}
		for _, size := range roster.ProfileImageSizes {
			img, err := e.svc.ProfileImage(anonymous(), name, size)
			mustNil(t, err)
			if img.AccountID != kid.AccountID || !img.UploadedAt.Equal(uploaded) || !bytes.HasPrefix(img.Data, []byte{0xff, 0xd8}) {
				t.Fatalf("image %d: %+v", size, img)
			}
		}
		for _, bad := range []struct {
			name string
			size int
		}{{name, 64}, {strings.ToUpper(name), 500}, {"x", 500}, {strings.Repeat("0", 32), 500}} {
			_, err := e.svc.ProfileImage(anonymous(), bad.name, bad.size)
			wantCode(t, err, roster.ENOTFOUND)
		}
		es := auditLog(t, e)
		last := es[len(es)-1]
		if last.Action != "account.profile_image.upload" || last.TargetID != kid.AccountID || len(last.Changes) != 1 ||
			last.Changes[0].Field != "profile_image_uploaded_at" || last.Changes[0].Old != nil || last.Changes[0].New == nil {
			t.Fatalf("audit entry %+v %+v", last, last.Changes)
		}

		// A new username renames the files, in the same change.
		_, err = e.svc.UpdateAccount(operator(), ref, map[string]any{"username": "kiddo"})
		mustNil(t, err)
		rec, err = e.svc.GetAccount(as(other), roster.AccountRef{Username: "kiddo"}, roster.ReadOptions{})
		mustNil(t, err)
		renamed := fmt.Sprint(must(rec.Get("profile_image_name")))
		if renamed == name {
			t.Fatal("the image's name did not follow the username")
		}
		_, err = e.svc.ProfileImage(anonymous(), name, 500)
		wantCode(t, err, roster.ENOTFOUND)
		_, err = e.svc.ProfileImage(anonymous(), renamed, 500)
		mustNil(t, err)
		ref = roster.AccountRef{Username: "kiddo"}

		// Open edX's rule: a child who needs parental consent shows no image, to anyone.
		_, err = e.svc.SetPolicy(operator(), roster.SettingParentalConsentAge, "13")
		mustNil(t, err)
		for who, ctx := range map[string]context.Context{"the owner": as(kid), "staff": as(staff), "another": as(other), "anyone": anonymous()} {
			rec, err := e.svc.GetAccount(ctx, ref, roster.ReadOptions{})
			mustNil(t, err)
			if rec.Visible("profile_image_uploaded_at") || rec.Visible("profile_image_name") {
				t.Errorf("%s sees the image of an account that needs parental consent", who)
			}
			_, err = e.svc.ProfileImage(ctx, renamed, 120)
			wantCode(t, err, roster.ENOTFOUND)
		}
		access, err := e.svc.AccountAccess(as(kid), ref, "", "")
		mustNil(t, err)
		for _, f := range access.Fields {
			if f.Field == "profile_image_name" && (f.Read.Allowed || !strings.Contains(f.Read.Detail, "withheld from everyone")) {
				t.Fatalf("the explanation: %+v", f.Read)
			}
		}
		// An upload is taken, and kept withheld.
		mustNil(t, e.svc.SetProfileImage(as(kid), ref, pngUpload(t)))
		_, err = e.svc.SetPolicy(operator(), roster.SettingParentalConsentAge, "0")
		mustNil(t, err)
		if _, err := e.svc.ProfileImage(anonymous(), renamed, 30); err != nil {
			t.Fatalf("with the rule off, the image: %v", err)
		}

		// Removing it: the images go with the time, in one audited change; again is no
		// change at all.
		mustNil(t, e.svc.DeleteProfileImage(as(kid), ref))
		rec, err = e.svc.GetAccount(as(kid), ref, roster.ReadOptions{})
		mustNil(t, err)
		if v, ok := rec.Get("profile_image_uploaded_at"); !ok || v != nil || must(rec.Get("profile_image_name")) != nil {
			t.Fatalf("after the removal: %v %v", v, must(rec.Get("profile_image_name")))
		}
		_, err = e.svc.ProfileImage(anonymous(), renamed, 500)
		wantCode(t, err, roster.ENOTFOUND)
		n := len(auditLog(t, e))
		mustNil(t, e.svc.DeleteProfileImage(as(kid), ref))
		es = auditLog(t, e)
		if len(es) != n || es[n-1].Action != "account.profile_image.delete" || es[n-1].Changes[0].New != nil {
			t.Fatalf("audit after two removals: %d entries, last %+v", len(es), es[len(es)-1])
		}
		for _, entry := range es {
			for _, c := range entry.Changes {
				if s, ok := c.New.(string); ok && len(s) > 100 {
					t.Fatalf("an audit entry holds %d characters of %s", len(s), c.Field)
				}
			}
		}
		results, err := e.store.Check(ctx)
		mustNil(t, err)
		for _, r := range results {
			if r.Name == "profile images" && !r.OK() {
				t.Errorf("check %s: %v", r.Name, r.Problems)
			}
		}
	})
}

// must is the value of a record's Get.
func must(v any, _ bool) any { return v }

// TestNoImageSeed: a store whose seed row was deleted by hand still serves everything
// else; only uploads fail, and roster check names the row.
func TestNoImageSeed(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", nil)
	raw := e.store.(interface{ WriteDB() *sql.DB })
	if _, err := raw.WriteDB().Exec("DELETE FROM profile_image_seed"); err != nil {
		t.Fatal(err)
	}
	svc, err := core.New(e.store, core.Config{PasswordParams: secret.TestParams, Now: e.clock.now})
	mustNil(t, err)
	t.Cleanup(svc.Quiesce)
	if _, err := svc.GetAccount(as(alice), roster.RefID(alice.AccountID), roster.ReadOptions{}); err != nil {
		t.Fatalf("a read without the seed: %v", err)
	}
	wantCode(t, svc.SetProfileImage(as(alice), roster.RefID(alice.AccountID), pngUpload(t)), roster.EINTERNAL)
}
