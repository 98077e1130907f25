package queryapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The runnable the controller's manager starts opens the DuckDB store in
// the data directory, serves the API, and closes the store when stopped
// (the file can be opened again).
func TestRunnableServesTheStoreOfTheDataDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	dir := t.TempDir()
	token := adminToken(t)
	for round := 1; round <= 2; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		r := &runnable{o: Options{Addr: addr, DataDir: dir}, auth: kubeAuth(t)}
		go func() { done <- r.Start(ctx) }()
		var resp *http.Response
		for deadline := time.Now().Add(30 * time.Second); ; {
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/query", strings.NewReader(`{"query": "KubeEvents | count"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err = http.DefaultClient.Do(req)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"rows":[[0]]`) {
			t.Fatalf("round %d: %d %s", round, resp.StatusCode, body)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("round %d: Start returned %v", round, err)
		}
	}
	if (&runnable{}).NeedLeaderElection() {
		t.Fatal("the API must run on every replica, not only the leader")
	}
}

func TestSetupWithoutAnAddressAddsNothing(t *testing.T) {
	for _, addr := range []string{"", "0"} {
		if err := Setup(nil, Options{Addr: addr}); err != nil {
			t.Fatal(fmt.Errorf("addr %q: %w", addr, err))
		}
	}
}
