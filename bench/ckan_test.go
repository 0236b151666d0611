package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/sqlstore"
)

// ckanServer serves the CKAN dialect over a seeded store and returns a sysadmin key.
func ckanServer(b *testing.B, s *sqlstore.DB) (*httptest.Server, string) {
	return adminServer(b, s, s)
}

// BenchmarkUserMetadata asks EDX's user_metadata for every column of N random
// accounts in one request. ns/op should grow in step with N.
func BenchmarkUserMetadata(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		srv, key := ckanServer(b, s)
		for _, n := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(uint64(n), 9))
				var bytes int64
				for b.Loop() {
					ids := make([]string, n)
					for i := range ids {
						ids[i] = fmt.Sprintf(`"user%06d"`, randomUser(r))
					}
					body := `{"ids": [` + strings.Join(ids, ",") + `], "fields": ["*"]}`
					req, _ := http.NewRequest("POST", srv.URL+"/api/3/action/user_metadata", strings.NewReader(body))
					req.Header.Set("EDX-API-Key", key)
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					m, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
					bytes += m
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/id")
				b.ReportMetric(float64(bytes)/float64(b.N), "bytes/response")
			})
		}
	})
}

// BenchmarkUserListAll streams CKAN's user_list of every account (no limit) while a
// sampler records the largest heap seen: it stays flat however many accounts there are.
func BenchmarkUserListAll(b *testing.B) {
	engines(b, func(b *testing.B, s *sqlstore.DB) {
		srv, key := ckanServer(b, s)
		var peak atomic.Uint64
		stop := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var bytes, users int64
		for b.Loop() {
			req, _ := http.NewRequest("POST", srv.URL+"/api/3/action/user_list", strings.NewReader(`{}`))
			req.Header.Set("X-CKAN-API-Key", key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			const marker = `"number_created_packages"`
			buf := make([]byte, 64<<10)
			carry := ""
			for {
				n, err := resp.Body.Read(buf)
				bytes += int64(n)
				chunk := carry + string(buf[:n])
				users += int64(strings.Count(chunk, marker))
				// Keep the tail that could begin a marker split across two reads.
				if k := len(chunk) - (len(marker) - 1); k > 0 {
					carry = chunk[k:]
				} else {
					carry = chunk
				}
				if strings.HasSuffix(chunk, marker) {
					carry = ""
				}
				if err != nil {
					break
				}
			}
			resp.Body.Close()
		}
		close(stop)
		b.ReportMetric(float64(bytes)/float64(b.N)/1e6, "MB/response")
		b.ReportMetric(float64(users)/float64(b.N), "users/response")
		b.ReportMetric(float64(peak.Load())/1e6, "peak-heap-MB")
		b.ReportMetric(float64(base.HeapInuse)/1e6, "heap-before-MB")
	})
}
