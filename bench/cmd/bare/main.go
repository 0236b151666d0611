// Command bare is the baseline of the HTTP load test: a net/http server that answers
// every request with the same JSON document, read from a file, doing nothing else but
// reading the request's body (so that a PATCH's baseline reads one too).
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18091", "listen address")
	bodyFile := flag.String("body", "", "the JSON document to serve")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	size := strconv.Itoa(len(body))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", size)
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
