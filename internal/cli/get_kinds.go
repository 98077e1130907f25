package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// fluxObject is what every tugboat kind offers the CLI: an object with conditions.
type fluxObject interface {
	client.Object
	meta.ObjectWithConditions
}

// kind describes one of tugboat's Flux kinds to the generic verbs (get, reconcile,
// suspend, resume, delete), so that each verb is written once.
type kind struct {
	Kind string   // GitRepository
	Path []string // the words after the verb: source git
	gvk  schema.GroupVersionKind

	newObject func() fluxObject
	newList   func() client.ObjectList
	items     func(client.ObjectList) []fluxObject
	// revision is what the object last produced or applied ("" when the kind has none).
	revision func(fluxObject) string
	// suspended reads and setSuspended writes spec.suspend.
	suspended    func(fluxObject) bool
	setSuspended func(fluxObject, bool)
	// lastHandled is status.lastHandledReconcileAt.
	lastHandled func(fluxObject) string
	// observedGeneration is status.observedGeneration.
	observedGeneration func(fluxObject) int64
}

var (
	gitRepositoryKind = &kind{
		Kind: sourcev1.GitRepositoryKind, Path: []string{"source", "git"},
		gvk:       sourcev1.GroupVersion.WithKind(sourcev1.GitRepositoryKind),
		newObject: func() fluxObject { return &sourcev1.GitRepository{} },
		newList:   func() client.ObjectList { return &sourcev1.GitRepositoryList{} },
		items: func(l client.ObjectList) []fluxObject {
			var out []fluxObject
			for i := range l.(*sourcev1.GitRepositoryList).Items {
				out = append(out, &l.(*sourcev1.GitRepositoryList).Items[i])
			}
			return out
		},
		revision: func(o fluxObject) string {
			if a := o.(*sourcev1.GitRepository).Status.Artifact; a != nil {
				return a.Revision
			}
			return ""
		},
		suspended:          func(o fluxObject) bool { return o.(*sourcev1.GitRepository).Spec.Suspend },
		setSuspended:       func(o fluxObject, v bool) { o.(*sourcev1.GitRepository).Spec.Suspend = v },
		lastHandled:        func(o fluxObject) string { return o.(*sourcev1.GitRepository).Status.LastHandledReconcileAt },
		observedGeneration: func(o fluxObject) int64 { return o.(*sourcev1.GitRepository).Status.ObservedGeneration },
	}
	kustomizationKind = &kind{
		Kind: kustomizev1.KustomizationKind, Path: []string{"kustomization"},
		gvk:       kustomizev1.GroupVersion.WithKind(kustomizev1.KustomizationKind),
		newObject: func() fluxObject { return &kustomizev1.Kustomization{} },
		newList:   func() client.ObjectList { return &kustomizev1.KustomizationList{} },
		items: func(l client.ObjectList) []fluxObject {
			var out []fluxObject
			for i := range l.(*kustomizev1.KustomizationList).Items {
				out = append(out, &l.(*kustomizev1.KustomizationList).Items[i])
			}
			return out
		},
		revision:           func(o fluxObject) string { return o.(*kustomizev1.Kustomization).Status.LastAppliedRevision },
		suspended:          func(o fluxObject) bool { return o.(*kustomizev1.Kustomization).Spec.Suspend },
		setSuspended:       func(o fluxObject, v bool) { o.(*kustomizev1.Kustomization).Spec.Suspend = v },
		lastHandled:        func(o fluxObject) string { return o.(*kustomizev1.Kustomization).Status.LastHandledReconcileAt },
		observedGeneration: func(o fluxObject) int64 { return o.(*kustomizev1.Kustomization).Status.ObservedGeneration },
	}
	receiverKind = &kind{
		Kind: notificationv1.ReceiverKind, Path: []string{"receiver"},
		gvk:       notificationv1.GroupVersion.WithKind(notificationv1.ReceiverKind),
		newObject: func() fluxObject { return &notificationv1.Receiver{} },
		newList:   func() client.ObjectList { return &notificationv1.ReceiverList{} },
		items: func(l client.ObjectList) []fluxObject {
			var out []fluxObject
			for i := range l.(*notificationv1.ReceiverList).Items {
				out = append(out, &l.(*notificationv1.ReceiverList).Items[i])
			}
			return out
		},
		suspended:          func(o fluxObject) bool { return o.(*notificationv1.Receiver).Spec.Suspend },
		setSuspended:       func(o fluxObject, v bool) { o.(*notificationv1.Receiver).Spec.Suspend = v },
		lastHandled:        func(o fluxObject) string { return o.(*notificationv1.Receiver).Status.LastHandledReconcileAt },
		observedGeneration: func(o fluxObject) int64 { return o.(*notificationv1.Receiver).Status.ObservedGeneration },
	}
)

// kindByName finds a kind by its Kind (case-insensitive), plural or short name, as
// written in --for, --source and inventory ids.
func kindByName(name string) (*kind, bool) {
	switch strings.ToLower(name) {
	case "gitrepository", "gitrepositories", "gitrepo", "source git":
		return gitRepositoryKind, true
	case "kustomization", "kustomizations", "ks":
		return kustomizationKind, true
	case "receiver", "receivers":
		return receiverKind, true
	}
	return nil, false
}

// kindNames lists the kinds for error messages.
func kindNames() string {
	return strings.Join([]string{gitRepositoryKind.Kind, kustomizationKind.Kind, receiverKind.Kind}, ", ")
}

// client returns a direct (uncached) client for the cluster the kubectl flags select.
func (s streams) client() (client.Client, error) {
	cfg, err := s.kube.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: kube.NewScheme()})
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for the cluster: %w", err)
	}
	return c, nil
}

// namedObject reads kind/name in the namespace of the kubeconfig flags, for the verbs
// that act on one named object, and returns the client and namespace it used.
func namedObject(ctx context.Context, s streams, k *kind, name string) (client.Client, string, fluxObject, error) {
	c, err := s.client()
	if err != nil {
		return nil, "", nil, err
	}
	ns, err := s.kube.namespace()
	if err != nil {
		return nil, "", nil, err
	}
	obj, err := getObject(ctx, c, k, ns, name)
	if err != nil {
		return nil, "", nil, err
	}
	return c, ns, obj, nil
}

// getObject reads kind/name in ns and says clearly when it does not exist.
func getObject(ctx context.Context, c client.Client, k *kind, ns, name string) (fluxObject, error) {
	obj := k.newObject()
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		return nil, notFound(k, ns, name, err)
	}
	return obj, nil
}

// notFound turns a NotFound from the apiserver into a message naming the object, and
// a missing CRD into a hint to install tugboat.
func notFound(k *kind, ns, name string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s '%s/%s' not found", k.Kind, ns, name)
	case apimeta.IsNoMatchError(err):
		return fmt.Errorf("the cluster does not serve %s (run `tugboat install` first): %w", k.Kind, err)
	}
	return fmt.Errorf("failed to get %s '%s/%s': %w", k.Kind, ns, name, err)
}

// readyStatus returns the Ready condition's status and message, as Flux prints them:
// "Unknown" while the object was never reconciled, and "False" with the reason for a
// Ready condition of an older generation.
func readyStatus(obj fluxObject) (status, message string) {
	c := apimeta.FindStatusCondition(obj.GetConditions(), meta.ReadyCondition)
	if c == nil {
		return string(metav1.ConditionUnknown), "waiting to be reconciled"
	}
	return string(c.Status), c.Message
}

// sortObjects orders objects by namespace, then name, as kubectl lists them.
func sortObjects(objs []fluxObject) {
	slices.SortFunc(objs, func(a, b fluxObject) int {
		if c := strings.Compare(a.GetNamespace(), b.GetNamespace()); c != 0 {
			return c
		}
		return strings.Compare(a.GetName(), b.GetName())
	})
}

// isNoMatch reports a kind the cluster does not serve (its CRD is not installed).
func isNoMatch(err error) bool {
	return apimeta.IsNoMatchError(err)
}
