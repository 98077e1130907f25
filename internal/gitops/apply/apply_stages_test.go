package apply

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tugboatcd/tugboat/api/meta"
)

func TestApplyStages(t *testing.T) {
	c := newClient(t)
	cases := map[string]struct {
		objs func(ns string) []string
		// want are the changes' subjects and actions.
		want func(ns string) map[string]Action
	}{
		"a CRD and a custom resource of it apply in one call": {
			objs: func(ns string) []string {
				// The custom resource comes first: staging, not order, must
				// make it work.
				return []string{`
apiVersion: stages.example.com/v1
kind: Widget
metadata: {name: w, namespace: NS}
spec: {size: 3}`, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.stages.example.com}
spec:
  group: stages.example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}`}
			},
			want: func(ns string) map[string]Action {
				return map[string]Action{
					"CustomResourceDefinition/widgets.stages.example.com": ActionCreated,
					"Widget/" + ns + "/w": ActionCreated,
				}
			},
		},
		"a namespace and the objects in it apply in one call": {
			objs: func(ns string) []string {
				return []string{`
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: NS-apps}
data: {a: "1"}`, `
apiVersion: v1
kind: Namespace
metadata: {name: NS-apps}`}
			},
			want: func(ns string) map[string]Action {
				return map[string]Action{
					"Namespace/" + ns + "-apps":          ActionCreated,
					"ConfigMap/" + ns + "-apps/settings": ActionCreated,
				}
			},
		},
		"a cluster-scoped object given a namespace is applied without it": {
			objs: func(ns string) []string {
				return []string{`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NS-reader, namespace: NS}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]`}
			},
			want: func(ns string) map[string]Action {
				return map[string]Action{"ClusterRole/" + ns + "-reader": ActionCreated}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := testNamespace(t, c)
			var objs []*unstructured.Unstructured
			for _, doc := range tc.objs(ns) {
				objs = append(objs, parse(t, ns, doc))
			}
			m := NewManager(c, "tugboat")
			owner := Owner{Name: "app", Namespace: "flux-system"}
			cs, err := m.Apply(context.Background(), owner, objs, Options{})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := tc.want(ns)
			if got := actions(cs); !equalActions(got, want) {
				t.Fatalf("changes:\n%s\nwant %v", cs, want)
			}
			for _, ch := range cs {
				obj := &unstructured.Unstructured{}
				for _, o := range objs {
					if o.GetName() == ch.Name && o.GetKind() == ch.Kind {
						obj = o
					}
				}
				live := get(t, c, obj.GetAPIVersion(), ch.Kind, ch.Namespace, ch.Name)
				if live == nil {
					t.Fatalf("%s was not created", ch.Subject())
				}
				if l := live.GetLabels(); l[meta.KustomizeNameLabel] != "app" || l[meta.KustomizeNamespaceLabel] != "flux-system" {
					t.Errorf("%s has labels %v, want the owner's", ch.Subject(), l)
				}
			}
		})
	}
}

func equalActions(a, b map[string]Action) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
