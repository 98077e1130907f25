package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The apiserver and etcd killed and restarted in the middle of an apply of 500
// objects: the suite's manager (in this process, never restarted) loses its watches
// and its writes fail while they are down, then reconnects and converges on the
// revision, every object applied. The outage lasts 5 s: longer than the client's
// retries of one request, shorter than the manager's backoff grows in that time.
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
	k := waitKustomization(t, ns, "app", "converged after the control plane restarted", readyAt(commit))
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
