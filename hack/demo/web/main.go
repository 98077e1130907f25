// Command web is the demo's push app (make demo): a small HTTP server that `tugboat
// image publish` builds into an image and `tugboat deploy set-image` rolls out on the
// local cluster's real node. Its version is set at build time (-ldflags
// -X=main.version=v2), so that two builds of one source are two images. It logs JSON
// lines to stdout (what ContainerLogV2 shows): one when it starts, one per request, and
// a heartbeat every few seconds with a little work, so that Perf has CPU to show.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is set by the build: go build -ldflags "-X=main.version=v2".
var version = "dev"

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	every := flag.Duration("heartbeat", 3*time.Second, "how often to log a heartbeat")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	host, _ := os.Hostname()
	logf("info", "starting", map[string]any{"version": version, "addr": *addr, "pod": host})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		logf("info", "request", map[string]any{"version": version, "path": r.URL.Path})
		fmt.Fprintf(w, "hello from web %s (%s)\n", version, host)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go heartbeat(ctx, *every)
	go func() {
		<-ctx.Done()
		logf("info", "stopping", map[string]any{"version": version})
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logf("error", err.Error(), map[string]any{"version": version})
		os.Exit(1)
	}
}

// heartbeat logs every interval after some hashing: a container that only waits
// would show no CPU at all.
func heartbeat(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	sum := sha256.Sum256([]byte(version))
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for range 20000 {
			sum = sha256.Sum256(sum[:])
		}
		logf("info", "heartbeat", map[string]any{"version": version, "n": n, "sum": fmt.Sprintf("%x", sum[:4])})
	}
}

func logf(level, msg string, fields map[string]any) {
	fields["level"], fields["msg"], fields["time"] = level, msg, time.Now().UTC().Format(time.RFC3339Nano)
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}
