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

// ErrFieldTooLong is a field other than the spooled one over MaxFieldBytes.
var ErrFieldTooLong = errors.New("a form field is too long")

// MaxFieldBytes bounds every field but the spooled one.
const MaxFieldBytes = 1 << 20

// spoolMemory is how much of the spooled field stays in memory.
const spoolMemory = 1 << 20

// ReadForm reads r's body as form fields, spooling the field named spoolField. A body
// that is neither form-encoded nor multipart reads as no fields.
func ReadForm(r *http.Request, spoolField string) (*Form, error) {
	f := &Form{Values: map[string]string{}}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch mt {
	case "application/x-www-form-urlencoded":
		err = f.readURLEncoded(bufio.NewReaderSize(r.Body, 64<<10), spoolField)
	case "multipart/form-data":
		err = f.readMultipart(multipart.NewReader(r.Body, params["boundary"]), spoolField)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *Form) set(key, value string) {
	if _, ok := f.Values[key]; !ok {
		f.Keys = append(f.Keys, key)
	}
	f.Values[key] = value
}

func (f *Form) readMultipart(mr *multipart.Reader, spoolField string) error {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := p.FormName()
		if name == spoolField {
			if f.spool == nil {
				f.spool = &spool{}
			} else {
				f.spool.reset()
			}
			if _, err := io.Copy(f.spool, p); err != nil {
				return err
			}
			f.set(name, "")
			continue
		}
		var b bytes.Buffer
		n, err := io.Copy(&b, io.LimitReader(p, MaxFieldBytes+1))
		if err != nil {
			return err
		}
		if n > MaxFieldBytes {
			return ErrFieldTooLong
		}
		f.set(name, b.String())
	}
}

// readURLEncoded parses key=value&… as PHP does: + is a space, %XX a byte, and a %
// that starts no escape stays as it is.
func (f *Form) readURLEncoded(br *bufio.Reader, spoolField string) error {
	var key bytes.Buffer
	var val bytes.Buffer
	for {
		key.Reset()
		end, err := decodeUntil(br, &key, "=&", MaxFieldBytes)
		if err != nil {
			return err
		}
		if key.Len() == 0 && end != '=' {
			if end == 0 {
				return nil
			}
			continue // "&&"
		}
		name := key.String()
		if end != '=' {
			f.set(name, "")
			if end == 0 {
				return nil
			}
			continue
		}
		if name == spoolField {
			if f.spool == nil {
				f.spool = &spool{}
			} else {
				f.spool.reset()
			}
			end, err = decodeUntil(br, f.spool, "&", -1)
			f.set(name, "")
		} else {
			val.Reset()
			end, err = decodeUntil(br, &val, "&", MaxFieldBytes)
			f.set(name, val.String())
		}
		if err != nil {
			return err
		}
		if end == 0 {
			return nil
		}
	}
}

// decodeUntil percent-decodes from br into w up to one of the stop bytes (returned) or
// the end of input (0), failing past limit bytes unless limit < 0.
func decodeUntil(br *bufio.Reader, w io.Writer, stops string, limit int) (byte, error) {
	bw, buffered := w.(*bytes.Buffer)
	var out [4096]byte
	n, total := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		total += n
		if limit >= 0 && total > limit {
			return ErrFieldTooLong
		}
		var err error
		if buffered {
			bw.Write(out[:n])
		} else {
			_, err = w.Write(out[:n])
		}
		n = 0
		return err
	}
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return 0, flush()
		}
		if err != nil {
			return 0, err
		}
		if c == stops[0] || len(stops) > 1 && c == stops[1] {
			return c, flush()
		}
		switch c {
		case '+':
			c = ' '
		case '%':
			if hex, err := br.Peek(2); err == nil && isHex(hex[0]) && isHex(hex[1]) {
				c = unhex(hex[0])<<4 | unhex(hex[1])
				br.Discard(2)
			}
		}
		out[n] = c
		n++
		if n == len(out) {
			if err := flush(); err != nil {
				return 0, err
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
	name := s.file.Name()
	return errors.Join(s.file.Close(), os.Remove(name))
}

// IsBodyTooLarge reports whether err came from reading past LimitBody's limit.
func IsBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
