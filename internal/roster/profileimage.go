package roster

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"time"
)

// ProfileImage is one size of an account's profile image: a square JPEG. An account
// holds one in each of ProfileImageSizes, all made from one upload, or none.
type ProfileImage struct {
	AccountID int64
	// Name is the stem of the image's file name, <Name>_<Size>.jpg: ProfileImageName of
	// the store's seed and the account's username.
	Name       string
	Size       int    // the side, in pixels
	Data       []byte // the JPEG
	UploadedAt time.Time
}

// ProfileImageSizes are the sides an upload is made into, largest first: Open edX's
// full, large, medium and small.
var ProfileImageSizes = []int{500, 120, 50, 30}

// ProfileImageName is the stem of the file names of an account's images, as Open edX
// names them: the hexadecimal MD5 of the seed followed by the username. The seed, kept
// in the store, makes the names of an account's images unguessable from its username
// alone.
func ProfileImageName(seed, username string) string {
	sum := md5.Sum([]byte(seed + username))
	return hex.EncodeToString(sum[:])
}

// ProfileImageReader reads profile images.
type ProfileImageReader interface {
	// ProfileImageSeed is the seed of the images' names, made once when the store was
	// migrated, so that every replica and every backup names alike.
	ProfileImageSeed(ctx context.Context) (string, error)
	// GetProfileImage returns the image of that name and size, with its bytes.
	GetProfileImage(ctx context.Context, name string, size int) (*ProfileImage, error)
}

// ProfileImageWriter changes profile images.
type ProfileImageWriter interface {
	// SetProfileImages replaces the account's images with images, which are the
	// account's, one per size.
	SetProfileImages(ctx context.Context, accountID int64, images []*ProfileImage) error
	// DeleteProfileImages deletes the account's images, and reports how many it held.
	DeleteProfileImages(ctx context.Context, accountID int64) (int, error)
	// RenameProfileImages gives the account's images another name: its username changed.
	RenameProfileImages(ctx context.Context, accountID int64, name string) error
}
