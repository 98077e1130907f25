package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
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

// The burner's limits and what it holds: it spins one goroutine (more than its CPU
// limit allows) and keeps burnerHoldMiB resident, under its memory limit.
const (
	burnerCPULimitMilli = 200
	burnerMemoryLimit   = 96 << 20
	burnerHoldMiB       = 48
)

// The restarter writes restarterLines numbered lines per run and exits, restarterRuns
// times; its next run stays up.
const (
	restarterLines = 500
	restarterRuns  = 2
)

// TestAgentMeasuresAndTailsRealWorkloads runs config/agent's DaemonSet on the real
// node beside two containers of the workload test image. One burns more CPU than its
// limit and holds 48 MiB under a 96 MiB limit: its CPU in Perf is more than a trace
// and within the CPU limit, its working set in Perf and InsightsMetrics covers what it
// holds and stays within the memory limit. The other writes numbered lines and exits,
// twice (restartPolicy Always): every line of both runs is in ContainerLogV2 exactly
// once, none lost across the restart and none read twice.
func TestAgentMeasuresAndTailsRealWorkloads(t *testing.T) {
	ctx, c, clients := realNode(t, 25*time.Minute)
	dsn := startAgentOnRealNode(ctx, t, c)
	workloadImage := publishImage(ctx, t, c, "image", "publish", workloadDir, "--repo", c.Registry()+"/demo/workload",
		"--base", "scratch", "--user", "65532", "--insecure")

	burner, err := clients.CoreV1().Pods("default").Create(ctx, burnerPod(workloadImage), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	restarter, err := clients.CoreV1().Pods("default").Create(ctx, restarterPod(workloadImage), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenClickHouse(ctx, dsn, store.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	t.Run("the restarting container's lines are stored exactly once", func(t *testing.T) {
		// Its last run stays up; by then every run's file is written.
		err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			p, err := clients.CoreV1().Pods("default").Get(ctx, restarter.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, s := range p.Status.ContainerStatuses {
				if s.RestartCount >= restarterRuns && s.State.Running != nil {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("container restarter did not restart %d times: %v", restarterRuns, err)
		}
		want := restarterRuns * restarterLines
		var counts map[string]int
		var other []string
		err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			res, err := st.Query(ctx, `ContainerLogV2 | where PodName == "restarter" and PodNamespace == "default" and LogSource == "stdout" | project LogMessage`)
			if err != nil {
				return false, nil //nolint:nilerr // the agent has not created the table yet
			}
			counts, other = map[string]int{}, other[:0]
			for _, row := range res.Rows {
				line := strings.TrimSpace(fmt.Sprint(row[0]))
				if numberedLine.MatchString(line) {
					counts[line]++
				} else {
					other = append(other, line)
				}
			}
			return len(counts) >= want, nil
		})
		var problems []string
		for r := 1; r <= restarterRuns; r++ {
			for i := 1; i <= restarterLines; i++ {
				line := fmt.Sprintf("workload run %d line %d", r, i)
				if n := counts[line]; n != 1 {
					problems = append(problems, fmt.Sprintf("%q %d times", line, n))
				}
				delete(counts, line)
			}
		}
		for line, n := range counts {
			problems = append(problems, fmt.Sprintf("unexpected %q %d times", line, n))
		}
		if len(problems) > 0 || len(other) > 0 {
			sort.Strings(problems)
			t.Fatalf("ContainerLogV2 of container restarter (waited: %v): %d line(s) wrong, the first: %s; other stdout lines: %q",
				err, len(problems), strings.Join(problems[:min(10, len(problems))], ", "), other)
		}
	})

	t.Run("the burner's CPU and memory are within its limits", func(t *testing.T) {
		instance := "/" + string(burner.UID) + "/burner"
		held := float64(burnerHoldMiB << 20)
		// perf polls Perf until done says the counter's values are enough.
		perf := func(counter string, done func([]float64) bool) []float64 {
			t.Helper()
			var values []float64
			err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
				res, err := st.Query(ctx, fmt.Sprintf(`Perf | where ObjectName == %q and CounterName == %q and InstanceName endswith %q | project CounterValue`,
					collect.ObjectContainer, counter, instance))
				if err != nil {
					return false, nil //nolint:nilerr // no metrics stored yet
				}
				values = values[:0]
				for _, row := range res.Rows {
					values = append(values, row[0].(float64))
				}
				return done(values), nil
			})
			if err != nil {
				t.Errorf("Perf's %s of container burner never got there: %v (values %v)", counter, err, values)
			}
			return values
		}
		// CPU: a rate between the kubelet's samples of a cumulative counter, each
		// with its own timestamp; 10 % above the quota allows for the counter and its
		// timestamp being read at slightly different instants.
		limit := float64(burnerCPULimitMilli) * 1e6
		cpu := perf(collect.CounterCPUUsage, func(v []float64) bool { return len(v) >= 3 })
		most := 0.0
		for _, v := range cpu {
			most = max(most, v)
			if v < 0 || v > 1.1*limit {
				t.Errorf("Perf says container burner used %.0f nanocores, beyond its limit of %.0f", v, limit)
			}
		}
		// Spinning, it is always runnable: it gets a fair part of its quota even on a
		// busy machine.
		if most < limit/4 {
			t.Errorf("Perf says container burner used at most %.0f nanocores, want at least a quarter of its limit %.0f: %v", most, limit, cpu)
		}
		// Memory: the working set reaches what the burner holds (once it has touched
		// it, after it starts) and never passes the limit.
		reached := func(v []float64) bool {
			for _, x := range v {
				if x >= held {
					return true
				}
			}
			return false
		}
		mem := perf(collect.CounterMemoryWorkingSet, reached)
		for _, v := range mem {
			if v <= 0 || v > burnerMemoryLimit {
				t.Errorf("Perf says container burner's working set is %.1f MiB, want more than 0 and at most its limit %d MiB", v/(1<<20), burnerMemoryLimit>>20)
			}
		}
		t.Logf("burner in Perf: CPU at most %.0f millicores (limit %d) in %d samples; working set %s MiB (holds %d, limit %d)",
			most/1e6, burnerCPULimitMilli, len(cpu), mebibytes(mem), burnerHoldMiB, burnerMemoryLimit>>20)

		// InsightsMetrics keeps the kubelet's own samples, labelled.
		res, err := st.Query(ctx, `InsightsMetrics | where Name == "container_memory_working_set_bytes" | project Tags, Val`)
		if err != nil {
			t.Fatal(err)
		}
		var insights []float64
		for _, row := range res.Rows {
			var tags map[string]string
			if err := json.Unmarshal([]byte(fmt.Sprint(row[0])), &tags); err != nil {
				t.Fatalf("InsightsMetrics Tags %q: %v", row[0], err)
			}
			if tags["namespace"] == "default" && tags["pod"] == "burner" && tags["container"] == "burner" {
				insights = append(insights, row[1].(float64))
			}
		}
		if !reached(insights) {
			t.Errorf("InsightsMetrics' container_memory_working_set_bytes of container burner never reaches the %d MiB it holds: %s MiB", burnerHoldMiB, mebibytes(insights))
		}
		for _, v := range insights {
			if v <= 0 || v > burnerMemoryLimit {
				t.Errorf("InsightsMetrics says container burner's working set is %.1f MiB, want more than 0 and at most %d MiB", v/(1<<20), burnerMemoryLimit>>20)
			}
		}
	})
}

// mebibytes lists byte counts in MiB, for messages.
func mebibytes(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.1f", x/(1<<20))
	}
	return strings.Join(s, " ")
}

// numberedLine is a line the workload writes.
var numberedLine = regexp.MustCompile(`^workload run \d+ line \d+$`)

// startAgentOnRealNode starts a ClickHouse server the real node's pods reach and
// config/agent's DaemonSet (logs and metrics every 2 s, tugboat's own image) writing
// to it; it returns the store's DSN once the DaemonSet is ready.
func startAgentOnRealNode(ctx context.Context, t testing.TB, c *cluster.Cluster) string {
	t.Helper()
	ch := storetest.Reachable(t, c.HostIP(), cluster.PodCIDR)
	dsn := ch.Database(t)
	image := publishImage(ctx, t, c, append([]string{"image", "publish", "../../cmd/tugboat", "--repo", c.Registry() + "/tugboat"}, selfImageFlags...)...)
	objs, err := buildManifests("agent", installPodSpec{nodeSelector: map[string]string{cluster.RealNodeLabel: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := newDynamic(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := kubernetes.NewForConfig(c.RESTConfig)
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
			continue // the cluster-wide collectors: events and delivery, not these tests'
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
	return dsn
}

// publishImage runs `tugboat image publish` against the cluster and returns the
// image reference it prints.
func publishImage(ctx context.Context, t testing.TB, c *cluster.Cluster, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := Execute(ctx, append([]string{"--kubeconfig", c.Kubeconfig}, args...), &out, &errOut); code != ExitOK {
		t.Fatalf("tugboat %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// onRealNode is a pod spec's start: on the real node, tolerating its taint, no grace.
func onRealNode() corev1.PodSpec {
	return corev1.PodSpec{
		NodeSelector:                  map[string]string{cluster.RealNodeLabel: "true"},
		Tolerations:                   []corev1.Toleration{{Key: cluster.RealNodeTaint, Operator: corev1.TolerationOpExists}},
		TerminationGracePeriodSeconds: new(int64),
	}
}

// burnerPod spins beyond its CPU limit and holds burnerHoldMiB under its memory limit.
func burnerPod(image string) *corev1.Pod {
	spec := onRealNode()
	spec.Containers = []corev1.Container{{
		Name:  "burner",
		Image: image,
		Args:  []string{"-burn", "2", "-hold-mib", strconv.Itoa(burnerHoldMiB)},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(burnerCPULimitMilli, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(burnerMemoryLimit, resource.BinarySI),
		}},
	}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "burner", Namespace: "default"}, Spec: spec}
}

// restarterPod writes restarterLines numbered lines and exits, restarterRuns times
// (counted in an emptyDir, which outlives the container's restarts), then stays up.
func restarterPod(image string) *corev1.Pod {
	spec := onRealNode()
	spec.RestartPolicy = corev1.RestartPolicyAlways
	spec.Volumes = []corev1.Volume{{Name: "runs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	spec.Containers = []corev1.Container{{
		Name:  "restarter",
		Image: image,
		Args: []string{"-lines", strconv.Itoa(restarterLines), "-exit", "1",
			"-runs-file", "/runs/count", "-runs", strconv.Itoa(restarterRuns)},
		VolumeMounts: []corev1.VolumeMount{{Name: "runs", MountPath: "/runs"}},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("100m"),
			corev1.ResourceMemory: resource.MustParse("32Mi"),
		}},
	}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "restarter", Namespace: "default"}, Spec: spec}
}
