package store

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEveryTableStartsWithTimeGenerated(t *testing.T) {
	for name, cols := range Tables() {
		if len(cols) == 0 || cols[0].Name != "TimeGenerated" {
			t.Errorf("table %s: first column is not TimeGenerated", name)
		}
		seen := map[string]bool{}
		for _, c := range cols {
			if seen[c.Name] {
				t.Errorf("table %s: column %s twice", name, c.Name)
			}
			seen[c.Name] = true
		}
	}
}

// The row structs must keep the columns the tables have always had (Container
// Insights' names and order; existing files and servers hold them): this is the
// schema as it was written before it was derived from the structs.
func TestTheRowStructsKeepTheColumns(t *testing.T) {
	want := map[string]string{
		ContainerLogV2: "TimeGenerated:datetime Computer:string ContainerId:string ContainerName:string " +
			"PodName:string PodNamespace:string LogMessage:dynamic LogSource:string LogLevel:string " +
			"KubernetesMetadata:dynamic",
		Perf: "TimeGenerated:datetime Computer:string ObjectName:string CounterName:string " +
			"CounterPath:string CounterValue:real InstanceName:string",
		InsightsMetrics: "TimeGenerated:datetime Computer:string Namespace:string Name:string " +
			"Origin:string Tags:string Val:real",
		KubePodInventory: "TimeGenerated:datetime ClusterId:string ClusterName:string Computer:string " +
			"ContainerCreationTimeStamp:datetime ContainerID:string ContainerLastStatus:string ContainerName:string " +
			"ContainerRestartCount:int ContainerStartTime:datetime ContainerStatus:string ContainerStatusReason:string " +
			"ControllerKind:string ControllerName:string Name:string Namespace:string PodCreationTimeStamp:datetime " +
			"PodIp:string PodLabel:string PodRestartCount:int PodStartTime:datetime PodStatus:string PodUid:string " +
			"ServiceName:string",
		KubeNodeInventory: "TimeGenerated:datetime ClusterId:string ClusterName:string Computer:string " +
			"CreationTimeStamp:datetime DockerVersion:string KubeletVersion:string KubeProxyVersion:string " +
			"KubernetesProviderID:string Labels:string LastTransitionTimeReady:datetime OperatingSystem:string " +
			"Status:string",
		KubeEvents: "TimeGenerated:datetime ClusterId:string ClusterName:string Computer:string Count:real " +
			"FirstSeen:datetime LastSeen:datetime KubeEventType:string Message:string Name:string Namespace:string " +
			"ObjectKind:string Reason:string SourceComponent:string",
		TugboatReconciliations: "TimeGenerated:datetime Kind:string Name:string Namespace:string " +
			"Revision:string Commit:string Result:string Reason:string Message:string ObjectsChanged:long " +
			"Changes:dynamic StartTime:datetime EndTime:datetime DurationMs:real",
		TugboatDeployments: "TimeGenerated:datetime Name:string Namespace:string Kind:string " +
			"Workload:string Container:string ImageBefore:string ImageAfter:string Commit:string Actor:string " +
			"Revision:long Result:string Message:string StartTime:datetime EndTime:datetime DurationMs:real",
	}
	got := Tables()
	if len(got) != len(want) {
		t.Errorf("%d tables, want %d", len(got), len(want))
	}
	for table, spec := range want {
		var cols []string
		for _, c := range got[table] {
			cols = append(cols, c.Name+":"+c.Type.String())
		}
		if s := strings.Join(cols, " "); s != spec {
			t.Errorf("table %s:\n got %s\nwant %s", table, s, spec)
		}
	}
}

func TestRowFollowsTheColumnOrder(t *testing.T) {
	at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	started := at.Add(-time.Minute)
	for name, tc := range map[string]struct {
		row  any
		want []any
	}{
		"values in field order": {
			row:  PerfRow{TimeGenerated: at, Computer: "n1", ObjectName: "K8SContainer", CounterName: "cpuUsageNanoCores", CounterPath: `\\n1\K8SContainer(c)\cpuUsageNanoCores`, CounterValue: 2.5e8, InstanceName: "c"},
			want: []any{at, "n1", "K8SContainer", "cpuUsageNanoCores", `\\n1\K8SContainer(c)\cpuUsageNanoCores`, 2.5e8, "c"},
		},
		"a nil time is null, a set one its value": {
			row:  KubeNodeInventoryRow{TimeGenerated: at, CreationTimeStamp: started},
			want: []any{at, "", "", "", started, "", "", "", "", "", nil, "", ""},
		},
		"a dynamic keeps its value, and nil stays null": {
			row:  ContainerLogV2Row{TimeGenerated: at, LogMessage: map[string]any{"msg": "hi"}, KubernetesMetadata: nil},
			want: []any{at, "", "", "", "", "", map[string]any{"msg": "hi"}, "", "", nil},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Row(tc.row); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Row() = %#v\nwant %#v", got, tc.want)
			}
		})
	}
	ptr := KubePodInventoryRow{TimeGenerated: at, ContainerStartTime: &started}
	if got := Row(ptr)[9]; got != started {
		t.Errorf("ContainerStartTime = %v, want %v", got, started)
	}
}
