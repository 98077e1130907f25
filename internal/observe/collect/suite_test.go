package collect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// The end-to-end tests share one control plane with workloads, where kwok also serves
// the kubelet API (resource metrics, and the logs of pods in logsNamespace read from
// kwokLogFile). It starts on the first test that needs it, so the pure tests run
// without it.
var (
	suite       *testenv.Suite
	env         *cluster.Cluster
	clients     kubernetes.Interface
	kwokLogFile string
)

const logsNamespace = "telemetry-logs"

// TestMain also stops the ClickHouse server a test may have started.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tugboat-telemetry-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "failed to create the suite's directory: %v\n", err)
		os.Exit(1)
	}
	kwokLogFile = filepath.Join(dir, "kwok-app.log")
	if err := os.WriteFile(kwokLogFile, nil, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "failed to create kwok's log file: %v\n", err)
		os.Exit(1)
	}
	suite = testenv.New(testenv.Options{
		Cluster: cluster.Options{
			Workloads:    true,
			KubeletAPI:   true,
			StartTimeout: 5 * time.Minute,
			KwokConfig: []string{fmt.Sprintf(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: telemetry-logs
spec:
  selector:
    matchNamespaces: [%s]
  logs:
  - logsFile: %s
    follow: true
`, logsNamespace, kwokLogFile)},
		},
		Ready: func(_ context.Context, s *testenv.Suite) error {
			env = s.Cluster
			var err error
			clients, err = kubernetes.NewForConfig(env.RESTConfig)
			return err
		},
	})
	storetest.Main(m, suite.Stop, func() { _ = os.RemoveAll(dir) })
}

// startCluster returns the shared control plane, starting it the first time.
func startCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	return suite.Need(t).Cluster
}

// createNamespace creates a namespace for one test and deletes it afterwards.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := clients.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = clients.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}) })
	// Pods need the namespace's default ServiceAccount.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := clients.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("no default ServiceAccount in %s: %v", name, err)
	}
}

// createDeployment creates a Deployment and waits until its pods are Running.
func createDeployment(t *testing.T, ns, name string, replicas int32, annotations map[string]string) []corev1.Pod {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example/shop/" + name + ":v1.2.3",
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: mustQuantity("250m"), corev1.ResourceMemory: mustQuantity("128Mi")},
						Limits:   corev1.ResourceList{corev1.ResourceCPU: mustQuantity("1"), corev1.ResourceMemory: mustQuantity("256Mi")},
					},
				}}},
			},
		},
	}
	if _, err := clients.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pods []corev1.Pod
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := clients.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return false, nil
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		pods = list.Items
		return running == int(replicas) && len(list.Items) == int(replicas), nil
	}); err != nil {
		t.Fatalf("pods of %s/%s did not run: %v", ns, name, err)
	}
	return pods
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
