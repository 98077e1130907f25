package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A woken Kustomization that goes first (drifted, or depended on) is reconciled before
// the Kustomizations queued for their first reconcile, whether it was queued already or
// not, and any other woken one after them, on controller-runtime's own priority queue.
func TestFirstWakeUpsGoAheadOfKustomizationsNotYetReconciled(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("wake-test")
	defer q.ShutDown()
	req := func(name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: name}}
	}
	for _, name := range []string{"new-1", "queued", "new-2"} {
		q.Add(req(name))
	}
	enqueueWake(q, req("leaf"), false)
	enqueueWake(q, req("woken"), true)
	enqueueWake(q, req("queued"), true)

	var order []string
	for range 5 {
		r, _ := q.Get()
		order = append(order, r.Name)
		q.Done(r)
	}
	want := []string{"woken", "queued", "new-1", "new-2", "leaf"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("reconciled in the order %v, want %v", order, want)
		}
	}
}
