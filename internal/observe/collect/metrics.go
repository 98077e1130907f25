package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// Perf object names and counters, as Container Insights writes them.
const (
	ObjectContainer = "K8SContainer"
	ObjectNode      = "K8SNode"

	CounterCPUUsage          = "cpuUsageNanoCores"
	CounterMemoryWorkingSet  = "memoryWorkingSetBytes"
	CounterMemoryRss         = "memoryRssBytes"
	CounterRestartTime       = "restartTimeEpoch"
	CounterCPURequest        = "cpuRequestNanoCores"
	CounterCPULimit          = "cpuLimitNanoCores"
	CounterMemoryRequest     = "memoryRequestBytes"
	CounterMemoryLimit       = "memoryLimitBytes"
	CounterCPUAllocatable    = "cpuAllocatableNanoCores"
	CounterMemoryAllocatable = "memoryAllocatableBytes"
	CounterCPUCapacity       = "cpuCapacityNanoCores"
	CounterMemoryCapacity    = "memoryCapacityBytes"
)

// InsightsMetrics namespace and origin of the raw kubelet samples.
const (
	insightsNamespace = "container.azm.ms/kubelet"
	insightsOrigin    = "tugboat.dev/agent"
)

// ResourceSample is one sample of the kubelet's /metrics/resource.
type ResourceSample struct {
	Name   string
	Labels map[string]string
	Value  float64
	Time   time.Time // the sample's own timestamp; zero when it has none
}

// ParseResourceMetrics parses the Prometheus text exposition of /metrics/resource
// (with prometheus/common's parser) into gauge and counter samples.
func ParseResourceMetrics(r io.Reader) ([]ResourceSample, error) {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("failed to parse resource metrics: %w", err)
	}
	var out []ResourceSample
	for name, fam := range families {
		for _, m := range fam.GetMetric() {
			s := ResourceSample{Name: name, Labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.Labels[lp.GetName()] = lp.GetValue()
			}
			switch fam.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.Value = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				s.Value = m.GetUntyped().GetValue()
			default:
				continue // the resource endpoint has no histograms or summaries
			}
			if m.TimestampMs != nil {
				s.Time = time.UnixMilli(m.GetTimestampMs()).UTC()
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return labelKey(out[i].Labels) < labelKey(out[j].Labels)
	})
	return out, nil
}

func labelKey(l map[string]string) string {
	return l["namespace"] + "/" + l["pod"] + "/" + l["container"]
}

// PerfConverter turns successive scrapes of nodes into Perf and InsightsMetrics rows.
// CPU arrives as cumulative core-seconds; cpuUsageNanoCores is its rate between two
// scrapes, so the first scrape of a container yields no CPU row.
type PerfConverter struct {
	ClusterID string
	prev      map[string]point
}

type point struct {
	value float64
	at    time.Time
}

// Convert returns the rows of one scrape of node taken at `at`. pods gives pod UIDs
// for InstanceName (ClusterId/PodUid/ContainerName); a pod it does not know keeps
// namespace/name in place of its UID.
func (c *PerfConverter) Convert(node string, at time.Time, samples []ResourceSample, pods PodLookup) (perf, insights [][]any) {
	if c.prev == nil {
		c.prev = map[string]point{}
	}
	seen := map[string]bool{}
	for _, s := range samples {
		tags, _ := json.Marshal(s.Labels) // a map of strings always marshals
		insights = append(insights, store.Row(store.InsightsMetricsRow{TimeGenerated: at, Computer: node, Namespace: insightsNamespace,
			Name: s.Name, Origin: insightsOrigin, Tags: string(tags), Val: s.Value}))

		t := at
		if !s.Time.IsZero() {
			t = s.Time
		}
		var object, instance string
		switch {
		case strings.HasPrefix(s.Name, "container_"):
			object, instance = ObjectContainer, c.containerInstance(s.Labels, pods)
		case strings.HasPrefix(s.Name, "node_"):
			object, instance = ObjectNode, c.ClusterID+"/"+node
		default:
			continue
		}
		switch strings.TrimPrefix(strings.TrimPrefix(s.Name, "container_"), "node_") {
		case "cpu_usage_seconds_total":
			key := node + "|" + s.Name + "|" + labelKey(s.Labels)
			seen[key] = true
			prev, ok := c.prev[key]
			c.prev[key] = point{value: s.Value, at: t}
			dt := t.Sub(prev.at).Seconds()
			if !ok || dt <= 0 || s.Value < prev.value {
				continue // no earlier sample, or the counter restarted
			}
			perf = append(perf, perfRow(t, node, object, CounterCPUUsage, (s.Value-prev.value)/dt*1e9, instance))
		case "memory_working_set_bytes":
			perf = append(perf, perfRow(t, node, object, CounterMemoryWorkingSet, s.Value, instance))
		case "memory_rss_bytes":
			perf = append(perf, perfRow(t, node, object, CounterMemoryRss, s.Value, instance))
		case "start_time_seconds":
			// A kubelet reports the Unix time; a value that cannot be one (kwok reports
			// seconds since start) is left to the pod status' startedAt.
			if s.Value > 1e9 {
				perf = append(perf, perfRow(t, node, object, CounterRestartTime, s.Value, instance))
			}
		}
	}
	for key := range c.prev {
		if strings.HasPrefix(key, node+"|") && !seen[key] {
			delete(c.prev, key) // the container is gone
		}
	}
	return perf, insights
}

func (c *PerfConverter) containerInstance(l map[string]string, pods PodLookup) string {
	uid := l["namespace"] + "/" + l["pod"]
	if pods != nil {
		if pod, ok := pods.Pod(l["namespace"], l["pod"]); ok {
			uid = string(pod.UID)
		}
	}
	return c.ClusterID + "/" + uid + "/" + l["container"]
}

// perfRow builds a Perf row; CounterPath reads like a Windows counter path, as in
// Container Insights: \\Computer\Object(Instance)\Counter.
func perfRow(t time.Time, computer, object, counter string, value float64, instance string) []any {
	path := `\\` + computer + `\` + object + "(" + instance + `)\` + counter
	return store.Row(store.PerfRow{TimeGenerated: t, Computer: computer, ObjectName: object, CounterName: counter,
		CounterPath: path, CounterValue: value, InstanceName: instance})
}

// SpecPerf returns the Perf rows that come from objects rather than from the kubelet:
// each container's requests and limits and start time, and each node's allocatable and
// capacity and the time it last became Ready (its restartTimeEpoch).
func SpecPerf(clusterID string, at time.Time, pods []*corev1.Pod, nodes []*corev1.Node) [][]any {
	var rows [][]any
	for _, pod := range pods {
		if pod.Spec.NodeName == "" || pod.Status.Phase != corev1.PodRunning {
			continue
		}
		node := pod.Spec.NodeName
		for _, ctr := range pod.Spec.Containers {
			inst := clusterID + "/" + string(pod.UID) + "/" + ctr.Name
			add := func(counter string, v float64) {
				rows = append(rows, perfRow(at, node, ObjectContainer, counter, v, inst))
			}
			if q, ok := ctr.Resources.Requests[corev1.ResourceCPU]; ok {
				add(CounterCPURequest, float64(q.MilliValue())*1e6)
			}
			if q, ok := ctr.Resources.Limits[corev1.ResourceCPU]; ok {
				add(CounterCPULimit, float64(q.MilliValue())*1e6)
			}
			if q, ok := ctr.Resources.Requests[corev1.ResourceMemory]; ok {
				add(CounterMemoryRequest, float64(q.Value()))
			}
			if q, ok := ctr.Resources.Limits[corev1.ResourceMemory]; ok {
				add(CounterMemoryLimit, float64(q.Value()))
			}
			for _, st := range pod.Status.ContainerStatuses {
				if st.Name == ctr.Name && st.State.Running != nil {
					add(CounterRestartTime, float64(st.State.Running.StartedAt.Unix()))
				}
			}
		}
	}
	for _, n := range nodes {
		inst := clusterID + "/" + n.Name
		add := func(counter string, v float64) {
			rows = append(rows, perfRow(at, n.Name, ObjectNode, counter, v, inst))
		}
		if q, ok := n.Status.Allocatable[corev1.ResourceCPU]; ok {
			add(CounterCPUAllocatable, float64(q.MilliValue())*1e6)
		}
		if q, ok := n.Status.Allocatable[corev1.ResourceMemory]; ok {
			add(CounterMemoryAllocatable, float64(q.Value()))
		}
		if q, ok := n.Status.Capacity[corev1.ResourceCPU]; ok {
			add(CounterCPUCapacity, float64(q.MilliValue())*1e6)
		}
		if q, ok := n.Status.Capacity[corev1.ResourceMemory]; ok {
			add(CounterMemoryCapacity, float64(q.Value()))
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				add(CounterRestartTime, float64(cond.LastTransitionTime.Unix()))
			}
		}
	}
	return rows
}

// MetricsCollector scrapes each node's kubelet resource metrics through the
// apiserver's node proxy and appends Perf and InsightsMetrics rows.
type MetricsCollector struct {
	Clients   kubernetes.Interface
	ClusterID string
	// Node limits collection to one node (node mode); empty means every node.
	Node     string
	Interval time.Duration
	Pods     podLister
	Nodes    nodeLister
	App      store.Appender

	conv PerfConverter
	// noSummary counts the rounds left before a node that did not serve
	// /stats/summary is asked again.
	noSummary map[string]int
}

// summaryRetry is how many rounds a node without /stats/summary is not asked again.
const summaryRetry = 20

// Run scrapes every Interval until ctx ends.
func (m *MetricsCollector) Run(ctx context.Context) error {
	m.conv.ClusterID = m.ClusterID
	return every(ctx, m.Interval, func(ctx context.Context) {
		if err := m.Collect(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrStoreUnavailable) {
			klog.FromContext(ctx).Error(err, "metrics collection failed")
		}
	})
}

// Collect scrapes once. A node whose kubelet cannot be reached is logged and skipped.
func (m *MetricsCollector) Collect(ctx context.Context) error {
	m.conv.ClusterID = m.ClusterID
	now := time.Now().UTC()
	nodes := m.Nodes.list(m.Node)
	pods := m.Pods.list()
	if m.Node != "" {
		mine := pods[:0:0]
		for _, p := range pods {
			if p.Spec.NodeName == m.Node {
				mine = append(mine, p)
			}
		}
		pods = mine
	}
	perf := SpecPerf(m.ClusterID, now, pods, nodes)
	var insights [][]any
	for _, n := range nodes {
		body, err := m.Clients.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", n.Name, "proxy/metrics/resource").DoRaw(ctx)
		if err != nil {
			klog.FromContext(ctx).V(1).Info("failed to scrape the kubelet resource metrics", "node", n.Name, "err", err)
			continue
		}
		samples, err := ParseResourceMetrics(strings.NewReader(string(body)))
		if err != nil {
			klog.FromContext(ctx).Error(err, "bad resource metrics", "node", n.Name)
			continue
		}
		p, i := m.conv.Convert(n.Name, now, samples, m.Pods)
		perf, insights = append(perf, p...), append(insights, i...)
		perf = append(perf, m.summary(ctx, n.Name, now)...)
	}
	// Both tables are tried: a spool keeps what one could not take.
	var errs []error
	if len(perf) > 0 {
		if err := m.App.Append(ctx, store.Perf, perf); err != nil {
			errs = append(errs, fmt.Errorf("failed to append %d Perf rows: %w", len(perf), err))
		}
	}
	if len(insights) > 0 {
		if err := m.App.Append(ctx, store.InsightsMetrics, insights); err != nil {
			errs = append(errs, fmt.Errorf("failed to append %d InsightsMetrics rows: %w", len(insights), err))
		}
	}
	return errors.Join(errs...)
}

// summary reads memoryRssBytes from the node's /stats/summary when it serves one.
func (m *MetricsCollector) summary(ctx context.Context, node string, now time.Time) [][]any {
	if m.noSummary == nil {
		m.noSummary = map[string]int{}
	}
	if m.noSummary[node] > 0 {
		m.noSummary[node]--
		return nil
	}
	body, err := m.Clients.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy/stats/summary").DoRaw(ctx)
	if err != nil {
		// Not every kubelet (nor kwok) serves it; ask again later.
		klog.FromContext(ctx).V(2).Info("no stats summary", "node", node, "err", err)
		m.noSummary[node] = summaryRetry
		return nil
	}
	rows, err := SummaryPerf(m.ClusterID, node, now, body)
	if err != nil {
		klog.FromContext(ctx).Error(err, "bad stats summary", "node", node)
		return nil
	}
	return rows
}

// every runs f now and then every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func(context.Context)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
