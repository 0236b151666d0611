// Package mailtest is an SMTP server for tests: it listens on 127.0.0.1, speaks enough
// SMTP for net/smtp (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no STARTTLS)
// and records every message it accepts. It can be taken down and brought back up on
// the same address, to play a mail server that fails.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message the sink accepted.
type Message struct {
	From   string
	To     []string
	Header mail.Header
	// Body is the body decoded (quoted-printable, as Roster sends it).
	Body string
}

// Sink is a recording SMTP server.
type Sink struct {
	ln   net.Listener
	addr string
	// User and Password, when set, are required (AUTH PLAIN) before MAIL.
	User, Password string

	mu       sync.Mutex
	msgs     []Message
	down     bool
	rejectTo map[string]bool
	conns    sync.WaitGroup
	closed   bool
}

// Start starts a sink; the test's cleanup stops it.
func Start(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{ln: ln, addr: ln.Addr().String(), rejectTo: map[string]bool{}}
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr is host:port.
func (s *Sink) Addr() string { return s.addr }

// URL is the sink's address as ROSTER_SMTP_URL takes it, sending from roster@example.org.
func (s *Sink) URL() string {
	auth := ""
	if s.User != "" {
		auth = s.User + ":" + s.Password + "@"
	}
	return "smtp://" + auth + s.addr + "?from=roster@example.org"
}

// SetDown makes the sink a server that is down (true): it closes every connection as
// soon as it is made, before greeting. SetDown(false) brings it back.
func (s *Sink) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Reject makes the sink refuse a recipient for good (550).
func (s *Sink) Reject(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectTo[strings.ToLower(addr)] = true
}

// Messages returns what the sink accepted so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// To returns the messages accepted for addr.
func (s *Sink) To(addr string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

// Wait waits until cond holds of the messages accepted, or fails the test when it does
// not within d.
func (s *Sink) Wait(t testing.TB, d time.Duration, what string, cond func([]Message) bool) []Message {
	t.Helper()
	end := time.Now().Add(d)
	for {
		ms := s.Messages()
		if cond(ms) {
			return ms
		}
		if time.Now().After(end) {
			t.Fatalf("the mail sink did not get %s within %s; it has %d messages", what, d, len(ms))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close stops the sink.
func (s *Sink) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.ln.Close()
	s.conns.Wait()
}

func (s *Sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			s.session(textproto.NewConn(c))
		}()
	}
}

// session speaks SMTP on one connection.
func (s *Sink) session(c *textproto.Conn) {
	reply := func(code int, msg string) bool { return c.PrintfLine("%d %s", code, msg) == nil }
	if !reply(220, "mailtest ESMTP") {
		return
	}
	var from string
	var to []string
	authed := s.User == ""
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			lines := []string{"mailtest", "8BITMIME"}
			if s.User != "" {
				lines = append(lines, "AUTH PLAIN")
			}
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				if c.PrintfLine("250%s%s", sep, l) != nil {
					return
				}
			}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if strings.ToUpper(mech) != "PLAIN" || err != nil || len(parts) != 3 || parts[1] != s.User || parts[2] != s.Password {
				reply(535, "authentication failed")
				continue
			}
			authed = true
			reply(235, "ok")
		case "MAIL":
			if !authed {
				reply(530, "authentication required")
				continue
			}
			from, to = addrOf(arg), nil
			reply(250, "ok")
		case "RCPT":
			addr := addrOf(arg)
			s.mu.Lock()
			rejected := s.rejectTo[strings.ToLower(addr)]
			s.mu.Unlock()
			if rejected {
				reply(550, "no such user")
				continue
			}
			to = append(to, addr)
			reply(250, "ok")
		case "DATA":
			if from == "" || len(to) == 0 {
				reply(503, "MAIL and RCPT first")
				continue
			}
			if !reply(354, "go on") {
				return
			}
			data, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			m, err := parse(from, to, data)
			if err != nil {
				reply(554, "bad message: "+err.Error())
				continue
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			from, to = "", nil
			reply(250, "queued")
		case "RSET":
			from, to = "", nil
			reply(250, "ok")
		case "NOOP":
			reply(250, "ok")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(502, "not implemented")
		}
	}
}

// addrOf reads the address of "FROM:<a@b> SIZE=…" or "TO:<a@b>".
func addrOf(arg string) string {
	i, j := strings.Index(arg, "<"), strings.Index(arg, ">")
	if i < 0 || j < i {
		return ""
	}
	return arg[i+1 : j]
}

func parse(from string, to []string, data []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Message{}, err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(msg.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Message{}, fmt.Errorf("the body does not decode: %v", err)
	}
	return Message{From: from, To: to, Header: msg.Header, Body: string(b)}, nil
}
