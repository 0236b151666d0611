package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
)

// Form is a POST body's fields (form-encoded or multipart), read as a stream: one named
// field, an import's data, may be far larger than memory should hold, so it is
// spooled to a temporary file past a threshold instead of kept whole. The clients that
// send such bodies (PHP's, e.g. PyCap against REDCap) put that field anywhere among the
// others, so it cannot be parsed before the rest has been read.
type Form struct {
	// Keys are the field names in the order they came; Values their values (last wins).
	Keys   []string
	Values map[string]string
	spool  *spool
	opts   FormOptions
	body   *meter
	fields int
}

// Get returns a field's value, "" when absent.
func (f *Form) Get(key string) string { return f.Values[key] }

// Has reports whether the field was sent.
func (f *Form) Has(key string) bool {
	_, ok := f.Values[key]
	return ok
}

// Spooled returns a reader of the spooled field from its start, and whether it was
// sent.
func (f *Form) Spooled() (io.Reader, bool) {
	if f.spool == nil {
		return nil, false
	}
	return f.spool.reader(), true
}

// Close removes the spool's temporary file, if any.
func (f *Form) Close() error {
	if f.spool == nil {
		return nil
	}
	return f.spool.close()
}

// Limits on what ReadForm holds in memory. The spooled field is written to disk past
// spoolMemory and bounded only by the body's limit (LimitBody). Every other field is
// kept in memory until the request ends, and is read before the caller can tell whether
// the sender may make the request at all (REDCap's token is a field like any other), so
// these bound it; reading stops as soon as one is passed.
const (
	// MaxFieldBytes bounds each field but the spooled one, decoded.
	MaxFieldBytes = 1 << 20
	// MaxFormFields bounds how many fields a body holds, the spooled one included. The
	// largest requests REDCap's clients send are deletes, one field per name: deleting
	// 100,000 users at once (users[0]=…&users[1]=…) fits.
	MaxFormFields = 100_000
	// MaxFormBytes bounds the bytes of the body outside the spooled field's value, as
	// sent: every other key and value (escapes counted in full), the separators, and in a
	// multipart body each part's boundary and headers. 100,000 usernames of 100 characters,
	// with their keys, fit. It is checked as the body is read, so reading stops within the
	// reader's 64 KiB read-ahead of it.
	MaxFormBytes = 16 << 20
)

// ReadForm's refusals at its limits.
var (
	ErrFieldTooLong  = fmt.Errorf("a form field is longer than %d bytes", MaxFieldBytes)
	ErrTooManyFields = fmt.Errorf("the form has more than %d fields", MaxFormFields)
	ErrFormTooLarge  = fmt.Errorf("the form's fields other than the spooled one hold more than %d bytes", MaxFormBytes)
)

// IsTooLarge reports whether err is ReadForm stopping at one of its limits, or the body
// passing LimitBody's.
func IsTooLarge(err error) bool {
	return errors.Is(err, ErrFieldTooLong) || errors.Is(err, ErrTooManyFields) || errors.Is(err, ErrFormTooLarge) || IsBodyTooLarge(err)
}

// spoolMemory is how much of the spooled field stays in memory.
const spoolMemory = 1 << 20

// readAhead is the most the form readers buffer beyond what they have parsed.
const readAhead = 64 << 10

// FormOptions says how ReadForm reads a body.
type FormOptions struct {
	// Spool names the field whose value may be large: it is spooled, and does not count
	// against MaxFormBytes.
	Spool string
	// Field, when set, is called with each field as soon as it has been read, before the
	// rest of the body is; for the spooled field it is called with an empty value before
	// any of the value is read. An error from it stops the reading there, and ReadForm
	// returns that error: a caller can refuse a request on its first fields without
	// reading, let alone spooling, the rest.
	Field func(name, value string) error
}

// ReadForm reads r's body as form fields. A body that is neither form-encoded nor
// multipart reads as no fields.
func ReadForm(r *http.Request, opts FormOptions) (*Form, error) {
	f := &Form{Values: map[string]string{}, opts: opts, body: &meter{r: r.Body}}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch mt {
	case "application/x-www-form-urlencoded":
		err = f.readURLEncoded(bufio.NewReaderSize(f.body, readAhead))
	case "multipart/form-data":
		err = f.readMultipart(multipart.NewReader(f.body, params["boundary"]))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// meter counts a body's bytes as they are read, and stops reading once more than
// MaxFormBytes of them (and the read-ahead) lie outside the spooled field's value. It
// sits under the parsers, so it stops them wherever they are: in a key, a value, or a
// multipart part's headers.
type meter struct {
	r       io.Reader
	read    int64 // bytes read from r
	spooled int64 // bytes of the spooled field's values, as sent
}

func (m *meter) Read(p []byte) (int, error) {
	if m.read-m.spooled > MaxFormBytes+readAhead {
		return 0, ErrFormTooLarge
	}
	n, err := m.r.Read(p)
	m.read += int64(n)
	return n, err
}

// field records one field that has been read whole.
func (f *Form) field(key, value string) error {
	if err := f.count(); err != nil {
		return err
	}
	if _, ok := f.Values[key]; !ok {
		f.Keys = append(f.Keys, key)
	}
	f.Values[key] = value
	if f.opts.Field != nil {
		return f.opts.Field(key, value)
	}
	return nil
}

func (f *Form) count() error {
	f.fields++
	if f.fields > MaxFormFields {
		return ErrTooManyFields
	}
	return nil
}

// startSpool begins (again: the last value wins) the spooled field.
func (f *Form) startSpool() error {
	if err := f.count(); err != nil {
		return err
	}
	if f.opts.Field != nil {
		if err := f.opts.Field(f.opts.Spool, ""); err != nil {
			return err
		}
	}
	if _, ok := f.Values[f.opts.Spool]; !ok {
		f.Keys = append(f.Keys, f.opts.Spool)
	}
	f.Values[f.opts.Spool] = ""
	if f.spool == nil {
		f.spool = &spool{}
	} else {
		f.spool.reset()
	}
	return nil
}

func (f *Form) readMultipart(mr *multipart.Reader) error {
	for {
		// Raw parts, as PHP reads them: no Content-Transfer-Encoding is undone (RFC 7578
		// forbids senders to use one), so what is spooled is what was sent.
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return formError(err)
		}
		name := p.FormName()
		if name == f.opts.Spool && f.opts.Spool != "" {
			if err := f.startSpool(); err != nil {
				return err
			}
			if _, err := io.Copy(&spoolCounter{s: f.spool, m: f.body}, p); err != nil {
				return formError(err)
			}
			continue
		}
		var b bytes.Buffer
		n, err := io.Copy(&b, io.LimitReader(p, MaxFieldBytes+1))
		if err != nil {
			return formError(err)
		}
		if n > MaxFieldBytes {
			return ErrFieldTooLong
		}
		if err := f.field(name, b.String()); err != nil {
			return err
		}
	}
}

// formError passes on a limit the meter hit as itself, whatever the parser wrapped it in.
func formError(err error) error {
	if errors.Is(err, ErrFormTooLarge) {
		return ErrFormTooLarge
	}
	return err
}

// spoolCounter writes the spooled field, counting its bytes as sent.
type spoolCounter struct {
	s *spool
	m *meter
}

func (c *spoolCounter) Write(p []byte) (int, error) {
	c.m.spooled += int64(len(p))
	return c.s.Write(p)
}

// readURLEncoded parses key=value&… as PHP does: + is a space, %XX a byte, and a %
// that starts no escape stays as it is.
func (f *Form) readURLEncoded(br *bufio.Reader) error {
	d := &urlDecoder{br: br}
	var key bytes.Buffer
	var val bytes.Buffer
	for {
		key.Reset()
		end, _, err := d.decodeUntil(&key, "=&", MaxFieldBytes)
		if err != nil {
			return formError(err)
		}
		if key.Len() == 0 && end != '=' {
			if end == 0 {
				return nil
			}
			continue // "&&"
		}
		name := key.String()
		switch {
		case name == f.opts.Spool && f.opts.Spool != "":
			// Started even without "=": a bare key is an empty value, and as the last
			// value it replaces what an earlier one spooled.
			if err := f.startSpool(); err != nil {
				return err
			}
			if end != '=' {
				break
			}
			// The value's bytes are counted as spooled while they are read, not once
			// they all have been: the meter would otherwise count a large value
			// against the other fields' limit before it ends.
			d.counted = &f.body.spooled
			end, _, err = d.decodeUntil(f.spool, "&", -1)
			d.counted = nil
			if err != nil {
				return formError(err)
			}
		case end != '=':
			if err := f.field(name, ""); err != nil {
				return err
			}
		default:
			val.Reset()
			end, _, err = d.decodeUntil(&val, "&", MaxFieldBytes)
			if err != nil {
				return formError(err)
			}
			if err := f.field(name, val.String()); err != nil {
				return err
			}
		}
		if end == 0 {
			return nil
		}
	}
}

// urlDecoder percent-decodes a body, batching its output in one buffer for the whole
// body: a fresh buffer per field would cost more than a tiny field itself.
type urlDecoder struct {
	br  *bufio.Reader
	out [4096]byte
	// counted, when set, is advanced by each byte of input consumed.
	counted *int64
}

// decodeUntil decodes into w up to one of the stop bytes (returned) or the end of input
// (0), failing past limit decoded bytes unless limit < 0. It also returns how many bytes
// of input it consumed, the stop byte included.
func (d *urlDecoder) decodeUntil(w io.Writer, stops string, limit int) (byte, int64, error) {
	n, total := 0, 0
	var sent int64
	flush := func() error {
		if n == 0 {
			return nil
		}
		total += n
		if limit >= 0 && total > limit {
			return ErrFieldTooLong
		}
		_, err := w.Write(d.out[:n])
		n = 0
		return err
	}
	for {
		c, err := d.br.ReadByte()
		if err == io.EOF {
			return 0, sent, flush()
		}
		if err != nil {
			return 0, sent, err
		}
		sent++
		if d.counted != nil {
			*d.counted++
		}
		if c == stops[0] || len(stops) > 1 && c == stops[1] {
			return c, sent, flush()
		}
		switch c {
		case '+':
			c = ' '
		case '%':
			if hex, err := d.br.Peek(2); err == nil && isHex(hex[0]) && isHex(hex[1]) {
				c = unhex(hex[0])<<4 | unhex(hex[1])
				d.br.Discard(2)
				sent += 2
				if d.counted != nil {
					*d.counted += 2
				}
			}
		}
		d.out[n] = c
		n++
		if n == len(d.out) {
			if err := flush(); err != nil {
				return 0, sent, err
			}
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// spool keeps written bytes in memory up to spoolMemory, then in a temporary file.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	size int64
}

func (s *spool) Write(p []byte) (int, error) {
	s.size += int64(len(p))
	if s.file == nil && s.mem.Len()+len(p) <= spoolMemory {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "roster-form-*")
		if err != nil {
			return 0, fmt.Errorf("spooling a form field: %w", err)
		}
		// Unlinked at once and read through the open handle: a process killed in the
		// middle of an import leaves no file of it behind in $TMPDIR.
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return 0, fmt.Errorf("spooling a form field: %w", err)
		}
		s.file = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem = bytes.Buffer{}
	}
	return s.file.Write(p)
}

func (s *spool) reader() io.Reader {
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes())
	}
	return bufio.NewReaderSize(io.NewSectionReader(s.file, 0, s.size), 64<<10)
}

func (s *spool) reset() {
	s.mem.Reset()
	s.size = 0
	if s.file != nil {
		s.file.Truncate(0)
		s.file.Seek(0, io.SeekStart)
	}
}

func (s *spool) close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close() // the file was unlinked when made
}

// IsBodyTooLarge reports whether err came from reading past a body limit.
func IsBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// TooLarge returns err as the ETOOLARGE error it stands for, when it came from reading
// past a body limit; else err.
func TooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return BodyTooLarge(mbe.Limit)
	}
	return err
}
