package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// profileImages are an account's images as the core makes them: one per size, one name,
// one time, with bytes that tell the sizes apart.
func profileImages(accountID int64, name string, at time.Time, tag string) []*roster.ProfileImage {
	var out []*roster.ProfileImage
	for _, size := range roster.ProfileImageSizes {
		out = append(out, &roster.ProfileImage{AccountID: accountID, Name: name, Size: size, UploadedAt: at,
			Data: append([]byte{0xff, 0xd8}, fmt.Sprintf("%s-%d", tag, size)...)})
	}
	return out
}

// testProfileImages: the seed is made with the store and stays; images are stored,
// found by name and size, replaced whole, renamed and deleted; a rolled-back change
// leaves them as they were.
func testProfileImages(t *testing.T, s roster.Store) {
	ctx := context.Background()
	seed, err := s.ProfileImageSeed(ctx)
	mustNil(t, err)
	if len(seed) < 32 {
		t.Fatalf("seed %q: want 128 random bits in hex", seed)
	}
	if again, _ := s.ProfileImageSeed(ctx); again != seed {
		t.Fatalf("the seed changed: %q, then %q", seed, again)
	}

	a := MustCreate(t, s, newAccount(1))
	b := MustCreate(t, s, newAccount(2))
	name := roster.ProfileImageName(seed, a.Username)
	at := base.Add(time.Hour)
	_, err = s.GetProfileImage(ctx, name, 500)
	wantCode(t, err, roster.ENOTFOUND)

	inTx(t, s, func(tx roster.Tx) error { return tx.SetProfileImages(ctx, a.ID, profileImages(a.ID, name, at, "one")) })
	inTx(t, s, func(tx roster.Tx) error {
		return tx.SetProfileImages(ctx, b.ID, profileImages(b.ID, roster.ProfileImageName(seed, b.Username), at, "b"))
	})
	get := func(name string, size int, tag string, at time.Time) {
		t.Helper()
		img, err := s.GetProfileImage(ctx, name, size)
		mustNil(t, err)
		want := append([]byte{0xff, 0xd8}, fmt.Sprintf("%s-%d", tag, size)...)
		if img.AccountID != a.ID || img.Name != name || img.Size != size || !bytes.Equal(img.Data, want) ||
			!img.UploadedAt.Equal(at) || img.UploadedAt.Location() != time.UTC {
			t.Fatalf("GetProfileImage(%s, %d) = %+v", name, size, img)
		}
	}
	for _, size := range roster.ProfileImageSizes {
		get(name, size, "one", at)
	}
	_, err = s.GetProfileImage(ctx, name, 64)
	wantCode(t, err, roster.ENOTFOUND)
	_, err = s.GetProfileImage(ctx, "nothing", 500)
	wantCode(t, err, roster.ENOTFOUND)

	// A new upload replaces the old one whole.
	later := at.Add(time.Minute)
	inTx(t, s, func(tx roster.Tx) error {
		return tx.SetProfileImages(ctx, a.ID, profileImages(a.ID, name, later, "two"))
	})
	get(name, 120, "two", later)

	// A change that fails leaves the images as they were.
	boom := roster.Errorf(roster.EINVALID, "boom")
	err = s.InTx(ctx, func(tx roster.Tx) error {
		if _, err := tx.DeleteProfileImages(ctx, a.ID); err != nil {
			return err
		}
		return boom
	})
	wantCode(t, err, roster.EINVALID)
	get(name, 30, "two", later)

	// A new username renames them.
	renamed := roster.ProfileImageName(seed, "renamed")
	inTx(t, s, func(tx roster.Tx) error { return tx.RenameProfileImages(ctx, a.ID, renamed) })
	_, err = s.GetProfileImage(ctx, name, 500)
	wantCode(t, err, roster.ENOTFOUND)
	get(renamed, 500, "two", later)

	// Deleting reports what there was; the other account's stay.
	var n int
	inTx(t, s, func(tx roster.Tx) (err error) { n, err = tx.DeleteProfileImages(ctx, a.ID); return err })
	if n != len(roster.ProfileImageSizes) {
		t.Fatalf("deleted %d images", n)
	}
	inTx(t, s, func(tx roster.Tx) (err error) { n, err = tx.DeleteProfileImages(ctx, a.ID); return err })
	if n != 0 {
		t.Fatalf("deleted %d images of an account without any", n)
	}
	_, err = s.GetProfileImage(ctx, renamed, 500)
	wantCode(t, err, roster.ENOTFOUND)
	if img, err := s.GetProfileImage(ctx, roster.ProfileImageName(seed, b.Username), 50); err != nil || img.AccountID != b.ID {
		t.Fatalf("the other account's image: %+v, %v", img, err)
	}
}
