package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
)

// gitopsKinds are the kinds a Receiver may target: the ones tugboat reconciles.
// Flux's notification-controller limits targets to Flux's kinds for the same reason:
// the controller patches them with its own rights, so a Receiver naming any kind
// (a Deployment, a Secret) would let whoever writes Receivers annotate anything.
var gitopsKinds = map[schema.GroupKind]bool{
	{Group: "source.toolkit.fluxcd.io", Kind: "GitRepository"}:    true,
	{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}: true,
}

// defaultAPIVersions are the apiVersions assumed for spec.resources entries that name
// none, as Flux's notification-controller (defaultFluxAPIVersions).
var defaultAPIVersions = map[string]string{
	"GitRepository": "source.toolkit.fluxcd.io/v1",
	"Kustomization": "kustomize.toolkit.fluxcd.io/v1",
}

// errCrossNamespace marks a spec.resources entry in another namespace than the
// Receiver's: refused, as Flux's --no-cross-namespace-refs (always on for Receivers
// here: a Receiver is a door into its own namespace only).
var errCrossNamespace = errors.New("cross-namespace references are not allowed")

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
		if !gitopsKinds[schema.GroupKind{Group: gv.Group, Kind: res.Kind}] {
			return nil, fmt.Errorf("spec.resources[%d]: kind '%s' of '%s' is not a target tugboat allows: use GitRepository or Kustomization", i, res.Kind, apiVersion)
		}
		if res.Namespace != "" && res.Namespace != r.Namespace {
			return nil, fmt.Errorf("spec.resources[%d]: can't access '%s/%s/%s': %w: a Receiver targets objects in its own namespace '%s' only",
				i, res.Kind, res.Namespace, res.Name, errCrossNamespace, r.Namespace)
		}
		t := target{gvk: gv.WithKind(res.Kind), namespace: r.Namespace, name: res.Name}
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
// missing object does not stop the others, and returns the joined errors. A missing
// target is not an error: it is logged, and the caller's answer is the same as when
// it exists, so a webhook call never tells whether an object exists.
func requestReconcile(ctx context.Context, c client.Client, reader client.Reader, targets []target, now time.Time) (int, error) {
	value := now.Format(time.RFC3339Nano)
	annotations := map[string]string{meta.ReconcileRequestAnnotation: value}
	if tp := traceParent(ctx); tp != "" {
		// The reconciler (perhaps another replica's) continues this call's trace.
		annotations[meta.TraceParentAnnotation] = meta.TraceParentValue(value, tp)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return 0, fmt.Errorf("failed to encode the reconcile request: %w", err)
	}
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
				if apierrors.IsNotFound(err) {
					log.FromContext(ctx).Info("a Receiver's target does not exist", "kind", t.gvk.Kind, "object", key.String())
					continue
				}
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
	if requireSHA256(r) && !signs(r.Spec.Type) {
		return fmt.Errorf("spec.type '%s' carries no signature, and annotation %s requires HMAC-SHA256: use %s or %s",
			r.Spec.Type, meta.RequireSHA256Annotation, notificationv1.GitHubReceiver, notificationv1.GenericHMACReceiver)
	}
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

// requireSHA256 reports whether the Receiver asks for SHA-256 signatures (see
// meta.RequireSHA256Annotation and docs/receiver.md for why it is an annotation).
func requireSHA256(r *notificationv1.Receiver) bool {
	return r.GetAnnotations()[meta.RequireSHA256Annotation] == "true"
}

// signs reports whether calls of a Receiver type carry an HMAC signature.
func signs(typ string) bool {
	switch typ {
	case notificationv1.GitHubReceiver, notificationv1.GenericHMACReceiver, notificationv1.BitbucketReceiver:
		return true
	}
	return false
}
