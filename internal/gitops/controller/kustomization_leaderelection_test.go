package controller

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/kube"
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

// Two `tugboat controller` processes started as a user would, with no leader election
// flag, on the same cluster: the second waits, saying which process holds the lease,
// and each change is acted on once — one NewArtifact and one ReconciliationSucceeded
// event per revision, and every reconcile (hence every apply and status write) in the
// lease holder's process. Both would write as the same field manager, so the processes
// are told apart by their own reconcile counters, not by managedFields.
func TestTwoControllersWithDefaultFlagsActOncePerChange(t *testing.T) {
	ns := newNamespace(t)
	const shard = "default-lease"
	args := []string{"--watch-label-selector", shardLabel + "=" + shard}
	first := startControllerWithDefaults(t, args...)
	holder := waitLeaseHolder(t, kube.ControllerLeaseNamespace, kube.ControllerLeaseName, "")
	second := startControllerWithDefaults(t, args...)

	host, pid, ok := kube.ParseLeaseHolder(holder)
	me, _ := os.Hostname()
	if !ok || host != me {
		t.Fatalf("lease holder %q does not name this host %q and a pid", holder, me)
	}
	leader, standby := first, second
	if pid == second.cmd.Process.Pid {
		leader, standby = second, first
	} else if pid != first.cmd.Process.Pid {
		t.Fatalf("lease holder %q names pid %d, neither controller (%d, %d)", holder, pid, first.cmd.Process.Pid, second.cmd.Process.Pid)
	}
	// The standby says once, in its log, that it waits and for whom.
	waitLog(t, standby, "another controller holds the lease", holder)

	wd, url := newRepo(t, ns, map[string]string{"app/a.yaml": configMap("a", "1")})
	applyYAML(t, ns, sharded(shard, syncManifests(ns, url, "./app", true)))
	rev1, _ := wd.Head()
	waitKustomization(t, ns, "app", "applied the first commit", readyAt(rev1))
	if err := wd.WriteFile("app/a.yaml", []byte(configMap("a", "2"))); err != nil {
		t.Fatal(err)
	}
	rev2, err := wd.CommitAndPush("change a")
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
	waitKustomization(t, ns, "app", "applied the second commit", readyAt(rev2))

	for _, rev := range []string{rev1, rev2} {
		revision := "main@sha1:" + rev
		// The events of a revision are recorded asynchronously: wait for the first.
		waitEventCount(t, ns, "GitRepository", "repo", "NewArtifact", revision)
		waitEventCount(t, ns, "Kustomization", "app", meta.ReconciliationSucceededReason, revision)
	}
	// By now the first revision's events of both processes would long be written.
	for what, c := range map[string]struct{ kind, name, reason, rev string }{
		"a new artifact of the first commit":  {"GitRepository", "repo", "NewArtifact", rev1},
		"a new artifact of the second commit": {"GitRepository", "repo", "NewArtifact", rev2},
		"the first commit applied":            {"Kustomization", "app", meta.ReconciliationSucceededReason, rev1},
		"the second commit applied":           {"Kustomization", "app", meta.ReconciliationSucceededReason, rev2},
	} {
		if n := eventCount(t, ns, c.kind, c.name, c.reason, "main@sha1:"+c.rev); n != 1 {
			t.Errorf("%s: %d %s events on %s/%s, want 1", what, n, c.reason, c.kind, c.name)
		}
	}
	for _, kind := range []string{"GitRepository", "Kustomization"} {
		lm, err := leader.scrape()
		if err != nil {
			t.Fatal(err)
		}
		sm, err := standby.scrape()
		if err != nil {
			t.Fatal(err)
		}
		l, s := metricValue(lm, "tugboat_reconcile_total", "kind", kind), metricValue(sm, "tugboat_reconcile_total", "kind", kind)
		if l == 0 || s != 0 {
			t.Errorf("%s reconciles: lease holder %v, standby %v; want only the holder's", kind, l, s)
		}
	}
}

// waitLog waits until the process's log has a line holding every fragment.
func waitLog(t *testing.T, p *controllerProcess, fragments ...string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		data, err := os.ReadFile(p.logPath)
		if err != nil {
			return false, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			found := true
			for _, f := range fragments {
				found = found && strings.Contains(line, f)
			}
			if found {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no line with %q in the log:\n%s", fragments, p.logTail(20))
	}
}

// eventCount counts the occurrences of events with reason on the object whose revision
// annotation is revision, each Event's series included.
func eventCount(t *testing.T, ns, kind, name, reason, revision string) int {
	t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Kind != kind || e.Regarding.Name != name || e.Reason != reason || e.Annotations[meta.RevisionAnnotation] != revision {
			continue
		}
		if e.Series != nil && e.Series.Count > 1 {
			n += int(e.Series.Count)
		} else {
			n++
		}
	}
	return n
}

func waitEventCount(t *testing.T, ns, kind, name, reason, revision string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return eventCount(t, ns, kind, name, reason, revision) > 0, nil
	})
	if err != nil {
		t.Fatalf("no %s event on %s %s/%s for %s", reason, kind, ns, name, revision)
	}
}
