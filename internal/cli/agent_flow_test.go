package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/localdev/localport"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// TestAgentStoresAReconcile runs `tugboat agent` against the suite's cluster while the
// real GitOps controllers reconcile a Kustomization from a Git push, stops it as
// SIGTERM would, and reads the DuckDB file it left with KQL.
func TestAgentStoresAReconcile(t *testing.T) {
	ns := newNamespace(t)
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	go func() {
		done <- Execute(ctx, kubeArgs("", []string{"agent", "--data-dir", dataDir, "--collect", "inventory,delivery,events",
			"--inventory-interval", "1s", "--cluster-name", "suite", "--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", httpAddr}), &out, &errOut)
	}()
	// An app's spans sent to the agent's OTLP receivers, by the SDK's own exporters.
	sent := sendSpansToAgent(t, grpcAddr, httpAddr)

	wd, url := newRepo(t, "agent-"+ns, map[string]string{
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [web.yaml]\n",
		"app/web.yaml":           cm("web", "blue"),
	})
	commit, err := wd.Head()
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, ExitOK, ns, "create", "source", "git", "agent", "--url", url, "--branch", "main", "--interval", "10m")
	mustRun(t, ExitOK, ns, "create", "kustomization", "app", "--source", "GitRepository/agent", "--path", "./app", "--interval", "10m")
	clients, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	// The reconcile's events exist before the agent is stopped (a healthy apply is one
	// event, listing its changes); the watch then delivers them within moments, and
	// stopping flushes what it holds.
	if err := pollUntil(func() bool {
		list, err := clients.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		seen := map[string]bool{}
		for _, e := range list.Items {
			seen[e.Regarding.Kind+"/"+e.Reason] = true
		}
		return seen["Kustomization/ReconciliationSucceeded"] && seen["GitRepository/NewArtifact"]
	}); err != nil {
		t.Fatalf("the controllers' events did not appear: %v", err)
	}
	time.Sleep(2 * time.Second)
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("agent exited %d\nstderr:\n%s", code, errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the agent did not stop within a minute of its context ending")
	}
	if out.Len() != 0 {
		t.Errorf("the agent printed %q without a terminal", out.String())
	}

	st, err := store.OpenDuckDB(context.Background(), dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Query(context.Background(), `TugboatReconciliations | where Namespace == "`+ns+`" and Kind == "Kustomization"
		| project Name, Result, Commit, ObjectsChanged, Changes`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("reconciliation rows: %v, want one", res.Rows)
	}
	row := res.Rows[0]
	if row[0] != "app" || row[1] != "Succeeded" || row[2] != commit || row[3] != int64(1) {
		t.Errorf("reconciliation row = %v, want app Succeeded at %s with 1 object changed", row, commit)
	}
	changes, _ := row[4].([]any)
	if len(changes) != 1 || changes[0].(map[string]any)["object"] != "ConfigMap/"+ns+"/web" || changes[0].(map[string]any)["action"] != "created" {
		t.Errorf("Changes = %v", row[4])
	}
	res, err = st.Query(context.Background(), `TugboatReconciliations | where Namespace == "`+ns+`" and Kind == "GitRepository" | count`)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Rows[0][0].(int64); n != 1 {
		t.Errorf("GitRepository reconciliation rows = %d, want 1 (its NewArtifact event)", n)
	}
	res, err = st.Query(context.Background(), `KubeNodeInventory | where ClusterName == "suite" | count`)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Rows[0][0].(int64); n == 0 {
		t.Error("no KubeNodeInventory rows")
	}
	res, err = st.Query(context.Background(), `AppRequests | where AppRoleName == "agent-test" | summarize by OperationId | sort by OperationId asc`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, r[0].(string))
	}
	if strings.Join(got, " ") != strings.Join(sent, " ") {
		t.Errorf("AppRequests operations %v, want the ones sent %v", got, sent)
	}
}

// TestAgentShowsProgressOnATerminal: on a terminal the agent says what it collects,
// updates the rows stored every two seconds, and sums up when it stops.
func TestAgentShowsProgressOnATerminal(t *testing.T) {
	dataDir := t.TempDir()
	var errOut bytes.Buffer
	code, shown := onTerminal(t, func(tty io.Writer) int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return Execute(ctx, kubeArgs("", []string{"agent", "--data-dir", dataDir, "--collect", "inventory", "--inventory-interval", "1s",
			"--otlp-grpc-addr", "127.0.0.1:0", "--otlp-http-addr", "off"}), tty, &errOut)
	})
	if code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{"agent (out of cluster) collecting inventory; Ctrl-C to stop", "receiving OTLP traces and logs on gRPC 127.0.0.1:",
		"stored KubeNodeInventory ", "stopped; stored KubeNodeInventory "} {
		if !strings.Contains(shown, want) {
			t.Errorf("the terminal did not show %q:\n%s", want, shown)
		}
	}
}

// TestAgentServesItsMetrics: with --metrics-bind-address the agent serves what
// its spool holds and drops, so that a store outage is visible to Prometheus.
func TestAgentServesItsMetrics(t *testing.T) {
	port, err := localport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- Execute(ctx, kubeArgs("", []string{"agent", "--data-dir", t.TempDir(), "--collect", "inventory", "--inventory-interval", "1s",
			"--otlp-grpc-addr", "off", "--otlp-http-addr", "off", "--metrics-bind-address", addr}), io.Discard, &errOut)
	}()
	const want = `tugboat_agent_buffered_bytes{table="KubeNodeInventory"} 0`
	var body string
	for deadline := time.Now().Add(time.Minute); !strings.Contains(body, want); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %q; last:\n%s\nstderr:\n%s", want, body, errOut.String())
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		body = string(b)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, errOut.String())
	}
}
