package controller

import (
	"net/http"
	"strings"
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// newMapper is the manager's RESTMapper: controller-runtime's dynamic mapper, with
// the mappings it found remembered.
func newMapper(cfg *rest.Config, httpClient *http.Client) (apimeta.RESTMapper, error) {
	m, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return &memoMapper{RESTMapper: m}, nil
}

// memoMapper remembers the RESTMappings its delegate found. Every apply, health
// check and metadata request maps its object's kind, and the dynamic mapper rebuilds
// the candidate list (and a NoMatch error value to compare with) on each call, a
// large share of the controller's allocations at scale
// (docs/design/2026-11-26-gitops-cpu-budget.md). Only found
// mappings are kept, so a kind not yet served (a CRD applied a moment ago) is asked
// again; the mappings of a kind do not change while its CRD exists (scope and names
// are immutable), and Reset, which callers use when the API surface changed,
// forgets them.
type memoMapper struct {
	apimeta.RESTMapper
	found sync.Map // mappingKey -> *apimeta.RESTMapping
}

type mappingKey struct {
	gk       schema.GroupKind
	versions string
}

// RESTMapping maps gk at the first of versions that is served.
func (m *memoMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*apimeta.RESTMapping, error) {
	key := mappingKey{gk: gk, versions: strings.Join(versions, ",")}
	if v, ok := m.found.Load(key); ok {
		return v.(*apimeta.RESTMapping), nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.found.Store(key, mapping)
	return mapping, nil
}

// Reset forgets the remembered mappings and resets the delegate.
func (m *memoMapper) Reset() {
	m.found.Clear()
	apimeta.MaybeResetRESTMapper(m.RESTMapper)
}
