package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.tugboat.dev
spec:
  group: example.tugboat.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
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
`

const widget = `
apiVersion: example.tugboat.dev/v1
kind: Widget
metadata:
  name: big
  namespace: default
spec:
  size: 7
`

func TestServerSideApplyOfCRDThenCustomResource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dyn := dynamic.NewForConfigOrDie(shared.RESTConfig)
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	widgetGVR := schema.GroupVersionResource{Group: "example.tugboat.dev", Version: "v1", Resource: "widgets"}

	if err := apply(ctx, dyn.Resource(crdGVR), widgetCRD); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(crdGVR).Delete(context.Background(), "widgets.example.tugboat.dev", metav1.DeleteOptions{})
	})
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd, err := dyn.Resource(crdGVR).Get(ctx, "widgets.example.tugboat.dev", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD never became Established: %v", err)
	}

	// The apiserver validates the custom resource against the CRD's structural schema.
	bad := widget + "  unknownField: x\n"
	if err := apply(ctx, dyn.Resource(widgetGVR).Namespace("default"), bad); err == nil || !strings.Contains(err.Error(), ".spec.unknownField: field not declared in schema") {
		t.Fatalf("applying a field the schema lacks: err = %v, want a schema error", err)
	}
	if err := apply(ctx, dyn.Resource(widgetGVR).Namespace("default"), widget); err != nil {
		t.Fatal(err)
	}
	got, err := dyn.Resource(widgetGVR).Namespace("default").Get(ctx, "big", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("failed to read the custom resource back: %v", err)
	}
	if size, _, _ := unstructured.NestedInt64(got.Object, "spec", "size"); size != 7 {
		t.Errorf("spec.size = %d, want 7", size)
	}
	managers := got.GetManagedFields()
	if len(managers) == 0 || managers[0].Manager != "tugboat-test" || managers[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("want an Apply entry of manager tugboat-test, got %+v", managers)
	}
}

// apply server-side applies one YAML object as field manager tugboat-test.
func apply(ctx context.Context, client dynamic.ResourceInterface, doc string) error {
	var obj unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		return fmt.Errorf("bad test YAML: %w", err)
	}
	if _, err := client.Apply(ctx, obj.GetName(), &obj, metav1.ApplyOptions{FieldManager: "tugboat-test", Force: true}); err != nil {
		return fmt.Errorf("failed to apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}
