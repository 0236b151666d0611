package redcap

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestValidUTF8Reader: valid text passes through whole however the reads split its
// runes; the first invalid byte ends it.
func TestValidUTF8Reader(t *testing.T) {
	text := strings.Repeat("aé€😀", 300)
	for name, r := range map[string]io.Reader{
		"whole":    strings.NewReader(text),
		"one-byte": iotest.OneByteReader(strings.NewReader(text)),
		"half":     iotest.HalfReader(strings.NewReader(text)),
	} {
		got, err := io.ReadAll(&validUTF8{r: r})
		if err != nil || string(got) != text {
			t.Fatalf("%s: %d bytes, %v", name, len(got), err)
		}
		var small bytes.Buffer
		v := &validUTF8{r: iotest.OneByteReader(strings.NewReader(text))}
		buf := make([]byte, 3)
		for {
			n, err := v.Read(buf)
			small.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if small.String() != text {
			t.Fatalf("reads of 3 bytes lost text: %d of %d bytes", small.Len(), len(text))
		}
	}
	for _, bad := range []string{"ab\xffcd", "é\xc3", "\xe2\x82", "a\xed\xa0\x80b"} {
		got, err := io.ReadAll(&validUTF8{r: iotest.OneByteReader(strings.NewReader(bad))})
		if !errors.Is(err, errInvalidUTF8) {
			t.Fatalf("%q: %q, %v; want the invalid-UTF-8 error", bad, got, err)
		}
	}
}
