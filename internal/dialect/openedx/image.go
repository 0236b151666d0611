package openedx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/profileimage"
	"github.com/rosterhq/roster/internal/roster"
)

// Profile images: Open edX's ProfileImageView and the files it makes.
//
//	POST   /api/user/v1/accounts/{username}/image   SetProfileImage (multipart field "file", or a raw image body)
//	DELETE /api/user/v1/accounts/{username}/image   DeleteProfileImage
//	GET    /media/profile-images/<name>_<size>.jpg   ProfileImage, as an anonymous caller
//	GET    /static/images/profiles/default_<size>.png  the default images
//
// The core decides who may change an image (the owner only, on this surface) and who
// sees one; this file parses the upload and words the answers as Open edX's view does:
// every error as {"developer_message": …} (its DeveloperErrorViewMixin), without
// WWW-Authenticate, on a surface of its own so that errors raised before the view runs
// (a body over the limit) are worded so too.

// ImageDirectory is what the profile image routes need from the accounts core.
type ImageDirectory interface {
	SetProfileImage(ctx context.Context, ref roster.AccountRef, up profileimage.Upload) error
	DeleteProfileImage(ctx context.Context, ref roster.AccountRef) error
	ProfileImage(ctx context.Context, name string, size int) (*roster.ProfileImage, error)
	ProfileImageLimits() profileimage.Limits
}

// ImageSurface names the surface of the profile image routes.
const ImageSurface = roster.ViaOpenEdX + "-images"

type images struct {
	h       *Handler
	surface *httpx.Surface
}

func (h *Handler) registerImages(mux *httpx.Router) {
	im := &images{h: h}
	im.surface = &httpx.Surface{Name: ImageSurface, WriteError: im.writeError}
	mux.HandleFunc(im.surface, "/api/user/v1/accounts/{username}/image", im.view)
	mux.HandleFunc(im.surface, "GET /media/profile-images/{file}", im.media)
	mux.HandleFunc(im.surface, "GET /static/images/profiles/{file}", im.defaults)
}

// imageAllow is the view's Allow header, which Django REST framework sends with every
// answer of the view, errors too.
const imageAllow = "POST, DELETE, OPTIONS"

// The view's texts.
const (
	msgNoCredentials = "Authentication credentials were not provided."
	msgForbidden     = "You do not have permission to perform this action."
	msgNoFile        = "No file provided for profile image"
	msgNoFilename    = "Missing filename. Request should include a Content-Disposition header with a filename parameter."
	msgBadMediaType  = "The Content-Type header for this file does not match the file data. The file may be corrupted."
	msgBadSignature  = "The file name extension for this file does not match the file data. The file may be corrupted."
	msgTooManyPixels = "The file is too large to process."
)

// rawImageTypes are the media types of a raw upload (Open edX's TypedFileUploadParser
// with the view's upload_media_types), compared with the whole Content-Type as sent.
var rawImageTypes = map[string]bool{"image/jpeg": true, "image/pjpeg": true, "image/png": true, "image/gif": true}

// view is ProfileImageView, in Django REST framework's order: the route (a username it
// does not match is no route), the credential, the owner, the method, the body.
func (im *images) view(w http.ResponseWriter, r *http.Request) {
	username := r.PathValue("username")
	if !usernamePattern.MatchString(username) {
		writeEmpty(w, http.StatusNotFound)
		return
	}
	w.Header().Set("Allow", imageAllow)
	actor, err := im.h.auth.Authenticate(w, r, credentials)
	if err == nil && actor.Anonymous() {
		err = errNoCredentials
	}
	if err != nil {
		im.writeError(w, r, err)
		return
	}
	ctx := roster.NewContextWithActor(r.Context(), actor)
	ref := roster.AccountRef{Username: username}
	// Open edX's IsUserInUrl: the caller's own username, in any case; nobody else's,
	// staff's neither. The core's decision says so for this surface.
	access, err := im.h.dir.AccountAccess(ctx, ref, "", "")
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		im.writeError(w, r, err)
		return
	}
	if err != nil || !access.Edit.Allowed {
		writeDeveloper(w, http.StatusForbidden, msgForbidden)
		return
	}
	switch r.Method {
	case http.MethodPost:
		im.upload(w, r, ctx, ref)
	case http.MethodDelete:
		if err := im.h.dir.DeleteProfileImage(ctx, ref); err != nil {
			im.refused(w, r, err)
			return
		}
		writeEmpty(w, http.StatusNoContent)
	default:
		writeDeveloper(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
	}
}

// upload reads the file from the body and hands it to the core.
func (im *images) upload(w http.ResponseWriter, r *http.Request, ctx context.Context, ref roster.AccountRef) {
	limit := im.h.dir.ProfileImageLimits().WithDefaults().MaxBytes
	up, found, err := readUpload(r, limit)
	switch {
	case err != nil:
		var pe *parseError
		if errors.As(err, &pe) {
			writeDeveloper(w, pe.status, pe.msg)
			return
		}
		im.writeError(w, r, err)
		return
	case !found:
		writeJSON(w, http.StatusBadRequest, obj{{"developer_message", msgNoFile}, {"user_message", msgNoFile}})
		return
	}
	if err := im.h.dir.SetProfileImage(ctx, ref, up); err != nil {
		im.refused(w, r, err)
		return
	}
	writeEmpty(w, http.StatusNoContent)
}

// refused answers the core's refusal of an upload or a removal.
func (im *images) refused(w http.ResponseWriter, r *http.Request, err error) {
	e := roster.AsError(err)
	switch {
	case e.Code == roster.EINVALID && len(e.Problems) == 1 && strings.HasPrefix(e.Reason, "image_"):
		msg := imageMessage(e.Problems[0])
		writeJSON(w, http.StatusBadRequest, obj{{"developer_message", msg}, {"user_message", msg}})
	case e.Code == roster.EFORBIDDEN && e.Reason != roster.RCSRF, e.Code == roster.ENOTFOUND:
		// The account changed hands or went away between the check and the change.
		writeDeveloper(w, http.StatusForbidden, msgForbidden)
	default:
		im.writeError(w, r, err)
	}
}

// imageMessage words a refused upload as Open edX's validate_uploaded_image does, and as
// its later versions word a file over the pixel limit (too large to process) and one
// that does not decode (the media type message).
func imageMessage(p roster.Problem) string {
	switch p.Reason {
	case roster.RImageTooLarge:
		return "The file must be smaller than " + friendlySize(int64(p.Limit)) + " in size."
	case roster.RImageTooSmall:
		return "The file must be at least " + friendlySize(int64(p.Limit)) + " in size."
	case roster.RImageType:
		return "The file must be one of the following types: " + strings.Join(profileimage.Extensions(), ", ") + "."
	case roster.RImageSignature:
		return msgBadSignature
	case roster.RImagePixels:
		return msgTooManyPixels
	}
	return msgBadMediaType // RImageMediaType, RImageUndecodable
}

// friendlySize is Open edX's _user_friendly_size: whole KB or MB, rounded down.
func friendlySize(n int64) string {
	units := []string{"bytes", "KB", "MB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatInt(n, 10) + " " + units[i]
}

// parseError is a body the view cannot read, with Django REST framework's answer.
type parseError struct {
	status int
	msg    string
}

func (e *parseError) Error() string { return e.msg }

// readUpload reads the uploaded file as Django REST framework's parsers of the view
// would: the multipart field "file" (a part with a file name; a plain field is no file),
// or a raw body of an image media type named by Content-Disposition. No body at all,
// and a form, hold no file. Bytes past limit are counted, not kept.
func readUpload(r *http.Request, limit int64) (up profileimage.Upload, found bool, err error) {
	if r.ContentLength == 0 {
		return up, false, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return up, false, &parseError{http.StatusBadRequest, "Multipart form parse error - Invalid boundary in multipart: None"}
		}
		mr := multipart.NewReader(r.Body, boundary)
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return up, found, nil
			}
			if err != nil {
				return up, false, multipartError(err)
			}
			if part.FormName() != "file" || part.FileName() == "" {
				if _, err := io.Copy(io.Discard, part); err != nil {
					return up, false, multipartError(err)
				}
				continue
			}
			// Django keeps the last file of a field.
			next := profileimage.Upload{Filename: part.FileName(), MediaType: part.Header.Get("Content-Type")}
			if next.Data, next.Size, err = readBounded(part, limit); err != nil {
				return up, false, multipartError(err)
			}
			up, found = next, true
		}
	case mt == "application/x-www-form-urlencoded":
		return up, false, nil
	case !rawImageTypes[ct]:
		return up, false, &parseError{http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported media type %q in request.", ct)}
	}
	_, cd, _ := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
	name, ok := cd["filename"]
	if !ok {
		return up, false, &parseError{http.StatusBadRequest, msgNoFilename}
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ext = strings.ToLower(name[i:])
	}
	allowed := false
	for _, e := range profileimage.MediaTypeExtensions[ct] {
		allowed = allowed || e == ext
	}
	if !allowed {
		return up, false, &parseError{http.StatusBadRequest,
			fmt.Sprintf(`File extension does not match requested Content-type. Filename: "%s", Content-type: "%s"`, name, ct)}
	}
	up = profileimage.Upload{Filename: name, MediaType: ct}
	if up.Data, up.Size, err = readBounded(r.Body, limit); err != nil {
		return up, false, err
	}
	return up, true, nil
}

// readBounded keeps the first limit+1 bytes of rd and counts the rest: enough to tell a
// file over the limit, whose size Open edX reports, without holding it.
func readBounded(rd io.Reader, limit int64) ([]byte, int64, error) {
	var b bytes.Buffer
	n, err := io.Copy(&b, io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, n, err
	}
	rest, err := io.Copy(io.Discard, rd)
	return b.Bytes(), n + rest, err
}

// multipartError is a multipart body that does not parse: Django REST framework's 400,
// unless the body was over the route's limit.
func multipartError(err error) error {
	if httpx.IsBodyTooLarge(err) {
		return err
	}
	return &parseError{http.StatusBadRequest, "Multipart form parse error - " + err.Error()}
}

// media serves one size of a profile image from the store, as a web server serves Open
// edX's media files: to anyone, whatever credential the request carries, so that the
// core decides as for an anonymous reader and the answer may be cached publicly. The
// file name never changes with an upload; the ?v= version of the account's URLs does,
// so the answer to the current version is cached for a year, any other revalidated.
func (im *images) media(w http.ResponseWriter, r *http.Request) {
	name, size, ok := parseImageFile(r.PathValue("file"))
	if !ok {
		writeEmpty(w, http.StatusNotFound)
		return
	}
	ctx := roster.NewContextWithActor(r.Context(), im.h.auth.Anonymous(r, credentials))
	img, err := im.h.dir.ProfileImage(ctx, name, size)
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			writeEmpty(w, http.StatusNotFound)
			return
		}
		im.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", fmt.Sprintf(`"%d-%d"`, img.UploadedAt.UnixMicro(), size))
	if r.URL.Query().Get("v") == imageVersion(img) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	http.ServeContent(w, r, "", img.UploadedAt, bytes.NewReader(img.Data))
}

// imageVersion is the ?v= of an image's URLs: its upload time in epoch seconds, as Open
// edX's strftime("%s") on a server in UTC.
func imageVersion(img *roster.ProfileImage) string {
	return strconv.FormatInt(img.UploadedAt.Unix(), 10)
}

// parseImageFile reads <name>_<size>.jpg.
func parseImageFile(file string) (name string, size int, ok bool) {
	stem, found := strings.CutSuffix(file, ".jpg")
	i := strings.LastIndexByte(stem, '_')
	if !found || i < 0 {
		return "", 0, false
	}
	size, err := strconv.Atoi(stem[i+1:])
	if err != nil || stem[i+1:] != strconv.Itoa(size) {
		return "", 0, false
	}
	return stem[:i], size, true
}

// defaultETags are the default images' ETags, by size, from their bytes: the same on
// every replica, which draws the same bytes.
var defaultETags = sync.OnceValue(func() map[int]string {
	tags := map[int]string{}
	for size, b := range profileimage.Defaults() {
		sum := sha256.Sum256(b)
		tags[size] = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	return tags
})

// defaults serves the default images, default_<size>.png.
func (im *images) defaults(w http.ResponseWriter, r *http.Request) {
	stem, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	sizeText, ok2 := strings.CutPrefix(stem, "default_")
	size, err := strconv.Atoi(sizeText)
	b, known := profileimage.Defaults()[size]
	if !ok || !ok2 || err != nil || !known || sizeText != strconv.Itoa(size) {
		writeEmpty(w, http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", defaultETags()[size])
	// They change only with Roster's code, so long caching is safe; no Last-Modified,
	// which no two replicas would agree on.
	h.Set("Cache-Control", "public, max-age=31536000")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// writeDeveloper writes Open edX's DeveloperErrorViewMixin error.
func writeDeveloper(w http.ResponseWriter, status int, msg any) {
	writeJSON(w, status, obj{{"developer_message", msg}})
}

// writeError answers err as the view's DeveloperErrorViewMixin does: Django REST
// framework's texts under developer_message, and no WWW-Authenticate.
func (im *images) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = httpx.TooLarge(err)
	e := roster.AsError(err)
	switch e.Code {
	case roster.EUNAUTHENTICATED:
		if err != errNoCredentials && r.Header.Get("Authorization") != "" {
			writeDeveloper(w, http.StatusUnauthorized, obj{{"error_code", "token_nonexistent"},
				{"developer_message", "The provided access token does not match any valid tokens."}})
			return
		}
		writeDeveloper(w, http.StatusUnauthorized, msgNoCredentials)
	case roster.EFORBIDDEN:
		msg := msgForbidden
		if e.Reason == roster.RCSRF {
			msg = "CSRF Failed: CSRF token missing or incorrect."
		}
		writeDeveloper(w, http.StatusForbidden, msg)
	case roster.ENOTFOUND:
		writeEmpty(w, http.StatusNotFound)
	case roster.ETOOMANY:
		after := max(1, e.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(after))
		writeDeveloper(w, http.StatusTooManyRequests, "Request was throttled. Expected available in "+strconv.Itoa(after)+" seconds.")
	case roster.EINTERNAL, roster.EUNAVAILABLE:
		if !httpx.ClientGone(r) {
			im.h.log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
		}
		status, msg := http.StatusInternalServerError, "A server error occurred."
		if e.Code == roster.EUNAVAILABLE {
			status, msg = http.StatusServiceUnavailable, roster.ErrorMessage(e)
		}
		writeDeveloper(w, status, msg)
	default:
		writeDeveloper(w, httpx.StatusOf(e), roster.ErrorMessage(e))
	}
}
