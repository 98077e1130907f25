package kql

import "strings"

// testSchema is the Container Insights subset of observability.md §1 plus
// tugboat's own tables, enough for the sample queries.
func testSchema() Schema {
	cols := func(spec string) []Column {
		var out []Column
		for _, f := range strings.Fields(spec) {
			name, typ, _ := strings.Cut(f, ":")
			t, ok := ParseType(typ)
			if !ok {
				panic("bad type in test schema: " + f)
			}
			out = append(out, Column{Name: name, Type: t})
		}
		return out
	}
	return Schema{
		"ContainerLogV2":  cols("TimeGenerated:datetime Computer:string ContainerId:string ContainerName:string PodName:string PodNamespace:string LogMessage:dynamic LogSource:string LogLevel:string KubernetesMetadata:dynamic _ResourceId:string"),
		"Perf":            cols("TimeGenerated:datetime Computer:string ObjectName:string CounterName:string CounterValue:real InstanceName:string SampleCount:int _ResourceId:string"),
		"InsightsMetrics": cols("TimeGenerated:datetime Computer:string Namespace:string Name:string Origin:string Tags:string Val:real"),
		"KubePodInventory": cols("TimeGenerated:datetime ClusterId:string Computer:string ContainerID:string ContainerLastStatus:string ContainerName:string ContainerRestartCount:int " +
			"ContainerStatus:string ContainerStatusReason:string ControllerKind:string ControllerName:string Name:string Namespace:string PodRestartCount:int PodStatus:string PodUid:string"),
		"KubeNodeInventory": cols("TimeGenerated:datetime ClusterId:string Computer:string KubeletVersion:string Labels:string Status:string"),
		"KubeEvents": cols("TimeGenerated:datetime ClusterId:string Computer:string Count:real FirstSeen:datetime LastSeen:datetime KubeEventType:string Message:string Name:string " +
			"Namespace:string ObjectKind:string Reason:string SourceComponent:string"),
		"TugboatDeployments":     cols("TimeGenerated:datetime Name:string Namespace:string Revision:string Status:string Duration:timespan"),
		"TugboatReconciliations": cols("TimeGenerated:datetime Kind:string Name:string Namespace:string Revision:string Result:string DurationMs:real Error:string"),
	}
}
