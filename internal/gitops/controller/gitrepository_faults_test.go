package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
)

// gitFaultTimeout is the GitRepository's spec.timeout in TestGitServerFaults: far
// shorter than the slow server's delay, so the slow fault is seen in seconds.
const gitFaultTimeout = 2 * time.Second

// The Git server down, slow (30 s per request against a 2 s spec.timeout), answering
// 500, or asking for credentials: each time the GitRepository turns Ready=False with
// the reason and a message naming the failure, the Kustomization keeps its last
// applied revision and its objects, and once the server is healthy again the
// controllers (never restarted: the suite's manager runs all along) fetch the commit
// pushed before the fault and apply it on their own, with no reconcile request after
// the fault was healed. The faults run in order on one repository, each healed before
// the next, so the order is a list.
func TestGitServerFaultsLeaveTheLastAppliedStateAndRecover(t *testing.T) {
	srv, stop, err := testenv.GitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx := context.Background()
	ns := newNamespace(t)
	wd, url := testenv.Repo(t, srv, ns, map[string]string{"app/cm.yaml": configMap("cm", "healthy")})
	commit, _ := wd.Head()
	repo := strings.Replace(gitRepository(url), "  interval: 1h\n", fmt.Sprintf("  interval: 1h\n  timeout: %s\n", gitFaultTimeout), 1)
	applyYAML(t, ns, repo+"---"+kustomization(ns, "app", "./app", ""))
	waitKustomization(t, ns, "app", "applied the first revision", readyAt(commit))

	faults := []struct {
		name     string
		fault    gitserver.Fault
		down     bool
		reason   string
		fragment string // in the Ready message
	}{
		{name: "down", down: true, reason: meta.GitOperationFailedReason, fragment: "connection refused"},
		{name: "slow", fault: gitserver.Fault{Delay: 30 * time.Second}, reason: meta.GitOperationFailedReason, fragment: "deadline"},
		{name: "answering 500", fault: gitserver.Fault{Status: 500}, reason: meta.GitOperationFailedReason, fragment: "500"},
		{name: "asking for credentials", fault: gitserver.Fault{AskCredentials: true}, reason: meta.AuthenticationFailedReason, fragment: "auth"},
	}
	for _, f := range faults {
		t.Run("the server "+f.name, func(t *testing.T) {
			applied := commit
			if err := wd.WriteFiles(map[string]string{"app/cm.yaml": configMap("cm", f.name)}); err != nil {
				t.Fatal(err)
			}
			next, err := wd.CommitAndPush("while the server is " + f.name)
			if err != nil {
				t.Fatal(err)
			}
			if f.down {
				srv.Close()
			} else {
				srv.SetFault(f.fault)
			}
			requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
			g := waitGitRepositoryStatus(t, ns, "repo", "turned Ready=False with reason "+f.reason, func(g *sourcev1.GitRepository) bool {
				c := readyCondition(g)
				return c != nil && c.Status == metav1.ConditionFalse && c.Reason == f.reason
			})
			if msg := readyCondition(g).Message; !strings.Contains(strings.ToLower(msg), f.fragment) {
				t.Errorf("Ready message %q does not say %q", msg, f.fragment)
			}
			if a := g.Status.Artifact; a == nil || !strings.HasSuffix(a.Revision, commit) {
				t.Errorf("the failed fetch dropped the artifact of %s: %+v", commit, a)
			}

			// The Kustomization sees the failed source: its state must not move.
			requestReconcile(t, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}})
			time.Sleep(2 * time.Second)
			var k kustomizev1.Kustomization
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &k); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(k.Status.LastAppliedRevision, applied) {
				t.Errorf("lastAppliedRevision moved to %q during the fault, want %s", k.Status.LastAppliedRevision, applied)
			}
			var cm corev1.ConfigMap
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cm"}, &cm); err != nil {
				t.Fatalf("the applied ConfigMap is gone during the fault: %v", err)
			}
			if len(k.Status.Inventory.Entries) != 1 {
				t.Errorf("the inventory has %d entries during the fault, want 1", len(k.Status.Inventory.Entries))
			}

			if f.down {
				if _, err := srv.Start(); err != nil {
					t.Fatal(err)
				}
			} else {
				srv.SetFault(gitserver.Fault{})
			}
			start := time.Now()
			waitKustomization(t, ns, "app", "applied the commit pushed before the fault once the server healed", readyAt(next))
			t.Logf("the server %s: %s; recovered %s after it healed", f.name, readyCondition(g).Message, time.Since(start).Round(100*time.Millisecond))
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cm"}, &cm); err != nil || cm.Data["value"] != f.name {
				t.Fatalf("after recovery the ConfigMap is %v (%v), want value %q", cm.Data, err, f.name)
			}
			commit = next
		})
	}
}
