package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// tenantKustomization is a Kustomization of the "tenants" shard with no
// serviceAccountName and no targetNamespace: objects keep the namespaces Git gives.
func tenantKustomization(name, path, extra string) string {
	return sharded("tenants", fmt.Sprintf(`
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
spec:
  interval: 1h
  path: %s
  prune: true
  sourceRef:
    kind: GitRepository
    name: repo
%s`, name, path, extra))
}

// With Flux's lockdown flags, tenant A's Kustomizations act as the ServiceAccount
// "tenant" of their namespace (which may administer that namespace and nothing
// else): a ClusterRoleBinding, an object in kube-system and tenant B's object are
// all refused, nothing outside A's namespace changes, and references into B's
// namespace are AccessDenied. A's own object applies, so the refusals are RBAC's
// and the lockdown's, not a broken controller.
func TestLockedDownTenantCannotLeaveItsNamespace(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := newNamespace(t), newNamespace(t)
	startController(t, "--watch-label-selector", shardLabel+"=tenants",
		"--default-service-account", "tenant", "--no-cross-namespace-refs")

	// Tenant A may administer its namespace, as a platform team would grant.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: nsA}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenant-admin", Namespace: nsA},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "tenant", Namespace: nsA}}}
	// Tenant B's object, which A will try to take over and then prune.
	bObject := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b-config", Namespace: nsB}, Data: map[string]string{"owner": "tenant-b"}}
	for _, o := range []client.Object{sa, binding, bObject} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	crbName := "tenant-escape-" + nsA
	crb := fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: %s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: tenant
  namespace: %s
`, crbName, nsA)
	inNamespace := func(ns, name, owner string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  owner: %s\n", name, ns, owner)
	}
	intrusion := "tenant-intrusion-" + nsA
	wd, url := newRepo(t, nsA, map[string]string{
		"own/cm.yaml":         inNamespace(nsA, "a-config", "tenant-a"),
		"crb/crb.yaml":        crb,
		"kube-system/cm.yaml": inNamespace("kube-system", intrusion, "tenant-a"),
		"takeover/own.yaml":   inNamespace(nsA, "a-other", "tenant-a"),
		"takeover/b.yaml":     inNamespace(nsB, "b-config", "tenant-a"),
	})
	commit, _ := wd.Head()
	applyYAML(t, nsA, sharded("tenants", gitRepository(url))+"---"+
		tenantKustomization("own", "./own", "")+"---"+
		tenantKustomization("crb", "./crb", "")+"---"+
		tenantKustomization("kube-system", "./kube-system", "")+"---"+
		tenantKustomization("takeover", "./takeover", "")+"---"+
		strings.Replace(tenantKustomization("cross-source", "./own", ""), "    name: repo\n", "    name: repo\n    namespace: "+nsB+"\n", 1)+"---"+
		tenantKustomization("cross-depends", "./own", "  dependsOn:\n  - name: own\n    namespace: "+nsB+"\n"))

	identity := "system:serviceaccount:" + nsA + ":tenant"
	waitKustomization(t, nsA, "own", "applied its own namespace's object", readyAt(commit))
	waitKustomization(t, nsA, "crb", "was refused the ClusterRoleBinding",
		notReadyWith(meta.ReconciliationFailedReason, crbName, "forbidden", identity))
	waitKustomization(t, nsA, "kube-system", "was refused kube-system",
		notReadyWith(meta.ReconciliationFailedReason, "kube-system/"+intrusion, "forbidden", identity))
	waitKustomization(t, nsA, "takeover", "was refused B's object",
		notReadyWith(meta.ReconciliationFailedReason, nsB+"/b-config", "forbidden", identity))
	for name, field := range map[string]string{"cross-source": "spec.sourceRef", "cross-depends": "spec.dependsOn[0]"} {
		k := waitKustomization(t, nsA, name, "was denied its reference into "+nsB,
			notReadyWith(meta.AccessDeniedReason, field, nsB, "cross-namespace references have been blocked"))
		if s := apimeta.FindStatusCondition(k.Status.Conditions, meta.StalledCondition); s == nil || s.Status != metav1.ConditionTrue || s.Reason != meta.AccessDeniedReason {
			t.Errorf("%s: not Stalled with AccessDenied: %s", name, statusString(k))
		}
	}

	// The attempted prune: B's object leaves A's Git, and A converges without it.
	if err := wd.Remove("takeover/b.yaml"); err != nil {
		t.Fatal(err)
	}
	next, err := wd.CommitAndPush("give up B's object")
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "repo"}})
	waitKustomization(t, nsA, "takeover", "converged without B's object", readyAt(next))
	assertTenantBUntouched(t, nsB, bObject)
	if err := k8s.Get(ctx, client.ObjectKey{Name: crbName}, &rbacv1.ClusterRoleBinding{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ClusterRoleBinding exists (err %v)", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: intrusion}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap in kube-system exists (err %v)", err)
	}
}

// assertTenantBUntouched checks that B's object is as B wrote it: same data, no field
// owned by tugboat, no label or annotation tugboat sets.
func assertTenantBUntouched(t *testing.T, ns string, want *corev1.ConfigMap) {
	t.Helper()
	got := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: want.Name}, got); err != nil {
		t.Fatalf("tenant B's object is gone: %v", err)
	}
	if got.Data["owner"] != "tenant-b" || len(got.Labels) != 0 || len(got.Annotations) != 0 {
		t.Errorf("tenant B's object was changed: data %v, labels %v, annotations %v", got.Data, got.Labels, got.Annotations)
	}
	for _, mf := range got.ManagedFields {
		if mf.Manager == FieldManager {
			t.Errorf("tugboat owns fields of tenant B's object: %+v", mf)
		}
	}
}
