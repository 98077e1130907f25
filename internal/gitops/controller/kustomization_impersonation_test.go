package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

// With serviceAccountName the Kustomization applies as that ServiceAccount: without
// RBAC it fails naming the forbidden object and applies nothing; once a Role grants
// it, it converges.
func TestServiceAccountImpersonationAppliesWithItsRBAC(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns}}
	if err := k8s.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	wd, url := newRepo(t, ns, map[string]string{"app/a.yaml": configMap("a", "1")})
	commit, _ := wd.Head()
	applyYAML(t, ns, gitRepository(url)+"---"+kustomization(ns, "app", "./app", "  serviceAccountName: deployer\n"))
	waitKustomization(t, ns, "app", "was refused as the ServiceAccount",
		notReadyWith(meta.ReconciliationFailedReason, "ConfigMap/"+ns+"/a", "forbidden", "system:serviceaccount:"+ns+":deployer"))
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the ConfigMap exists although the ServiceAccount may not create it (err %v)", err)
	}

	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
	}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: ns}}}
	for _, o := range []client.Object{role, binding} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	requestReconcile(t, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}})
	waitKustomization(t, ns, "app", "converged once RBAC allowed it", readyAt(commit))
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the ConfigMap is missing: %v", err)
	}
}
