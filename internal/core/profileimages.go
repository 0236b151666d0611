package core

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/internal/profileimage"
	"github.com/rosterhq/roster/internal/roster"
)

// Profile images. An account's image is one upload made into a square JPEG of each of
// roster.ProfileImageSizes, stored in the database beside the account, and its
// profile_image_uploaded_at: both change in one transaction, with an audit entry that
// records the times, never the bytes. Who may change an account's image is who may
// change the account (editDecision: on Open edX's surface, its owner only); who may see
// it is who may read its profile_image_name (reader.read: no one while the account needs
// parental consent).

// SetProfileImage makes the account's profile image from an upload, replacing any. Who
// may is checked first, then the upload (profileimage.Check, in Open edX's order), then
// it is decoded and scaled, outside the transaction, which then stores the images and
// the upload time.
func (s *Service) SetProfileImage(ctx context.Context, ref roster.AccountRef, up profileimage.Upload) error {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return err
	}
	p, err := s.policy(ctx)
	if err != nil {
		return err
	}
	// Open edX refuses another's upload before it looks at the file.
	if _, err := s.loadForWrite(ctx, p, s.store, actor, ref); err != nil {
		return err
	}
	if p.imageSeed == "" {
		return roster.Internal("core.SetProfileImage", errors.New("the store has no profile image seed (table profile_image_seed); see roster check"))
	}
	typ, err := profileimage.Check(up, s.cfg.ProfileImages)
	if err != nil {
		return err
	}
	made, err := profileimage.Make(ctx, up.Data, typ, s.cfg.ProfileImages, roster.ProfileImageSizes)
	if err != nil {
		return err
	}
	return s.underPolicy(ctx, func(p *policy) error {
		return s.store.InTx(ctx, func(tx roster.Tx) error {
			a, err := s.lockForWrite(ctx, p, tx, actor, ref, nil)
			if err != nil {
				return err
			}
			attr := p.schema.Attr(attrImageUploaded)
			before := auditValue(a.Value(attr))
			now := s.now()
			if err := a.SetValue(attr, now); err != nil {
				return roster.Internal("core.SetProfileImage", err)
			}
			a.UpdatedAt = now
			if err := tx.UpdateAccount(ctx, a); err != nil {
				return err
			}
			name := roster.ProfileImageName(p.imageSeed, a.Username)
			images := make([]*roster.ProfileImage, len(made))
			for i, m := range made {
				images[i] = &roster.ProfileImage{AccountID: a.ID, Name: name, Size: m.Size, Data: m.JPEG, UploadedAt: now}
			}
			if err := tx.SetProfileImages(ctx, a.ID, images); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "account.profile_image.upload", "account", a.ID, a.Username,
				[]roster.Change{{Field: attrImageUploaded, Old: before, New: auditValue(a.Value(attr))}})); err != nil {
				return err
			}
			return fencePolicy(ctx, tx, p)
		})
	})
}

// DeleteProfileImage removes the account's profile image. An account without one is
// left as it is, and that is no error: Open edX answers such a removal as any other.
func (s *Service) DeleteProfileImage(ctx context.Context, ref roster.AccountRef) error {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return err
	}
	if err := checkRefText(ref); err != nil {
		return err
	}
	return s.underPolicy(ctx, func(p *policy) error {
		return s.store.InTx(ctx, func(tx roster.Tx) error {
			a, err := s.lockForWrite(ctx, p, tx, actor, ref, nil)
			if err != nil {
				return err
			}
			n, err := tx.DeleteProfileImages(ctx, a.ID)
			if err != nil {
				return err
			}
			attr := p.schema.Attr(attrImageUploaded)
			before := auditValue(a.Value(attr))
			if before == nil && n == 0 {
				return nil
			}
			now := s.now()
			if err := a.SetValue(attr, nil); err != nil {
				return roster.Internal("core.DeleteProfileImage", err)
			}
			a.UpdatedAt = now
			if err := tx.UpdateAccount(ctx, a); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "account.profile_image.delete", "account", a.ID, a.Username,
				[]roster.Change{{Field: attrImageUploaded, Old: before}})); err != nil {
				return err
			}
			return fencePolicy(ctx, tx, p)
		})
	})
}

// ProfileImage returns one size of the profile image whose files are named name, for the
// caller in ctx: ENOTFOUND unless the caller may read the account's profile_image_name
// (so for no one while the account needs parental consent, and for staff only once it
// is deleted), and for names that are not the account's (the image of an old username).
func (s *Service) ProfileImage(ctx context.Context, name string, size int) (*roster.ProfileImage, error) {
	actor := roster.ActorFromContext(ctx)
	notFound := roster.Errorf(roster.ENOTFOUND, "No such profile image.")
	if !isImageName(name) || !validSize(size) {
		return nil, notFound
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	img, err := s.store.GetProfileImage(ctx, name, size)
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAccount(ctx, roster.RefID(img.AccountID))
	if err != nil {
		return nil, err
	}
	if !visibleToReader(p, actor, a) || roster.ProfileImageName(p.imageSeed, a.Username) != name {
		return nil, notFound
	}
	rd := s.newReader(p, actor, a, roster.ReadOptions{}, s.lazyAudiences(ctx, actor, a))
	if ok, _ := rd.read(p.schema.Attr(attrImageName)); !ok {
		return nil, notFound
	}
	return img, nil
}

// isImageName reports whether name has the shape of an image name, a hexadecimal MD5,
// so that other names cost no query.
func isImageName(name string) bool {
	if len(name) != 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func validSize(size int) bool {
	for _, s := range roster.ProfileImageSizes {
		if s == size {
			return true
		}
	}
	return false
}
