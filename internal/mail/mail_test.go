package mail

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/mail/mailtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/testkit"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"smtp://mail.example.org?from=roster@example.org", "smtp://mail.example.org:587 opportunistic roster@example.org  "},
		{"smtp://u%40x:p%3Ass@mail.example.org:2525?from=roster@example.org&starttls=require&helo=roster.example.org",
			"smtp://u%40x@mail.example.org:2525 require roster@example.org u@x:p:ss roster.example.org"},
		{"smtp://relay:25?from=r@example.org&starttls=off", "smtp://relay:25 off r@example.org  "},
		{"smtps://u:p@mail.example.org?from=roster@example.org", "smtps://u@mail.example.org:465 implicit roster@example.org u:p "},
	} {
		cfg, err := ParseURL(c.url)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		creds := ""
		if cfg.Username != "" {
			creds = cfg.Username + ":" + cfg.Password
		}
		if got := fmt.Sprintf("%s %s %s %s %s", cfg, cfg.TLS, cfg.From, creds, cfg.HeloName); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.url, got, c.want)
		}
	}
	for _, bad := range []string{
		"http://mail.example.org?from=a@b.c", "smtp://?from=a@b.c", "smtp://mail.example.org", "smtp://mail.example.org?from=Roster <a@b.c>",
		"smtp://mail.example.org?from=a@b.c&starttls=maybe", "smtps://mail.example.org?from=a@b.c&starttls=off",
		"smtp://mail.example.org?from=a@b.c&password=x", "smtp://u:secretpw@[bad?from=a@b.c",
	} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%s parsed", bad)
		} else if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%s: the error shows the password: %v", bad, err)
		}
	}
}

func TestCompose(t *testing.T) {
	m := &roster.Message{ID: 7, MessageID: "<abc.roster@example.org>", To: "bob@example.org", Subject: "Adresse geändert",
		Body:      "Hello,\n\nhttps://roster.example.org/email_confirm/" + strings.Repeat("k", 60) + "\n\nÆØÅ = fine\n",
		CreatedAt: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	b, err := compose("roster@example.org", m)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if msg.Header.Get("Message-ID") != m.MessageID || msg.Header.Get("To") != m.To || msg.Header.Get("From") != "roster@example.org" ||
		subject != m.Subject || msg.Header.Get("Date") != "Wed, 06 May 2026 07:08:09 +0000" {
		t.Fatalf("headers %v (subject %q)", msg.Header, subject)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if string(body) != strings.ReplaceAll(m.Body, "\n", "\r\n") {
		t.Fatalf("body %q", body)
	}
	for _, line := range strings.Split(string(b), "\r\n") {
		if len(line) > 78 {
			t.Fatalf("a line of %d characters: %q", len(line), line)
		}
	}
	for _, bad := range []*roster.Message{
		{MessageID: "<a@b>", To: "bob@example.org\r\nBcc: eve@example.org", Subject: "x"},
		{MessageID: "<a@b>", To: "bob@example.org", Subject: "x\nBcc: eve@example.org"},
		{MessageID: "<a@b>", To: "not an address", Subject: "x"},
	} {
		if _, err := compose("roster@example.org", bad); err == nil {
			t.Errorf("composed %+v", bad)
		}
	}
}

func engines(t *testing.T, fn func(t *testing.T, e *testkit.Env, clk *testkit.Clock)) {
	clk := &testkit.Clock{}
	testkit.Run(t, testkit.Setup{Core: func(c *core.Config) { c.Now = clk.Now }}, func(t *testing.T, e *testkit.Env) {
		clk.Set(time.Now().UTC().Truncate(time.Microsecond)) // as the store keeps times
		fn(t, e, clk)
	})
}

// changeEmail has a new account ask, through Open edX's API, for its email to become
// name@new.example.org, which queues the confirmation.
func changeEmail(t *testing.T, e *testkit.Env, name string) string {
	t.Helper()
	_, key := e.Account(t, map[string]any{"username": name, "email": name + "@example.com"})
	to := name + "@new.example.org"
	r := e.Do(t, "PATCH", "/api/user/v1/accounts/"+name, `{"email": "`+to+`"}`, "Authorization", "Bearer "+key,
		"Content-Type", "application/merge-patch+json")
	if r.Status != 200 {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	return to
}

func worker(t *testing.T, outbox Outbox, sink *mailtest.Sink) *Worker {
	t.Helper()
	cfg, err := ParseURL(sink.URL())
	if err != nil {
		t.Fatal(err)
	}
	return New(outbox, &SMTP{Config: cfg}, nil)
}

func runOnce(t *testing.T, w *Worker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func messages(t *testing.T, st roster.Store) []*roster.Message {
	t.Helper()
	ms, err := st.ListMessages(context.Background(), roster.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestServerDownThenUp: while the mail server is down, attempts fail and are retried
// with growing waits; the message is kept, body and all. Once the server is back, the
// message arrives once, and is recorded as sent, its body purged.
func TestServerDownThenUp(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock) {
		sink := mailtest.Start(t)
		sink.SetDown(true)
		to := changeEmail(t, e, "alice")
		w := worker(t, e.Svc, sink)
		var waits []time.Duration
		for attempt := 1; attempt <= 4; attempt++ {
			before := clk.Now()
			if n := runOnce(t, w); n != 1 {
				t.Fatalf("attempt %d leased %d messages", attempt, n)
			}
			m := messages(t, e.Store)[0]
			if m.State != roster.MessagePending || m.Body == "" || m.Attempts != attempt || m.LastError == "" || m.LeaseOwner != "" {
				t.Fatalf("after attempt %d: %+v", attempt, m)
			}
			waits = append(waits, m.NextAttemptAt.Sub(before))
			if n := runOnce(t, w); n != 0 {
				t.Fatalf("retried before its wait was over")
			}
			clk.Advance(m.NextAttemptAt.Sub(before))
		}
		if fmt.Sprint(waits) != "[30s 1m0s 2m0s 4m0s]" {
			t.Fatalf("waits %v, want exponential backoff from 30s", waits)
		}
		if len(sink.Messages()) != 0 {
			t.Fatal("a server that is down took a message")
		}

		sink.SetDown(false)
		if n := runOnce(t, w); n != 1 {
			t.Fatalf("leased %d", n)
		}
		if n := runOnce(t, w); n != 0 {
			t.Fatalf("leased %d after the message was sent", n)
		}
		clk.Advance(time.Hour)
		if n := runOnce(t, w); n != 0 {
			t.Fatalf("leased %d an hour after the message was sent", n)
		}
		if got := sink.To(to); len(got) != 1 || len(sink.Messages()) != 1 {
			t.Fatalf("%d messages arrived, %d for %s; want exactly one", len(sink.Messages()), len(got), to)
		}
		m := messages(t, e.Store)[0]
		if m.State != roster.MessageSent || m.Body != "" || m.Attempts != 5 || m.SentAt.IsZero() || m.LastError != "" {
			t.Fatalf("sent: %+v", m)
		}
	})
}

// countingSender counts what a worker sent, and takes a moment over each message, as
// a real server does, so that two workers' batches overlap.
type countingSender struct {
	Sender
	n atomic.Int64
}

func (s *countingSender) Send(m *roster.Message, deadline time.Time) error {
	time.Sleep(2 * time.Millisecond)
	err := s.Sender.Send(m, deadline)
	if err == nil {
		s.n.Add(1)
	}
	return err
}

// TestTwoWorkers: two workers, each with its own service and its own connections to
// the one database (as two replicas have), deliver the outbox together; every message
// arrives exactly once.
func TestTwoWorkers(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock) {
		const n = 24
		for i := range n {
			changeEmail(t, e, fmt.Sprintf("user%02d", i))
		}
		sink := mailtest.Start(t)
		other, err := core.New(e.OpenAgain(t), core.Config{Now: clk.Now, PasswordParams: secret.TestParams})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		senders := []*countingSender{}
		for _, outbox := range []Outbox{e.Svc, other} {
			w := worker(t, outbox, sink)
			cs := &countingSender{Sender: w.Sender}
			w.Sender, w.Batch, w.Poll = cs, 2, 5*time.Millisecond
			senders = append(senders, cs)
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(ctx) }()
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			pending, err := e.Store.ListMessages(context.Background(), roster.MessageFilter{State: roster.MessagePending})
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) == 0 {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				wg.Wait()
				t.Fatalf("%d messages still pending", len(pending))
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		seen := map[string]int{}
		for _, m := range sink.Messages() {
			seen[m.Header.Get("Message-ID")]++
		}
		for _, m := range messages(t, e.Store) {
			if m.State != roster.MessageSent || seen[m.MessageID] != 1 {
				t.Errorf("message %d (%s): %s, arrived %d times", m.ID, m.MessageID, m.State, seen[m.MessageID])
			}
		}
		if len(sink.Messages()) != n || len(seen) != n {
			t.Fatalf("%d messages arrived, %d distinct; want %d", len(sink.Messages()), len(seen), n)
		}
		t.Logf("the workers sent %d and %d", senders[0].n.Load(), senders[1].n.Load())
	})
}

// TestWorkerDiesAfterSending: a worker dies after the mail server accepted a message
// and before it recorded so. Its lease holds the message from every other worker until
// it expires; then another worker sends it once more, with the same Message-ID, and
// records it; nothing is sent a third time.
func TestWorkerDiesAfterSending(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock) {
		sink := mailtest.Start(t)
		to := changeEmail(t, e, "alice")
		dying, other := worker(t, e.Svc, sink), worker(t, e.Svc, sink)
		dying.afterSend = func(*roster.Message) bool { return false }
		if n := runOnce(t, dying); n != 1 || len(sink.To(to)) != 1 {
			t.Fatalf("the first worker leased %d and %d arrived", n, len(sink.To(to)))
		}
		m := messages(t, e.Store)[0]
		if m.State != roster.MessagePending || m.LeaseOwner != dying.Owner || m.Body == "" {
			t.Fatalf("after the worker died: %+v", m)
		}
		if n := runOnce(t, other); n != 0 {
			t.Fatal("another worker took a message whose lease holds")
		}
		clk.Advance(dying.Lease + time.Second)
		if n := runOnce(t, other); n != 1 {
			t.Fatalf("after the lease expired the other worker leased %d", n)
		}
		clk.Advance(time.Hour)
		if n := runOnce(t, other) + runOnce(t, dying); n != 0 {
			t.Fatalf("leased %d after the message was recorded", n)
		}
		got := sink.To(to)
		if len(got) != 2 || got[0].Header.Get("Message-ID") != got[1].Header.Get("Message-ID") || got[0].Header.Get("Message-ID") != m.MessageID {
			t.Fatalf("%d copies arrived, Message-IDs %q and %q; want 2 with %q", len(got), got[0].Header.Get("Message-ID"),
				got[len(got)-1].Header.Get("Message-ID"), m.MessageID)
		}
		if m := messages(t, e.Store)[0]; m.State != roster.MessageSent || m.Body != "" || m.Attempts != 2 {
			t.Fatalf("recorded: %+v", m)
		}
	})
}

// TestRefusalsAndAuth: a recipient the server refuses for good is not tried again and
// loses its body; a server that wants AUTH gets it, and a wrong password is retried.
func TestRefusalsAndAuth(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env, clk *testkit.Clock) {
		sink := mailtest.Start(t)
		sink.User, sink.Password = "roster", "smtp password"
		to := changeEmail(t, e, "alice")
		cfg, err := ParseURL("smtp://roster:wrong@" + sink.Addr() + "?from=roster@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if n := runOnce(t, New(e.Svc, &SMTP{Config: cfg}, nil)); n != 1 {
			t.Fatalf("leased %d", n)
		}
		if m := messages(t, e.Store)[0]; m.State != roster.MessagePending || !strings.Contains(m.LastError, "535") {
			t.Fatalf("after a wrong password: %+v", m)
		}
		clk.Advance(time.Minute)
		cfg.Password = "smtp password"
		if n := runOnce(t, New(e.Svc, &SMTP{Config: cfg}, nil)); n != 1 || len(sink.To(to)) != 1 {
			t.Fatalf("with the password: leased %d, %d arrived", n, len(sink.To(to)))
		}

		refused := changeEmail(t, e, "bob")
		sink.Reject(refused)
		if n := runOnce(t, New(e.Svc, &SMTP{Config: cfg}, nil)); n != 1 {
			t.Fatalf("leased %d", n)
		}
		m := messages(t, e.Store)[1]
		if m.State != roster.MessageFailed || m.Body != "" || !strings.Contains(m.LastError, "550") {
			t.Fatalf("refused: %+v", m)
		}
		clk.Advance(24 * time.Hour)
		if n := runOnce(t, New(e.Svc, &SMTP{Config: cfg}, nil)); n != 0 {
			t.Fatal("a refused message was tried again")
		}
	})
}
