package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	deploymentutil "k8s.io/kubectl/pkg/util/deployment"

	"github.com/tugboatcd/tugboat/internal/health"
)

// ErrRolloutFailed wraps a rollout that kubectl's rules judge failed (a Deployment
// past its progress deadline) or whose workload was deleted while watched.
var ErrRolloutFailed = errors.New("rollout failed")

// ErrTimeout is returned when a rollout did not complete before the context's deadline.
var ErrTimeout = errors.New("timed out waiting for the rollout")

// WaitOptions tune WaitRollout.
type WaitOptions struct {
	// Watch keeps watching until the rollout ends; false judges the current state once,
	// like `kubectl rollout status --watch=false`.
	Watch bool
	// Progress, when set, receives every reading of the rollout.
	Progress func(health.RolloutStatus)
	// UntilObserved stops as soon as the controller has observed the workload's
	// current generation (and so has numbered its revision), whatever the rollout's state.
	UntilObserved bool
}

// WaitRollout watches one workload until `kubectl rollout status` would stop: the
// rollout is complete (nil error), it failed (ErrRolloutFailed), or ctx ended
// (ErrTimeout when its deadline passed). Like kubectl it lists and watches the one
// object by name and judges every event; it never polls. The last reading is returned.
func WaitRollout(ctx context.Context, c Clients, ns string, w Workload, opts WaitOptions) (health.RolloutStatus, error) {
	start := time.Now()
	res := c.Dynamic.Resource(w.GroupVersionResource()).Namespace(ns)
	// A Get first gives a clear "not found", which a list by name cannot.
	if _, err := res.Get(ctx, w.Name, metav1.GetOptions{}); err != nil {
		return health.RolloutStatus{}, fmt.Errorf("failed to get %s in namespace %q: %w", w, ns, err)
	}
	selector := fields.OneTermEqualSelector("metadata.name", w.Name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return res.Watch(ctx, o)
		},
	}
	var last health.RolloutStatus
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		switch e.Type {
		case watch.Added, watch.Modified:
			obj, ok := e.Object.(*unstructured.Unstructured)
			if !ok {
				return false, fmt.Errorf("unexpected object %T in the watch of %s", e.Object, w)
			}
			if opts.UntilObserved {
				observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
				return observed >= obj.GetGeneration(), nil
			}
			st, err := health.Rollout(obj)
			last = st
			if err != nil {
				// kubectl's own words ("deployment "web" exceeded its progress
				// deadline") are under health's wrapping.
				if inner := errors.Unwrap(err); inner != nil {
					err = inner
				}
				last.Message = err.Error()
				return false, fmt.Errorf("%w: %w", ErrRolloutFailed, err)
			}
			if opts.Progress != nil {
				opts.Progress(st)
			}
			return st.Done || !opts.Watch, nil
		case watch.Deleted:
			// As kubectl: stop rather than silently watch a recreated object.
			return false, fmt.Errorf("%w: %s was deleted", ErrRolloutFailed, w)
		default:
			return false, fmt.Errorf("unexpected watch event %q for %s", e.Type, w)
		}
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			if errors.Is(ctxErr, context.DeadlineExceeded) {
				return last, fmt.Errorf("%w of %s after %s; last status: %s", ErrTimeout, w, time.Since(start).Round(time.Second), last.Message)
			}
			return last, ctxErr
		}
		return last, err
	}
	return last, nil
}

// Revision returns the workload's current rollout revision: the Deployment's
// deployment.kubernetes.io/revision annotation, or the highest ControllerRevision of a
// StatefulSet or DaemonSet (kubectl's history viewers find them). 0 when there is none yet.
func Revision(ctx context.Context, c Clients, ns string, w Workload) (int64, error) {
	if w.Kind == "Deployment" {
		d, err := c.Kube.AppsV1().Deployments(ns).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("failed to get %s: %w", w, err)
		}
		rev, err := deploymentutil.Revision(d)
		if err != nil {
			return 0, nil //nolint:nilerr // a Deployment the controller has not yet seen has no revision
		}
		return rev, nil
	}
	revs, err := History(ctx, c, ns, w)
	if err != nil || len(revs) == 0 {
		return 0, err
	}
	return revs[len(revs)-1], nil
}

// History returns the workload's revisions, oldest first, from kubectl's history viewer.
func History(_ context.Context, c Clients, ns string, w Workload) ([]int64, error) {
	viewer, err := polymorphichelpers.HistoryViewerFor(w.GroupKind(), c.Kube)
	if err != nil {
		return nil, fmt.Errorf("failed to read the history of %s: %w", w, err)
	}
	h, err := viewer.GetHistory(ns, w.Name)
	if err != nil {
		return nil, fmt.Errorf("failed to read the history of %s: %w", w, err)
	}
	revs := make([]int64, 0, len(h))
	for r := range h {
		revs = append(revs, r)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	return revs, nil
}

// ViewHistory is `kubectl rollout history`'s text for the workload (revision 0: the table
// of revisions; N: that revision's pod template).
func ViewHistory(ctx context.Context, c Clients, ns string, w Workload, revision int64) (string, error) {
	if _, _, err := c.get(ctx, ns, w); err != nil {
		return "", fmt.Errorf("failed to get %s in namespace %q: %w", w, ns, err)
	}
	viewer, err := polymorphichelpers.HistoryViewerFor(w.GroupKind(), c.Kube)
	if err != nil {
		return "", fmt.Errorf("failed to read the history of %s: %w", w, err)
	}
	text, err := viewer.ViewHistory(ns, w.Name, revision)
	if err != nil {
		return "", fmt.Errorf("failed to read revision %d of %s: %w", revision, w, err)
	}
	return text, nil
}

// Undo rolls the workload back to revision (0: the one before the current) with
// kubectl's own rollbacker and returns its verdict: "rolled back", or "skipped rollback
// (current template already matches revision N)".
func Undo(ctx context.Context, c Clients, ns string, w Workload, revision int64) (string, error) {
	obj, _, err := c.get(ctx, ns, w)
	if err != nil {
		return "", fmt.Errorf("failed to get %s in namespace %q: %w", w, ns, err)
	}
	rb, err := polymorphichelpers.RollbackerFor(w.GroupKind(), c.Kube)
	if err != nil {
		return "", fmt.Errorf("failed to roll back %s: %w", w, err)
	}
	msg, err := rb.Rollback(obj, nil, revision, util.DryRunNone)
	if err != nil {
		return "", fmt.Errorf("failed to roll back %s: %w", w, err)
	}
	return msg, nil
}
