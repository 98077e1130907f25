package store

import (
	"context"
	"strings"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// Table names. The Container Insights ones keep Microsoft's names and columns
// (docs: azure-monitor-ref/tables) so that their sample queries run unchanged.
const (
	ContainerLogV2         = "ContainerLogV2"
	Perf                   = "Perf"
	InsightsMetrics        = "InsightsMetrics"
	KubePodInventory       = "KubePodInventory"
	KubeNodeInventory      = "KubeNodeInventory"
	KubeEvents             = "KubeEvents"
	TugboatReconciliations = "TugboatReconciliations"
	TugboatDeployments     = "TugboatDeployments"
)

// Appender is what collectors write to. Rows are in the column order of the
// table's schema (Tables()[table]); a value is a Go value of the column's type:
// string, int64 (long), int32 (int), float64 (real), bool, time.Time (datetime),
// time.Duration (timespan), and for dynamic any JSON-marshalable value (a
// map[string]any, []any, string, number...). Appends are batched by the engine;
// an error leaves nothing of that call stored.
type Appender interface {
	Append(ctx context.Context, table string, rows [][]any) error
}

// Tables returns the schema of every table: name → ordered columns. Every table
// starts with TimeGenerated.
func Tables() kql.Schema {
	return kql.Schema{
		ContainerLogV2: columns("TimeGenerated:datetime Computer:string ContainerId:string ContainerName:string " +
			"PodName:string PodNamespace:string LogMessage:dynamic LogSource:string LogLevel:string " +
			"KubernetesMetadata:dynamic"),
		Perf: columns("TimeGenerated:datetime Computer:string ObjectName:string CounterName:string " +
			"CounterPath:string CounterValue:real InstanceName:string"),
		InsightsMetrics: columns("TimeGenerated:datetime Computer:string Namespace:string Name:string " +
			"Origin:string Tags:string Val:real"),
		KubePodInventory: columns("TimeGenerated:datetime ClusterId:string ClusterName:string Computer:string " +
			"ContainerCreationTimeStamp:datetime ContainerID:string ContainerLastStatus:string ContainerName:string " +
			"ContainerRestartCount:int ContainerStartTime:datetime ContainerStatus:string ContainerStatusReason:string " +
			"ControllerKind:string ControllerName:string Name:string Namespace:string PodCreationTimeStamp:datetime " +
			"PodIp:string PodLabel:string PodRestartCount:int PodStartTime:datetime PodStatus:string PodUid:string " +
			"ServiceName:string"),
		KubeNodeInventory: columns("TimeGenerated:datetime ClusterId:string ClusterName:string Computer:string " +
			"CreationTimeStamp:datetime DockerVersion:string KubeletVersion:string KubeProxyVersion:string " +
			"KubernetesProviderID:string Labels:string LastTransitionTimeReady:datetime OperatingSystem:string " +
			"Status:string"),
		KubeEvents: columns("TimeGenerated:datetime ClusterId:string ClusterName:string Computer:string Count:real " +
			"FirstSeen:datetime LastSeen:datetime KubeEventType:string Message:string Name:string Namespace:string " +
			"ObjectKind:string Reason:string SourceComponent:string"),
		// One row per finished reconcile of a GitOps object.
		TugboatReconciliations: columns("TimeGenerated:datetime Kind:string Name:string Namespace:string " +
			"Revision:string Commit:string Result:string Reason:string Message:string ObjectsChanged:long " +
			"Changes:dynamic StartTime:datetime EndTime:datetime DurationMs:real"),
		// One row per push deploy (tugboat deploy set-image), from its deploy record.
		TugboatDeployments: columns("TimeGenerated:datetime Name:string Namespace:string Kind:string " +
			"Workload:string Container:string ImageBefore:string ImageAfter:string Commit:string Actor:string " +
			"Revision:long Result:string Message:string StartTime:datetime EndTime:datetime DurationMs:real"),
	}
}

// columns parses "Name:type Name:type ..." into columns.
func columns(spec string) []kql.Column {
	var out []kql.Column
	for _, f := range strings.Fields(spec) {
		name, typ, _ := strings.Cut(f, ":")
		t, ok := kql.ParseType(typ)
		if !ok {
			panic("store: bad column type in " + f) // a programming error in the literal above
		}
		out = append(out, kql.Column{Name: name, Type: t})
	}
	return out
}
