package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

// The dev cluster's controllers trace themselves into its store: a commit synced by a
// GitRepository and a Kustomization in a cluster started with Up is, in the store the
// supervisor serves, a TugboatReconciliations row (from the controller's event) whose
// OperationId holds the controller's spans of that reconcile (exported with the SDK to
// the store's OTLP receiver), read through the store's query API with its token; a
// second commit announced to a Receiver's webhook, which the supervisor serves too, is
// a trace rooted at the webhook call. The API refuses a caller without the token.
func TestAReconcileInTheDevClusterIsTracedIntoItsStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "dev")
	o := testOptions(t, dataDir, cluster.DefaultBinaryPath())
	o.RealNode = RealNodeOff
	// The supervisor inherits it: the batch processor's default 5 s only makes the test wait.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	t.Cleanup(func() { _, _ = Down(context.Background(), o, true) })
	st, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if st.Store == nil || st.Store.Query == "" || st.Store.OTLP == "" {
		t.Fatalf("dev status names no store: %+v", st.Store)
	}
	if again := Get(ctx, o); again.Store == nil || *again.Store != *st.Store {
		t.Errorf("dev status says the store is at %+v, up said %+v", again.Store, st.Store)
	}
	token, err := os.ReadFile(st.Store.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(st.Store.TokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the query token file %s: %v, mode %v; want 0600", st.Store.TokenFile, err, fi.Mode())
	}

	git := gitserver.New(t.TempDir())
	if _, err := git.Start(); err != nil {
		t.Fatal(err)
	}
	defer git.Close()
	if err := git.InitRepo("config", "main"); err != nil {
		t.Fatal(err)
	}
	wd, err := git.Workdir("config")
	if err != nil {
		t.Fatal(err)
	}
	defer wd.Close()
	if err := wd.WriteFiles(map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: traced\ndata:\n  value: one\n"}); err != nil {
		t.Fatal(err)
	}
	commit, err := wd.CommitAndPush("one")
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	const ns = "default"
	repo := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
		"metadata": map[string]any{"name": "traced", "namespace": ns},
		"spec":     map[string]any{"url": git.RepoURL("config"), "interval": "1h", "ref": map[string]any{"branch": "main"}},
	}}
	ks := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": "traced", "namespace": ns},
		"spec": map[string]any{"interval": "1h", "path": "./app", "prune": true, "targetNamespace": ns,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "traced"}},
	}}
	for gvr, obj := range map[schema.GroupVersionResource]*unstructured.Unstructured{
		{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}:   repo,
		{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}: ks,
	} {
		if _, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("failed to create %s: %v", obj.GetKind(), err)
		}
	}

	// The event of the reconcile reaches TugboatReconciliations through the store's
	// delivery collector; its OperationId is the controller's trace.
	q := fmt.Sprintf(`TugboatReconciliations | where Kind == "Kustomization" and Namespace == %q and Name == "traced" and Commit == %q and OperationId != "" | project OperationId`, ns, commit)
	var opID string
	pollQuery(ctx, t, st.Store.Query, string(token), q, "the Kustomization's traced reconcile of "+commit[:8], func(rows [][]any) bool {
		if len(rows) > 0 {
			opID, _ = rows[0][0].(string)
		}
		return len(opID) == 32
	})
	spans := fmt.Sprintf(`union AppRequests, AppDependencies | where OperationId == %q | project Name, AppRoleName, Success`, opID)
	want := []string{"reconcile GitRepository " + ns + "/traced", "reconcile Kustomization " + ns + "/traced", "git clone", "kustomize build", "apply"}
	pollQuery(ctx, t, st.Store.Query, string(token), spans, "the spans "+strings.Join(want, ", ")+" of operation "+opID, func(rows [][]any) bool {
		got := map[string]bool{}
		for _, r := range rows {
			if r[1] != "tugboat-controller" || r[2] != true {
				t.Fatalf("span %v of operation %s: want AppRoleName tugboat-controller and Success true", r, opID)
			}
			got[r[0].(string)] = true
		}
		for _, n := range want {
			if !got[n] {
				return false
			}
		}
		return true
	})

	// A second commit announced to a Receiver's webhook, which the supervisor serves:
	// its trace starts at the call.
	if err := wd.WriteFiles(map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: traced\ndata:\n  value: two\n"}); err != nil {
		t.Fatal(err)
	}
	second, err := wd.CommitAndPush("two")
	if err != nil {
		t.Fatal(err)
	}
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "hook-token", "namespace": ns}, "stringData": map[string]any{"token": "a-token-for-the-test"}}}
	rcv := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
		"metadata": map[string]any{"name": "traced", "namespace": ns},
		"spec": map[string]any{"type": "generic", "secretRef": map[string]any{"name": "hook-token"},
			"resources": []any{map[string]any{"kind": "GitRepository", "name": "traced"}}},
	}}
	receivers := schema.GroupVersionResource{Group: "notification.toolkit.fluxcd.io", Version: "v1", Resource: "receivers"}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(receivers).Namespace(ns).Create(ctx, rcv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var path string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := dyn.Resource(receivers).Namespace(ns).Get(ctx, "traced", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		path, _, _ = unstructured.NestedString(got.Object, "status", "webhookPath")
		if path == "" {
			return false, nil
		}
		// The webhook server sees the Receiver's path a moment after the apiserver.
		resp, err := http.Post(st.Webhooks+path, "application/json", bytes.NewReader([]byte(`{}`)))
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("the webhook %s%s was never accepted: %v", st.Webhooks, path, err)
	}
	q = fmt.Sprintf(`TugboatReconciliations | where Kind == "Kustomization" and Name == "traced" and Commit == %q and OperationId != "" | project OperationId`, second)
	var hookOp string
	pollQuery(ctx, t, st.Store.Query, string(token), q, "the Kustomization's traced reconcile of "+second[:8], func(rows [][]any) bool {
		if len(rows) > 0 {
			hookOp, _ = rows[0][0].(string)
		}
		return len(hookOp) == 32
	})
	roots := fmt.Sprintf(`AppRequests | where OperationId == %q and ParentId == "" | project Name`, hookOp)
	pollQuery(ctx, t, st.Store.Query, string(token), roots, "the webhook call as the root of operation "+hookOp, func(rows [][]any) bool {
		return len(rows) == 1 && rows[0][0] == "POST /hook/{digest}"
	})

	// Without the token the API answers nothing.
	if code, _, err := query(ctx, st.Store.Query, "not-the-token", "TugboatReconciliations | count"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("a query with a wrong token got %d (%v), want 401", code, err)
	}
}

// pollQuery runs q against the dev store's query API until done accepts its rows.
func pollQuery(ctx context.Context, t *testing.T, base, token, q, what string, done func([][]any) bool) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		code, rows, err := query(ctx, base, token, q)
		last = fmt.Sprintf("%d %v %v", code, rows, err)
		return err == nil && code == http.StatusOK && done(rows), nil
	})
	if err != nil {
		t.Fatalf("%s never showed in the dev store; last answer: %s", what, last)
	}
}

func query(ctx context.Context, base, token, q string) (int, [][]any, error) {
	body, _ := json.Marshal(map[string]string{"query": q})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/query", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var res struct {
		Rows [][]any `json:"rows"`
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, res.Rows, nil
}
