// Command hello is the real node test's container: a static HTTP server that writes a
// known line to stdout when it starts and one per request, so that a test sees both its
// log file and its answer.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	message := flag.String("message", "hello", "the answer to every request")
	flag.Parse()
	fmt.Printf("hello listening on %s\n", *addr)
	fmt.Fprintf(os.Stderr, "hello says %q\n", *message)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("hello served %s %s\n", r.Method, r.URL.Path)
		fmt.Fprintln(w, *message)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
