package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// writerRate and writerLineBytes are the log load of BenchmarkAgentLogLines: 10,000
// lines of 100 bytes a second (1 MB/s, the kubelet rotates the file every ~10 s).
const (
	writerRate      = 10000
	writerLineBytes = 100
)

// BenchmarkAgentLogLines measures config/agent's DaemonSet pod on the real node (its
// image, logs and metrics every 2 s, into ClickHouse) while a container writes 10,000
// lines a second: the agent container's CPU as its cgroup counts it (cpuacct.usage)
// over TUGBOAT_BENCH_AGENT_SECONDS (default 60), first with no writer (idle), then with
// it, and the lines it stored in that window. Reported: agent CPU seconds per 10,000
// lines stored (= cores at 10k lines/s), the idle cores beside it, the lines/s it
// stored, its cgroup's peak memory (memory.max_usage_in_bytes, which counts the page
// cache of the log files it reads) and its anonymous RSS at the end (memory.stat).
func BenchmarkAgentLogLines(b *testing.B) {
	if err := cluster.CheckRealNode(); err != nil {
		b.Fatalf("%v (the real node's benchmarks need them; `%s` installs the packages)", err, cluster.PrerequisitesCommand)
	}
	window := 60 * time.Second
	if v, err := strconv.Atoi(os.Getenv("TUGBOAT_BENCH_AGENT_SECONDS")); err == nil && v > 0 {
		window = time.Duration(v) * time.Second
	}
	for b.Loop() {
		measureAgentLogLines(b, window)
	}
}

func measureAgentLogLines(b *testing.B, window time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c := startRealNodeCluster(ctx, b)
	defer c.Stop()
	clients, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		b.Fatal(err)
	}
	dsn := startAgentOnRealNode(ctx, b, c)
	workloadImage := publishImage(ctx, b, c, "image", "publish", workloadDir, "--repo", c.Registry()+"/demo/workload",
		"--base", "scratch", "--user", "65532", "--insecure")
	agents, err := clients.CoreV1().Pods("tugboat-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=tugboat-agent"})
	if err != nil || len(agents.Items) != 1 {
		b.Fatalf("want the one agent pod of the real node: %v, %v", agents, err)
	}
	cpuCG, err := cluster.ContainerCgroup("cpuacct", &agents.Items[0], "agent")
	if err != nil {
		b.Fatal(err)
	}
	memCG, err := cluster.ContainerCgroup("memory", &agents.Items[0], "agent")
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.OpenClickHouse(ctx, dsn, store.Options{RetentionInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cpuOver := func() float64 {
		before, err := cluster.CgroupValue(cpuCG, "cpuacct.usage", "")
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(window)
		after, err := cluster.CgroupValue(cpuCG, "cpuacct.usage", "")
		if err != nil {
			b.Fatal(err)
		}
		return float64(after-before) / 1e9
	}
	stored := func() int64 {
		res, err := st.Query(ctx, `ContainerLogV2 | where PodName == "writer" and PodNamespace == "default" | count`)
		if err != nil {
			return 0 // no table yet: nothing stored
		}
		n, err := strconv.ParseInt(fmt.Sprint(res.Rows[0][0]), 10, 64)
		if err != nil {
			b.Fatalf("count of the writer's lines: %v", err)
		}
		return n
	}

	idle := cpuOver()

	writer, err := clients.CoreV1().Pods("default").Create(ctx, writerPod(workloadImage), metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// Measure once the agent keeps up: lines arriving in the store.
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
		return stored() > writerRate, nil
	}); err != nil {
		b.Fatalf("no lines of pod %s stored: %v", writer.Name, err)
	}
	linesBefore := stored()
	busy := cpuOver()
	lines := stored() - linesBefore
	peak, err := cluster.CgroupValue(memCG, "memory.max_usage_in_bytes", "")
	if err != nil {
		b.Fatal(err)
	}
	rss, err := cluster.CgroupValue(memCG, "memory.stat", "total_rss")
	if err != nil {
		b.Fatal(err)
	}
	if lines == 0 {
		b.Fatalf("the agent stored no line of pod %s in %s", writer.Name, window)
	}
	rate := float64(lines) / window.Seconds()
	perTenK := busy / (float64(lines) / 10000)
	b.Logf("agent over %s: idle %.3f cores; writer at %d lines/s: %.3f cores, %.0f lines/s stored, %.3f CPU-s per 10k lines; "+
		"cgroup peak %.1f MiB (memory.max_usage_in_bytes, with the page cache of the files it read), anonymous RSS %.1f MiB at the end (memory.stat total_rss)",
		window, idle/window.Seconds(), writerRate, busy/window.Seconds(), rate, perTenK, float64(peak)/(1<<20), float64(rss)/(1<<20))
	b.ReportMetric(perTenK, "cpu-s/10k-lines")
	b.ReportMetric(idle/window.Seconds(), "cores-idle")
	b.ReportMetric(busy/window.Seconds(), "cores-busy")
	b.ReportMetric(rate, "lines/s-stored")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-cgroup")
	b.ReportMetric(float64(rss)/(1<<20), "MiB-anon-rss")
}

// writerPod writes writerRate numbered lines of writerLineBytes a second without end.
func writerPod(image string) *corev1.Pod {
	spec := onRealNode()
	spec.Containers = []corev1.Container{{
		Name:  "writer",
		Image: image,
		Args:  []string{"-lines", "-1", "-rate", strconv.Itoa(writerRate), "-line-bytes", strconv.Itoa(writerLineBytes)},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("500m"),
			corev1.ResourceMemory: resource.MustParse("32Mi"),
		}},
	}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "writer", Namespace: "default"}, Spec: spec}
}
