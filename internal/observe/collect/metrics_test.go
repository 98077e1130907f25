package collect

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

type podMap map[string]*corev1.Pod

func (m podMap) Pod(ns, name string) (*corev1.Pod, bool) { p, ok := m[ns+"/"+name]; return p, ok }

// perfLines renders Perf rows as "Object Counter Instance=Value" for comparison.
func perfLines(rows [][]any) []string {
	obj, ctr, val, inst := column(store.Perf, "ObjectName"), column(store.Perf, "CounterName"),
		column(store.Perf, "CounterValue"), column(store.Perf, "InstanceName")
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %s=%g", r[obj], r[ctr], r[inst], r[val]))
	}
	sort.Strings(out)
	return out
}

func TestPerfConverter(t *testing.T) {
	const first = `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web-1"} 10 1764118800000
container_cpu_usage_seconds_total{container="app",namespace="shop",pod="gone"} 5 1764118800000
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="shop",pod="web-1"} 6.7108864e+07 1764118800000
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="shop",pod="web-1"} 1.7641188e+09 1764118800000
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 100 1764118800000
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1.34217728e+08 1764118800000
# TYPE scrape_error gauge
scrape_error 0
`
	pods := podMap{"shop/web-1": {ObjectMeta: metav1.ObjectMeta{UID: types.UID("uid-1")}}}
	tests := map[string]struct {
		second string
		want   []string
	}{
		"a second scrape turns cumulative CPU into nanocores over the 30 s between": {
			second: `container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web-1"} 13 1764118830000
node_cpu_usage_seconds_total 160 1764118830000
`,
			want: []string{
				"K8SContainer cpuUsageNanoCores c1/uid-1/app=1e+08",
				"K8SNode cpuUsageNanoCores c1/node-1=2e+09",
			},
		},
		"a counter that went down (container restarted) yields no CPU row": {
			second: `container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web-1"} 1 1764118830000
`,
		},
		"a sample at the same time as the last one yields no CPU row": {
			second: `container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web-1"} 11 1764118800000
`,
		},
		"a pod the cache does not know keeps its namespace and name": {
			second: `container_cpu_usage_seconds_total{container="app",namespace="shop",pod="gone"} 8 1764118860000
`,
			want: []string{"K8SContainer cpuUsageNanoCores c1/shop/gone/app=5e+07"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			conv := PerfConverter{ClusterID: "c1"}
			samples, err := ParseResourceMetrics(strings.NewReader(first))
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
			perf, insights := conv.Convert("node-1", at, samples, pods)
			wantFirst := []string{
				"K8SContainer memoryWorkingSetBytes c1/uid-1/app=6.7108864e+07",
				"K8SContainer restartTimeEpoch c1/uid-1/app=1.7641188e+09",
				"K8SNode memoryWorkingSetBytes c1/node-1=1.34217728e+08",
			}
			if got := perfLines(perf); strings.Join(got, "\n") != strings.Join(wantFirst, "\n") {
				t.Errorf("first scrape Perf rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFirst, "\n"))
			}
			if len(insights) != len(samples) {
				t.Errorf("InsightsMetrics rows = %d, want one per sample (%d)", len(insights), len(samples))
			}
			samples, err = ParseResourceMetrics(strings.NewReader(tc.second))
			if err != nil {
				t.Fatal(err)
			}
			perf, _ = conv.Convert("node-1", at.Add(30*time.Second), samples, pods)
			var cpu [][]any
			for _, r := range perf {
				if r[column(store.Perf, "CounterName")] == CounterCPUUsage {
					cpu = append(cpu, r)
				}
			}
			if got := perfLines(cpu); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("second scrape CPU rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseResourceMetricsRejectsGarbage(t *testing.T) {
	_, err := ParseResourceMetrics(strings.NewReader("container_cpu_usage_seconds_total{container=\"a\" 1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want a parse error naming the line", err)
	}
}

func TestSpecPerf(t *testing.T) {
	started := metav1.NewTime(time.Unix(1764118800, 0))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{UID: "u"},
		Spec: corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}}},
	}
	pending := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x"}}}}
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{
		Allocatable: res, Capacity: res,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastTransitionTime: started}},
	}}
	got := perfLines(SpecPerf("c", time.Now(), []*corev1.Pod{pod, pending}, []*corev1.Node{node}))
	want := []string{
		"K8SContainer cpuLimitNanoCores c/u/app=1e+09",
		"K8SContainer cpuRequestNanoCores c/u/app=2.5e+08",
		"K8SContainer memoryRequestBytes c/u/app=1.34217728e+08",
		"K8SContainer restartTimeEpoch c/u/app=1.7641188e+09",
		"K8SNode cpuAllocatableNanoCores c/n=4e+09",
		"K8SNode cpuCapacityNanoCores c/n=4e+09",
		"K8SNode memoryAllocatableBytes c/n=8.589934592e+09",
		"K8SNode memoryCapacityBytes c/n=8.589934592e+09",
		"K8SNode restartTimeEpoch c/n=1.7641188e+09",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSummaryPerf(t *testing.T) {
	tests := map[string]struct {
		body    string
		want    []string
		wantErr string
	}{
		"container and node RSS": {
			body: `{"node":{"nodeName":"n","memory":{"time":"2026-11-26T01:00:00Z","workingSetBytes":9,"rssBytes":4096}},
				"pods":[{"podRef":{"name":"web-1","namespace":"shop","uid":"u1"},
					"containers":[{"name":"app","memory":{"time":"2026-11-26T01:00:00Z","rssBytes":1024}},{"name":"side"}]}]}`,
			want: []string{"K8SContainer memoryRssBytes c/u1/app=1024", "K8SNode memoryRssBytes c/n=4096"},
		},
		"a summary without memory stats has no rows": {
			body: `{"node":{"nodeName":"n"},"pods":[]}`,
		},
		"bad JSON is an error naming the node": {
			body: `{"node":`, wantErr: "stats summary of node n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rows, err := SummaryPerf("c", "n", time.Now(), []byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := perfLines(rows); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
