package kube

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Dynamic reads, applies and deletes objects of any kind, finding their resource
// through discovery (re-read when a kind is not known yet, e.g. just after its CRD).
// The CLI's install, uninstall and diff use it.
type Dynamic struct {
	Client dynamic.Interface
	Mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewDynamic returns a Dynamic for the cluster of cfg.
func NewDynamic(cfg *rest.Config) (*Dynamic, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for the cluster: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create a discovery client: %w", err)
	}
	return &Dynamic{Client: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// Resource returns the client of u's resource, in u's namespace when namespaced.
func (k *Dynamic) Resource(u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	mapping, err := k.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		k.Mapper.Reset()
		if mapping, err = k.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("the cluster does not serve %s: %w", gvk, err)
		}
	}
	if mapping.Scope.Name() == "namespace" {
		return k.Client.Resource(mapping.Resource).Namespace(u.GetNamespace()), nil
	}
	return k.Client.Resource(mapping.Resource), nil
}

// Serves reports whether the cluster serves u's kind.
func (k *Dynamic) Serves(u *unstructured.Unstructured) bool {
	_, err := k.Resource(u)
	return err == nil
}

// Namespaced reports whether u's kind is served and namespaced, as far as the
// discovery read so far knows.
func (k *Dynamic) Namespaced(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	m, err := k.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err == nil && m.Scope.Name() == "namespace"
}
