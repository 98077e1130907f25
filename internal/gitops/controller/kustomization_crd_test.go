package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// widgetCRD is a namespaced custom resource of group group with a spec.size.
func widgetCRD(group string) string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[1]s
spec:
  group: %[1]s
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`, group)
}

// A Kustomization that brings a CRD and an object of it applies the CRD first, waits
// until it is served, applies the object, and watches it (custom resources are
// watched as JSON, built-in kinds in protobuf): an edit of the object is reverted.
func TestCustomResourcesApplyAfterTheirCRDAndTheirDriftIsReverted(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	group := ns + ".tugboat.test"
	widget := fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n", group)
	wd, url := newRepo(t, ns, map[string]string{"app/crd.yaml": widgetCRD(group), "app/widget.yaml": widget})
	t.Cleanup(func() {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		crd.SetName("widgets." + group)
		_ = k8s.Delete(context.Background(), crd)
	})
	applyYAML(t, ns, syncManifests(ns, url, "./app", true))
	commit, _ := wd.Head()
	waitKustomization(t, ns, "app", "applied", readyAt(commit))

	size := func() (int64, error) {
		w := &unstructured.Unstructured{}
		w.SetAPIVersion(group + "/v1")
		w.SetKind("Widget")
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w"}, w); err != nil {
			return 0, err
		}
		v, _, err := unstructured.NestedInt64(w.Object, "spec", "size")
		return v, err
	}
	if got, err := size(); err != nil || got != 3 {
		t.Fatalf("the Widget's spec.size = %d (%v), want 3 from Git", got, err)
	}

	edit := &unstructured.Unstructured{}
	edit.SetAPIVersion(group + "/v1")
	edit.SetKind("Widget")
	edit.SetNamespace(ns)
	edit.SetName("w")
	if err := k8s.Patch(ctx, edit, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"size":5}}`))); err != nil {
		t.Fatal(err)
	}
	var got int64
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		var err error
		got, err = size()
		return err == nil && got == 3, nil
	})
	if err != nil {
		t.Fatalf("the edit of the Widget was not reverted: spec.size is %d", got)
	}
}
