package queryapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// The controller's API over a ClickHouse that is down when it starts: the
// runnable starts and serves anyway, queries answer 503 naming the store, and
// once ClickHouse is up they answer rows; when it goes down again they answer
// 503 again, and rows once more when it is back, without a restart.
func TestTheAPIOutlivesAClickHouseThatIsDown(t *testing.T) {
	ch := storetest.Own(t)
	dsn := ch.Database(t)
	ch.Halt(t)
	token := adminToken(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	r := &runnable{o: Options{Addr: addr, ClickHouseDSN: dsn}, auth: kubeAuth(t)}
	go func() { done <- r.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v", err)
		}
	}()

	ask := func() (int, string, http.Header) {
		t.Helper()
		var resp *http.Response
		for deadline := time.Now().Add(30 * time.Second); ; {
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/query", strings.NewReader(`{"query": "KubeEvents | count"}`))
			req.Header.Set("Content-Type", "application/json")
			// As through the apiserver's service proxy, which drops Authorization.
			req.Header.Set(ForwardedAuthorizationHeader, "Bearer "+token)
			resp, err = http.DefaultClient.Do(req)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	wantDown := func(when string) {
		t.Helper()
		code, body, h := ask()
		var e ErrorResponse
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusServiceUnavailable || e.Error != StoreUnavailableMessage || h.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %s (Retry-After %q); want 503 %q with Retry-After", when, code, body, h.Get("Retry-After"), StoreUnavailableMessage)
		}
	}
	wantUp := func(when string) {
		t.Helper()
		var code int
		var body string
		// A failed open is remembered for DefaultReopenDelay.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			if code, body, _ = ask(); code == http.StatusOK {
				break
			}
		}
		if code != http.StatusOK || !strings.Contains(body, `"rows":[[0]]`) {
			t.Fatalf("%s: %d %s; want 200 with one count of 0", when, code, body)
		}
	}

	wantDown("ClickHouse down at the start")
	ch.Resume(t)
	wantUp("ClickHouse started")
	ch.Halt(t)
	wantDown("ClickHouse stopped after answering")
	ch.Resume(t)
	wantUp("ClickHouse started again")
}
