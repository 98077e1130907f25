package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A Kustomization woken by the objects it applied is reconciled before the
// Kustomizations queued for their first reconcile, whether it was queued already or
// not, on controller-runtime's own priority queue.
func TestWakeUpsGoAheadOfKustomizationsNotYetReconciled(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("wake-test")
	defer q.ShutDown()
	req := func(name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: name}}
	}
	for _, name := range []string{"new-1", "queued", "new-2"} {
		q.Add(req(name))
	}
	enqueueWake(q, req("woken"))
	enqueueWake(q, req("queued"))

	var order []string
	for range 4 {
		r, _ := q.Get()
		order = append(order, r.Name)
		q.Done(r)
	}
	want := []string{"woken", "queued", "new-1", "new-2"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("reconciled in the order %v, want %v", order, want)
		}
	}
}
