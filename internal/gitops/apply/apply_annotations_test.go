package apply

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tugboatcd/tugboat/api/meta"
)

// TestApplyAnnotations checks Flux's per-object annotations: the desired
// ConfigMap sets data.a to "2"; some cases start with a live one holding "1".
func TestApplyAnnotations(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	cases := map[string]struct {
		desired     map[string]string // annotations of the desired object
		live        map[string]string // annotations of a live object made first; nil: none exists
		observe     bool              // the Manager observes the live object first
		wantAction  Action
		wantLiveA   string // "" when no object must exist
		wantApplies int64
	}{
		"ssa IfNotPresent creates a missing object": {
			desired:    map[string]string{meta.SSAAnnotation: meta.SSAIfNotPresent},
			wantAction: ActionCreated, wantLiveA: "2", wantApplies: 1,
		},
		"ssa IfNotPresent leaves an existing object alone": {
			desired:    map[string]string{meta.SSAAnnotation: meta.SSAIfNotPresent},
			live:       map[string]string{},
			wantAction: ActionSkipped, wantLiveA: "1",
		},
		"ssa values compare case-insensitively": {
			desired:    map[string]string{meta.SSAAnnotation: "ifnotpresent"},
			live:       map[string]string{},
			wantAction: ActionSkipped, wantLiveA: "1",
		},
		"ssa Ignore never applies the object": {
			desired:    map[string]string{meta.SSAAnnotation: meta.SSAIgnore},
			wantAction: ActionSkipped,
		},
		"reconcile disabled on the desired object skips it": {
			desired:    map[string]string{meta.ReconcileAnnotation: "Disabled"},
			live:       map[string]string{},
			wantAction: ActionSkipped, wantLiveA: "1",
		},
		"reconcile disabled by a user on the live object skips it": {
			live:       map[string]string{meta.ReconcileAnnotation: meta.ReconcileDisabledValue},
			observe:    true,
			wantAction: ActionSkipped, wantLiveA: "1",
		},
		"ssa Override, the default, applies over an existing object": {
			desired:    map[string]string{meta.SSAAnnotation: meta.SSAOverride},
			live:       map[string]string{},
			wantAction: ActionConfigured, wantLiveA: "2", wantApplies: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := testNamespace(t, c)
			m := NewManager(c, "tugboat")
			if tc.live != nil {
				live := configMap(ns, "cm", map[string]string{"a": "1"})
				live.SetAnnotations(tc.live)
				if err := c.Create(ctx, live); err != nil {
					t.Fatal(err)
				}
				if tc.observe {
					m.Observe(live)
				}
			}
			desired := configMap(ns, "cm", map[string]string{"a": "2"})
			desired.SetAnnotations(tc.desired)
			cs, err := m.Apply(ctx, Owner{Name: "app", Namespace: "flux-system"}, []*unstructured.Unstructured{desired}, Options{})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if cs[0].Action != tc.wantAction {
				t.Errorf("action %s, want %s", cs[0].Action, tc.wantAction)
			}
			if got := m.Stats().Applies; got != tc.wantApplies {
				t.Errorf("%d applies, want %d", got, tc.wantApplies)
			}
			live := get(t, c, "v1", "ConfigMap", ns, "cm")
			switch {
			case live == nil && tc.wantLiveA != "":
				t.Fatalf("no live object, want one with a=%s", tc.wantLiveA)
			case live != nil && tc.wantLiveA == "":
				t.Fatalf("a live object exists, want none")
			case live != nil:
				if a, _, _ := unstructured.NestedString(live.Object, "data", "a"); a != tc.wantLiveA {
					t.Errorf("live data.a = %q, want %q", a, tc.wantLiveA)
				}
			}
			// A second apply of a skipped object must not ask again.
			before := m.Stats().Requests()
			if _, err := m.Apply(ctx, Owner{Name: "app", Namespace: "flux-system"}, []*unstructured.Unstructured{desired}, Options{}); err != nil {
				t.Fatal(err)
			}
			if d := m.Stats().Requests() - before; d != 0 {
				t.Errorf("second apply sent %d requests", d)
			}
		})
	}
}
