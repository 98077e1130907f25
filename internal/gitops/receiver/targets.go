package receiver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
)

// defaultAPIVersions are the apiVersions assumed for spec.resources entries that name
// none. They are Flux's (notification-controller's defaultFluxAPIVersions), plus
// Kustomization, which tugboat serves at v1.
var defaultAPIVersions = map[string]string{
	"Bucket":          "source.toolkit.fluxcd.io/v1",
	"GitRepository":   "source.toolkit.fluxcd.io/v1",
	"HelmChart":       "source.toolkit.fluxcd.io/v1",
	"HelmRepository":  "source.toolkit.fluxcd.io/v1",
	"OCIRepository":   "source.toolkit.fluxcd.io/v1beta2",
	"ImageRepository": "image.toolkit.fluxcd.io/v1beta2",
	"Kustomization":   "kustomize.toolkit.fluxcd.io/v1",
	"HelmRelease":     "helm.toolkit.fluxcd.io/v2",
}

// target is one spec.resources entry resolved: a named object or a label selection.
type target struct {
	gvk       schema.GroupVersionKind
	namespace string
	name      string            // "" when selecting by labels
	labels    map[string]string // set only with name '*'
}

func (t target) String() string {
	if t.name == "" {
		return fmt.Sprintf("%s in '%s' with labels %v", t.gvk.Kind, t.namespace, t.labels)
	}
	return fmt.Sprintf("%s '%s/%s'", t.gvk.Kind, t.namespace, t.name)
}

// targetsOf resolves spec.resources; an error names the entry at fault. It is pure so
// that the reconciler can refuse a bad spec before any webhook arrives.
func targetsOf(r *notificationv1.Receiver) ([]target, error) {
	if len(r.Spec.Resources) == 0 {
		return nil, errors.New("spec.resources is empty: name at least one object to reconcile")
	}
	targets := make([]target, 0, len(r.Spec.Resources))
	for i, res := range r.Spec.Resources {
		apiVersion := res.APIVersion
		if apiVersion == "" {
			apiVersion = defaultAPIVersions[res.Kind]
			if apiVersion == "" {
				return nil, fmt.Errorf("spec.resources[%d]: apiVersion must be set for kind '%s'", i, res.Kind)
			}
		}
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return nil, fmt.Errorf("spec.resources[%d]: invalid apiVersion '%s': %w", i, apiVersion, err)
		}
		t := target{gvk: gv.WithKind(res.Kind), namespace: res.Namespace, name: res.Name}
		if t.namespace == "" {
			t.namespace = r.Namespace
		}
		if res.Name == "*" {
			if len(res.MatchLabels) == 0 {
				return nil, fmt.Errorf("spec.resources[%d]: name '*' needs matchLabels", i)
			}
			t.name, t.labels = "", res.MatchLabels
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// requestReconcile annotates every object of every target with a new
// reconcile.fluxcd.io/requestedAt. It goes on after a failed target, so that one
// missing object does not stop the others, and returns the joined errors.
func requestReconcile(ctx context.Context, c client.Client, reader client.Reader, targets []target, now time.Time) (int, error) {
	value := now.Format(time.RFC3339Nano)
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, value)
	var errs []error
	annotated := 0
	for _, t := range targets {
		keys := []types.NamespacedName{{Namespace: t.namespace, Name: t.name}}
		if t.name == "" {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(t.gvk.GroupVersion().WithKind(t.gvk.Kind + "List"))
			if err := reader.List(ctx, list, client.InNamespace(t.namespace), client.MatchingLabels(t.labels)); err != nil {
				errs = append(errs, fmt.Errorf("failed to list %s: %w", t, err))
				continue
			}
			keys = keys[:0]
			for _, item := range list.Items {
				keys = append(keys, types.NamespacedName{Namespace: item.Namespace, Name: item.Name})
			}
		}
		for _, key := range keys {
			obj := &metav1.PartialObjectMetadata{}
			obj.SetGroupVersionKind(t.gvk)
			obj.SetNamespace(key.Namespace)
			obj.SetName(key.Name)
			// A merge patch of the one annotation: no read first, no conflict with the
			// reconciler's own writes, and a missing object is a NotFound error.
			if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
				errs = append(errs, fmt.Errorf("failed to annotate %s '%s': %w", t.gvk.Kind, key, err))
				continue
			}
			annotated++
		}
	}
	return annotated, errors.Join(errs...)
}

// validateSpec is the list of checks a Receiver's spec must pass before its webhook
// is served; each failure names the field.
func validateSpec(r *notificationv1.Receiver) error {
	supported := false
	for _, t := range SupportedTypes {
		supported = supported || t == r.Spec.Type
	}
	if !supported {
		return fmt.Errorf("spec.type '%s' is not supported by tugboat: use one of %s", r.Spec.Type, strings.Join(SupportedTypes, ", "))
	}
	if r.Spec.SecretRef.Name == "" {
		return errors.New("spec.secretRef.name is empty: name the Secret holding the 'token'")
	}
	if r.Spec.ResourceFilter != "" {
		return errors.New("spec.resourceFilter is not supported by tugboat yet: remove it or select the resources with matchLabels")
	}
	_, err := targetsOf(r)
	return err
}
