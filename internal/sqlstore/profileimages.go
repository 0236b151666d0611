package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rosterhq/roster/internal/roster"
)

func (q *q) ProfileImageSeed(ctx context.Context) (string, error) {
	var seed string
	err := q.r.QueryRowContext(q.pointCtx(ctx), "SELECT seed FROM profile_image_seed WHERE id = 1").Scan(&seed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("The profile image seed")
	}
	return seed, q.wrap("store.ProfileImageSeed", err)
}

func (q *q) GetProfileImage(ctx context.Context, name string, size int) (*roster.ProfileImage, error) {
	img := &roster.ProfileImage{Name: name, Size: size}
	err := q.r.QueryRowContext(q.pointCtx(ctx), "SELECT account_id, data, uploaded_at FROM profile_images WHERE name = $1 AND size = $2",
		name, size).Scan(&img.AccountID, &img.Data, &img.UploadedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Profile image")
	}
	if err != nil {
		return nil, q.wrap("store.GetProfileImage", err)
	}
	img.UploadedAt = utc(img.UploadedAt)
	return img, nil
}

func (q *q) SetProfileImages(ctx context.Context, accountID int64, images []*roster.ProfileImage) error {
	if _, err := q.w.ExecContext(ctx, "DELETE FROM profile_images WHERE account_id = $1", accountID); err != nil {
		return q.wrap("store.SetProfileImages", err)
	}
	for _, img := range images {
		// One row at a time: the rows are large and few, and a statement with all of
		// them would hold every image twice more in memory.
		_, err := q.w.ExecContext(ctx, "INSERT INTO profile_images (account_id, size, name, data, uploaded_at) VALUES ($1, $2, $3, $4, $5)",
			accountID, img.Size, img.Name, img.Data, dbTime(img.UploadedAt))
		if err != nil {
			return q.wrap("store.SetProfileImages", err)
		}
	}
	return nil
}

func (q *q) DeleteProfileImages(ctx context.Context, accountID int64) (int, error) {
	res, err := q.w.ExecContext(ctx, "DELETE FROM profile_images WHERE account_id = $1", accountID)
	if err != nil {
		return 0, q.wrap("store.DeleteProfileImages", err)
	}
	n, err := res.RowsAffected()
	return int(n), q.wrap("store.DeleteProfileImages", err)
}

func (q *q) RenameProfileImages(ctx context.Context, accountID int64, name string) error {
	_, err := q.w.ExecContext(ctx, "UPDATE profile_images SET name = $1 WHERE account_id = $2", name, accountID)
	return q.wrap("store.RenameProfileImages", err)
}
