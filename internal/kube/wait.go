package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Waiting for what was just applied to be usable: a CRD Established and its kinds
// served by discovery, a Namespace Active, a workload Current. `tugboat install`, the
// apply engine's stages and the test clusters' CRD install all wait this one way.

// Ready tells whether an object is ready; an error ends the wait.
type Ready func(*unstructured.Unstructured) (bool, error)

// Established is Ready for a CustomResourceDefinition: its Established condition is True.
func Established(u *unstructured.Unstructured) (bool, error) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if cm, ok := c.(map[string]any); ok && cm["type"] == "Established" && cm["status"] == "True" {
			return true, nil
		}
	}
	return false, nil
}

// Active is Ready for a Namespace: its phase is Active.
func Active(u *unstructured.Unstructured) (bool, error) {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	return phase == string(corev1.NamespaceActive), nil
}

// Current is Ready for any object: kstatus says it is Current (a CRD established, a
// Deployment rolled out).
func Current(u *unstructured.Unstructured) (bool, error) {
	res, err := status.Compute(u)
	if err != nil {
		return false, fmt.Errorf("failed to compute the status of %s: %w", describe(u), err)
	}
	return res.Status == status.CurrentStatus, nil
}

// Getter reads the object waited for; (nil, nil) means "not there yet, keep waiting",
// an error ends the wait.
type Getter func(ctx context.Context) (*unstructured.Unstructured, error)

// WaitFor reads the object with get until ready holds, starting from obj when it is
// not nil (an apply's response: often ready already, and then no request is sent).
// It returns the object last read (nil when none was), for the caller's message.
func WaitFor(ctx context.Context, timeout time.Duration, obj *unstructured.Unstructured, get Getter, ready Ready) (*unstructured.Unstructured, error) {
	if obj != nil {
		if ok, err := ready(obj); ok || err != nil {
			return obj, err
		}
	}
	last := obj
	err := Poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		live, err := get(ctx)
		if err != nil || live == nil {
			return false, err
		}
		last = live
		return ready(live)
	})
	return last, err
}

// WaitServed waits until mapper maps the kind of a CRD at every version the CRD serves,
// so that objects of the kind can be applied: a CRD is Established a moment before the
// apiserver's discovery lists it, and until then a create fails with "no matches for
// kind". The mapper must see a new kind on a miss, as controller-runtime's dynamic
// mapper does; one that keeps a stale discovery cache must drop it in RESTMapping.
func WaitServed(ctx context.Context, timeout time.Duration, mapper apimeta.RESTMapper, crd *unstructured.Unstructured) error {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		if served, _ := vm["served"].(bool); !served || name == "" {
			continue
		}
		err := Poll(ctx, timeout, func(context.Context) (bool, error) {
			_, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind}, name)
			return err == nil, nil
		})
		if err != nil {
			return fmt.Errorf("failed to wait for discovery to serve %s/%s of %s: %w", group, name, describe(crd), err)
		}
	}
	return nil
}

// Poll calls done with a growing interval, from 25ms up to 500ms, until it returns
// true or an error, or timeout passes: what was just applied is mostly ready within
// milliseconds, and a slow one costs at most two requests a second.
func Poll(ctx context.Context, timeout time.Duration, done func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := 25 * time.Millisecond
	for {
		ok, err := done(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s", timeout)
		case <-time.After(interval):
		}
		interval = min(2*interval, 500*time.Millisecond)
	}
}

// describe names an object as Flux's change lines do: Kind/namespace/name.
func describe(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}
