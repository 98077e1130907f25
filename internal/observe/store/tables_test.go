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
// appContext are the columns every Application Insights table ends with.
const appContext = "OperationId:string OperationName:string ParentId:string SessionId:string UserId:string " +
	"UserAuthenticatedId:string ClientIP:string SyntheticSource:string AppRoleName:string AppRoleInstance:string " +
	"AppVersion:string SDKVersion:string ItemCount:int Properties:dynamic Measurements:dynamic"

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
			"Changes:dynamic StartTime:datetime EndTime:datetime DurationMs:real OperationId:string",
		TugboatDeployments: "TimeGenerated:datetime Name:string Namespace:string Kind:string " +
			"Workload:string Container:string ImageBefore:string ImageAfter:string Commit:string Actor:string " +
			"Revision:long Result:string Message:string StartTime:datetime EndTime:datetime DurationMs:real",
		AppRequests: "TimeGenerated:datetime Id:string Source:string Name:string Url:string " +
			"Success:bool ResultCode:string DurationMs:real " + appContext,
		AppDependencies: "TimeGenerated:datetime Id:string Target:string DependencyType:string " +
			"Name:string Data:string Success:bool ResultCode:string DurationMs:real " + appContext,
		AppExceptions: "TimeGenerated:datetime ProblemId:string HandledAt:string ExceptionType:string " +
			"Message:string Assembly:string Method:string OuterType:string OuterMessage:string OuterAssembly:string " +
			"OuterMethod:string InnermostType:string InnermostMessage:string InnermostAssembly:string " +
			"InnermostMethod:string SeverityLevel:int Details:dynamic " + appContext,
		AppTraces:         "TimeGenerated:datetime Message:string SeverityLevel:int " + appContext,
		TugboatOperations: "TimeGenerated:datetime OperationId:string StartTime:datetime",
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

// Row gives one value per column, in column order, also for a row struct that embeds
// another (the Application Insights tables embed AppContext).
func TestRowGivesOneValuePerColumn(t *testing.T) {
	for table, typ := range rowTypes {
		vals := Row(reflect.New(typ).Elem().Interface())
		if cols := Tables()[table]; len(vals) != len(cols) {
			t.Errorf("%s: Row gives %d values for %d columns", table, len(vals), len(cols))
		}
	}
	r := AppRequestsRow{Name: "GET /", AppContext: AppContext{OperationID: "op", Measurements: 1.5}}
	vals := Row(r)
	cols := Tables()[AppRequests]
	at := func(name string) any {
		for i, c := range cols {
			if c.Name == name {
				return vals[i]
			}
		}
		t.Fatalf("no column %s", name)
		return nil
	}
	if at("Name") != "GET /" || at("OperationId") != "op" || at("Measurements") != 1.5 {
		t.Errorf("Row(%+v) = %v: values not at their columns", r, vals)
	}
}

func TestTheOperationRangesOutliveTheRowsTheyRange(t *testing.T) {
	day := 24 * time.Hour
	for name, tc := range map[string]struct {
		opts Options
		want time.Duration
	}{
		"with no retention set, the default": {
			opts: Options{}, want: DefaultRetention,
		},
		"an Application Insights table kept longer than the default: as long as it": {
			opts: Options{Retention: map[string]time.Duration{AppDependencies: 90 * day}}, want: 90 * day,
		},
		"every Application Insights table kept less than the default: the longest of them": {
			opts: Options{Retention: map[string]time.Duration{AppRequests: 7 * day, AppDependencies: 3 * day,
				AppExceptions: 2 * day, AppTraces: day}}, want: 7 * day,
		},
		"one of them kept forever: forever": {
			opts: Options{Retention: map[string]time.Duration{AppTraces: -1}}, want: -1,
		},
		"a retention of its own: that one": {
			opts: Options{Retention: map[string]time.Duration{TugboatOperations: day}}, want: day,
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.opts.withDefaults().retention(TugboatOperations); got != tc.want {
				t.Errorf("retention %s, want %s", got, tc.want)
			}
		})
	}
}
