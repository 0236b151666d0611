package profileimage

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

var sizes = []int{500, 120, 50, 30}

// picture is a w×h image: a green square in the middle, red bands where the crop cuts.
func picture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	side := min(w, h)
	x0, y0 := (w-side)/2, (h-side)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{0xd0, 0x10, 0x10, 0xff}
			if x >= x0 && x < x0+side && y >= y0 && y < y0+side {
				c = color.NRGBA{0x10, 0xb0, 0x20, 0xff}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func reasonOf(err error) string {
	if err == nil {
		return "accepted"
	}
	e := roster.AsError(err)
	if e.Code != roster.EINVALID || len(e.Problems) != 1 || e.Problems[0].Reason != e.Reason || e.Problems[0].Field != "file" {
		return "not a refusal: " + err.Error()
	}
	return e.Reason
}

// gradient is an image that does not compress to nothing.
func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 5), uint8(x * y), 0xff})
		}
	}
	return img
}

func TestCheckInOpenEdXOrder(t *testing.T) {
	pngData := encodePNG(t, gradient(24, 24))
	jpegData := encodeJPEG(t, gradient(24, 24))
	if len(pngData) < 100 || len(pngData) > 1024 || len(jpegData) < 100 || len(jpegData) > 1024 {
		t.Fatalf("test images of %d and %d bytes", len(pngData), len(jpegData))
	}
	gif87 := append([]byte("GIF87a"), make([]byte, 200)...)
	l := Limits{MinBytes: 100, MaxBytes: 1024}
	up := func(name, mt string, data []byte) Upload {
		return Upload{Filename: name, MediaType: mt, Size: int64(len(data)), Data: data}
	}
	for _, c := range []struct {
		name   string
		up     Upload
		reason string // "" accepted
		typ    string
	}{
		{"a png", up("me.png", "image/png", pngData), "", "png"},
		{"a jpeg", up("ME.JPG", "image/jpeg", jpegData), "", "jpeg"},
		{"pjpeg and .jpeg", up("me.jpeg", "image/pjpeg", jpegData), "", "jpeg"},
		{"a media type with a parameter", up("me.png", "image/png; charset=binary", pngData), "", "png"},
		{"GIF87a", up("me.gif", "image/gif", gif87), "", "gif"},
		// Size first: a file too large is refused whatever its name.
		{"over the largest", Upload{Filename: "me.txt", MediaType: "text/plain", Size: 1025, Data: pngData}, roster.RImageTooLarge, ""},
		{"the largest", up("me.png", "image/png", append(pngData, make([]byte, 1024-len(pngData))...)), "", "png"},
		{"under the least", up("me.txt", "text/plain", pngData[:99]), roster.RImageTooSmall, ""},
		{"the least", up("me.png", "image/png", pngData[:100]), "", "png"},
		// Then the name, then the declared type, then the first bytes.
		{"no image extension", up("me.tiff", "image/png", pngData), roster.RImageType, ""},
		{"no extension", up("png", "image/png", pngData), roster.RImageType, ""},
		{"another type declared", up("me.png", "image/jpeg", pngData), roster.RImageMediaType, ""},
		{"no type declared", up("me.png", "", pngData), roster.RImageMediaType, ""},
		{"a jpeg named png", up("me.png", "image/png", jpegData), roster.RImageSignature, ""},
		{"text named gif", up("me.gif", "image/gif", []byte(strings.Repeat("GIF88a", 20))), roster.RImageSignature, ""},
	} {
		typ, err := Check(c.up, l)
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.reason == "" && typ.Name != c.typ:
			t.Errorf("%s: type %q, want %q", c.name, typ.Name, c.typ)
		case c.reason != "" && reasonOf(err) != c.reason:
			t.Errorf("%s: %v, want reason %s", c.name, err, c.reason)
		}
	}
	if e := roster.AsError(mustErr(Check(up("me.png", "image/png", make([]byte, 2000)), l))); e.Problems[0].Limit != 1024 {
		t.Errorf("the size refusal names limit %d", e.Problems[0].Limit)
	}
}

func mustErr(_ Type, err error) error { return err }

func decodeJPEG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	return img
}

// near reports whether c is within tol of want in each channel.
func near(c color.Color, want color.NRGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, w uint8) bool { x := int(a>>8) - int(w); return x <= tol && x >= -tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func TestMakeCropsScalesAndEncodes(t *testing.T) {
	green := color.NRGBA{0x10, 0xb0, 0x20, 0xff}
	wide := picture(900, 300) // landscape: the red bands are cut off
	tall := picture(301, 1000)
	tiny := picture(40, 20) // smaller than every size but the smallest: scaled up
	for _, c := range []struct {
		name string
		typ  string
		data []byte
	}{
		{"png landscape", "png", encodePNG(t, wide)},
		{"jpeg portrait", "jpeg", encodeJPEG(t, tall)},
		{"png tiny", "png", encodePNG(t, tiny)},
		{"gif", "gif", func() []byte {
			var b bytes.Buffer
			if err := gif.Encode(&b, wide, nil); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}()},
	} {
		typ := typeNamed(c.typ)
		imgs, err := Make(context.Background(), c.data, typ, Limits{}, sizes)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(imgs) != len(sizes) {
			t.Fatalf("%s: %d images", c.name, len(imgs))
		}
		for i, im := range imgs {
			got := decodeJPEG(t, im.JPEG)
			if im.Size != sizes[i] || got.Bounds() != image.Rect(0, 0, sizes[i], sizes[i]) {
				t.Fatalf("%s: image %d is %d, %v", c.name, i, im.Size, got.Bounds())
			}
			// Only the centred square is left: green to the edges (but for the
			// edge a JPEG blurs into the red band next to it).
			s := sizes[i]
			e := max(1, s/25)
			for _, p := range []image.Point{{e, s / 2}, {s - 1 - e, s / 2}, {s / 2, e}, {s / 2, s - 1 - e}, {s / 2, s / 2}} {
				if !near(got.At(p.X, p.Y), green, 40) {
					t.Errorf("%s: size %d at %v is %v, want the crop's green", c.name, s, p, got.At(p.X, p.Y))
				}
			}
			if exifOrientation(im.JPEG) != 0 {
				t.Errorf("%s: an EXIF orientation the upload did not have", c.name)
			}
		}
	}
}

func typeNamed(name string) Type {
	for _, t := range types {
		if t.Name == name {
			return t
		}
	}
	panic(name)
}

func TestTransparentIsWhite(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 60, 60)) // all transparent black
	imgs, err := Make(context.Background(), encodePNG(t, img), typeNamed("png"), Limits{}, []int{50})
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeJPEG(t, imgs[0].JPEG).At(25, 25); !near(c, color.NRGBA{0xff, 0xff, 0xff, 0xff}, 3) {
		t.Fatalf("a transparent pixel became %v, want white", c)
	}
}

// withOrientation adds an EXIF segment with orientation o to a JPEG.
func withOrientation(jpg []byte, o int) []byte { return withSegment(jpg, orientationSegment(o)) }

func TestEXIFOrientationIsCopied(t *testing.T) {
	src := withOrientation(encodeJPEG(t, picture(200, 100)), 6)
	if exifOrientation(src) != 6 {
		t.Fatal("the test's own EXIF segment does not read back")
	}
	imgs, err := Make(context.Background(), src, typeNamed("jpeg"), Limits{}, sizes)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range imgs {
		if o := exifOrientation(im.JPEG); o != 6 {
			t.Errorf("size %d: orientation %d, want 6", im.Size, o)
		}
		decodeJPEG(t, im.JPEG)
	}
	// Little-endian EXIF, as many cameras write it, with another tag first.
	le := []byte("II*\x00\x08\x00\x00\x00\x02\x00" +
		"\x0f\x01\x02\x00\x04\x00\x00\x00ACME" + // Make, ASCII
		"\x12\x01\x03\x00\x01\x00\x00\x00\x03\x00\x00\x00" + // Orientation 3
		"\x00\x00\x00\x00")
	seg := append([]byte{0xff, 0xe1, 0, byte(len(le) + 8)}, append([]byte("Exif\x00\x00"), le...)...)
	if o := exifOrientation(withSegment(encodeJPEG(t, picture(10, 10)), seg)); o != 3 {
		t.Fatalf("little-endian orientation %d, want 3", o)
	}
	// Damaged segments are ignored, never read past.
	for _, bad := range [][]byte{
		{0xff, 0xd8, 0xff, 0xe1, 0x00, 0xff, 'E', 'x'},
		append([]byte{0xff, 0xd8, 0xff, 0xe1, 0, 16}, "Exif\x00\x00MM\x00*\xff\xff\xff\xff"...),
		append([]byte{0xff, 0xd8, 0xff, 0xe1, 0, 18}, "Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"...),
	} {
		if o := exifOrientation(bad); o != 0 {
			t.Errorf("%q: orientation %d", bad, o)
		}
	}
}

// A decompression bomb: a real PNG of 5000×5000 pixels, tens of kilobytes, which would
// take 25 MB or more decoded. It is refused from its header, before any decoding: the
// refusal allocates next to nothing.
func TestPixelLimitRefusesBeforeDecoding(t *testing.T) {
	bomb := encodePNG(t, image.NewGray(image.Rect(0, 0, 5000, 5000)))
	if len(bomb) > DefaultMaxBytes {
		t.Fatalf("the bomb is %d bytes: over the upload limit, so not the case tested", len(bomb))
	}
	typ, err := Check(Upload{Filename: "bomb.png", MediaType: "image/png", Size: int64(len(bomb)), Data: bomb}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = Make(context.Background(), bomb, typ, Limits{MaxPixels: 16_000_000}, sizes)
	runtime.ReadMemStats(&after)
	if reasonOf(err) != roster.RImagePixels || roster.AsError(err).Problems[0].Limit != 16_000_000 {
		t.Fatalf("%v, want the pixel limit", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("refusing the bomb allocated %d bytes: it was decoded", n)
	}
	// A header that declares more than any image could be: refused the same way.
	var ihdr bytes.Buffer
	ihdr.Write(bomb[:16])
	ihdr.Write([]byte{0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}) // 2³¹-1 × 2³¹-1
	ihdr.Write(bomb[24:])
	if _, err := Make(context.Background(), ihdr.Bytes(), typ, Limits{}, sizes); reasonOf(err) != roster.RImagePixels &&
		reasonOf(err) != roster.RImageUndecodable {
		t.Fatalf("a header of 2³¹-1 squared pixels: %v", err)
	}
}

func TestUndecodable(t *testing.T) {
	data := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("junk"), 50)...)
	if _, err := Make(context.Background(), data, typeNamed("png"), Limits{}, sizes); reasonOf(err) != roster.RImageUndecodable {
		t.Fatalf("%v, want undecodable", err)
	}
	// A header that reads, over pixel data that does not.
	good := encodePNG(t, picture(64, 64))
	if _, err := Make(context.Background(), good[:len(good)/2], typeNamed("png"), Limits{}, sizes); reasonOf(err) != roster.RImageUndecodable {
		t.Fatalf("%v, want undecodable", err)
	}
}

func TestDefaults(t *testing.T) {
	for _, size := range sizes {
		b := Defaults()[size]
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds() != image.Rect(0, 0, size, size) {
			t.Fatalf("default %d: %v, %v", size, err, img)
		}
		// The ground at the corner, the silhouette at the head's centre.
		if !near(img.At(0, 0), ground, 1) || !near(img.At(size/2, size*39/100), silhouette, 1) {
			t.Errorf("default %d: %v at the corner, %v at the head", size, img.At(0, 0), img.At(size/2, size*39/100))
		}
	}
	if !bytes.Equal(Defaults()[30], drawDefault(30)) {
		t.Fatal("the default images are not the same bytes each time they are drawn")
	}
}
