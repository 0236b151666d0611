// Command bare is the baseline of the HTTP load test: a net/http server that answers
// every GET with the same JSON document, read from a file, doing nothing else.
package main

import (
	"flag"
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
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", size)
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
