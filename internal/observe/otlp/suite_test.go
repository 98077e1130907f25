package otlp_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// env is a receiver on loopback writing into a real store.
type env struct {
	st       store.Store
	r        *otlp.Receiver
	grpcAddr string
	httpURL  string
}

// start serves a receiver for the test; app wraps the store when a test
// needs to hold or fail appends.
func start(t *testing.T, opts otlp.Options, wrap func(store.Appender) store.Appender) *env {
	t.Helper()
	return startOn(t, "duckdb", opts, wrap)
}

// startOn is start on the engine named: duckdb or clickhouse.
func startOn(t *testing.T, engine string, opts otlp.Options, wrap func(store.Appender) store.Appender) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sopts := store.Options{RetentionInterval: -1, DefaultRetention: -1}
	var st store.Store
	var err error
	if engine == "clickhouse" {
		st, err = store.OpenClickHouse(ctx, storetest.ClickHouse(t).Database(t), sopts)
	} else {
		st, err = store.OpenDuckDB(ctx, t.TempDir(), sopts)
	}
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var app store.Appender = st
	if wrap != nil {
		app = wrap(st)
	}
	opts.GRPCAddr, opts.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	opts.Log = testr.New(t)
	r := otlp.New(app, opts)
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		_ = st.Close()
	})
	return &env{st: st, r: r, grpcAddr: r.GRPCAddr().String(), httpURL: "http://" + r.HTTPAddr().String()}
}

// rows runs a query and prints each row as space-separated values.
func (e *env) rows(t *testing.T, query string) []string {
	t.Helper()
	res, err := e.st.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, strings.TrimSuffix(fmt.Sprintln(r...), "\n"))
	}
	return out
}

// stored counts the rows of the four tables.
func (e *env) stored(t *testing.T) int {
	t.Helper()
	n := 0
	for _, table := range []string{store.AppRequests, store.AppDependencies, store.AppExceptions, store.AppTraces} {
		res, err := e.st.Query(context.Background(), table+" | count")
		if err != nil {
			t.Fatal(err)
		}
		n += int(res.Rows[0][0].(int64))
	}
	return n
}

// post sends an OTLP/HTTP request.
func (e *env) post(t *testing.T, path, contentType string, body []byte, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.httpURL+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}
