package queryapi

import (
	"context"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// The tests share one control plane with real RBAC: callers are
// ServiceAccounts whose tokens the apiserver issues and reviews. It starts on
// the first test that needs it.
var (
	suiteOnce sync.Once
	suiteErr  error
	env       *cluster.Cluster
	clients   kubernetes.Interface
)

func TestMain(m *testing.M) {
	storetest.Main(m, func() {
		if env != nil {
			env.Stop()
		}
	})
}

// kube returns a client of the shared control plane, starting it first.
func kube(t *testing.T) kubernetes.Interface {
	t.Helper()
	suiteOnce.Do(func() {
		env, suiteErr = cluster.Start(context.Background(), cluster.Options{StartTimeout: 5 * time.Minute})
		if suiteErr != nil {
			return
		}
		clients, suiteErr = kubernetes.NewForConfig(env.RESTConfig)
	})
	if suiteErr != nil {
		t.Fatalf("failed to start the local cluster: %v", suiteErr)
	}
	return clients
}

// kubeAuth is the real authorizer over the shared control plane.
func kubeAuth(t *testing.T) *KubeAuth {
	return &KubeAuth{Client: kube(t)}
}

// ensureNamespace creates a namespace once for the test binary.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := kube(t).CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// caller creates ServiceAccount name in namespace home, gives it the rules
// in each namespace of grants ("" for a ClusterRoleBinding), and returns a
// token of it issued by the apiserver.
func caller(t *testing.T, home, name string, grants map[string][]rbacv1.PolicyRule) string {
	t.Helper()
	ctx := context.Background()
	c := kube(t)
	ensureNamespace(t, home)
	if _, err := c.CoreV1().ServiceAccounts(home).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: home}}
	for ns, rules := range grants {
		role := name + "-" + home
		if ns == "" {
			if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: rules}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			continue
		}
		ensureNamespace(t, ns)
		if _, err := c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: rules}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	tr, err := c.CoreV1().ServiceAccounts(home).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func ptrTo[T any](v T) *T { return &v }

// Rules of the callers.
var (
	readPods = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}
	readLogs = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}}
)

// adminToken is a caller who may read pods and logs in every namespace.
func adminToken(t *testing.T) string {
	return caller(t, "qa-readers", "everything", map[string][]rbacv1.PolicyRule{"": {readPods, readLogs}})
}
