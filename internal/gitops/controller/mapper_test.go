package controller

import (
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper counts the RESTMapping calls that reach apimachinery's
// DefaultRESTMapper, whose mappings the test changes.
type countingMapper struct {
	*apimeta.DefaultRESTMapper
	calls int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*apimeta.RESTMapping, error) {
	c.calls++
	return c.DefaultRESTMapper.RESTMapping(gk, versions...)
}

func TestMemoMapperRemembersFoundMappingsUntilReset(t *testing.T) {
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	delegate := &countingMapper{DefaultRESTMapper: apimeta.NewDefaultRESTMapper(nil)}
	m := &memoMapper{RESTMapper: delegate}

	// Not served yet: the error comes through and is not remembered.
	if _, err := m.RESTMapping(widget.GroupKind(), widget.Version); !apimeta.IsNoMatchError(err) {
		t.Fatalf("mapping an unserved kind: got %v, want a NoMatch error", err)
	}
	delegate.Add(widget, apimeta.RESTScopeNamespace)
	first, err := m.RESTMapping(widget.GroupKind(), widget.Version)
	if err != nil {
		t.Fatalf("mapping the kind once served: %v", err)
	}
	if first.Resource.Resource != "widgets" || first.Scope.Name() != apimeta.RESTScopeNameNamespace {
		t.Fatalf("mapping = %s %s, want widgets, namespaced", first.Resource, first.Scope.Name())
	}
	calls := delegate.calls
	again, err := m.RESTMapping(widget.GroupKind(), widget.Version)
	if err != nil || again != first {
		t.Fatalf("second mapping = %v, %v; want the remembered one", again, err)
	}
	if delegate.calls != calls {
		t.Errorf("the second mapping asked the delegate (%d calls, want %d)", delegate.calls, calls)
	}

	// The kind becomes cluster-scoped (its CRD recreated): Reset forgets the old mapping.
	delegate.DefaultRESTMapper = apimeta.NewDefaultRESTMapper(nil)
	delegate.Add(widget, apimeta.RESTScopeRoot)
	if still, _ := m.RESTMapping(widget.GroupKind(), widget.Version); still.Scope.Name() != apimeta.RESTScopeNameNamespace {
		t.Fatalf("before Reset the mapping changed to %s", still.Scope.Name())
	}
	m.Reset()
	after, err := m.RESTMapping(widget.GroupKind(), widget.Version)
	if err != nil || after.Scope.Name() != apimeta.RESTScopeNameRoot {
		t.Fatalf("after Reset: %v, %v; want the cluster-scoped mapping", after, err)
	}
}
