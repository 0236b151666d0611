package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// Outbox is what a worker needs of the core.
type Outbox interface {
	LeaseMessages(ctx context.Context, owner string, limit int, d time.Duration) ([]*roster.Message, error)
	MessageSent(ctx context.Context, id int64, owner string) (bool, error)
	MessageRefused(ctx context.Context, id int64, owner, reason string) (bool, error)
	MessageRetry(ctx context.Context, id int64, owner, reason string, d time.Duration) (bool, error)
}

// Worker delivers the outbox. Any number of workers, in any number of processes, may
// run on one store: each message is leased to one of them at a time.
type Worker struct {
	Outbox Outbox
	Sender Sender
	Log    *slog.Logger
	// Owner names the worker in leases; New makes one unique to the process and worker.
	Owner string
	// Lease is how long a worker holds a message it is sending (default 2 minutes). The
	// send must end before the lease does, so a send is given Lease minus Margin.
	Lease  time.Duration
	Margin time.Duration // default a tenth of Lease
	// Poll is how often the worker looks for due messages when not woken (default 5s).
	Poll time.Duration
	// Batch is how many messages a worker leases at once (default 10).
	Batch int
	// Backoff is the wait after a failed attempt: FirstRetry doubled for each attempt
	// before it, at most MaxRetry (defaults 30s and 1h).
	FirstRetry, MaxRetry time.Duration

	// wake, when a message was queued in this process, makes the worker look at once.
	wake chan struct{}
	// afterSend runs after the server accepted a message, before the worker records it;
	// false makes the worker walk away from the message as if it had died there (tests).
	afterSend func(m *roster.Message) bool
}

// New returns a worker with the defaults and an owner name unique to it.
func New(outbox Outbox, sender Sender, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{Outbox: outbox, Sender: sender, Log: log, Owner: NewOwner(), wake: make(chan struct{}, 1)}
}

// NewOwner returns a lease owner name: the host, the process and a random part, so that
// the leases of each worker of every replica are told apart, in the database too.
func NewOwner() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, host)
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

func (w *Worker) defaults() {
	if w.Lease <= 0 {
		w.Lease = 2 * time.Minute
	}
	if w.Margin <= 0 || w.Margin >= w.Lease {
		w.Margin = w.Lease / 10
	}
	if w.Poll <= 0 {
		w.Poll = 5 * time.Second
	}
	if w.Batch <= 0 {
		w.Batch = 10
	}
	if w.FirstRetry <= 0 {
		w.FirstRetry = 30 * time.Second
	}
	if w.MaxRetry <= 0 {
		w.MaxRetry = time.Hour
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
}

// Wake makes the worker look for messages now: a change in this process just queued
// one. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: it leases due messages, sends them, records each
// outcome, and when none is due waits for Poll or a Wake.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	w.Log.Info("mail worker started", "owner", w.Owner)
	for ctx.Err() == nil {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Warn("mail worker: reading the outbox", "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more due
		}
		t := time.NewTimer(w.Poll)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce leases one batch of due messages and delivers them, and returns how many it
// leased.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	ms, err := w.Outbox.LeaseMessages(ctx, w.Owner, w.Batch, w.Lease)
	if err != nil {
		return 0, err
	}
	// Each send gets what remains of the lease, less the margin: a send that has not
	// finished by then is abandoned before another worker may take the message.
	deadline := time.Now().Add(w.Lease - w.Margin)
	for _, m := range ms {
		w.deliver(ctx, m, deadline)
	}
	return len(ms), nil
}

func (w *Worker) deliver(ctx context.Context, m *roster.Message, deadline time.Time) {
	// The log names the message by id and kind, never its body: the body may hold a
	// confirmation link. The recipient is left out too: logs are read more widely than
	// the outbox.
	log := w.Log.With("message", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	if time.Now().After(deadline) {
		// The batch took too long: leave the message to the next lease rather than send
		// it with the lease about to end.
		w.retry(ctx, log, m, errors.New("the lease ran out before this message's turn"), 0)
		return
	}
	err := w.Sender.Send(m, deadline)
	// The outcome is recorded even when ctx has ended meanwhile (the server shutting
	// down lets the worker finish its message): a mail the server accepted but the store
	// never heard of would be sent again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var perm *PermanentError
	switch {
	case err == nil:
		if w.afterSend != nil && !w.afterSend(m) {
			return // a worker killed here: the lease expires, another worker resends
		}
		ok, rerr := w.Outbox.MessageSent(ctx, m.ID, w.Owner)
		switch {
		case rerr != nil:
			// The server has it; the store did not hear so. The lease expires and the
			// message is sent once more, with the same Message-ID.
			log.Warn("mail sent, but not recorded: it will be sent again", "err", rerr)
		case !ok:
			log.Warn("mail sent after this worker's lease on it ended: another worker may send it too")
		default:
			log.Info("mail sent")
		}
	case errors.As(err, &perm):
		log.Warn("mail refused for good", "err", err)
		if _, rerr := w.Outbox.MessageRefused(ctx, m.ID, w.Owner, oneLine(err.Error())); rerr != nil {
			log.Warn("recording a refused mail", "err", rerr)
		}
	default:
		w.retry(ctx, log, m, err, w.backoff(m.Attempts))
	}
}

// recordTimeout bounds the write of a delivery's outcome.
const recordTimeout = 10 * time.Second

// retry records a failed attempt at m, to be tried again after the wait. A failure to
// record it leaves the lease to expire, which frees the message all the same.
func (w *Worker) retry(ctx context.Context, log *slog.Logger, m *roster.Message, cause error, after time.Duration) {
	log.Warn("mail not sent; it will be tried again", "err", cause, "retry_in", after.String())
	if _, err := w.Outbox.MessageRetry(ctx, m.ID, w.Owner, oneLine(cause.Error()), after); err != nil {
		log.Warn("recording a failed attempt", "err", err)
	}
}

// backoff is the wait after the attempt-th failed attempt: FirstRetry, doubled each
// time, at most MaxRetry.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.FirstRetry
	for i := 1; i < attempt && d < w.MaxRetry; i++ {
		d *= 2
	}
	return min(d, w.MaxRetry)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}
