package store

import (
	"errors"
	"fmt"
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
}

// Unrestricted is the scope of the store's owner: every row.
var Unrestricted = Scope{AllPods: true, AllLogs: true}

// all reports whether the scope reads every row.
func (s Scope) all() bool { return s.AllPods && s.AllLogs }

// ErrScopeUnsupported is returned by an engine that cannot restrict a query
// to a Scope; it never runs such a query unrestricted.
var ErrScopeUnsupported = errors.New("this store cannot restrict a query to the namespaces of the caller")

// rowNamespace says, per table, which namespace a row belongs to (an SQL
// expression over the table's columns) and whether reading it takes
// pods/log rather than pods. Tables not here belong to no namespace. Perf is
// handled in scopeFilter: its rows name a pod by UID only.
var rowNamespace = map[string]struct {
	expr string
	logs bool
}{
	ContainerLogV2:         {expr: `"PodNamespace"`, logs: true},
	KubePodInventory:       {expr: `"Namespace"`},
	KubeEvents:             {expr: `"Namespace"`},
	TugboatReconciliations: {expr: `"Namespace"`},
	TugboatDeployments:     {expr: `"Namespace"`},
	// The kubelet's labels, namespace among them (collect.PerfConverter).
	InsightsMetrics: {expr: `json_extract_string("Tags", '$.namespace')`},
}

// inList is "expr IN (?, ...)" over namespaces, or FALSE for none.
func inList(expr string, namespaces []string) frag {
	if len(namespaces) == 0 {
		return frag{sql: "FALSE"}
	}
	ns := append([]string(nil), namespaces...)
	sort.Strings(ns)
	args := make([]any, len(ns))
	for i, n := range ns {
		args[i] = n
	}
	return frag{sql: expr + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ns)), ", ") + ")", args: args}
}

// frag is SQL with the arguments of its placeholders, in order.
type frag struct {
	sql  string
	args []any
}

// scopeFilter is the WHERE condition that keeps the rows of table the scope
// may read. Every namespace is a bound argument, never SQL text.
func scopeFilter(table string, cols []kql.Column, sc Scope) frag {
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
			return frag{sql: "TRUE"}
		}
		// InstanceName is ClusterId/PodUid/Container for container rows;
		// node rows belong to no namespace.
		in := inList(`"Namespace"`, sc.Pods)
		return frag{sql: `"ObjectName" = 'K8SContainer' AND split_part("InstanceName", '/', 2) IN (SELECT "PodUid" FROM main."KubePodInventory" WHERE ` + in.sql + ")", args: in.args}
	}
	rn, ok := rowNamespace[table]
	if !ok {
		if sc.AllPods {
			return frag{sql: "TRUE"}
		}
		return frag{sql: "FALSE"}
	}
	all, namespaces := sc.AllPods, sc.Pods
	if rn.logs {
		all, namespaces = sc.AllLogs, sc.Logs
	}
	if all {
		return frag{sql: "TRUE"}
	}
	return inList(rn.expr, namespaces)
}

// scopePlan runs plan over views of the tables restricted to the scope:
// one common table expression per table, named as the table, so that every
// place the plan reads a table (joins, unions, subqueries) reads the
// restricted rows. The plan's SQL is not edited; the CTEs are put before it
// (or before its own CTEs), and read the tables by their qualified names
// (main."T"), which no CTE can shadow. NOT MATERIALIZED lets DuckDB push
// the query's own filters into each view.
func scopePlan(plan *kql.Plan, schema kql.Schema, sc Scope) (*kql.Plan, error) {
	var ctes []string
	var args []any
	for _, name := range sortedTables(schema) {
		f := scopeFilter(name, schema[name], sc)
		ctes = append(ctes, quoteIdent(name)+" AS NOT MATERIALIZED (SELECT * FROM main."+quoteIdent(name)+" WHERE "+f.sql+")")
		args = append(args, f.args...)
	}
	with := "WITH " + strings.Join(ctes, ", ")
	var sql string
	switch {
	case strings.HasPrefix(plan.SQL, "SELECT "):
		sql = with + " " + plan.SQL
	case strings.HasPrefix(plan.SQL, "WITH ") && !strings.HasPrefix(plan.SQL, "WITH RECURSIVE "):
		sql = with + ", " + strings.TrimPrefix(plan.SQL, "WITH ")
	default:
		return nil, fmt.Errorf("failed to restrict the query to the caller's namespaces: %w: the plan is neither a SELECT nor WITH ... SELECT", kql.ErrInternal)
	}
	out := *plan
	out.SQL = sql
	out.Args = append(args, plan.Args...)
	return &out, nil
}
