package apply

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestApplyErrors applies a broken object beside a good ConfigMap: the error
// must name the object and say what is wrong, and the ConfigMap must stay
// unapplied when the broken object's stage runs first or is its own.
func TestApplyErrors(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	cases := map[string]struct {
		broken          string
		wantErr         []string
		wantGoodApplied bool
	}{
		"an unknown kind names the object and leaves nothing applied": {
			broken:  `{apiVersion: x.example.com/v1, kind: Foo, metadata: {name: f, namespace: NS}}`,
			wantErr: []string{"Foo/NS/f", `no matches for kind "Foo" in version "x.example.com/v1"`},
		},
		"a namespaced object without a namespace leaves nothing applied": {
			broken:  `{apiVersion: v1, kind: Secret, metadata: {name: s}}`,
			wantErr: []string{"Secret/s", "namespace not specified"},
		},
		"the same object twice leaves nothing applied": {
			broken:  `{apiVersion: v1, kind: ConfigMap, metadata: {name: good, namespace: NS}}`,
			wantErr: []string{"ConfigMap/NS/good", "given twice"},
		},
		"a failing first stage leaves later stages unapplied": {
			broken:  `{apiVersion: v1, kind: Namespace, metadata: {name: Not_Valid}}`,
			wantErr: []string{"Namespace/Not_Valid", "metadata.name"},
		},
		"an invalid object names its field": {
			broken:  `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d, namespace: NS}, spec: {template: {spec: {containers: []}}}}`,
			wantErr: []string{"Deployment/NS/d", "spec.selector"},
			// The server rejects it: there is no dry-run to learn of it
			// before the rest of its stage is sent.
			wantGoodApplied: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := testNamespace(t, c)
			m := NewManager(c, "tugboat")
			objs := []*unstructured.Unstructured{configMap(ns, "good", nil), parse(t, ns, tc.broken)}
			cs, err := m.Apply(ctx, Owner{Name: "app", Namespace: "flux-system"}, objs, Options{})
			if err == nil {
				t.Fatalf("Apply succeeded:\n%s", cs)
			}
			for _, s := range tc.wantErr {
				if s = strings.ReplaceAll(s, "NS", ns); !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if good := get(t, c, "v1", "ConfigMap", ns, "good") != nil; good != tc.wantGoodApplied {
				t.Errorf("the good ConfigMap applied: %v, want %v", good, tc.wantGoodApplied)
			}
		})
	}
}
