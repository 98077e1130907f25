package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// The apiserver and etcd killed and restarted in the middle of an apply of 500
// objects: the suite's manager (in this process, never restarted) loses its watches
// and its writes fail while they are down, then reconnects and converges on the
// revision, every object applied. The components are down for 5 s plus their
// start (15-25 s in all on the 2-core test machine).
// The shared control plane is back before the test returns, so the tests after it
// are unaffected.
func TestTheApiserverAndEtcdRestartedMidReconcileRecovers(t *testing.T) {
	const objects = 500
	ctx := context.Background()
	ns := newNamespace(t)
	files := map[string]string{}
	for i := range objects {
		files[fmt.Sprintf("app/cm-%03d.yaml", i)] = configMap(fmt.Sprintf("cm-%03d", i), "1")
	}
	wd, url := newRepo(t, ns, files)
	commit, _ := wd.Head()
	clients := kubernetes.NewForConfigOrDie(env.RESTConfig)
	before, err := clients.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := clients.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: before.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	applyYAML(t, ns, syncManifests(ns, url, "./app", true))
	landed := 0
	timeout := time.After(90 * time.Second)
	for landed < objects/10 {
		select {
		case ev := <-w.ResultChan():
			if _, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == "ADDED" {
				landed++
			}
		case <-timeout:
			t.Fatalf("only %d objects landed in 90 s", landed)
		}
	}
	w.Stop()
	if n := len(listConfigMaps(t, ns).Items); n >= objects {
		t.Fatalf("all %d objects were applied before the kill: the restart was not mid-reconcile", n)
	}
	start := time.Now()
	if err := env.RestartControlPlane(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the apiserver and etcd after %d of %d objects landed; back after %s, holding %d",
		landed, objects, time.Since(start).Round(100*time.Millisecond), len(listConfigMaps(t, ns).Items))
	start = time.Now()
	// The Kustomization's interval and retryInterval are an hour: it converges only
	// because an apply that failed on the absent apiserver is retried with backoff
	// (reconcile.Failed, 750 ms doubling per failure), not at the retryInterval. The
	// backoff reached while it was down bounds the wait after: 2 minutes is room for
	// an outage of over a minute.
	var k kustomizev1.Kustomization
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &k)
		return err == nil && readyAt(commit)(&k), nil
	}); err != nil {
		t.Fatalf("the Kustomization never converged after the control plane restarted; last status: %s", statusString(&k))
	}
	t.Logf("converged %s after the control plane was back", time.Since(start).Round(100*time.Millisecond))
	if n := len(k.Status.Inventory.Entries); n != objects {
		t.Errorf("the inventory has %d entries, want %d", n, objects)
	}
	got := 0
	for _, cm := range listConfigMaps(t, ns).Items {
		if cm.Data["value"] == "1" {
			got++
		}
	}
	if got != objects {
		t.Errorf("%d of %d ConfigMaps exist after the restart", got, objects)
	}
}
