package httpx

import (
	"bufio"
	"log/slog"
	"net/http"
)

// Stream writes a list as it is produced, in constant memory, for every surface that
// lists without bound (CKAN's user_list, REDCap's exports, /v1's project members).
//
// The head goes out with the first item, so that an error before any item still gets
// the surface's normal error response, with its status. An error after the head can
// only end the response early: the body is left unterminated, which clients notice, and
// the error is logged.
type Stream struct {
	W           http.ResponseWriter
	R           *http.Request
	ContentType string
	// Head, Sep and Tail frame the items: `{"members":[`, `,`, `]}`.
	Head, Sep, Tail string
	// Empty, when set, is the whole body of a list without items, instead of Head and
	// Tail (REDCap's CSV of no rows is a header line).
	Empty string
	// Log and What word the log line of a list that ended early.
	Log  *slog.Logger
	What string

	bw *bufio.Writer
}

// Started reports whether the head has gone out.
func (s *Stream) Started() bool { return s.bw != nil }

func (s *Stream) begin() {
	s.W.Header().Set("Content-Type", s.ContentType)
	s.W.WriteHeader(http.StatusOK)
	s.bw = bufio.NewWriterSize(s.W, 64<<10)
	s.bw.WriteString(s.Head)
}

// Item writes one item, preceded by the head or the separator.
func (s *Stream) Item(b []byte) error {
	if s.bw == nil {
		s.begin()
	} else if _, err := s.bw.WriteString(s.Sep); err != nil {
		return err
	}
	_, err := s.bw.Write(b)
	return err
}

// End finishes the list that produce ended with err. Before the head, err is returned
// for the caller's normal error response; after it, the list ends early and End returns
// nil. Without an error it writes the tail (or, with no items, the empty list).
func (s *Stream) End(err error) error {
	switch {
	case err != nil && s.bw == nil:
		return err
	case err != nil:
		if !ClientGone(s.R) {
			s.Log.ErrorContext(s.R.Context(), s.What+" ended early", "request_id", RequestIDFrom(s.R.Context()), "err", err)
		}
		s.bw.Flush()
		return nil
	case s.bw == nil && s.Empty != "":
		s.W.Header().Set("Content-Type", s.ContentType)
		s.W.WriteHeader(http.StatusOK)
		_, err := s.W.Write([]byte(s.Empty))
		return err
	case s.bw == nil:
		s.begin()
	}
	s.bw.WriteString(s.Tail)
	return s.bw.Flush()
}
