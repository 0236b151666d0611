package openedx_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/profileimage"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

type imageEnv struct {
	*fixture
	clock *testkit.Clock
	seed  string
}

// imageEngines runs fn on both engines, over the accounts' fixture, with a clock the
// test moves and the core configured by configure (may be nil).
func imageEngines(t *testing.T, configure func(*core.Config), fn func(t *testing.T, ie *imageEnv)) {
	clk := &testkit.Clock{}
	setup := testkit.Setup{Core: func(c *core.Config) {
		c.Now = clk.Now
		if configure != nil {
			configure(c)
		}
	}}
	testkit.Run(t, setup, func(t *testing.T, e *testkit.Env) {
		clk.Set(time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC))
		seed, err := e.Store.ProfileImageSeed(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fn(t, &imageEnv{fixture: newFixture(t, e), clock: clk, seed: seed})
	})
}

// picture is a w×h image with detail, so that it compresses like a photograph would
// not quite, but to more than a few bytes.
func picture(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 0xff})
		}
	}
	return img
}

func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// part is one part of a multipart body.
type part struct {
	field, filename, contentType string
	data                         []byte
}

// multipartBody builds a multipart/form-data body and its Content-Type.
func multipartBody(t testing.TB, parts ...part) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p.field)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename="%s"`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), mw.FormDataContentType()
}

const imagePath = "/api/user/v1/accounts/%s/image"

// upload posts a file as who (a fixture username, or "" for no credential).
func (ie *imageEnv) upload(t *testing.T, who, username string, p part) testkit.Reply {
	t.Helper()
	body, ct := multipartBody(t, p)
	return ie.e.Do(t, "POST", fmt.Sprintf(imagePath, username), body, ie.auth(who, "Content-Type", ct)...)
}

func (ie *imageEnv) auth(who string, header ...string) []string {
	if who == "" {
		return header
	}
	return append([]string{"Authorization", "Bearer " + ie.key[who]}, header...)
}

// wantDeveloper checks an error of the image view: the status, the body exactly, and
// Django REST framework's headers: JSON, Allow, no WWW-Authenticate.
func wantDeveloper(t *testing.T, r testkit.Reply, status int, body string) {
	t.Helper()
	want(t, r, status, body)
	if r.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("WWW-Authenticate %q on the image view", r.Header.Get("WWW-Authenticate"))
	}
	if got := r.Header.Get("Allow"); got != "POST, DELETE, OPTIONS" {
		t.Errorf("Allow %q", got)
	}
}

// userError is a refused upload's body: the same text for the developer and the user.
func userError(msg string) string {
	return `{"developer_message":"` + msg + `","user_message":"` + msg + `"}`
}

// imageName is Open edX's name of an account's image files: md5(seed + username).
func (ie *imageEnv) imageName(username string) string {
	sum := md5.Sum([]byte(ie.seed + username))
	return hex.EncodeToString(sum[:])
}

// uploaded is the profile_image object of an account whose image was uploaded at at.
func (ie *imageEnv) uploaded(username string, at time.Time) string {
	host := strings.TrimPrefix(ie.e.URL, "http://")
	url := func(size int) string {
		return fmt.Sprintf("http://%s/media/profile-images/%s_%d.jpg?v=%d", host, ie.imageName(username), size, at.Unix())
	}
	return fmt.Sprintf(`{"has_image":true,"image_url_full":"%s","image_url_large":"%s","image_url_medium":"%s","image_url_small":"%s"}`,
		url(500), url(120), url(50), url(30))
}

// profileImageOf is the profile_image object in an account answer.
func profileImageOf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `"profile_image":`)
	end := strings.Index(rest, "}")
	if !ok || end < 0 {
		t.Fatalf("no profile_image in %s", body)
	}
	return rest[:end+1]
}

// TestProfileImageUpload: a PNG and then a JPEG (as a raw body) become the account's
// image, in four JPEG sizes, each served from its address with its caching headers;
// removing it brings the defaults back.
func TestProfileImageUpload(t *testing.T) {
	imageEngines(t, nil, func(t *testing.T, ie *imageEnv) {
		e := ie.e
		account := "/api/user/v1/accounts/alice"

		r := ie.upload(t, "alice", "alice", part{"file", "Me.PNG", "image/png", pngOf(t, picture(640, 480))})
		want(t, r, 204, "")
		if r.Header.Get("Allow") != "POST, DELETE, OPTIONS" {
			t.Errorf("Allow %q", r.Header.Get("Allow"))
		}
		at := ie.clock.Now()
		for _, who := range []string{"alice", "bob", "watcher"} {
			if got := profileImageOf(t, ie.get(t, who, account).Body); got != ie.uploaded("alice", at) {
				t.Fatalf("%s sees\n%s\nwant\n%s", who, got, ie.uploaded("alice", at))
			}
		}
		ie.checkServed(t, "alice", at)

		// A JPEG as the raw body, a second later: the version moves, the address stays.
		ie.clock.Advance(1500 * time.Millisecond)
		r = e.Do(t, "POST", fmt.Sprintf(imagePath, "alice"), string(jpegOf(t, picture(480, 640))),
			ie.auth("alice", "Content-Type", "image/jpeg", "Content-Disposition", `attachment; filename="portrait.jpg"`)...)
		want(t, r, 204, "")
		later := ie.clock.Now()
		if got := profileImageOf(t, ie.get(t, "alice", account).Body); got != ie.uploaded("alice", later) {
			t.Fatalf("after the second upload\n%s\nwant\n%s", got, ie.uploaded("alice", later))
		}
		ie.checkServed(t, "alice", later)

		// Removing: 204, the defaults again, the files gone; and again, still 204.
		for range 2 {
			r = e.Do(t, "DELETE", fmt.Sprintf(imagePath, "alice"), "", ie.auth("alice")...)
			want(t, r, 204, "")
			if got := profileImageOf(t, ie.get(t, "alice", account).Body); got != images(e) {
				t.Fatalf("after removal: %s", got)
			}
		}
		for _, size := range []int{500, 30} {
			want(t, e.Do(t, "GET", fmt.Sprintf("/media/profile-images/%s_%d.jpg?v=%d", ie.imageName("alice"), size, later.Unix()), ""), 404, "")
		}
		ie.checkDefaults(t)
	})
}

// checkServed fetches each size of username's image at its address: a JPEG of that
// size, with headers for long caching under the address's version, and 304s for a
// client that has it.
func (ie *imageEnv) checkServed(t *testing.T, username string, at time.Time) {
	t.Helper()
	e := ie.e
	for _, size := range roster.ProfileImageSizes {
		path := fmt.Sprintf("/media/profile-images/%s_%d.jpg", ie.imageName(username), size)
		versioned := fmt.Sprintf("%s?v=%d", path, at.Unix())
		r := e.Do(t, "GET", versioned, "")
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/jpeg" || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("GET %s: %d %v", versioned, r.Status, r.Header)
		}
		img, err := jpeg.Decode(strings.NewReader(r.Body))
		if err != nil || img.Bounds() != image.Rect(0, 0, size, size) {
			t.Fatalf("GET %s: not a %d-pixel JPEG: %v", versioned, size, err)
		}
		etag, modified := r.Header.Get("ETag"), r.Header.Get("Last-Modified")
		if etag == "" || modified != at.UTC().Format(httpTime) {
			t.Fatalf("GET %s: ETag %q, Last-Modified %q (uploaded %v)", versioned, etag, modified, at)
		}
		for _, h := range [][]string{{"If-None-Match", etag}, {"If-Modified-Since", modified}} {
			r := e.Do(t, "GET", versioned, "", h...)
			if r.Status != 304 || r.Body != "" {
				t.Fatalf("GET %s with %s: %d, want 304", versioned, h[0], r.Status)
			}
		}
		if r := e.Do(t, "GET", versioned, "", "If-None-Match", `"stale"`); r.Status != 200 {
			t.Fatalf("GET %s with another ETag: %d", versioned, r.Status)
		}
		// Without the current version (an old or no ?v=): the image, revalidated.
		for _, p := range []string{path, fmt.Sprintf("%s?v=%d", path, at.Unix()-1)} {
			if r := e.Do(t, "GET", p, ""); r.Status != 200 || r.Header.Get("Cache-Control") != "public, no-cache" || len(r.Body) == 0 {
				t.Fatalf("GET %s: %d, Cache-Control %q", p, r.Status, r.Header.Get("Cache-Control"))
			}
		}
		if r := e.Do(t, "HEAD", versioned, ""); r.Status != 200 || r.Body != "" || r.Header.Get("Content-Length") == "" {
			t.Fatalf("HEAD %s: %d %q", versioned, r.Status, r.Header.Get("Content-Length"))
		}
	}
	for _, bad := range []string{ie.imageName(username) + "_64.jpg", ie.imageName(username) + "_500.png", ie.imageName(username) + "_0500.jpg",
		ie.imageName("nobody") + "_500.jpg", "x.jpg", strings.ToUpper(ie.imageName(username)) + "_500.jpg"} {
		want(t, e.Do(t, "GET", "/media/profile-images/"+bad, ""), 404, "")
	}
}

const httpTime = "Mon, 02 Jan 2006 15:04:05 GMT"

// checkDefaults fetches the default images: PNGs of their sizes, cached long.
func (ie *imageEnv) checkDefaults(t *testing.T) {
	e := ie.e
	for _, size := range roster.ProfileImageSizes {
		path := fmt.Sprintf("/static/images/profiles/default_%d.png", size)
		r := e.Do(t, "GET", path, "")
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("Cache-Control") != "public, max-age=31536000" {
			t.Fatalf("GET %s: %d %v", path, r.Status, r.Header)
		}
		img, err := png.Decode(strings.NewReader(r.Body))
		if err != nil || img.Bounds() != image.Rect(0, 0, size, size) {
			t.Fatalf("GET %s: not a %d-pixel PNG: %v", path, size, err)
		}
		if r := e.Do(t, "GET", path, "", "If-None-Match", r.Header.Get("ETag")); r.Status != 304 {
			t.Fatalf("GET %s with its ETag: %d", path, r.Status)
		}
	}
	for _, bad := range []string{"default_64.png", "default_500.jpg", "default_0500.png", "other_500.png"} {
		want(t, e.Do(t, "GET", "/static/images/profiles/"+bad, ""), 404, "")
	}
}

// TestProfileImageWhoMay: the owner only, named in any case; not another user, not
// staff, not a system administrator, not for an account that does not exist; anonymous
// callers and bad tokens get the view's 401s; other methods, the view's 405 once the
// caller may use it.
func TestProfileImageWhoMay(t *testing.T) {
	imageEngines(t, nil, func(t *testing.T, ie *imageEnv) {
		e := ie.e
		_, rootKey := e.Account(t, map[string]any{"username": "root", "email": "root@example.com", "sysadmin": true})
		ie.key["root"] = rootKey
		file := part{"file", "me.png", "image/png", pngOf(t, picture(120, 120))}
		forbidden := `{"developer_message":"You do not have permission to perform this action."}`
		for _, who := range []string{"bob", "watcher", "root"} {
			wantDeveloper(t, ie.upload(t, who, "alice", file), 403, forbidden)
			wantDeveloper(t, e.Do(t, "DELETE", fmt.Sprintf(imagePath, "alice"), "", ie.auth(who)...), 403, forbidden)
		}
		wantDeveloper(t, ie.upload(t, "bob", "nobody", file), 403, forbidden)
		wantDeveloper(t, e.Do(t, "GET", fmt.Sprintf(imagePath, "alice"), "", ie.auth("bob")...), 403, forbidden)
		wantDeveloper(t, ie.upload(t, "", "alice", file), 401, `{"developer_message":"Authentication credentials were not provided."}`)
		wantDeveloper(t, e.Do(t, "DELETE", fmt.Sprintf(imagePath, "alice"), ""), 401, `{"developer_message":"Authentication credentials were not provided."}`)
		wantDeveloper(t, e.Do(t, "GET", fmt.Sprintf(imagePath, "alice"), ""), 401, `{"developer_message":"Authentication credentials were not provided."}`)
		wantDeveloper(t, e.Do(t, "POST", fmt.Sprintf(imagePath, "alice"), "", "Authorization", "Bearer rk_no-such-key"), 401,
			`{"developer_message":{"error_code":"token_nonexistent","developer_message":"The provided access token does not match any valid tokens."}}`)
		for _, m := range []string{"GET", "PUT", "PATCH"} {
			wantDeveloper(t, e.Do(t, m, fmt.Sprintf(imagePath, "alice"), "", ie.auth("alice")...), 405, `{"developer_message":"Method \"`+m+`\" not allowed."}`)
		}
		// No route: Open edX's 404, before any credential is looked at.
		want(t, e.Do(t, "POST", fmt.Sprintf(imagePath, "alice")+"/", ""), 404, "")
		want(t, e.Do(t, "POST", fmt.Sprintf(imagePath, "ali/ce"), ""), 404, "")
		// Nothing was changed by the refusals.
		if got := profileImageOf(t, ie.get(t, "alice", "/api/user/v1/accounts/alice").Body); got != images(e) {
			t.Fatalf("after refusals: %s", got)
		}
		// The owner, in another case: her image, under her own username's name.
		want(t, ie.upload(t, "alice", "ALICE", file), 204, "")
		if got := profileImageOf(t, ie.get(t, "bob", "/api/user/v1/accounts/alice").Body); got != ie.uploaded("alice", ie.clock.Now()) {
			t.Fatalf("after an upload named ALICE: %s", got)
		}

		// A session's upload needs its CSRF token, in the header.
		_, err := e.Svc.UpdateAccount(testkit.Operator(), roster.AccountRef{Username: "bob"}, map[string]any{"password": "bob's long password"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.Svc.Login(context.Background(), roster.Credentials{Login: "bob", Password: "bob's long password"}, roster.Client{IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		body, ct := multipartBody(t, file)
		cookie := httpx.SessionCookie + "=" + s.Token
		wantDeveloper(t, e.Do(t, "POST", fmt.Sprintf(imagePath, "bob"), body, "Content-Type", ct, "Cookie", cookie), 403,
			`{"developer_message":"CSRF Failed: CSRF token missing or incorrect."}`)
		want(t, e.Do(t, "POST", fmt.Sprintf(imagePath, "bob"), body, "Content-Type", ct, "Cookie", cookie, "X-CSRFToken", s.CSRFToken), 204, "")
	})
}

// TestProfileImageRefusals: every refusal of an upload, worded and ordered as Open edX
// words and orders them.
func TestProfileImageRefusals(t *testing.T) {
	imageEngines(t, nil, func(t *testing.T, ie *imageEnv) {
		e := ie.e
		pngData := pngOf(t, picture(200, 150))
		jpegData := jpegOf(t, picture(200, 150))
		bad := func(p part, body string) {
			t.Helper()
			wantDeveloper(t, ie.upload(t, "alice", "alice", p), 400, body)
		}
		noFile := userError("No file provided for profile image")
		// No file: none at all, a plain field named file, a file in another field, a form.
		bad(part{"file", "", "", []byte("just text")}, noFile)
		bad(part{"picture", "me.png", "image/png", pngData}, noFile)
		wantDeveloper(t, e.Do(t, "POST", fmt.Sprintf(imagePath, "alice"), "", ie.auth("alice")...), 400, noFile)
		wantDeveloper(t, e.Do(t, "POST", fmt.Sprintf(imagePath, "alice"), "file=x.png", ie.auth("alice", "Content-Type", "application/x-www-form-urlencoded")...), 400, noFile)

		// Open edX's order: size, extension, declared type, first bytes.
		tooLarge := userError("The file must be smaller than 1 MB in size.")
		bad(part{"file", "me.exe", "text/plain", make([]byte, 1<<20+1)}, tooLarge)
		bad(part{"file", "me.exe", "text/plain", pngData[:99]}, userError("The file must be at least 100 bytes in size."))
		bad(part{"file", "me.bmp", "image/png", pngData}, userError("The file must be one of the following types: .jpeg, .jpg, .png, .gif."))
		bad(part{"file", "me", "image/png", pngData}, userError("The file must be one of the following types: .jpeg, .jpg, .png, .gif."))
		contentType := userError("The Content-Type header for this file does not match the file data. The file may be corrupted.")
		bad(part{"file", "me.png", "image/jpeg", pngData}, contentType)
		bad(part{"file", "me.png", "", pngData}, contentType)
		bad(part{"file", "me.png", "image/png", jpegData}, userError("The file name extension for this file does not match the file data. The file may be corrupted."))
		// The limits are inclusive: exactly 100 bytes pass the size check (and then fail
		// to decode, which Open edX's later versions word as the Content-Type message),
		// and exactly 1 MiB is taken.
		bad(part{"file", "me.png", "image/png", pngData[:100]}, contentType)
		padded := append(append([]byte(nil), pngData...), make([]byte, 1<<20-len(pngData))...)
		want(t, ie.upload(t, "alice", "alice", part{"file", "me.png", "image/png", padded}), 204, "")

		// Decoding: a file that does not decode, and a decompression bomb: 5000×5000
		// pixels in a few kilobytes, refused from its header without being decoded.
		bad(part{"file", "me.png", "image/png", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("junk"), 40)...)}, contentType)
		bomb := pngOf(t, image.NewGray(image.Rect(0, 0, 5000, 5000)))
		if len(bomb) > 100<<10 {
			t.Fatalf("the bomb is %d bytes", len(bomb))
		}
		bad(part{"file", "bomb.png", "image/png", bomb}, userError("The file is too large to process."))

		// The raw body: an image media type, and a file name of that type.
		raw := func(body, ct, disposition string) testkit.Reply {
			h := []string{"Content-Type", ct}
			if disposition != "" {
				h = append(h, "Content-Disposition", disposition)
			}
			return e.Do(t, "POST", fmt.Sprintf(imagePath, "alice"), body, ie.auth("alice", h...)...)
		}
		wantDeveloper(t, raw(string(pngData), "image/tiff", `attachment; filename="me.tiff"`), 415, `{"developer_message":"Unsupported media type \"image/tiff\" in request."}`)
		wantDeveloper(t, raw(`{"file": 1}`, "application/json", ""), 415, `{"developer_message":"Unsupported media type \"application/json\" in request."}`)
		wantDeveloper(t, raw(string(pngData), "image/png", `attachment; filename="me.jpg"`), 400,
			`{"developer_message":"File extension does not match requested Content-type. Filename: \"me.jpg\", Content-type: \"image/png\""}`)
		wantDeveloper(t, raw(string(pngData), "image/png", ""), 400,
			`{"developer_message":"Missing filename. Request should include a Content-Disposition header with a filename parameter."}`)
		wantDeveloper(t, raw(string(pngData[:50]), "image/png", "attachment;filename=x.png"), 400, userError("The file must be at least 100 bytes in size."))
		// A multipart body that does not parse.
		wantDeveloper(t, raw("--x\r\n", "multipart/form-data", ""), 400, `{"developer_message":"Multipart form parse error - Invalid boundary in multipart: None"}`)
		r := raw("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc", "multipart/form-data; boundary=x", "")
		if r.Status != 400 || !strings.HasPrefix(r.Body, `{"developer_message":"Multipart form parse error - `) {
			t.Fatalf("a truncated multipart body: %d %s", r.Status, r.Body)
		}
	})
}

// TestProfileImageLimitsAreSettings: the size limits are the core's settings, and the
// messages say them as Open edX would.
func TestProfileImageLimitsAreSettings(t *testing.T) {
	limits := func(c *core.Config) {
		c.ProfileImages = profileimage.Limits{MinBytes: 200, MaxBytes: 3 << 10, MaxPixels: 10_000}
	}
	imageEngines(t, limits, func(t *testing.T, ie *imageEnv) {
		png := pngOf(t, picture(40, 40))
		// A plain grey PNG is smaller than the least size: bytes after its end pad it.
		grey := func(w, h int) []byte {
			return append(pngOf(t, image.NewGray(image.Rect(0, 0, w, h))), make([]byte, 300)...)
		}
		for _, c := range []struct {
			data []byte
			body string
		}{
			{make([]byte, 3<<10+1), userError("The file must be smaller than 3 KB in size.")},
			{png[:199], userError("The file must be at least 200 bytes in size.")},
			{grey(101, 100), userError("The file is too large to process.")},
		} {
			wantDeveloper(t, ie.upload(t, "alice", "alice", part{"file", "me.png", "image/png", c.data}), 400, c.body)
		}
		want(t, ie.upload(t, "alice", "alice", part{"file", "me.png", "image/png", grey(100, 100)}), 204, "")
	})
}

// TestProfileImageParentalConsent: with Open edX's rule on, a child's image is withheld
// from everyone, itself included, and its files are not served; with the rule off
// again, it is back.
func TestProfileImageParentalConsent(t *testing.T) {
	imageEngines(t, nil, func(t *testing.T, ie *imageEnv) {
		e := ie.e
		want(t, ie.upload(t, "kid", "kid", part{"file", "me.jpg", "image/jpeg", jpegOf(t, picture(300, 300))}), 204, "")
		at := ie.clock.Now()
		file := fmt.Sprintf("/media/profile-images/%s_120.jpg?v=%d", ie.imageName("kid"), at.Unix())
		if r := e.Do(t, "GET", file, ""); r.Status != 200 {
			t.Fatalf("the rule off: %d", r.Status)
		}
		if _, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingParentalConsentAge, "13"); err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"kid", "bob", "watcher"} {
			if got := profileImageOf(t, ie.get(t, who, "/api/user/v1/accounts/kid").Body); got != images(e) {
				t.Fatalf("%s sees the image of a child: %s", who, got)
			}
		}
		want(t, e.Do(t, "GET", file, ""), 404, "")
		// The child may still upload and remove; the image stays withheld.
		want(t, ie.upload(t, "kid", "kid", part{"file", "me.jpg", "image/jpeg", jpegOf(t, picture(300, 300))}), 204, "")
		if got := profileImageOf(t, ie.get(t, "kid", "/api/user/v1/accounts/kid").Body); got != images(e) {
			t.Fatalf("after an upload under the rule: %s", got)
		}
		if _, err := e.Svc.SetPolicy(testkit.Operator(), roster.SettingParentalConsentAge, "0"); err != nil {
			t.Fatal(err)
		}
		if got := profileImageOf(t, ie.get(t, "bob", "/api/user/v1/accounts/kid").Body); got != ie.uploaded("kid", at) {
			t.Fatalf("the rule off again: %s", got)
		}
	})
}
