package deploy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
)

// The suite's one control plane with workloads, shared by every test.
var (
	env     *cluster.Cluster
	clients Clients
	k8s     client.Client // for what testenv does
)

// BrokenTag is an image tag whose pods the suite's admission policy refuses, so a
// rollout to it never gets a Ready pod: the ReplicaSet cannot create one and the
// Deployment runs into its progress deadline, as with an image that never pulls.
// (kwok's "fast" pod stage makes every pod it sees Ready, whatever its image, probe or
// readiness gate, so the failure has to come before the pod exists.)
const BrokenTag = ":broken"

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{
		Cluster: cluster.Options{Workloads: true},
		Ready: func(ctx context.Context, s *testenv.Suite) error {
			env, k8s = s.Cluster, s.Client
			var err error
			if clients, err = NewClients(env.RESTConfig); err != nil {
				return err
			}
			return refuseBrokenImages(ctx, clients)
		},
	})
}

// refuseBrokenImages installs a ValidatingAdmissionPolicy that refuses pods with an
// image tagged BrokenTag, and waits until it is in force.
func refuseBrokenImages(ctx context.Context, c Clients) error {
	const name = "tugboat-test-broken-images"
	adm := c.Kube.AdmissionregistrationV1()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("!object.spec.containers.exists(c, c.image.endsWith(%q))", BrokenTag),
				Message:    "test policy: images tagged " + BrokenTag + " never start",
			}},
		},
	}
	if _, err := adm.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("failed to create the test admission policy: %w", err)
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	if _, err := adm.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("failed to bind the test admission policy: %w", err)
	}
	// Policies load asynchronously: probe with a dry-run pod until one is refused.
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: metav1.NamespaceDefault},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.com/probe" + BrokenTag}}},
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.Kube.CoreV1().Pods(metav1.NamespaceDefault).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "never start"), nil
	})
}

// newNamespace creates a namespace of the test's own.
func newNamespace(t testing.TB) string { return testenv.Namespace(t, k8s) }

// podTemplate is a pod template with one container "app" running image, and an init
// container "init".
func podTemplate(name, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "registry.example/init:1"}},
			Containers:     []corev1.Container{{Name: "app", Image: image}},
		},
	}
}

// newDeployment creates a Deployment with replicas pods of image, whose rollouts fail
// after deadline seconds without progress, and waits until it has rolled out.
func newDeployment(t testing.TB, ns, name, image string, deadline int32, labels map[string]string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To[int32](2),
			ProgressDeadlineSeconds: ptr.To(deadline),
			Selector:                &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template:                podTemplate(name, image),
		},
	}
	d, err := clients.Kube.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("failed to create Deployment: %v", err)
	}
	waitRolledOut(t, ns, Workload{Kind: "Deployment", Name: name})
	return d
}

// waitRolledOut waits for the workload's rollout with WaitRollout itself.
func waitRolledOut(t testing.TB, ns string, w Workload) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if st, err := WaitRollout(ctx, clients, ns, w, WaitOptions{Watch: true}); err != nil {
		t.Fatalf("%s never rolled out: %v (%s)", w, err, st.Message)
	}
}

// images returns the workload's container images by name, init containers included.
func images(t testing.TB, ns string, w Workload) map[string]string {
	t.Helper()
	obj, _, err := clients.get(context.Background(), ns, w)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var spec corev1.PodSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		spec = o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		spec = o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		spec = o.Spec.Template.Spec
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		out[c.Name] = c.Image
	}
	return out
}

// records returns the namespace's deploy records, failing the test on any error.
func records(t testing.TB, ns string) []deployrecord.Record {
	t.Helper()
	recs, err := ListRecords(context.Background(), clients.Kube, ns)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// createStatefulSetAndDaemonSet creates StatefulSet "db" and DaemonSet "agent" from
// podTemplate and waits until both have rolled out.
func createStatefulSetAndDaemonSet(t testing.TB, ns string) {
	t.Helper()
	ctx := context.Background()
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](1),
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template:    podTemplate("db", "registry.example/db:1"),
		},
	}
	if _, err := clients.Kube.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: podTemplate("agent", "registry.example/agent:1"),
		},
	}
	if _, err := clients.Kube.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, ns, Workload{Kind: "StatefulSet", Name: "db"})
	waitRolledOut(t, ns, Workload{Kind: "DaemonSet", Name: "agent"})
}
