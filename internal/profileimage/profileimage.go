// Package profileimage turns an uploaded picture into an account's profile images, as
// Open edX does: it checks the upload in Open edX's order (size, the file name's
// extension, the declared media type, the first bytes), decodes it within a bound on
// its pixels, crops it to the centred square, and makes a JPEG of each size. It also
// draws the default images shown where an account has none. It decides nothing about
// who may upload: the core does, and calls it.
package profileimage

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"slices"
	"strings"

	"golang.org/x/image/draw"

	"github.com/rosterhq/roster/internal/roster"
)

// Limits bound what an upload may be. Zero fields take the defaults.
type Limits struct {
	// MinBytes and MaxBytes bound the file's size, inclusive: Open edX's
	// PROFILE_IMAGE_MIN_BYTES and PROFILE_IMAGE_MAX_BYTES (100 and 1 MiB).
	MinBytes, MaxBytes int64
	// MaxPixels bounds the width times the height the file declares, checked before it
	// is decoded, so that a small file cannot make the server allocate gigabytes
	// (default 16,000,000: a 16-megapixel photograph).
	MaxPixels int64
}

// Default limits.
const (
	DefaultMinBytes  = 100
	DefaultMaxBytes  = 1 << 20
	DefaultMaxPixels = 16_000_000
)

// WithDefaults fills in the zero fields.
func (l Limits) WithDefaults() Limits {
	if l.MinBytes <= 0 {
		l.MinBytes = DefaultMinBytes
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// Upload is a file as a surface received it.
type Upload struct {
	Filename string
	// MediaType is the media type the client declared for the file: a multipart part's
	// Content-Type, or the request's for a raw body.
	MediaType string
	// Size is the bytes received. A surface stops keeping bytes past MaxBytes, so Data
	// may hold fewer than Size when the file is too large.
	Size int64
	Data []byte
}

// Type is a kind of image an upload may be.
type Type struct {
	Name       string // jpeg, png or gif
	extensions []string
	mediaTypes []string
	magic      []string
	decode     func(io.Reader) (image.Image, error)
	config     func(io.Reader) (image.Config, error)
}

// types are the kinds accepted, in the order Open edX tries their extensions.
var types = []Type{
	{Name: "jpeg", extensions: []string{".jpeg", ".jpg"}, mediaTypes: []string{"image/jpeg", "image/pjpeg"},
		magic: []string{"\xff\xd8"}, decode: jpeg.Decode, config: jpeg.DecodeConfig},
	{Name: "png", extensions: []string{".png"}, mediaTypes: []string{"image/png"},
		magic: []string{"\x89PNG\r\n\x1a\n"}, decode: png.Decode, config: png.DecodeConfig},
	{Name: "gif", extensions: []string{".gif"}, mediaTypes: []string{"image/gif"},
		magic: []string{"GIF89a", "GIF87a"}, decode: gif.Decode, config: gif.DecodeConfig},
}

// Extensions lists the accepted file name extensions, in Open edX's order.
func Extensions() []string {
	var out []string
	for _, t := range types {
		out = append(out, t.extensions...)
	}
	return out
}

// MediaTypeExtensions says which extensions a raw upload of each accepted media type may
// be named with, as Open edX's upload parser does.
var MediaTypeExtensions = map[string][]string{
	"image/jpeg": {".jpeg", ".jpg"}, "image/pjpeg": {".jpeg", ".jpg"}, "image/png": {".png"}, "image/gif": {".gif"},
}

// refuse is the error of an upload refused for reason.
func refuse(reason string, limit int64, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &roster.Error{Code: roster.EINVALID, Message: msg, Reason: reason,
		Problems: []roster.Problem{{Field: "file", Code: roster.PFormat, Reason: reason, Limit: int(limit), Message: msg}}}
}

// Check validates an upload in Open edX's order, without decoding it, and returns its
// type. The refusals are EINVALID with one problem whose Reason says which check failed
// (roster.RImageTooLarge … roster.RImageSignature).
func Check(u Upload, l Limits) (Type, error) {
	l = l.WithDefaults()
	switch {
	case u.Size > l.MaxBytes:
		return Type{}, refuse(roster.RImageTooLarge, l.MaxBytes, "The file is larger than %d bytes.", l.MaxBytes)
	case u.Size < l.MinBytes:
		return Type{}, refuse(roster.RImageTooSmall, l.MinBytes, "The file is smaller than %d bytes.", l.MinBytes)
	}
	name := strings.ToLower(u.Filename)
	var t *Type
	for i := range types {
		for _, ext := range types[i].extensions {
			if strings.HasSuffix(name, ext) && t == nil {
				t = &types[i]
			}
		}
	}
	if t == nil {
		return Type{}, refuse(roster.RImageType, 0, "The file's name must end in one of %s.", strings.Join(Extensions(), ", "))
	}
	if !slices.Contains(t.mediaTypes, mediaType(u.MediaType)) {
		return Type{}, refuse(roster.RImageMediaType, 0, "The file's media type %q is not that of a %s file (%s).", u.MediaType,
			t.Name, strings.Join(t.mediaTypes, ", "))
	}
	signed := false
	for _, m := range t.magic {
		signed = signed || bytes.HasPrefix(u.Data, []byte(m))
	}
	if !signed {
		return Type{}, refuse(roster.RImageSignature, 0, "The file's first bytes are not those of a %s file.", t.Name)
	}
	return *t, nil
}

// mediaType is the media type without its parameters, as Django reads a part's
// Content-Type.
func mediaType(v string) string {
	if mt, _, err := mime.ParseMediaType(v); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// Image is one size made from an upload.
type Image struct {
	Size int // the side, in pixels
	JPEG []byte
}

// Quality is the JPEG quality of the images made: Pillow's default, which Open edX uses.
const Quality = 75

// decoding admits one decode at a time in this process: with the pixel limit, it bounds
// the memory that uploads can take together (a 16-megapixel image decodes into up to
// 200 MB), whatever the number of requests.
var decoding = make(chan struct{}, 1)

// Make decodes a checked upload of type t and makes the images of each of sizes:
// centred square crops, scaled with Catmull-Rom, encoded as JPEG at Quality, in the
// order of sizes. A file whose declared dimensions exceed l.MaxPixels is refused before
// it is decoded (roster.RImagePixels); one that does not decode, with
// roster.RImageUndecodable. Transparent pixels are laid on white. A JPEG's EXIF
// orientation is copied into each image, as Open edX copies it, so that viewers turn
// them as they turned the upload.
func Make(ctx context.Context, data []byte, t Type, l Limits, sizes []int) ([]Image, error) {
	l = l.WithDefaults()
	cfg, err := t.config(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, refuse(roster.RImageUndecodable, 0, "The file cannot be read as a %s image.", t.Name)
	}
	if int64(cfg.Width)*int64(cfg.Height) > l.MaxPixels {
		return nil, refuse(roster.RImagePixels, l.MaxPixels, "The image is %d×%d pixels: more than %d pixels.", cfg.Width, cfg.Height, l.MaxPixels)
	}
	select {
	case decoding <- struct{}{}:
		defer func() { <-decoding }()
	case <-ctx.Done():
		return nil, &roster.Error{Code: roster.EUNAVAILABLE, Message: "The request was cancelled or timed out.", Op: "profileimage.Make", Err: ctx.Err()}
	}
	src, err := t.decode(bytes.NewReader(data))
	if err != nil {
		return nil, refuse(roster.RImageUndecodable, 0, "The file cannot be read as a %s image.", t.Name)
	}
	var exif []byte
	if t.Name == "jpeg" {
		if o := exifOrientation(data); o != 0 {
			exif = orientationSegment(o)
		}
	}
	crop := square(src.Bounds())
	out := make([]Image, 0, len(sizes))
	for _, size := range sizes {
		dst := image.NewRGBA(image.Rect(0, 0, size, size))
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, crop, draw.Over, nil)
		var b bytes.Buffer
		if err := jpeg.Encode(&b, dst, &jpeg.Options{Quality: Quality}); err != nil {
			return nil, roster.Internal("profileimage.Make", err)
		}
		out = append(out, Image{Size: size, JPEG: withSegment(b.Bytes(), exif)})
	}
	return out, nil
}

// square is the largest square centred in r, as Open edX crops: (w-side)/2 from the left
// and (h-side)/2 from the top, rounded down.
func square(r image.Rectangle) image.Rectangle {
	w, h := r.Dx(), r.Dy()
	side := min(w, h)
	at := r.Min.Add(image.Pt((w-side)/2, (h-side)/2))
	return image.Rectangle{Min: at, Max: at.Add(image.Pt(side, side))}
}

// exifOrientation reads the Orientation tag (1 to 8) of a JPEG's EXIF segment; 0 when
// there is none. Every offset is checked against the segment, whose bytes come from
// the client.
func exifOrientation(jpg []byte) int {
	seg := exifSegment(jpg)
	if len(seg) < 8 {
		return 0
	}
	var order binary.ByteOrder
	switch string(seg[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(order.Uint32(seg[4:8]))
	if ifd+2 > int64(len(seg)) {
		return 0
	}
	n := int64(order.Uint16(seg[ifd:]))
	for i := int64(0); i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(seg)) {
			return 0
		}
		// Tag 0x0112, type SHORT, count 1: the value is in the entry itself.
		if order.Uint16(seg[e:]) == 0x0112 && order.Uint16(seg[e+2:]) == 3 && order.Uint32(seg[e+4:]) == 1 {
			if o := int(order.Uint16(seg[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}

// exifSegment returns the TIFF data of a JPEG's APP1 "Exif" segment, looked for among
// the segments before the image data.
func exifSegment(jpg []byte) []byte {
	if len(jpg) < 4 || jpg[0] != 0xff || jpg[1] != 0xd8 {
		return nil
	}
	for i := 2; i+4 <= len(jpg); {
		if jpg[i] != 0xff {
			return nil
		}
		marker := jpg[i+1]
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(jpg[i+2:]))
		if n < 2 || i+2+n > len(jpg) {
			return nil
		}
		body := jpg[i+4 : i+2+n]
		if marker == 0xe1 && bytes.HasPrefix(body, []byte("Exif\x00\x00")) {
			return body[6:]
		}
		i += 2 + n
	}
	return nil
}

// orientationSegment is an APP1 EXIF segment holding only the Orientation tag.
func orientationSegment(o int) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // big-endian, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation, SHORT, 1, o
		0, 0, 0, 0} // no next IFD
	body := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	return append(seg, body...)
}

// withSegment inserts seg after a JPEG's start-of-image marker.
func withSegment(jpg, seg []byte) []byte {
	if len(seg) == 0 {
		return jpg
	}
	out := make([]byte, 0, len(jpg)+len(seg))
	out = append(out, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}
