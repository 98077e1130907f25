package collect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// TestAgentNodeMode runs the agent as the DaemonSet does: CRI log files in a pod log
// directory laid out as the kubelet's, named after real pods, whose rows get the
// container ID and metadata from the pod informer; metrics and inventory of its node.
func TestAgentNodeMode(t *testing.T) {
	startCluster(t)
	// The rows also go to a real ClickHouse (18.16) and are read back with KQL.
	ch, err := store.OpenClickHouse(context.Background(), storetest.ClickHouse(t).Database(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	createNamespace(t, "nodemode")
	pods := createDeployment(t, "nodemode", "api", 1, map[string]string{"team": "payments"})
	pod := pods[0]
	logDir := t.TempDir()
	file := filepath.Join(logDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), "app", "0.log")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	content := "2026-11-26T01:00:00.000000001Z stdout P {\"level\":\"error\",\n" +
		"2026-11-26T01:00:00.000000002Z stdout F \"msg\":\"split across two CRI lines\"}\n" +
		"2026-11-26T01:00:00.000000003Z stderr F W1126 01:00:00.000000 1 main.go:10] low disk\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rec.also = ch
	stop := runAgent(t, rec, Options{
		Node: pod.Spec.NodeName, LogDir: logDir, StateDir: t.TempDir(),
		Interval: 2 * time.Second, InventoryInterval: 2 * time.Second,
		Collect: []string{CollectLogs, CollectMetrics, CollectInventory},
	})
	row := waitRows(t, rec, store.ContainerLogV2, "recombined from the partial line", func(r []any) bool {
		m, ok := col(r, store.ContainerLogV2, "LogMessage").(map[string]any)
		return ok && m["msg"] == "split across two CRI lines"
	})
	if got := col(row, store.ContainerLogV2, "LogLevel"); got != LevelError {
		t.Errorf("LogLevel = %v, want ERROR from the JSON level", got)
	}
	if got := col(row, store.ContainerLogV2, "Computer"); got != pod.Spec.NodeName {
		t.Errorf("Computer = %v, want %s", got, pod.Spec.NodeName)
	}
	meta, _ := col(row, store.ContainerLogV2, "KubernetesMetadata").(map[string]any)
	annotations, _ := meta["podAnnotations"].(map[string]string)
	if meta["podUid"] != string(pod.UID) || annotations["team"] != "payments" || meta["image"] != "registry.example/shop/api:v1.2.3" {
		t.Errorf("KubernetesMetadata = %v", meta)
	}
	warn := waitRows(t, rec, store.ContainerLogV2, "from the klog line", func(r []any) bool {
		return strings.Contains(fmt.Sprint(col(r, store.ContainerLogV2, "LogMessage")), "low disk")
	})
	if col(warn, store.ContainerLogV2, "LogLevel") != LevelWarning || col(warn, store.ContainerLogV2, "LogSource") != "stderr" {
		t.Errorf("klog warning row = %v", warn)
	}
	waitRows(t, rec, store.Perf, "with the api container's memory", func(r []any) bool {
		return col(r, store.Perf, "CounterName") == CounterMemoryWorkingSet &&
			strings.HasSuffix(col(r, store.Perf, "InstanceName").(string), "/"+string(pod.UID)+"/app")
	})
	waitRows(t, rec, store.KubePodInventory, "of the api pod", func(r []any) bool {
		return col(r, store.KubePodInventory, "PodUid") == string(pod.UID)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for query, check := range map[string]func(any) bool{
		`ContainerLogV2 | where PodName == "` + pod.Name + `" and LogLevel == "ERROR" | project m = tostring(LogMessage.msg)`: func(v any) bool {
			return v == "split across two CRI lines"
		},
		`Perf | where CounterName == "memoryWorkingSetBytes" and InstanceName endswith "/` + string(pod.UID) + `/app" | summarize max(CounterValue)`: func(v any) bool {
			return v == float64(64<<20)
		},
		`KubePodInventory | where PodUid == "` + string(pod.UID) + `" | summarize dcount(ContainerName)`: func(v any) bool {
			return v == int64(1)
		},
	} {
		res, err := ch.Query(context.Background(), query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if len(res.Rows) == 0 || !check(res.Rows[0][0]) {
			t.Errorf("%s on ClickHouse: %v", query, res.Rows)
		}
	}
	for _, r := range rec.table(store.KubePodInventory) {
		if c := col(r, store.KubePodInventory, "Computer"); c != pod.Spec.NodeName {
			t.Fatalf("node mode stored a pod of node %v", c)
		}
	}
	for _, r := range rec.table(store.KubeNodeInventory) {
		if c := col(r, store.KubeNodeInventory, "Computer"); c != pod.Spec.NodeName {
			t.Fatalf("node mode stored node %v", c)
		}
	}
}
