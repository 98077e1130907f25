package store

import (
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// One struct per table: the fields, in order, are the table's columns, so the schema
// (Tables) is derived from them and collectors fill rows by name, never by position.
// A field's name is its column's unless a `kql:"Name"` tag says otherwise; its Go type
// gives the column type: time.Time datetime (*time.Time when it may be null), string,
// int64 long, int32 int, float64 real, bool, time.Duration timespan, and any dynamic
// (a JSON-marshalable value; a nil interface is null). Row turns one into the values
// an Appender takes.

// ContainerLogV2Row is a row of ContainerLogV2: one log line of a container.
type ContainerLogV2Row struct {
	TimeGenerated      time.Time
	Computer           string
	ContainerID        string `kql:"ContainerId"`
	ContainerName      string
	PodName            string
	PodNamespace       string
	LogMessage         any
	LogSource          string
	LogLevel           string
	KubernetesMetadata any
}

// PerfRow is a row of Perf: one counter value.
type PerfRow struct {
	TimeGenerated time.Time
	Computer      string
	ObjectName    string
	CounterName   string
	CounterPath   string
	CounterValue  float64
	InstanceName  string
}

// InsightsMetricsRow is a row of InsightsMetrics: one metric sample.
type InsightsMetricsRow struct {
	TimeGenerated time.Time
	Computer      string
	Namespace     string
	Name          string
	Origin        string
	Tags          string
	Val           float64
}

// KubePodInventoryRow is a row of KubePodInventory: one container of a pod at a snapshot.
type KubePodInventoryRow struct {
	TimeGenerated              time.Time
	ClusterID                  string `kql:"ClusterId"`
	ClusterName                string
	Computer                   string
	ContainerCreationTimeStamp *time.Time
	ContainerID                string
	ContainerLastStatus        string
	ContainerName              string
	ContainerRestartCount      int32
	ContainerStartTime         *time.Time
	ContainerStatus            string
	ContainerStatusReason      string
	ControllerKind             string
	ControllerName             string
	Name                       string
	Namespace                  string
	PodCreationTimeStamp       time.Time
	PodIP                      string `kql:"PodIp"`
	PodLabel                   string
	PodRestartCount            int32
	PodStartTime               *time.Time
	PodStatus                  string
	PodUID                     string `kql:"PodUid"`
	ServiceName                string
}

// KubeNodeInventoryRow is a row of KubeNodeInventory: one node at a snapshot.
type KubeNodeInventoryRow struct {
	TimeGenerated           time.Time
	ClusterID               string `kql:"ClusterId"`
	ClusterName             string
	Computer                string
	CreationTimeStamp       time.Time
	DockerVersion           string
	KubeletVersion          string
	KubeProxyVersion        string
	KubernetesProviderID    string
	Labels                  string
	LastTransitionTimeReady *time.Time
	OperatingSystem         string
	Status                  string
}

// KubeEventsRow is a row of KubeEvents: one Kubernetes event.
type KubeEventsRow struct {
	TimeGenerated   time.Time
	ClusterID       string `kql:"ClusterId"`
	ClusterName     string
	Computer        string
	Count           float64
	FirstSeen       time.Time
	LastSeen        time.Time
	KubeEventType   string
	Message         string
	Name            string
	Namespace       string
	ObjectKind      string
	Reason          string
	SourceComponent string
}

// TugboatReconciliationsRow is a row of TugboatReconciliations: one finished reconcile
// of a GitOps object.
type TugboatReconciliationsRow struct {
	TimeGenerated  time.Time
	Kind           string
	Name           string
	Namespace      string
	Revision       string
	Commit         string
	Result         string
	Reason         string
	Message        string
	ObjectsChanged int64
	Changes        any
	StartTime      time.Time
	EndTime        time.Time
	DurationMs     float64
	// OperationId is the trace id of the controller's trace of the reconcile
	// (docs/traces.md), "" when it was not traced. Added last: columns are only
	// ever added at the end (migrate.go).
	OperationID string `kql:"OperationId"`
}

// TugboatDeploymentsRow is a row of TugboatDeployments: one container of a push
// deploy (tugboat deploy set-image), from its deploy record.
type TugboatDeploymentsRow struct {
	TimeGenerated time.Time
	Name          string
	Namespace     string
	Kind          string
	Workload      string
	Container     string
	ImageBefore   string
	ImageAfter    string
	Commit        string
	Actor         string
	Revision      int64
	Result        string
	Message       string
	StartTime     time.Time
	EndTime       time.Time
	DurationMs    float64
}

// rowTypes names the struct of every table.
var rowTypes = map[string]reflect.Type{
	ContainerLogV2:         reflect.TypeFor[ContainerLogV2Row](),
	Perf:                   reflect.TypeFor[PerfRow](),
	InsightsMetrics:        reflect.TypeFor[InsightsMetricsRow](),
	KubePodInventory:       reflect.TypeFor[KubePodInventoryRow](),
	KubeNodeInventory:      reflect.TypeFor[KubeNodeInventoryRow](),
	KubeEvents:             reflect.TypeFor[KubeEventsRow](),
	TugboatReconciliations: reflect.TypeFor[TugboatReconciliationsRow](),
	TugboatDeployments:     reflect.TypeFor[TugboatDeploymentsRow](),
	AppRequests:            reflect.TypeFor[AppRequestsRow](),
	AppDependencies:        reflect.TypeFor[AppDependenciesRow](),
	AppExceptions:          reflect.TypeFor[AppExceptionsRow](),
	AppTraces:              reflect.TypeFor[AppTracesRow](),
	TugboatOperations:      reflect.TypeFor[TugboatOperationsRow](),
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	timePtrType  = reflect.TypeFor[*time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	anyType      = reflect.TypeFor[any]()
)

// columnsOf derives a table's columns from its row struct.
func columnsOf(t reflect.Type) []kql.Column {
	cols := make([]kql.Column, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			// An embedded struct (AppContext) adds its columns in place.
			cols = append(cols, columnsOf(f.Type)...)
			continue
		}
		name := f.Name
		if tag := f.Tag.Get("kql"); tag != "" {
			name = tag
		}
		cols = append(cols, kql.Column{Name: name, Type: columnType(t, f)})
	}
	return cols
}

func columnType(t reflect.Type, f reflect.StructField) kql.Type {
	switch f.Type {
	case timeType, timePtrType:
		return kql.TypeDatetime
	case durationType:
		return kql.TypeTimespan
	case anyType:
		return kql.TypeDynamic
	}
	switch f.Type.Kind() {
	case reflect.String:
		return kql.TypeString
	case reflect.Int64:
		return kql.TypeLong
	case reflect.Int32:
		return kql.TypeInt
	case reflect.Float64:
		return kql.TypeReal
	case reflect.Bool:
		return kql.TypeBool
	}
	panic(fmt.Sprintf("store: %s.%s has type %s, which maps to no column type", t.Name(), f.Name, f.Type)) // a programming error in the structs above
}

// Row returns the values of a table's row struct in column order, as an Appender
// takes them; a nil *time.Time is null.
func Row(row any) []any {
	v := reflect.ValueOf(row)
	return appendRow(make([]any, 0, v.NumField()), v)
}

// appendRow appends the values of the row struct v to out, those of an embedded
// struct in place.
func appendRow(out []any, v reflect.Value) []any {
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case v.Type().Field(i).Anonymous && f.Kind() == reflect.Struct:
			out = appendRow(out, f)
		case f.Type() == timePtrType:
			if f.IsNil() {
				out = append(out, nil)
			} else {
				out = append(out, *f.Interface().(*time.Time))
			}
		default:
			out = append(out, f.Interface())
		}
	}
	return out
}

// tablesOnce derives the schema once; it cannot change while the program runs.
var tablesOnce = sync.OnceValue(func() map[string][]kql.Column {
	out := make(map[string][]kql.Column, len(rowTypes))
	for name, t := range rowTypes {
		out[name] = columnsOf(t)
	}
	return out
})
