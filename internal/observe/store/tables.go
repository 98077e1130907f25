package store

import (
	"context"

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

	// The workspace-based Application Insights tables (docs:
	// azure-monitor-ref/tables/app*), filled from OTLP spans and logs.
	AppRequests     = "AppRequests"
	AppDependencies = "AppDependencies"
	AppExceptions   = "AppExceptions"
	AppTraces       = "AppTraces"

	// TugboatOperations says when each operation (trace) has rows in the
	// four tables above, so that finding one trace reads a time range of
	// them rather than all of them (TugboatOperationsRow).
	TugboatOperations = "TugboatOperations"
)

// Appender is what collectors write to. Rows are in the column order of the
// table's schema (Tables()[table]; Row turns a table's row struct into one); a value is a Go value of the column's type:
// string, int64 (long), int32 (int), float64 (real), bool, time.Time (datetime),
// time.Duration (timespan), and for dynamic any JSON-marshalable value (a
// map[string]any, []any, string, number...). Appends are batched by the engine;
// an error leaves nothing of that call stored.
type Appender interface {
	Append(ctx context.Context, table string, rows [][]any) error
}

// Tables returns the schema of every table: name → ordered columns, derived from the
// table's row struct (rows.go). Every table starts with TimeGenerated.
func Tables() kql.Schema {
	derived := tablesOnce()
	out := make(kql.Schema, len(derived))
	for name, cols := range derived {
		// A copy: callers may change what they get (the query command adds tables).
		out[name] = append([]kql.Column(nil), cols...)
	}
	return out
}
