// Package mail delivers the outbox: workers lease due messages from the core, send them
// through an SMTP server, and record the outcome, retrying with exponential backoff.
//
// Every message was written to the outbox in the transaction of the change it tells of
// (core), so a message is never lost: while the mail server is down it waits, and a
// worker that dies leaves its leased messages to another once their leases expire. A
// worker that dies after the server accepted a message but before recording it causes
// one resend, with the same Message-ID header, which mail clients show once.
package mail

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// TLSMode is how a connection to the mail server is secured.
type TLSMode string

const (
	// STARTTLS when the server offers it (smtp://, the default).
	TLSOpportunistic TLSMode = "opportunistic"
	// STARTTLS, and no delivery over a server that does not offer it
	// (smtp://…?starttls=require).
	TLSRequired TLSMode = "require"
	// Plain text always (smtp://…?starttls=off), for a relay on a trusted network.
	TLSOff TLSMode = "off"
	// TLS from the first byte (smtps://, usually port 465).
	TLSImplicit TLSMode = "implicit"
)

// Config is a mail server, as ROSTER_SMTP_URL gives it.
type Config struct {
	Host, Port string
	Username   string
	Password   string
	From       string // the sender's address
	TLS        TLSMode
	// HeloName is the name Roster gives in EHLO (default: the host's name).
	HeloName string
	// TLSConfig, when set, is used for STARTTLS and implicit TLS (tests pass their CA).
	TLSConfig *tls.Config
}

// ParseURL reads a mail server's URL:
//
//	smtp://[user:password@]host[:port]?from=ADDRESS[&starttls=require|off][&helo=NAME]
//	smtps://[user:password@]host[:port]?from=ADDRESS[&helo=NAME]
//
// The port defaults to 587 for smtp and 465 for smtps. With a user, Roster
// authenticates with AUTH PLAIN, which it sends only over TLS (or to a server on this
// host).
func ParseURL(s string) (*Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("the SMTP URL does not parse") // the error would echo the password
	}
	c := &Config{Host: u.Hostname(), Port: u.Port()}
	switch u.Scheme {
	case "smtp":
		c.TLS = TLSOpportunistic
		if c.Port == "" {
			c.Port = "587"
		}
	case "smtps":
		c.TLS = TLSImplicit
		if c.Port == "" {
			c.Port = "465"
		}
	default:
		return nil, fmt.Errorf("the SMTP URL's scheme is %q; use smtp:// or smtps://", u.Scheme)
	}
	if c.Host == "" {
		return nil, fmt.Errorf("the SMTP URL names no host")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "from", "starttls", "helo":
		default:
			return nil, fmt.Errorf("the SMTP URL has an unknown parameter %q (from, starttls, helo)", k)
		}
	}
	switch st := q.Get("starttls"); {
	case st == "":
	case c.TLS == TLSImplicit:
		return nil, fmt.Errorf("starttls applies to smtp://, not smtps://")
	case st == "require" || st == "off":
		c.TLS = TLSMode(st)
	default:
		return nil, fmt.Errorf("starttls=%q: use require or off", st)
	}
	c.HeloName = q.Get("helo")
	from, err := mail.ParseAddress(q.Get("from"))
	if err != nil || from.Name != "" {
		return nil, fmt.Errorf("the SMTP URL needs from=ADDRESS, the sender's address")
	}
	c.From = from.Address
	return c, nil
}

// String names the server without its password, for logs.
func (c *Config) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.Host, c.Port)}
	if c.TLS == TLSImplicit {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

// Sender delivers one message through the mail server, within a deadline.
type Sender interface {
	Send(m *roster.Message, deadline time.Time) error
}

// SMTP sends through a mail server with net/smtp.
type SMTP struct {
	Config *Config
}

// PermanentError is a refusal the server means for good (a 5xx reply to the recipient):
// the message is not tried again.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Send opens a connection, sends m, and closes it. The connection's deadline bounds the
// whole exchange, so that a worker stops talking to the server before its lease on m
// ends and another worker may take it.
func (s *SMTP) Send(m *roster.Message, deadline time.Time) error {
	c := s.Config
	msg, err := compose(c.From, m)
	if err != nil {
		return &PermanentError{err}
	}
	addr := net.JoinHostPort(c.Host, c.Port)
	d := net.Dialer{Deadline: deadline}
	var conn net.Conn
	if c.TLS == TLSImplicit {
		conn, err = tls.DialWithDialer(&d, "tcp", addr, s.tlsConfig())
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Hello(s.heloName()); err != nil {
		return err
	}
	if c.TLS == TLSOpportunistic || c.TLS == TLSRequired {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(s.tlsConfig()); err != nil {
				return err
			}
		} else if c.TLS == TLSRequired {
			return fmt.Errorf("the mail server %s does not offer STARTTLS, which the SMTP URL requires", addr)
		}
	}
	if c.Username != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return fmt.Errorf("the mail server %s does not offer AUTH, and the SMTP URL gives a user", addr)
		}
		// PlainAuth refuses to send the password unless the connection is TLS or the
		// server is on this host.
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return err
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return err
	}
	if err := cl.Rcpt(m.To); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return &PermanentError{err} // the server says the recipient does not exist
		}
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil { // the server's answer to the message: accepted or not
		return err
	}
	_ = cl.Quit() // accepted: a failed goodbye changes nothing
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.Config.TLSConfig != nil {
		t := s.Config.TLSConfig.Clone()
		if t.ServerName == "" {
			t.ServerName = s.Config.Host
		}
		return t
	}
	return &tls.Config{ServerName: s.Config.Host, MinVersion: tls.VersionTLS12}
}

func (s *SMTP) heloName() string {
	if s.Config.HeloName != "" {
		return s.Config.HeloName
	}
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// compose writes m as an RFC 5322 message: its fixed Message-ID, the subject encoded
// where it is not ASCII, and the body as quoted-printable UTF-8 text, whose lines no
// mail server rewraps.
func compose(from string, m *roster.Message) ([]byte, error) {
	for _, v := range []string{from, m.To, m.Subject, m.MessageID} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("a header of message %d holds a line break", m.ID)
		}
	}
	if _, err := mail.ParseAddress(m.To); err != nil {
		return nil, fmt.Errorf("message %d: the recipient is not an address", m.ID)
	}
	var b bytes.Buffer
	date := m.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	for _, h := range [][2]string{
		{"From", from}, {"To", m.To}, {"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", date.UTC().Format(time.RFC1123Z)}, {"Message-ID", m.MessageID}, {"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"}, {"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
