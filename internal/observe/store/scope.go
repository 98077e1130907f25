package store

import (
	"sort"
	"strings"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// Scope is what one caller may read, as Log Analytics' resource-context
// access: the rows of the namespaces where the caller may read pods, and
// the log lines of those where it may read pods/log. The zero Scope reads
// nothing; Unrestricted reads everything.
type Scope struct {
	// AllPods is set when the caller may list pods in every namespace; it
	// also opens the tables that belong to no namespace (KubeNodeInventory,
	// node metrics, tables loaded from files).
	AllPods bool
	// Pods are the namespaces where the caller may list pods (when AllPods
	// is false).
	Pods []string
	// AllLogs is set when the caller may get pods/log in every namespace.
	AllLogs bool
	// Logs are the namespaces where the caller may get pods/log.
	Logs []string
	// Principal is the caller as authenticated, for KQL's current_principal
	// functions; nil for the store's owner and local queries.
	Principal *kql.Principal
}

// Unrestricted is the scope of the store's owner: every row.
var Unrestricted = Scope{AllPods: true, AllLogs: true}

// all reports whether the scope reads every row.
func (s Scope) all() bool { return s.AllPods && s.AllLogs }

// rowNamespace says, per table, which namespace a row belongs to (an SQL
// expression over the table's columns, per engine) and whether reading it
// takes pods/log rather than pods. Tables not here belong to no namespace.
// Perf is handled in scopeFilter: its rows name a pod by UID only.
var rowNamespace = map[string]struct {
	duckdb, clickhouse string
	logs               bool
}{
	ContainerLogV2:         {duckdb: `"PodNamespace"`, clickhouse: `"PodNamespace"`, logs: true},
	KubePodInventory:       {duckdb: `"Namespace"`, clickhouse: `"Namespace"`},
	KubeEvents:             {duckdb: `"Namespace"`, clickhouse: `"Namespace"`},
	TugboatReconciliations: {duckdb: `"Namespace"`, clickhouse: `"Namespace"`},
	TugboatDeployments:     {duckdb: `"Namespace"`, clickhouse: `"Namespace"`},
	// The kubelet's labels, namespace among them (collect.PerfConverter):
	// a flat JSON object of strings, so ClickHouse's visitParam reads the
	// same key as DuckDB's JSON path.
	InsightsMetrics: {duckdb: `json_extract_string("Tags", '$.namespace')`, clickhouse: `visitParamExtractString("Tags", 'namespace')`},
}

// inList is "expr IN (?, ...)" over namespaces, or false for none.
func inList(d kql.Dialect, expr string, namespaces []string) kql.Condition {
	if len(namespaces) == 0 {
		return falseCond(d)
	}
	ns := append([]string(nil), namespaces...)
	sort.Strings(ns)
	args := make([]any, len(ns))
	for i, n := range ns {
		args[i] = n
	}
	return kql.Condition{SQL: expr + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ns)), ", ") + ")", Args: args}
}

// falseCond is a condition no row meets; ClickHouse 18.16 has no FALSE.
func falseCond(d kql.Dialect) kql.Condition {
	if d == kql.ClickHouse {
		return kql.Condition{SQL: "0"}
	}
	return kql.Condition{SQL: "FALSE"}
}

// scopeFilter is the condition that keeps the rows of table the scope may
// read; all is set when it keeps every row. Every namespace is a bound
// argument, never SQL text.
func scopeFilter(d kql.Dialect, table string, cols []kql.Column, sc Scope) (c kql.Condition, all bool) {
	has := func(name string) bool {
		for _, c := range cols {
			if c.Name == name {
				return true
			}
		}
		return false
	}
	if table == Perf && has("InstanceName") && has("ObjectName") {
		if sc.AllPods {
			return kql.Condition{}, true
		}
		// InstanceName is ClusterId/PodUid/Container for container rows;
		// node rows belong to no namespace.
		in := inList(d, `"Namespace"`, sc.Pods)
		uid := `split_part("InstanceName", '/', 2)`
		if d == kql.ClickHouse {
			uid = `splitByChar('/', "InstanceName")[2]`
		}
		return kql.Condition{SQL: `"ObjectName" = 'K8SContainer' AND ` + uid + ` IN (SELECT "PodUid" FROM "KubePodInventory" WHERE ` + in.SQL + ")", Args: in.Args}, false
	}
	rn, ok := rowNamespace[table]
	if !ok {
		if sc.AllPods {
			return kql.Condition{}, true
		}
		return falseCond(d), false
	}
	all, namespaces := sc.AllPods, sc.Pods
	if rn.logs {
		all, namespaces = sc.AllLogs, sc.Logs
	}
	if all {
		return kql.Condition{}, true
	}
	expr := rn.duckdb
	if d == kql.ClickHouse {
		expr = rn.clickhouse
	}
	return inList(d, expr, namespaces), false
}

// scopeConditions restricts every table of schema to the rows the scope
// may read, for kql.Options.Restrict: the planner reads each table through
// (SELECT * FROM "T" WHERE cond) wherever the query names it, so joins,
// unions, lets and subqueries all read only those rows, on both engines.
// An Unrestricted scope gives no conditions.
func scopeConditions(d kql.Dialect, schema kql.Schema, sc Scope) map[string]kql.Condition {
	if sc.all() {
		return nil
	}
	out := map[string]kql.Condition{}
	for name, cols := range schema {
		if c, all := scopeFilter(d, name, cols, sc); !all {
			out[name] = c
		}
	}
	return out
}
