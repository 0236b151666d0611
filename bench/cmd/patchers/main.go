// Command patchers is the concurrent-writers load test: C clients merge-patch different
// keys of one account through PATCH /v1/users/{ref} at once, each sending its next patch
// when the last one succeeded and sending it again when the server answers 409 (as a
// careful client must when the server does not queue writers itself). It reports the
// writes that landed per second, the retries, and whether every key is in the account.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "Roster's address")
	key := flag.String("key", "", "an API key allowed to change the account")
	ref := flag.String("user", "", "the account to patch (id, UUID or username)")
	clients := flag.Int("c", 50, "concurrent clients")
	each := flag.Int("n", 20, "patches per client")
	attr := flag.String("attr", "info", "an object attribute the key may merge-patch")
	flag.Parse()
	if *key == "" || *ref == "" {
		fmt.Fprintln(os.Stderr, "patchers: -key and -user are required")
		os.Exit(2)
	}
	tag := fmt.Sprintf("r%d", time.Now().UnixNano()%1_000_000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}
	patch := func(body string) (int, error) {
		req, _ := http.NewRequest("PATCH", *base+"/v1/users/"+*ref, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+*key)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Start from an empty object: each run's keys must fit the attribute's size limit.
	if status, err := patch(fmt.Sprintf(`{%q: null}`, *attr)); err != nil || status != http.StatusOK {
		fmt.Fprintf(os.Stderr, "patchers: clearing %s: %d %v\n", *attr, status, err)
		os.Exit(1)
	}
	var retries, failures atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < *each; i++ {
				body := fmt.Sprintf(`{%q: {"%s_%d_%d": %d}}`, *attr, tag, c, i, i)
				for attempt := 0; ; attempt++ {
					status, err := patch(body)
					if err == nil && status == http.StatusOK {
						break
					}
					if err == nil && status == http.StatusConflict && attempt < 1000 {
						retries.Add(1)
						continue
					}
					failures.Add(1)
					fmt.Fprintf(os.Stderr, "patchers: patch gave %d %v\n", status, err)
					break
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	writes := int64(*clients**each) - failures.Load()

	// Every key must have landed.
	req, _ := http.NewRequest("GET", *base+"/v1/users/"+*ref, nil)
	req.Header.Set("Authorization", "Bearer "+*key)
	resp, err := client.Do(req)
	landed := -1
	if err == nil {
		var acct map[string]any
		if json.NewDecoder(resp.Body).Decode(&acct) == nil {
			obj, _ := acct[*attr].(map[string]any)
			landed = 0
			for k := range obj {
				if strings.HasPrefix(k, tag+"_") {
					landed++
				}
			}
		}
		resp.Body.Close()
	}
	fmt.Printf("writes %d in %.2fs: %.0f writes/s; retries %d; failures %d; keys landed %d of %d\n",
		writes, elapsed.Seconds(), float64(writes)/elapsed.Seconds(), retries.Load(), failures.Load(), landed, *clients**each)
}
