package health

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/kubectl/pkg/polymorphichelpers"
)

// RolloutStatus is one reading of a workload's rollout.
type RolloutStatus struct {
	// Message is kubectl's own text, e.g. `Waiting for deployment "web" rollout to
	// finish: 1 of 3 updated replicas are available...`.
	Message string
	// Done is true once the rollout is complete.
	Done bool
	// Desired, Updated, Ready and Available are the replica counts behind the message.
	Desired, Updated, Ready, Available int64
}

// Rollout judges a Deployment, StatefulSet or DaemonSet with the exact rules of
// `kubectl rollout status` (generation observed, updated/available replicas, progress
// deadline). It uses kubectl's own status viewers rather than a copy of their rules, so
// the verdicts cannot drift from kubectl's. A failed rollout (progress deadline
// exceeded) is an error.
func Rollout(obj *unstructured.Unstructured) (RolloutStatus, error) {
	viewer, err := polymorphichelpers.StatusViewerFor(obj.GroupVersionKind().GroupKind())
	if err != nil {
		return RolloutStatus{}, fmt.Errorf("failed to judge rollout of %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	msg, done, err := viewer.Status(obj, 0)
	st := RolloutStatus{Message: strings.TrimSpace(msg), Done: done}
	st.Desired, _, _ = unstructured.NestedInt64(obj.Object, "spec", "replicas")
	if obj.GetKind() == "DaemonSet" {
		st.Desired, _, _ = unstructured.NestedInt64(obj.Object, "status", "desiredNumberScheduled")
		st.Updated, _, _ = unstructured.NestedInt64(obj.Object, "status", "updatedNumberScheduled")
		st.Ready, _, _ = unstructured.NestedInt64(obj.Object, "status", "numberReady")
		st.Available, _, _ = unstructured.NestedInt64(obj.Object, "status", "numberAvailable")
	} else {
		st.Updated, _, _ = unstructured.NestedInt64(obj.Object, "status", "updatedReplicas")
		st.Ready, _, _ = unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
		st.Available, _, _ = unstructured.NestedInt64(obj.Object, "status", "availableReplicas")
	}
	if err != nil {
		return st, fmt.Errorf("rollout of %s %s failed: %w", obj.GetKind(), obj.GetName(), err)
	}
	return st, nil
}
