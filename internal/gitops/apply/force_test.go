package apply

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tugboatcd/tugboat/api/meta"
)

// TestApplyImmutable changes an immutable field: without force the apply
// fails naming the object and field; with force the object is recreated.
func TestApplyImmutable(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	job := func(image string) string {
		return `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: NS}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: ` + image + `}]`
	}
	service := func(ip string) string {
		return `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  clusterIP: ` + ip + `
  ports: [{port: 80}]`
	}
	cases := map[string]struct {
		before, after string
		force         bool
		annotate      bool
		wantErr       []string // substrings of the error; none when it must succeed
		wantUIDChange bool
	}{
		"a Job's changed template fails without force": {
			before: job("busybox:1"), after: job("busybox:2"),
			wantErr: []string{"Job/", "/migrate", "field is immutable", "spec.force"},
		},
		"a Job's changed template is recreated with spec.force": {
			before: job("busybox:1"), after: job("busybox:2"), force: true,
			wantUIDChange: true,
		},
		"a Job's changed template is recreated with the force annotation": {
			before: job("busybox:1"), after: job("busybox:2"), annotate: true,
			wantUIDChange: true,
		},
		"a Service's changed clusterIP fails without force": {
			before: service("10.96.200.10"), after: service("10.96.200.11"),
			wantErr: []string{"Service/", "/web", "spec.clusterIP"},
		},
		"a Service's changed clusterIP is recreated with spec.force": {
			before: service("10.96.200.12"), after: service("10.96.200.13"), force: true,
			wantUIDChange: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := testNamespace(t, c)
			m := NewManager(c, "tugboat")
			owner := Owner{Name: "app", Namespace: "flux-system"}
			before := parse(t, ns, tc.before)
			if _, err := m.Apply(ctx, owner, []*unstructured.Unstructured{before}, Options{}); err != nil {
				t.Fatal(err)
			}
			uid := get(t, c, before.GetAPIVersion(), before.GetKind(), ns, before.GetName()).GetUID()

			after := parse(t, ns, tc.after)
			if tc.annotate {
				after.SetAnnotations(map[string]string{meta.ForceAnnotation: "enabled"})
			}
			cs, err := m.Apply(ctx, owner, []*unstructured.Unstructured{after}, Options{Force: tc.force})
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Apply succeeded:\n%s", cs)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
			} else if err != nil {
				t.Fatalf("Apply: %v", err)
			} else if cs[0].Action != ActionCreated {
				t.Errorf("action %s, want created", cs[0].Action)
			}
			live := get(t, c, before.GetAPIVersion(), before.GetKind(), ns, before.GetName())
			if live == nil {
				t.Fatal("the object is gone")
			}
			if changed := live.GetUID() != uid; changed != tc.wantUIDChange {
				t.Errorf("recreated: %v, want %v", changed, tc.wantUIDChange)
			}
		})
	}
}
