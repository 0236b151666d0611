package redcap_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/testkit"
)

// generated is a body of size bytes: head, then what piece makes of each index.
type generated struct {
	head    string
	piece   func(i int) string
	size    int64
	n       int64
	pending string
	i       int
}

func (g *generated) Read(p []byte) (int, error) {
	if g.n >= g.size {
		return 0, io.EOF
	}
	if g.n == 0 && g.pending == "" {
		g.pending = g.head
	}
	k := 0
	for k < len(p) && g.n < g.size {
		if g.pending == "" {
			g.pending = g.piece(g.i)
			g.i++
		}
		m := min(copy(p[k:], g.pending), int(g.size-g.n))
		g.pending = g.pending[m:]
		k += m
		g.n += int64(m)
	}
	return k, nil
}

// postRaw sends a form-encoded POST /api/ with body over its own connection, writing
// the body as the server takes it while reading the answer: the server may answer
// before it has read the body, and then never reads the rest. It returns the answer
// and how many bytes of the body the connection took before the test closed it.
func postRaw(t *testing.T, e *testkit.Env, body *generated) (testkit.Reply, int64) {
	t.Helper()
	u, _ := url.Parse(e.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		fmt.Fprintf(conn, "POST /api/ HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", u.Host, body.size)
		buf := make([]byte, 64<<10)
		for {
			n, rerr := body.Read(buf)
			if n > 0 {
				if _, err := conn.Write(buf[:n]); err != nil {
					return // the server closed the connection: it has answered
				}
				sent.Add(int64(n))
			}
			if rerr != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	<-done
	return testkit.Reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, sent.Load()
}

const hostile = 60 << 20

// TestHostileBodies: an anonymous request cannot make the server hold more than the form
// reader's limits in memory, nor spool data to disk when its token, sent first, is bad.
// Each is refused in REDCap's error format, in the returnFormat sent before the reading
// stopped.
func TestHostileBodies(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		distinct := func(i int) string { return strconv.FormatInt(int64(i), 36) + "=&" }

		// 60 MiB of tiny keys, no token: stopped at MaxFormFields.
		r, sent := postRaw(t, e, &generated{head: "returnFormat=json&", piece: distinct, size: hostile})
		wantError(t, r, 413, "json", "The request has more than 100000 fields, more than this server accepts.")
		if sent >= hostile/2 {
			t.Fatalf("the server took %d bytes of a %d-byte body of tiny keys", sent, hostile)
		}
		// The same after a bad token.
		r, sent = postRaw(t, e, &generated{head: "token=" + strings.Repeat("A", 32) + "&format=csv&", piece: distinct, size: hostile})
		wantError(t, r, 413, "csv", "The request has more than 100000 fields, more than this server accepts.")
		if sent >= hostile/2 {
			t.Fatalf("the server took %d bytes of a %d-byte body of tiny keys", sent, hostile)
		}

		// Fields of 1 KiB: stopped at MaxFormBytes.
		kib := strings.Repeat("v", 1024)
		r, _ = postRaw(t, e, &generated{head: "format=json&", piece: func(i int) string { return "k=" + kib + "&" }, size: hostile})
		wantError(t, r, 413, "json", fmt.Sprintf("The request's fields other than data hold more than %d bytes, more than this server accepts.", httpx.MaxFormBytes))

		// A bad token before 60 MiB of data: refused as data begins, in the format sent
		// before it, and the data is never read.
		x := func(int) string { return "x%2C" }
		r, sent = postRaw(t, e, &generated{head: "token=" + strings.Repeat("B", 32) + "&content=user&returnFormat=json&data=", piece: x, size: hostile})
		wantError(t, r, 403, "json", "You do not have permissions to use the API")
		if sent >= hostile/2 {
			t.Fatalf("the server took %d bytes of a %d-byte import sent with a bad token", sent, hostile)
		}

		// Data sent before the token is read (spooled), then the token is checked.
		r, _ = postRaw(t, e, &generated{head: "content=user&format=json&data=", piece: x, size: 2 << 20})
		wantError(t, r, 403, "json", "You do not have permissions to use the API")

		// A good token first: the data is read and imported.
		want(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "data", `[{"username":"early"}]`, "format", "json"), 200, "json", "1")
		// A token sent again after the data is the one that counts, as in PHP.
		wantError(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "data", `[{"username":"late"}]`, "format", "json",
			"token", strings.Repeat("C", 32)), 403, "json", "You do not have permissions to use the API")
		want(t, post(t, e, "token", f.token, "content", "userRoleMapping", "format", "csv"), 200, "csv", "username,unique_role_name\nearly,\njane,\n")
	})
}
