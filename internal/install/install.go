// Package install puts tugboat's CustomResourceDefinitions (and the admission policies
// that save the controller requests) into a cluster and waits until the apiserver
// serves them; `tugboat dev up`, the test suites and the benchmarks share it.
package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/config"
	"github.com/tugboatcd/tugboat/internal/kube"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDs server-side applies the embedded CRDs and waits until each is Established.
func CRDs(ctx context.Context, cfg *rest.Config) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create client: %w", err)
	}
	files, err := fs.Glob(config.CRDs, "crd/bases/*.yaml")
	if err != nil {
		return fmt.Errorf("failed to list embedded CRDs: %w", err)
	}
	var names []string
	for _, f := range files {
		data, err := fs.ReadFile(config.CRDs, f)
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", f, err)
		}
		crd := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &crd.Object); err != nil {
			return fmt.Errorf("failed to parse %s: %w", f, err)
		}
		if _, err := dyn.Resource(crdResource).Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: "tugboat", Force: true}); err != nil {
			return fmt.Errorf("failed to apply CRD %s: %w", crd.GetName(), err)
		}
		names = append(names, crd.GetName())
	}
	for _, name := range names {
		_, err := kube.WaitFor(ctx, time.Minute, nil, func(ctx context.Context) (*unstructured.Unstructured, error) {
			return dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		}, kube.Established)
		if err != nil {
			return fmt.Errorf("CRD %s was not established: %w", name, err)
		}
	}
	return nil
}

// Policies server-side applies the embedded admission policies (config/policy) and
// reports whether the cluster serves them; a cluster that does not (Kubernetes before
// 1.36 has no MutatingAdmissionPolicy) gets none, which only costs the controller a
// request per Kustomization.
func Policies(ctx context.Context, cfg *rest.Config) (bool, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return false, fmt.Errorf("failed to create client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, fmt.Errorf("failed to create discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	files, err := fs.Glob(config.Policies, "policy/*.yaml")
	if err != nil {
		return false, fmt.Errorf("failed to list embedded policies: %w", err)
	}
	for _, f := range files {
		if path.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := fs.ReadFile(config.Policies, f)
		if err != nil {
			return false, fmt.Errorf("failed to read %s: %w", f, err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return false, fmt.Errorf("failed to parse %s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			gvk := u.GroupVersionKind()
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if apimeta.IsNoMatchError(err) {
				return false, nil
			}
			if err != nil {
				return false, fmt.Errorf("failed to map %s: %w", gvk, err)
			}
			if _, err := dyn.Resource(mapping.Resource).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "tugboat", Force: true}); err != nil {
				return false, fmt.Errorf("failed to apply %s %s: %w", gvk.Kind, u.GetName(), err)
			}
		}
	}
	return true, WaitAdmission(ctx, dyn, time.Minute)
}

var kustomizationResource = kustomizev1.GroupVersion.WithResource("kustomizations")

// WaitAdmission waits until a Kustomization can be created and the finalizer policy is
// in force. For some seconds after its CRD is established, the apiserver's
// MutatingAdmissionPolicy plugin has not loaded the kind's schema and refuses every
// create of it with 503 "Resource kind ... not found. There can be a delay between
// when CustomResourceDefinitions are created and when they are available", so a user
// who creates a Kustomization right after install would see that. A server-side
// dry-run create runs admission and stores nothing. Its success alone proves nothing
// while the plugin has not loaded the policy just applied: the create passes unmutated,
// and the 503s start once the policy is loaded (seen as a flaky first create after
// `tugboat install`). So the wait ends when the dry run comes back with the policy's
// finalizer, or with an answer that is neither a 503 nor a success (the kind not
// served at all: nothing to wait for).
func WaitAdmission(ctx context.Context, dyn dynamic.Interface, timeout time.Duration) error {
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kustomizationResource.GroupVersion().String(), "kind": "Kustomization",
		"metadata": map[string]any{"generateName": "tugboat-install-probe-", "namespace": metav1.NamespaceDefault},
		"spec": map[string]any{"interval": "10m", "path": "./", "prune": false,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "tugboat-install-probe"}},
	}}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var admitted *unstructured.Unstructured
		admitted, last = dyn.Resource(kustomizationResource).Namespace(metav1.NamespaceDefault).Create(ctx, probe.DeepCopy(),
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		switch {
		case apierrors.IsServiceUnavailable(last):
			return false, nil
		case last != nil:
			return true, nil
		case !slices.Contains(admitted.GetFinalizers(), kustomizev1.KustomizationFinalizer):
			last = fmt.Errorf("the admission policy has not given a new Kustomization the finalizer %s yet", kustomizev1.KustomizationFinalizer)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the apiserver's admission does not take Kustomizations with the finalizer policy in force after %s: %w", timeout, last)
	}
	return nil
}
