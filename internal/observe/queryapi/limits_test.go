package queryapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// heavyStore is a DuckDB store with 20,000 lines of one pod: a self-join of
// it has 4·10⁸ rows.
func heavyStore(t *testing.T, limits store.Limits) *store.DuckDB {
	t.Helper()
	st, err := store.OpenDuckDB(context.Background(), t.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, 20000)
	for i := range rows {
		rows[i] = []any{t0.Add(time.Duration(i) * time.Millisecond), "node-1", fmt.Sprintf("c%06d", i), "app", "web-1", "shop",
			strings.Repeat("x", 40) + fmt.Sprint(i), "stdout", "INFO", nil}
	}
	if err := st.Append(context.Background(), store.ContainerLogV2, rows); err != nil {
		t.Fatal(err)
	}
	return st
}

// serveServer serves s on a loopback listener until the test ends, with
// callers reviewed by the local cluster.
func serveServer(t *testing.T, s *Server) string {
	t.Helper()
	s.Auth = kubeAuth(t)
	return serveOn(t, s)
}

// serveOn serves s as it is on a loopback listener until the test ends, and
// returns its base URL.
func serveOn(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// postQuery sends a query as a caller who may read everything.
func postQuery(t *testing.T, base, query string) (int, string) {
	t.Helper()
	return postQueryAs(t, base, adminToken(t), query)
}

func postQueryAs(t *testing.T, base, token, query string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(QueryRequest{Query: query})
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/query", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const (
	selfJoin  = `ContainerLogV2 | join kind=inner (ContainerLogV2) on PodName | summarize L = make_list(LogMessage1), S = make_set(strcat(ContainerId, ContainerId1)) by PodName`
	slowCount = `ContainerLogV2 | join kind=inner (ContainerLogV2) on PodName | summarize dcount(strcat(ContainerId, ContainerId1))`
)

// Past a limit the API answers with a status of its own and words of ours,
// never the engine's text.
func TestQueryLimits(t *testing.T) {
	t.Run("a self-join past the memory limit is 422 naming the limit", func(t *testing.T) {
		st := heavyStore(t, store.Limits{MemoryBytes: 64 << 20, TempBytes: 64 << 20})
		defer st.Close()
		base := serveServer(t, &Server{Store: st, QueryTimeout: 3 * time.Minute})
		code, body := postQuery(t, base, selfJoin)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "memory limit of 64 MiB") {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("a query past its deadline is 504", func(t *testing.T) {
		st := heavyStore(t, store.Limits{})
		defer st.Close()
		base := serveServer(t, &Server{Store: st, QueryTimeout: 300 * time.Millisecond})
		code, body := postQuery(t, base, slowCount)
		if code != http.StatusGatewayTimeout || body != `{"error":"the query did not finish within 300ms"}`+"\n" {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("a query over the concurrency cap is 429 while another runs", func(t *testing.T) {
		st := heavyStore(t, store.Limits{})
		defer st.Close()
		base := serveServer(t, &Server{Store: st, QueryTimeout: 8 * time.Second, MaxConcurrentQueries: 1})
		first := make(chan int, 1)
		token := adminToken(t)
		go func() {
			// The polls below may hold the slot for a moment: then this one is
			// refused, and tries again.
			for {
				code, _ := postQueryAs(t, base, token, slowCount)
				if code != http.StatusTooManyRequests {
					first <- code
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		// The first query holds the only slot until its deadline; poll
		// until it has taken it.
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			code, body := postQueryAs(t, base, token, "ContainerLogV2 | count")
			if code == http.StatusTooManyRequests {
				if !strings.Contains(body, "1 queries are running") {
					t.Errorf("429 answer: %s", body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no 429 while a query ran; last %d %s", code, body)
			}
		}
		if code := <-first; code != http.StatusGatewayTimeout {
			t.Errorf("the first query: %d, want 504", code)
		}
		if code, body := postQuery(t, base, "ContainerLogV2 | count"); code != http.StatusOK {
			t.Fatalf("after the first query ended: %d %s", code, body)
		}
	})
	t.Run("an engine failure is 500 without the engine's text", func(t *testing.T) {
		st := heavyStore(t, store.Limits{})
		base := serveServer(t, &Server{Store: st})
		_ = st.Close()
		code, body := postQuery(t, base, "ContainerLogV2 | count")
		if code != http.StatusInternalServerError || body != `{"error":"the store failed to run the query; the controller's log has the details"}`+"\n" {
			t.Fatalf("%d %s", code, body)
		}
	})
}

// An operator's limits are refused when they cannot be meant, naming the flag.
func TestLimitsOutOfRangeAreRefused(t *testing.T) {
	tests := map[string]struct {
		limits Limits
		want   string // "" for valid
	}{
		"the defaults":                {},
		"tuned within range":          {limits: Limits{Timeout: 5 * time.Minute, Concurrent: 8, BodyBytes: 4 << 20, Rows: 1000, Store: store.Limits{MemoryBytes: 1 << 30, TempBytes: 8 << 30, Threads: 4}}},
		"a negative timeout":          {limits: Limits{Timeout: -time.Second}, want: "--query-timeout -1s is out of range: give between 1s and 1h0m0s"},
		"a timeout of a day":          {limits: Limits{Timeout: 24 * time.Hour}, want: "--query-timeout 24h0m0s is out of range"},
		"a negative concurrency":      {limits: Limits{Concurrent: -1}, want: "--query-concurrency -1 is out of range: give between 1 and 256"},
		"a memory limit of one byte":  {limits: Limits{Store: store.Limits{MemoryBytes: 1}}, want: "--query-memory-limit 1 is out of range"},
		"a body limit of a gigabyte":  {limits: Limits{BodyBytes: 1 << 30}, want: "--query-max-body-bytes 1073741824 is out of range"},
		"negative rows":               {limits: Limits{Rows: -5}, want: "--query-max-rows -5 is out of range"},
		"a thousand threads":          {limits: Limits{Store: store.Limits{Threads: 1000}}, want: "--query-threads 1000 is out of range"},
		"a temp limit of a few bytes": {limits: Limits{Store: store.Limits{TempBytes: 10}}, want: "--query-temp-limit 10 is out of range"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.limits.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A body limit set by the operator is the one the API enforces.
func TestAConfiguredBodyLimitIsEnforced(t *testing.T) {
	st := heavyStore(t, store.Limits{})
	defer st.Close()
	base := serveServer(t, &Server{Store: st, MaxBodyBytes: 2 << 10})
	code, body := postQuery(t, base, "ContainerLogV2 | where LogMessage has '"+strings.Repeat("x", 4<<10)+"' | count")
	if code != http.StatusRequestEntityTooLarge || body != `{"error":"the body is larger than 2048 bytes"}`+"\n" {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := postQuery(t, base, "ContainerLogV2 | count"); code != http.StatusOK {
		t.Fatalf("a small query: %d %s", code, body)
	}
}
