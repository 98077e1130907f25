package collect

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/push/deploy"
)

// runAgent runs the agent out of cluster until the returned stop is called; stop
// returns Run's error.
func runAgent(t *testing.T, rec *recorder, o Options) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, env.RESTConfig, rec, o) }()
	var stopped bool
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				err = fmt.Errorf("the agent did not stop within a minute")
			}
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitRows polls until some row of table satisfies match.
func waitRows(t *testing.T, rec *recorder, table, what string, match func(row []any) bool) []any {
	t.Helper()
	var found []any
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		for _, r := range rec.table(table) {
			if match(r) {
				found = r
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s row %s after 3 minutes (%d rows)", table, what, len(rec.table(table)))
	}
	return found
}

func col(row []any, table, name string) any { return row[column(table, name)] }

func TestAgentOutOfCluster(t *testing.T) {
	startCluster(t)
	ctx := context.Background()
	createNamespace(t, "shop")
	createNamespace(t, logsNamespace)

	// kwok serves this CRI file as the log of every container in logsNamespace.
	lines := []string{
		`2026-11-26T01:00:00.000000001Z stdout F {"level":"warn","msg":"slow request","ms":812}`,
		`2026-11-26T01:00:00.000000002Z stderr F ERROR failed to reach the database`,
		`2026-11-26T01:00:01.000000000Z stdout F plain text`,
	}
	if err := os.WriteFile(kwokLogFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.CoreV1().Services("shop").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web := createDeployment(t, "shop", "web", 2, map[string]string{"kwok.x-k8s.io/usage-cpu": "250m"})
	logger := createDeployment(t, logsNamespace, "logger", 1, nil)

	// Rows go to the real DuckDB store too, and are queried with KQL at the end.
	duck, err := store.OpenDuckDB(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = duck.Close() })
	rec := newRecorder()
	rec.also = duck
	state := t.TempDir()
	stop := runAgent(t, rec, Options{
		StateDir: state, Interval: 2 * time.Second, InventoryInterval: 2 * time.Second,
		Collect: AllCollectors, ClusterName: "test",
	})

	// Metrics: kwok's emulated usage, through the apiserver's node proxy.
	webUID := string(web[0].UID)
	cpu := waitRows(t, rec, store.Perf, "with cpuUsageNanoCores of a web container", func(r []any) bool {
		return col(r, store.Perf, "CounterName") == CounterCPUUsage && strings.Contains(col(r, store.Perf, "InstanceName").(string), "/"+webUID+"/app")
	})
	// 250m of emulated usage is 2.5e8 nanocores; the scrape interval is jittery on a
	// loaded machine, so allow a wide band around it.
	if v := col(cpu, store.Perf, "CounterValue").(float64); v < 1e8 || v > 5e8 {
		t.Errorf("cpuUsageNanoCores = %g, want about 2.5e8 (250m)", v)
	}
	if got := col(cpu, store.Perf, "ObjectName"); got != ObjectContainer {
		t.Errorf("ObjectName = %v", got)
	}
	mem := waitRows(t, rec, store.Perf, "with memoryWorkingSetBytes of a web container", func(r []any) bool {
		return col(r, store.Perf, "CounterName") == CounterMemoryWorkingSet && strings.Contains(col(r, store.Perf, "InstanceName").(string), "/"+webUID+"/app")
	})
	if v := col(mem, store.Perf, "CounterValue").(float64); v != 64<<20 {
		t.Errorf("memoryWorkingSetBytes = %g, want 64Mi", v)
	}
	waitRows(t, rec, store.Perf, "with the node's cpuUsageNanoCores", func(r []any) bool {
		return col(r, store.Perf, "ObjectName") == ObjectNode && col(r, store.Perf, "CounterName") == CounterCPUUsage &&
			col(r, store.Perf, "CounterValue").(float64) > 0
	})
	waitRows(t, rec, store.Perf, "with a web container's cpuLimitNanoCores", func(r []any) bool {
		return col(r, store.Perf, "CounterName") == CounterCPULimit && col(r, store.Perf, "CounterValue").(float64) == 1e9
	})
	waitRows(t, rec, store.InsightsMetrics, "with container_cpu_usage_seconds_total", func(r []any) bool {
		return col(r, store.InsightsMetrics, "Name") == "container_cpu_usage_seconds_total" &&
			strings.Contains(col(r, store.InsightsMetrics, "Tags").(string), `"namespace":"shop"`)
	})

	// Inventory.
	pod := waitRows(t, rec, store.KubePodInventory, "of a web pod", func(r []any) bool {
		return col(r, store.KubePodInventory, "PodUid") == webUID
	})
	for name, want := range map[string]any{
		"Namespace": "shop", "ControllerKind": "ReplicaSet", "ServiceName": "web", "ContainerStatus": "running",
		"PodStatus": "Running", "ContainerName": webUID + "/app", "Computer": "kwok-node-0", "ClusterName": "test",
		"ContainerRestartCount": int32(0),
	} {
		if got := col(pod, store.KubePodInventory, name); got != want {
			t.Errorf("KubePodInventory.%s = %#v, want %#v", name, got, want)
		}
	}
	if l := col(pod, store.KubePodInventory, "PodLabel").(string); !strings.HasPrefix(l, `[{"app":"web","pod-template-hash":`) {
		t.Errorf("PodLabel = %s, want the labels as a JSON array of one object", l)
	}
	if !strings.HasPrefix(col(pod, store.KubePodInventory, "ControllerName").(string), "web-") {
		t.Errorf("ControllerName = %v, want the ReplicaSet web-<hash>", col(pod, store.KubePodInventory, "ControllerName"))
	}
	if id := col(pod, store.KubePodInventory, "ClusterId").(string); id == "" {
		t.Error("ClusterId is empty")
	}
	node := waitRows(t, rec, store.KubeNodeInventory, "of kwok-node-0", func(r []any) bool {
		return col(r, store.KubeNodeInventory, "Computer") == "kwok-node-0"
	})
	if s := col(node, store.KubeNodeInventory, "Status").(string); !strings.Contains(s, "Ready") {
		t.Errorf("node Status = %q, want it to list Ready", s)
	}
	if v := col(node, store.KubeNodeInventory, "KubeletVersion").(string); !strings.HasPrefix(v, "kwok-") {
		t.Errorf("KubeletVersion = %q", v)
	}

	// Events: the scheduler's own, and one of ours.
	waitRows(t, rec, store.KubeEvents, "of the scheduler placing a web pod", func(r []any) bool {
		return col(r, store.KubeEvents, "Reason") == "Scheduled" && col(r, store.KubeEvents, "Namespace") == "shop" &&
			col(r, store.KubeEvents, "SourceComponent") == "default-scheduler"
	})
	now := metav1.NowMicro()
	if _, err := clients.EventsV1().Events("shop").Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-"}, EventTime: now, Type: "Warning", Reason: "BackOff",
		Note: "Back-off restarting failed container", Action: "Restart", ReportingController: "kubelet", ReportingInstance: "kwok-node-0",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: web[0].Name, UID: web[0].UID},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := waitRows(t, rec, store.KubeEvents, "of the BackOff event", func(r []any) bool {
		return col(r, store.KubeEvents, "Reason") == "BackOff"
	})
	for name, want := range map[string]any{"KubeEventType": "Warning", "ObjectKind": "Pod", "Name": web[0].Name, "Count": 1.0,
		"Message": "Back-off restarting failed container", "SourceComponent": "kubelet"} {
		if got := col(ev, store.KubeEvents, name); got != want {
			t.Errorf("KubeEvents.%s = %#v, want %#v", name, got, want)
		}
	}

	// Logs through the pods/log API, served by kwok from the CRI file.
	logUID := logger[0].UID
	for _, want := range []struct{ level, source string }{{LevelWarning, "slow request"}, {LevelError, "ERROR failed"}, {LevelUnknown, "plain text"}} {
		row := waitRows(t, rec, store.ContainerLogV2, "with "+want.source, func(r []any) bool {
			return strings.Contains(fmt.Sprint(col(r, store.ContainerLogV2, "LogMessage")), want.source)
		})
		if got := col(row, store.ContainerLogV2, "LogLevel"); got != want.level {
			t.Errorf("level of %q = %v, want %s", want.source, got, want.level)
		}
		meta := col(row, store.ContainerLogV2, "KubernetesMetadata").(map[string]any)
		if meta["podUid"] != string(logUID) || meta["imageRepo"] != "registry.example/shop/logger" || meta["imageTag"] != "v1.2.3" {
			t.Errorf("KubernetesMetadata = %v", meta)
		}
		if got := col(row, store.ContainerLogV2, "PodName"); got != logger[0].Name {
			t.Errorf("PodName = %v", got)
		}
	}
	jsonRow := waitRows(t, rec, store.ContainerLogV2, "parsed from JSON", func(r []any) bool {
		_, ok := col(r, store.ContainerLogV2, "LogMessage").(map[string]any)
		return ok
	})
	if m := col(jsonRow, store.ContainerLogV2, "LogMessage").(map[string]any); m["ms"] != 812.0 {
		t.Errorf("LogMessage = %v, want the parsed object", m)
	}

	// Delivery: a push deploy record, and a Kustomization's events as the GitOps
	// controller's recorder emits them.
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	record := deployrecord.Record{
		Name: deployrecord.Name("Deployment", "web", start), Namespace: "shop", Kind: "Deployment", Workload: "web",
		Changes: []deployrecord.Change{{Container: "app", ImageBefore: "registry.example/shop/web:v1.2.3", ImageAfter: "registry.example/shop/web:v1.2.4"}},
		Commit:  "0123abcd", Actor: "ci", Revision: 2, Result: deployrecord.ResultSucceeded, Message: "rolled out",
		StartTime: start, EndTime: start.Add(12 * time.Second),
	}
	// Records no tugboat deploy wrote, seen before the real one: a ConfigMap that
	// only carries the label, and one written as tugboat deploy writes but about
	// another namespace. Neither becomes a row.
	forgedRecord := record
	forgedRecord.Name = deployrecord.Name("Deployment", "web", start.Add(-time.Hour))
	forgedCM, err := forgedRecord.ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients.CoreV1().ConfigMaps("shop").Create(ctx, forgedCM, metav1.CreateOptions{FieldManager: "mallory"}); err != nil {
		t.Fatal(err)
	}
	elsewhere := record
	elsewhere.Name = deployrecord.Name("Deployment", "web", start.Add(-2*time.Hour))
	elsewhereCM, err := elsewhere.ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	elsewhereCM.Data[deployrecord.Key] = strings.Replace(elsewhereCM.Data[deployrecord.Key], `"namespace": "shop"`, `"namespace": "kube-system"`, 1)
	if _, err := clients.CoreV1().ConfigMaps("shop").Create(ctx, elsewhereCM, metav1.CreateOptions{FieldManager: "tugboat-deploy"}); err != nil {
		t.Fatal(err)
	}
	// Written as tugboat deploy writes it, so that the collector verifies it.
	if err := deploy.WriteRecord(ctx, clients, record, 0); err != nil {
		t.Fatal(err)
	}
	dep := waitRows(t, rec, store.TugboatDeployments, "of the deploy record", func(r []any) bool {
		return col(r, store.TugboatDeployments, "Name") == record.Name
	})
	for name, want := range map[string]any{"Workload": "web", "Container": "app", "ImageAfter": "registry.example/shop/web:v1.2.4",
		"Commit": "0123abcd", "Result": "Succeeded", "Revision": int64(2), "DurationMs": 12000.0} {
		if got := col(dep, store.TugboatDeployments, name); got != want {
			t.Errorf("TugboatDeployments.%s = %#v, want %#v", name, got, want)
		}
	}
	for _, r := range rec.table(store.TugboatDeployments) {
		if n := col(r, store.TugboatDeployments, "Name"); n == forgedRecord.Name || n == elsewhere.Name {
			t.Errorf("a record tugboat deploy did not write became a row: %v", r)
		}
	}
	revision := "main@sha1:4f1c2a9e0b7d"
	base := time.Now()
	// An event about a Kustomization that another controller reported, before the
	// GitOps controller's own: it makes no row.
	forgedKs := corev1.ObjectReference{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization", Namespace: "shop", Name: "forged"}
	if _, err := clients.EventsV1().Events("shop").Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "forged-", Annotations: map[string]string{meta.RevisionAnnotation: revision}},
		EventTime:  metav1.NewMicroTime(base), Type: "Normal", Reason: "ReconciliationSucceeded", Note: "Deployment/shop/web created",
		Action: "Reconcile", ReportingController: "mallory", ReportingInstance: "mallory-0", Regarding: forgedKs,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ks := corev1.ObjectReference{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization", Namespace: "shop", Name: "apps"}
	for i, e := range []struct{ typ, reason, note string }{
		{"Normal", "Progressing", "Deployment/shop/web configured\nService/shop/web created"},
		{"Normal", "ReconciliationSucceeded", "Applied revision: " + revision},
	} {
		if _, err := clients.EventsV1().Events("shop").Create(ctx, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "apps-", Annotations: map[string]string{meta.RevisionAnnotation: revision}},
			EventTime:  metav1.NewMicroTime(base.Add(time.Duration(i) * time.Second)), Type: e.typ, Reason: e.reason, Note: e.note,
			Action: "Reconcile", ReportingController: "tugboat-kustomize", ReportingInstance: "tugboat-kustomize-controller-0", Regarding: ks,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	recon := waitRows(t, rec, store.TugboatReconciliations, "of the Kustomization", func(r []any) bool {
		return col(r, store.TugboatReconciliations, "Name") == "apps"
	})
	for _, r := range rec.table(store.TugboatReconciliations) {
		if col(r, store.TugboatReconciliations, "Name") == "forged" {
			t.Errorf("another controller's event became a row: %v", r)
		}
	}
	for name, want := range map[string]any{"Kind": "Kustomization", "Revision": revision, "Commit": "4f1c2a9e0b7d",
		"Result": "Succeeded", "Reason": "ReconciliationSucceeded", "ObjectsChanged": int64(2)} {
		if got := col(recon, store.TugboatReconciliations, name); got != want {
			t.Errorf("TugboatReconciliations.%s = %#v, want %#v", name, got, want)
		}
	}
	if d := col(recon, store.TugboatReconciliations, "DurationMs").(float64); d != 1000 {
		t.Errorf("DurationMs = %g, want the second between Progressing and ReconciliationSucceeded", d)
	}

	if err := stop(); err != nil {
		t.Fatalf("the agent stopped with %v", err)
	}
	checkKQL(t, duck, webUID, record.Name)

	// A restart from the same state stores no log line, event or deploy record twice,
	// and picks up a line written while it was down.
	counts := map[string]int{}
	for _, table := range []string{store.ContainerLogV2, store.KubeEvents, store.TugboatDeployments} {
		counts[table] = len(rec.table(table))
	}
	f, err := os.OpenFile(kwokLogFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, "%s stdout F written while the agent was down\n", time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	again := newRecorder()
	stop = runAgent(t, again, Options{StateDir: state, Interval: time.Hour, InventoryInterval: time.Hour, Collect: []string{CollectLogs, CollectEvents, CollectDelivery}})
	waitRows(t, again, store.ContainerLogV2, "written while the agent was down", func(r []any) bool {
		return strings.Contains(fmt.Sprint(col(r, store.ContainerLogV2, "LogMessage")), "while the agent was down")
	})
	time.Sleep(3 * time.Second) // the informers' initial lists have been delivered and flushed by now
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(again.table(store.ContainerLogV2)); n != 1 {
		t.Errorf("the restarted agent stored %d log rows, want only the new line", n)
	}
	if n := len(again.table(store.TugboatDeployments)); n != 0 {
		t.Errorf("the restarted agent stored the deploy record again (%d rows)", n)
	}
	for _, r := range again.table(store.KubeEvents) {
		if col(r, store.KubeEvents, "Reason") == "BackOff" {
			t.Errorf("the restarted agent stored the BackOff event again")
		}
	}
}

// checkKQL queries what the agent stored in DuckDB the way users do, with KQL
// (Microsoft's sample query shapes).
func checkKQL(t *testing.T, st store.Store, webUID, recordName string) {
	t.Helper()
	ctx := context.Background()
	one := func(query string) []any {
		t.Helper()
		res, err := st.Query(ctx, query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if len(res.Rows) != 1 {
			t.Fatalf("%s: %d rows, want 1: %v", query, len(res.Rows), res.Rows)
		}
		return res.Rows[0]
	}
	cpu := one(`Perf | where ObjectName == "K8SContainer" and CounterName =~ "cpuUsageNanoCores"
		| where InstanceName endswith "/` + webUID + `/app"
		| summarize Value = percentile(CounterValue, 95) by InstanceName | project millicores = Value / 1000000`)
	t.Logf("p95 CPU of the web container: %.1f millicores (kwok emulates 250)", cpu[0].(float64))
	if m := cpu[0].(float64); m < 100 || m > 500 {
		t.Errorf("p95 CPU of the web container = %g millicores, want about 250", m)
	}
	if n := one(`ContainerLogV2 | where PodNamespace == "` + logsNamespace + `" and LogLevel == "ERROR" | count`)[0].(int64); n != 1 {
		t.Errorf("ERROR log rows = %d, want 1", n)
	}
	if n := one(`ContainerLogV2 | where tostring(LogMessage.msg) == "slow request" | count`)[0].(int64); n != 1 {
		t.Errorf("rows whose JSON message is 'slow request' = %d, want 1", n)
	}
	if n := one(`KubePodInventory | where Namespace == "shop" and ControllerKind == "ReplicaSet" | distinct PodUid | count`)[0].(int64); n != 2 {
		t.Errorf("web pods in KubePodInventory = %d, want 2", n)
	}
	if n := one(`KubeEvents | where Reason == "BackOff" | count`)[0].(int64); n != 1 {
		t.Errorf("BackOff events = %d, want 1", n)
	}
	dep := one(`TugboatDeployments | where Name == "` + recordName + `" | project ImageAfter, DurationMs`)
	if dep[0] != "registry.example/shop/web:v1.2.4" || dep[1] != 12000.0 {
		t.Errorf("deployment row = %v", dep)
	}
	if n := one(`TugboatReconciliations | where Kind == "Kustomization" | project ObjectsChanged`)[0].(int64); n != 2 {
		t.Errorf("ObjectsChanged = %d, want 2", n)
	}
}
