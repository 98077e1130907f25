package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// Two replicas with --leader-elect on one lease: only the holder reconciles (the
// other's reconcile counter stays at zero), and when the holder stops the other takes
// the lease and carries on converging.
func TestOnlyTheLeaderReconcilesAndAStoppedLeaderHandsOver(t *testing.T) {
	const lease = "tugboat-test-leader"
	ns := newNamespace(t)
	args := []string{"--watch-label-selector", shardLabel + "=leader",
		"--leader-elect", "--leader-election-namespace", ns, "--leader-election-id", lease}
	leader := startController(t, args...)
	holder := waitLeaseHolder(t, ns, lease, "")
	standby := startController(t, args...)

	wd, url := newRepo(t, ns, map[string]string{"app/a.yaml": configMap("a", "1")})
	applyYAML(t, ns, sharded("leader", syncManifests(ns, url, "./app", true)))
	first, _ := wd.Head()
	waitKustomization(t, ns, "app", "applied the first commit", readyAt(first))

	reconciles := func(p *controllerProcess) float64 {
		t.Helper()
		m, err := p.scrape()
		if err != nil {
			t.Fatal(err)
		}
		return metricValue(m, "tugboat_reconcile_total", "kind", "Kustomization")
	}
	if l, s := reconciles(leader), reconciles(standby); l == 0 || s != 0 {
		t.Fatalf("Kustomization reconciles: leader %v, standby %v; want only the leader's", l, s)
	}

	t.Log("stopping the leader")
	leader.stop()
	t.Log("stopped")
	waitLeaseHolder(t, ns, lease, holder)
	if err := wd.WriteFile("app/a.yaml", []byte(configMap("a", "2"))); err != nil {
		t.Fatal(err)
	}
	second, err := wd.CommitAndPush("change a")
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
	waitKustomization(t, ns, "app", "applied the second commit through the new leader", readyAt(second))
	if s := reconciles(standby); s == 0 {
		t.Errorf("the standby took the lease but never reconciled")
	}
}

// waitLeaseHolder waits until the lease is held by someone other than previous and
// returns the holder.
func waitLeaseHolder(t *testing.T, ns, name, previous string) string {
	t.Helper()
	leases := kubernetes.NewForConfigOrDie(env.RESTConfig).CoordinationV1().Leases(ns)
	holder := ""
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, nil
		}
		holder = *l.Spec.HolderIdentity
		return holder != "" && holder != previous, nil
	})
	if err != nil {
		t.Fatalf("lease %s/%s never held by a new holder (previous %q, now %q)", ns, name, previous, holder)
	}
	return holder
}
