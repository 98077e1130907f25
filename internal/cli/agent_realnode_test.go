package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/observe/collect"
	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// TestAgentDaemonSetTailsTheRealNodesContainers runs config/agent's DaemonSet, with
// tugboat's own image, on the real node: it tails the CRI log files of a container
// that writes known lines to stdout and stderr, and the lines arrive in ContainerLogV2
// of the ClickHouse store it writes to, with their pod, container and stream; the
// container's memory, from the kubelet, arrives in Perf within the container's limit.
func TestAgentDaemonSetTailsTheRealNodesContainers(t *testing.T) {
	ctx, c, clients := realNode(t, 25*time.Minute)
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := Execute(ctx, append([]string{"--kubeconfig", c.Kubeconfig}, args...), &out, &errOut); code != ExitOK {
			t.Fatalf("tugboat %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
	// The store: a ClickHouse server of this test on the address pods reach.
	ch := storetest.Reachable(t, c.HostIP(), cluster.PodCIDR)
	dsn := ch.Database(t)

	image := run(append([]string{"image", "publish", "../../cmd/tugboat", "--repo", c.Registry() + "/tugboat"}, selfImageFlags...)...)
	appImage := run("image", "publish", "../localdev/cluster/testdata/hello", "--repo", c.Registry()+"/demo/hello", "--base", "scratch", "--user", "65532", "--insecure")

	objs, err := buildManifests("agent", installPodSpec{nodeSelector: map[string]string{cluster.RealNodeLabel: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := newDynamic(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients.CoreV1().Namespaces().Create(ctx, namespace("tugboat-system"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var daemonSet *unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			continue // the cluster-wide collectors: events and delivery, not this test's
		case "DaemonSet":
			agentForTest(t, o, image, dsn)
			daemonSet = o
		}
		if err := k.apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.waitCurrent(ctx, daemonSet, 3*time.Minute); err != nil {
		t.Fatalf("%v; its pods: %s", err, podProblems(ctx, c.RESTConfig, daemonSet))
	}

	// A container that writes known lines: one on stdout when it starts, one on stderr.
	message := fmt.Sprintf("agent test %d", time.Now().UnixNano())
	talker, err := clients.CoreV1().Pods("default").Create(ctx, talkerPod(appImage, message), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenClickHouse(ctx, dsn, store.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]string{
		"stdout": "hello listening on :8080",
		"stderr": fmt.Sprintf("hello says %q", message),
	}
	var got []string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		res, err := st.Query(ctx, `ContainerLogV2 | where PodName == "talker" and PodNamespace == "default" | project LogSource, ContainerName, LogMessage`)
		if err != nil {
			return false, nil //nolint:nilerr // the agent has not created the table yet
		}
		got = got[:0]
		found := 0
		for _, row := range res.Rows {
			line := fmt.Sprintf("%v %v %v", row[0], row[1], row[2])
			got = append(got, line)
			if row[1] == "talker" && strings.TrimSpace(fmt.Sprint(row[2])) == want[fmt.Sprint(row[0])] {
				found++
			}
		}
		return found == len(want), nil
	})
	if err != nil {
		t.Fatalf("ContainerLogV2 holds for pod talker:\n%s\nwant the lines %v", strings.Join(got, "\n"), want)
	}

	// Its memory, from the kubelet's metrics, in Perf: more than nothing, within its limit.
	var values []float64
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		res, err := st.Query(ctx, fmt.Sprintf(`Perf | where ObjectName == %q and CounterName == %q and InstanceName endswith %q | project CounterValue`,
			collect.ObjectContainer, collect.CounterMemoryWorkingSet, "/"+string(talker.UID)+"/talker"))
		if err != nil {
			return false, nil //nolint:nilerr // no metrics stored yet
		}
		values = values[:0]
		for _, row := range res.Rows {
			values = append(values, row[0].(float64))
		}
		return len(values) > 0, nil
	})
	if err != nil {
		t.Fatalf("Perf has no %s of container talker: %v", collect.CounterMemoryWorkingSet, err)
	}
	for _, v := range values {
		if v <= 0 || v > talkerMemoryLimit {
			t.Errorf("Perf says container talker's working set is %.0f bytes, want more than 0 and at most its limit %d", v, talkerMemoryLimit)
		}
	}
	t.Logf("talker's working set in Perf: %.1f MiB", values[0]/(1<<20))
	logAgentMemory(ctx, t, clients)
}

// talkerMemoryLimit is the talker container's memory limit.
const talkerMemoryLimit = 32 << 20

// logAgentMemory logs the agent pod's memory, for docs/benchmarks.md.
func logAgentMemory(ctx context.Context, t *testing.T, clients kubernetes.Interface) {
	t.Helper()
	pods, err := clients.CoreV1().Pods("tugboat-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=tugboat-agent"})
	if err != nil || len(pods.Items) == 0 {
		t.Logf("no agent pod to measure: %v", err)
		return
	}
	for i := range pods.Items {
		if pods.Items[i].Spec.NodeName == cluster.RealNodeName {
			logPodMemory(ctx, t, clients, &pods.Items[i])
		}
	}
}

// agentForTest points the DaemonSet at the test's image and store, collects logs
// and metrics (every 2 s) only, and keeps its checkpoint in an emptyDir instead of a directory on this
// machine, which a test must not leave behind.
func agentForTest(t testing.TB, ds *unstructured.Unstructured, image, dsn string) {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	agent := containers[0].(map[string]any)
	agent["image"] = image
	var args []any
	for _, a := range agent["args"].([]any) {
		switch s := a.(string); {
		case strings.HasPrefix(s, "--clickhouse="):
			args = append(args, "--clickhouse="+dsn)
		case strings.HasPrefix(s, "--collect="):
			args = append(args, "--collect=logs,metrics")
		case strings.HasPrefix(s, "--interval="):
			args = append(args, "--interval=2s")
		default:
			args = append(args, s)
		}
	}
	agent["args"] = args
	if err := unstructured.SetNestedSlice(ds.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	volumes, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "volumes")
	for _, v := range volumes {
		if v := v.(map[string]any); v["name"] == "state" {
			delete(v, "hostPath")
			v["emptyDir"] = map[string]any{}
		}
	}
	if err := unstructured.SetNestedSlice(ds.Object, volumes, "spec", "template", "spec", "volumes"); err != nil {
		t.Fatal(err)
	}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// talkerPod runs hello on the real node, which writes one line to stdout and one with
// message to stderr when it starts.
func talkerPod(image, message string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "talker", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{cluster.RealNodeLabel: "true"},
			Tolerations:                   []corev1.Toleration{{Key: cluster.RealNodeTaint, Operator: corev1.TolerationOpExists}},
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name:  "talker",
				Image: image,
				Args:  []string{"-message", message},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceMemory: *resource.NewQuantity(talkerMemoryLimit, resource.BinarySI),
				}},
			}},
		},
	}
}
