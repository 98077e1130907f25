// Package diff tells what applying a Kustomization's built objects would change in
// the cluster, as `tugboat diff` shows it: each object is compared with the server's
// dry-run apply of it under the controller's field manager, and the objects prune
// would delete are listed. It returns the changes; the CLI prints them.
package diff

import (
	"context"
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/apply"
	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// Action says what applying would do to one object.
type Action string

// The actions, as the diff lines say them.
const (
	Created Action = "created"
	Drifted Action = "drifted"
	Deleted Action = "deleted"
)

// Change is what applying would do to one object.
type Change struct {
	// Subject names the object as Flux's change lines do: Kind/namespace/name.
	Subject string
	Action  Action
	// Diff is the unified diff from the cluster to the local object, as YAML, for
	// Drifted; Secret values are masked.
	Diff string
}

// Kustomization compares the objects built for ks with the cluster, reporting each
// change as it is found (so a long diff streams), then the inventory entries prune
// would delete. It reports whether anything would change.
func Kustomization(ctx context.Context, k *kube.Dynamic, ks *kustomizev1.Kustomization, built []*unstructured.Unstructured, report func(Change)) (bool, error) {
	owner := apply.Owner{Name: ks.Name, Namespace: ks.Namespace}
	changed := false
	ids := map[string]bool{}
	for _, o := range built {
		if o.GetNamespace() == "" && k.Namespaced(o) {
			o.SetNamespace(ks.Namespace)
		}
		ids[apply.IDOf(o)] = true
		c, err := Object(ctx, k, owner, o)
		if err != nil {
			return changed, err
		}
		if c != nil {
			changed = true
			report(*c)
		}
	}
	if ks.Spec.Prune && ks.Status.Inventory != nil {
		for _, e := range ks.Status.Inventory.Entries {
			if ids[e.ID] {
				continue
			}
			id, err := object.ParseObjMetadata(e.ID)
			if err != nil {
				continue
			}
			changed = true
			subject := id.GroupKind.Kind + "/" + id.Name
			if id.Namespace != "" {
				subject = id.GroupKind.Kind + "/" + id.Namespace + "/" + id.Name
			}
			report(Change{Subject: subject, Action: Deleted})
		}
	}
	return changed, nil
}

// Object compares one built object with the cluster: nil when the cluster already
// has it as built, Created when it does not exist, else Drifted with a unified diff
// between the live object and the server's dry-run apply of the built one.
func Object(ctx context.Context, k *kube.Dynamic, owner apply.Owner, desired *unstructured.Unstructured) (*Change, error) {
	// Exactly what the controller would send: owner labels, Secret stringData as data,
	// defaulted protocols, no status.
	u, err := apply.Prepare(desired, owner)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subjectOf(desired), err)
	}
	subject := subjectOf(u)
	ri, err := k.Resource(u)
	if err != nil {
		// A kind whose CRD is in the same build is not served yet: it would be created.
		return &Change{Subject: subject, Action: Created}, nil //nolint:nilerr // reported as a change
	}
	live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &Change{Subject: subject, Action: Created}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get %s: %w", subject, err)
	}
	merged, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: controller.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return nil, fmt.Errorf("server-side dry-run apply of %s failed: %w", subject, err)
	}
	before, after := comparable(live), comparable(merged)
	if u.GetKind() == "Secret" && u.GroupVersionKind().Group == "" {
		maskSecrets(before, after)
	}
	text, err := unifiedDiff(before, after, subject)
	if err != nil || text == "" {
		return nil, err
	}
	return &Change{Subject: subject, Action: Drifted, Diff: text}, nil
}

// comparable drops what the server changes on every write, so that only content
// differences remain.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	if md, ok := c["metadata"].(map[string]any); ok {
		for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
			delete(md, f)
		}
	}
	delete(c, "status")
	return c
}

// unifiedDiff is the unified diff of two objects as YAML, "" when they are equal.
func unifiedDiff(before, after map[string]any, subject string) (string, error) {
	b, err := yaml.Marshal(before)
	if err != nil {
		return "", fmt.Errorf("failed to encode %s: %w", subject, err)
	}
	a, err := yaml.Marshal(after)
	if err != nil {
		return "", fmt.Errorf("failed to encode %s: %w", subject, err)
	}
	if string(a) == string(b) {
		return "", nil
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(b)),
		B:        difflib.SplitLines(string(a)),
		FromFile: subject + " (cluster)",
		ToFile:   subject + " (local)",
		Context:  3,
	})
}

// subjectOf names an object as Flux's change lines do: Kind/namespace/name.
func subjectOf(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}
