package httpx_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

func TestClientIPs(t *testing.T) {
	trusted, err := httpx.ParsePrefixes("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	ips := &httpx.ClientIPs{Trusted: trusted}
	for _, c := range []struct{ remote, xff, want string }{
		{"198.51.100.7:1234", "203.0.113.9", "198.51.100.7"},               // not a proxy: XFF ignored
		{"10.1.2.3:1234", "203.0.113.9", "203.0.113.9"},                    // the load balancer
		{"10.1.2.3:1234", "1.1.1.1, 203.0.113.9, 10.9.9.9", "203.0.113.9"}, // spoofed left part ignored
		{"192.0.2.1:80", "", "192.0.2.1"},
		{"[::ffff:10.0.0.1]:80", "2001:db8::1", "2001:db8::1"},
		{"10.0.0.1:80", "garbage", "10.0.0.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ips.IP(r); got != c.want {
			t.Errorf("IP(remote %s, XFF %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	if _, err := httpx.ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Error("a bad prefix was accepted")
	}
}

// TestClientGoneIsNoServerError: a client that hangs up mid-request is logged as what it
// is (499, at INFO), not as the 503 the handler answered nobody with.
func TestClientGoneIsNoServerError(t *testing.T) {
	var logs testkit.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	entered := make(chan struct{})
	done := make(chan struct{})
	h := httpx.AccessLog(log, &httpx.ClientIPs{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		close(entered)
		<-r.Context().Done() // the store would fail with the request's cancellation
		httpx.WriteError(w, &roster.Error{Code: roster.EUNAVAILABLE, Message: "The request was cancelled or timed out."})
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	go func() { <-entered; cancel() }()
	if _, err := srv.Client().Do(req); err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	<-done
	var line struct {
		Level  string `json:"level"`
		Status int    `json:"status"`
	}
	for i := 0; i < 100 && !strings.Contains(logs.String(), `"msg":"request"`); i++ {
		time.Sleep(10 * time.Millisecond) // the access log line follows the handler
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Level != "INFO" || line.Status != httpx.StatusClientClosed {
		t.Fatalf("logged %s", logs.String())
	}
}
