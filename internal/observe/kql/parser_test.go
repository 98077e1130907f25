package kql

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// stripPos zeroes every position in a tree so that trees parsed from
// differently laid out text compare equal. NaN literals become a marker
// because NaN != NaN under reflect.DeepEqual.
func stripPos(v any) any {
	rv := reflect.ValueOf(v)
	clearPos(rv)
	return v
}

var posType = reflect.TypeOf(Pos{})

func clearPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearPos(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == posType {
			if v.CanSet() {
				v.Set(reflect.Zero(posType))
			}
			return
		}
		if v.Type().PkgPath() != posType.PkgPath() || !v.CanAddr() {
			return
		}
		if lit, ok := v.Addr().Interface().(*Literal); ok {
			if f, ok := lit.Value.(float64); ok && math.IsNaN(f) {
				lit.Value = "NaN"
			}
		}
		for i := 0; i < v.NumField(); i++ {
			clearPos(v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearPos(v.Index(i))
		}
	}
}

// Constructors for expected trees; positions are left zero.
func id(name string) *Ident { return &Ident{Name: name} }
func str(s string) *Literal { return &Literal{Type: TypeString, Value: s} }
func long(v int64) *Literal { return &Literal{Type: TypeLong, Value: v} }
func real(v float64) *Literal {
	return &Literal{Type: TypeReal, Value: v}
}
func span(d time.Duration) *Literal { return &Literal{Type: TypeTimespan, Value: d} }
func bin(op string, l, r Expr) *Binary {
	return &Binary{Op: op, Left: l, Right: r}
}
func call(name string, args ...Expr) *Call { return &Call{Name: name, Args: args} }
func table(name string, ops ...Operator) *Pipeline {
	return &Pipeline{Source: &TableRef{Name: name}, Ops: ops}
}
func query(body *Pipeline, lets ...*Let) *Query { return &Query{Lets: lets, Body: body} }
func named(name string, e Expr) NamedExpr       { return NamedExpr{Name: name, Expr: e} }
func unnamed(e Expr) NamedExpr                  { return NamedExpr{Expr: e} }

// parserCases are queries with the tree they must parse to. Every case is
// also a print/reparse round trip and a fuzz seed.
var parserCases = map[string]struct {
	query string
	want  *Query
}{
	"a bare table": {
		query: "KubeEvents",
		want:  query(table("KubeEvents")),
	},
	"where and filter are the same operator": {
		query: "Perf | where CounterValue > 5 | filter Computer == 'n1'",
		want: query(table("Perf",
			&WhereOp{Pred: bin(">", id("CounterValue"), long(5))},
			&WhereOp{Pred: bin("==", id("Computer"), str("n1"))})),
	},
	"and binds tighter than or": {
		query: "T | where a or b and c",
		want:  query(table("T", &WhereOp{Pred: bin("or", id("a"), bin("and", id("b"), id("c")))})),
	},
	"string operators bind tighter than multiplication": {
		query: `T | where a * b has "x"`,
		want:  query(table("T", &WhereOp{Pred: bin("*", id("a"), bin("has", id("b"), str("x")))})),
	},
	"arithmetic binds tighter than comparison": {
		query: "T | where a + b * c >= d - 1",
		want: query(table("T", &WhereOp{Pred: bin(">=",
			bin("+", id("a"), bin("*", id("b"), id("c"))),
			bin("-", id("d"), long(1)))})),
	},
	"tuple names name the columns of a function that makes several": {
		query: "T | extend (a, b) = series_fit_2lines(y), c = 1",
		want: query(table("T", &ExtendOp{Cols: []NamedExpr{
			{Names: []string{"a", "b"}, Expr: &Call{Name: "series_fit_2lines", Args: []Expr{id("y")}}},
			named("c", long(1))}})),
	},
	"a parenthesized column is an expression, not a tuple name": {
		query: "T | extend (a), (b) = series_stats(y)",
		want: query(table("T", &ExtendOp{Cols: []NamedExpr{
			{Expr: id("a")},
			{Names: []string{"b"}, Expr: &Call{Name: "series_stats", Args: []Expr{id("y")}}}}})),
	},
	"subtraction is left associative": {
		query: "T | extend x = a - b - c",
		want:  query(table("T", &ExtendOp{Cols: []NamedExpr{named("x", bin("-", bin("-", id("a"), id("b")), id("c")))}})),
	},
	"parentheses override precedence": {
		query: "T | extend x = (a + b) * c, y = -(a - b)",
		want: query(table("T", &ExtendOp{Cols: []NamedExpr{
			named("x", bin("*", bin("+", id("a"), id("b")), id("c"))),
			named("y", &Unary{Op: "-", X: bin("-", id("a"), id("b"))}),
		}})),
	},
	"relational binds tighter than equality": {
		query: "T | where a < b == true",
		want:  query(table("T", &WhereOp{Pred: bin("==", bin("<", id("a"), id("b")), &Literal{Type: TypeBool, Value: true})})),
	},
	"in, !in, in~ and has_any lists": {
		query: `T | where a in ("x", "y") and b !in (1) and c in~ ("Z") and d has_any ("p", "q")`,
		want: query(table("T", &WhereOp{Pred: bin("and", bin("and", bin("and",
			&In{X: id("a"), Op: "in", List: []Expr{str("x"), str("y")}},
			&In{X: id("b"), Op: "!in", List: []Expr{long(1)}}),
			&In{X: id("c"), Op: "in~", List: []Expr{str("Z")}}),
			&In{X: id("d"), Op: "has_any", List: []Expr{str("p"), str("q")}})})),
	},
	"between with a range": {
		query: "T | where TimeGenerated between (ago(1h) .. now())",
		want: query(table("T", &WhereOp{Pred: &Between{X: id("TimeGenerated"),
			Lo: call("ago", span(time.Hour)), Hi: call("now")}})),
	},
	"negated string operators and matches regex": {
		query: `T | where a !contains "x" and b matches regex "^k8s" and c !~ "y"`,
		want: query(table("T", &WhereOp{Pred: bin("and", bin("and",
			bin("!contains", id("a"), str("x")),
			bin("matches regex", id("b"), str("^k8s"))),
			bin("!~", id("c"), str("y")))})),
	},
	"dynamic access with dots, indexes and keys": {
		query: `T | extend a = d.b.c, e = d[0], f = d["k"], g = d['k2'].x`,
		want: query(table("T", &ExtendOp{Cols: []NamedExpr{
			named("a", &Member{X: &Member{X: id("d"), Name: "b"}, Name: "c"}),
			named("e", &Index{X: id("d"), Index: long(0)}),
			named("f", &Index{X: id("d"), Index: str("k")}),
			named("g", &Member{X: &Index{X: id("d"), Index: str("k2")}, Name: "x"}),
		}})),
	},
	"unary minus binds tighter than string operators": {
		query: `T | where -a has "1"`,
		want:  query(table("T", &WhereOp{Pred: bin("has", &Unary{Op: "-", X: id("a")}, str("1"))})),
	},
	"all-column search": {
		query: `ContainerLogV2 | where * contains "error"`,
		want:  query(table("ContainerLogV2", &WhereOp{Pred: bin("contains", &Star{}, str("error"))})),
	},
	"project with renames and computed columns": {
		query: "T | project a, b2 = b * 2, ['odd name'] = c",
		want: query(table("T", &ProjectOp{Cols: []NamedExpr{
			unnamed(id("a")), named("b2", bin("*", id("b"), long(2))), named("odd name", id("c")),
		}})),
	},
	"project-away and project-rename": {
		query: "T | project-away a, b | project-rename c = d, e = f",
		want: query(table("T",
			&ProjectAwayOp{Cols: []*Ident{id("a"), id("b")}},
			&ProjectRenameOp{Renames: []Rename{{New: "c", Old: id("d")}, {New: "e", Old: id("f")}}})),
	},
	"summarize with named aggregates and a binned key": {
		query: "Perf | summarize avg(CounterValue), n = count() by bin(TimeGenerated, 5m), Computer",
		want: query(table("Perf", &SummarizeOp{
			Aggs: []NamedExpr{unnamed(call("avg", id("CounterValue"))), named("n", call("count"))},
			By:   []NamedExpr{unnamed(call("bin", id("TimeGenerated"), span(5*time.Minute))), unnamed(id("Computer"))},
		})),
	},
	"summarize by only, with a hint": {
		query: "T | summarize hint.strategy=shuffle by a",
		want: query(table("T", &SummarizeOp{
			Params: []Param{{Name: "hint.strategy", Value: id("shuffle")}},
			By:     []NamedExpr{unnamed(id("a"))},
		})),
	},
	"arg_max with star": {
		query: "T | summarize arg_max(TimeGenerated, *) by Computer",
		want: query(table("T", &SummarizeOp{
			Aggs: []NamedExpr{unnamed(call("arg_max", id("TimeGenerated"), &Star{}))},
			By:   []NamedExpr{unnamed(id("Computer"))},
		})),
	},
	"sort and order with directions and nulls": {
		query: "T | sort by a asc nulls last, b | order by c desc nulls first",
		want: query(table("T",
			&SortOp{Keys: []SortKey{{Expr: id("a"), Order: SortAsc, Nulls: NullsLast}, {Expr: id("b")}}},
			&SortOp{Keys: []SortKey{{Expr: id("c"), Order: SortDesc, Nulls: NullsFirst}}})),
	},
	"top, take, limit, distinct and count": {
		query: "T | top 5 by a asc | take 3 | limit 2 | distinct a, b | distinct * | count",
		want: query(table("T",
			&TopOp{N: long(5), Keys: []SortKey{{Expr: id("a"), Order: SortAsc}}},
			&TakeOp{N: long(3)}, &TakeOp{N: long(2)},
			&DistinctOp{Cols: []*Ident{id("a"), id("b")}}, &DistinctOp{Star: true},
			&CountOp{})),
	},
	"join with kind, hint and both condition forms": {
		query: "A | join kind=leftouter hint.strategy=broadcast (B | where x > 1) on k, $left.a == $right.b",
		want: query(table("A", &JoinOp{
			Kind:   "leftouter",
			Params: []Param{{Name: "hint.strategy", Value: id("broadcast")}},
			Right:  table("B", &WhereOp{Pred: bin(">", id("x"), long(1))}),
			On:     []JoinCond{{Column: id("k")}, {Left: id("a"), Right: id("b")}},
		})),
	},
	"join with the right side first in a condition": {
		query: "A | join B on $right.b == $left.a",
		want:  query(table("A", &JoinOp{Right: table("B"), On: []JoinCond{{Left: id("a"), Right: id("b")}}})),
	},
	"union as a source and as an operator": {
		query: "union A, (B | take 1) | union kind=outer C",
		want: query(&Pipeline{
			Source: &UnionSource{Items: []*Pipeline{table("A"), table("B", &TakeOp{N: long(1)})}},
			Ops:    []Operator{&UnionOp{Params: []Param{{Name: "kind", Value: id("outer")}}, Items: []*Pipeline{table("C")}}},
		}),
	},
	"parse with a pattern": {
		query: `T | parse Msg with * "user=" User:string " took " Ms:long "ms" *`,
		want: query(table("T", &ParseOp{Expr: id("Msg"), Pattern: []ParsePart{
			{Star: true}, {Text: str("user=")}, {Column: "User", Type: TypeString}, {Text: str(" took ")},
			{Column: "Ms", Type: TypeLong}, {Text: str("ms")}, {Star: true},
		}})),
	},
	"mv-expand with a type and a limit": {
		query: "T | mv-expand Tag = Tags to typeof(string), Other limit 10",
		want: query(table("T", &MvExpandOp{
			Items: []MvExpandItem{{NamedExpr: named("Tag", id("Tags")), To: TypeString}, {NamedExpr: unnamed(id("Other"))}},
			Limit: long(10),
		})),
	},
	"render with properties": {
		query: `T | render timechart with (title="CPU", ycolumns=a, b)`,
		want: query(table("T", &RenderOp{Kind: "timechart", Props: []RenderProp{
			{Name: "title", Values: []Expr{str("CPU")}},
			{Name: "ycolumns", Values: []Expr{id("a"), id("b")}},
		}})),
	},
	"scalar and tabular lets": {
		query: "let window = 1h; let Recent = KubeEvents | where TimeGenerated > ago(window); let Alias = Perf; Recent | count",
		want: query(table("Recent", &CountOp{}),
			&Let{Name: "window", Expr: span(time.Hour)},
			&Let{Name: "Recent", Tabular: table("KubeEvents", &WhereOp{Pred: bin(">", id("TimeGenerated"), call("ago", id("window")))})},
			&Let{Name: "Alias", Expr: id("Perf")}),
	},
	"a parenthesised tabular let and a subquery source": {
		query: "let T = (Perf | take 1); (T | count) | take 1",
		want: query(&Pipeline{Source: &Subquery{Pipeline: table("T", &CountOp{})}, Ops: []Operator{&TakeOp{N: long(1)}}},
			&Let{Name: "T", Tabular: &Pipeline{Source: &Subquery{Pipeline: table("Perf", &TakeOp{N: long(1)})}}}),
	},
	"literals of every type": {
		query: `T | extend a = datetime(2024-05-06 07:08:09), b = timespan(1.5h), c = dynamic(["x", 1]), d = int(3), e = real(-0.5), f = guid(0f8fad5b-d9cb-469f-a165-70867728950e), g = 1.5, h = false, i = long(null)`,
		want: query(table("T", &ExtendOp{Cols: []NamedExpr{
			named("a", &Literal{Type: TypeDatetime, Value: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}),
			named("b", span(90*time.Minute)),
			named("c", &Literal{Type: TypeDynamic, Value: `["x",1]`}),
			named("d", &Literal{Type: TypeInt, Value: int64(3)}),
			named("e", real(-0.5)),
			named("f", &Literal{Type: TypeGUID, Value: "0f8fad5b-d9cb-469f-a165-70867728950e"}),
			named("g", real(1.5)),
			named("h", &Literal{Type: TypeBool, Value: false}),
			named("i", &Literal{Type: TypeLong}),
		}})),
	},
	"keywords as bracketed column names": {
		query: "T | project ['by'], ['count'] = 1 | summarize count() by ['where']",
		want: query(table("T",
			&ProjectOp{Cols: []NamedExpr{unnamed(id("by")), named("count", long(1))}},
			&SummarizeOp{Aggs: []NamedExpr{unnamed(call("count"))}, By: []NamedExpr{unnamed(id("where"))}})),
	},
	"a trailing semicolon and comments": {
		query: "// recent events\nKubeEvents // table\n| take 5;",
		want:  query(table("KubeEvents", &TakeOp{N: long(5)})),
	},
}

// sampleQueries are Microsoft's Container Insights sample queries
// (observability.md §1.10), completed where the reference elides parts.
// They must parse and round-trip; the checker and planner test them too.
var sampleQueries = map[string]string{
	"events list":         `KubeEvents | where not(isempty(Namespace)) | sort by TimeGenerated desc | render table`,
	"requests per minute": `InsightsMetrics | where Name == "requests_count" | summarize Val=any(Val) by TimeGenerated=bin(TimeGenerated, 1m) | sort by TimeGenerated asc | project RequestsPerMinute = Val - prev(Val), TimeGenerated | render barchart`,
	"logs for one pod":    `ContainerLogV2 | where _ResourceId =~ "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c" | where PodNamespace == "ns" | where PodName == "pod" | where ContainerName == "c" | project TimeGenerated, Computer, ContainerId, LogMessage, LogSource`,
	"logs by deployment": `let startTime = ago(1h);
let endTime = now();
let KubePodInv = KubePodInventory
    | where TimeGenerated >= startTime and TimeGenerated < endTime
    | where ControllerKind == "ReplicaSet"
    | extend deployment = reverse(substring(reverse(ControllerName), indexof(reverse(ControllerName), "-") + 1))
    | extend ContainerId = ContainerID
    | summarize arg_max(TimeGenerated, *) by deployment, ContainerId, PodStatus, ContainerStatus
    | project deployment, ContainerId, PodStatus, ContainerStatus;
KubePodInv
| join (ContainerLogV2 | where TimeGenerated >= startTime and TimeGenerated < endTime) on ContainerId
| project TimeGenerated, deployment, PodStatus, ContainerStatus, LogMessage`,
	"cpu per container":    `Perf | where ObjectName == 'K8SContainer' | where CounterName =~ 'cpuUsageNanoCores' | summarize Value = percentile(CounterValue, 95) by bin(TimeGenerated, 15m), InstanceName | extend Value = Value / 1000000`,
	"cpu limits":           `Perf | where ObjectName == "K8SContainer" | where CounterName == "cpuLimitNanoCores" | summarize arg_max(TimeGenerated, *) by InstanceName | project InstanceName, LimitMillicores = CounterValue / 1000000`,
	"uptime":               `Perf | where CounterName == "restartTimeEpoch" | summarize arg_max(TimeGenerated, *) by InstanceName | extend UpTime = CounterValue | extend StartTime = datetime_add('second', toint(UpTime), make_datetime(1970,1,1))`,
	"pending pods chart":   `KubePodInventory | where TimeGenerated > ago(1d) | summarize PendingCount = sumif(1, PodStatus =~ 'Pending'), RunningCount = sumif(1, PodStatus =~ 'Running') by bin(TimeGenerated, 5m) | render timechart`,
	"node count":           `let nodes = KubeNodeInventory | where TimeGenerated > ago(1d) | distinct ClusterId, Computer, TimeGenerated; nodes | summarize NodeCount = count() by bin(TimeGenerated, 5m), ClusterId | join hint.strategy=broadcast (nodes | summarize makelist(Computer) by ClusterId) on ClusterId`,
	"crash loops":          `KubePodInventory | where ContainerStatus == 'waiting' | where ContainerStatusReason == 'CrashLoopBackOff' or ContainerStatusReason == 'Error' | extend ContainerLastStatus=todynamic(ContainerLastStatus) | summarize RestartCount = arg_max(ContainerRestartCount, Computer, Namespace, ContainerLastStatus.reason) by Name`,
	"free text search":     `let SearchValue = "error"; ContainerLogV2 | where * contains tostring(SearchValue) | take 1000`,
	"errors per container": `ContainerLogv2 | where LogLevel == "Error" | summarize ErrorCount = count() by ContainerID`,
	"ingestion latency":    `ContainerLogV2 | extend E2EIngestionLatency = ingestion_time() - TimeGenerated | summarize percentiles(E2EIngestionLatency,50,95) by Computer | top 20 by percentile_E2EIngestionLatency_95 desc`,
}

func TestParse(t *testing.T) {
	for name, tc := range parserCases {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			if !reflect.DeepEqual(stripPos(got), stripPos(tc.want)) {
				t.Fatalf("Parse(%q):\n got %s\nwant %s", tc.query, got, tc.want)
			}
		})
	}
}

func TestParseSampleQueries(t *testing.T) {
	for name, q := range sampleQueries {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(q); err != nil {
				var kerr *Error
				if errors.As(err, &kerr) {
					t.Fatalf("Parse: %s", kerr.Format(q))
				}
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

// roundTripQueries is every query the parser must accept.
func roundTripQueries() map[string]string {
	all := map[string]string{}
	for name, tc := range parserCases {
		all[name] = tc.query
	}
	for name, q := range sampleQueries {
		all["sample: "+name] = q
	}
	return all
}

// checkRoundTrip prints a parsed query and parses it again; both trees and
// both printings must be identical.
func checkRoundTrip(t *testing.T, q *Query) {
	t.Helper()
	printed := q.String()
	again, err := Parse(printed)
	if err != nil {
		t.Fatalf("reparse of printed query failed: %v\nprinted: %s", err, printed)
	}
	if !reflect.DeepEqual(stripPos(again), stripPos(q)) {
		t.Fatalf("printed query parses to a different tree\nprinted:  %s\nreparsed: %s", printed, again)
	}
	if again.String() != printed {
		t.Fatalf("printing is not stable:\nfirst:  %s\nsecond: %s", printed, again.String())
	}
}

func TestPrintRoundTrip(t *testing.T) {
	for name, query := range roundTripQueries() {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkRoundTrip(t, q)
		})
	}
}

func TestPrintCanonical(t *testing.T) {
	tests := map[string]struct {
		query string
		want  string
	}{
		"order becomes sort and spacing is normalised": {
			query: "T|order  by a",
			want:  "T | sort by a",
		},
		"only needed parentheses are kept": {
			query: "T | where ((a or b)) and (c) | extend x = (a * b) + (c * d), y = a * (b has 'x')",
			want:  `T | where (a or b) and c | extend x = a * b + c * d, y = a * b has "x"`,
		},
		"non-chaining comparisons keep their parentheses": {
			query: "T | where (a == b) == c",
			want:  "T | where (a == b) == c",
		},
		"literals print canonically": {
			query: `T | extend a = 1.5h, b = 90s, c = 1e3, d = 'it''s', e = datetime(2024-01-02), f = int(-3), g = timespan(-2d)`,
			want:  `T | extend a = 90m, b = 90s, c = 1000.0, d = "its", e = datetime(2024-01-02T00:00:00Z), f = int(-3), g = timespan(-2d)`,
		},
		"names that are keywords or unusual are bracketed": {
			query: `T | project ['by'], ['a b'], ["quo\"te"], x`,
			want:  `T | project ["by"], ["a b"], ["quo\"te"], x`,
		},
		"join on a table name stays bare": {
			query: "A | join (B) on k",
			want:  "A | join B on k",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			if got := q.String(); got != tc.want {
				t.Fatalf("String():\n got %s\nwant %s", got, tc.want)
			}
			checkRoundTrip(t, q)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]struct {
		query string
		want  string // Error()
		caret string // optional: Format(query), to check the rendering
	}{
		"an empty query": {
			query: "  ",
			want:  "1:3: the query is empty: start it with a table name, for example KubeEvents | take 10",
		},
		"a missing operator after a pipe": {
			query: "KubeEvents | ",
			want:  `1:14: expected an operator after |, found the end of the query`,
		},
		"an unknown operator with a suggestion": {
			query: "KubeEvents | summarise count()",
			want:  `1:14: unknown operator "summarise"; did you mean "summarize"?`,
			caret: "1:14: unknown operator \"summarise\"; did you mean \"summarize\"?\nKubeEvents | summarise count()\n             ^",
		},
		"an unsupported operator": {
			query: "T | reduce by Message",
			want:  "1:5: the reduce operator is not supported because Kusto documents its clustering only as \"largely based on\" Vaarandi's SLCT, so its patterns and counts would differ from Kusto's without telling; supported operators are where, filter, project, project-away, project-rename, extend, summarize, sort, order, top, take, limit, distinct, count, join, union, parse, mv-expand, render, serialize, project-keep, project-reorder, getschema, as, sample, make-series, evaluate, lookup, mv-apply, parse-kv, parse-where, scan, top-hitters, top-nested, search",
		},
		"an unclosed parenthesis points at the end": {
			query: "T | where (a == 1",
			want:  `1:18: expected ")" to close the ( at 1:11, found the end of the query`,
		},
		"chained equality is not allowed": {
			query: "T | where a == 1 == 2",
			want:  `1:18: "==" cannot follow another comparison; add parentheses`,
		},
		"chained relational comparisons are not allowed": {
			query: "T | where 1 < a < 3",
			want:  `1:17: "<" cannot follow another comparison; add parentheses`,
		},
		"chained string operators are not allowed": {
			query: `T | where a has "x" contains "y"`,
			want:  `1:21: "contains" cannot follow another string operator; add parentheses`,
		},
		"a second line error renders that line": {
			query: "Perf\n| where CounterValue >\n| take 1",
			want:  `3:1: expected an expression, found "|"`,
			caret: "3:1: expected an expression, found \"|\"\n| take 1\n^",
		},
		"tabs are kept under the caret": {
			query: "T\n\t| where ==",
			want:  `2:10: expected an expression, found "=="`,
			caret: "2:10: expected an expression, found \"==\"\n\t| where ==\n\t        ^",
		},
		"sort without by": {
			query: "T | sort a",
			want:  `1:10: expected "by" after sort, found "a"`,
		},
		"top without by": {
			query: "T | top 5 a",
			want:  `1:11: expected "by" after top N (write top 10 by Column), found "a"`,
		},
		"join without on": {
			query: "A | join B",
			want:  `1:11: expected "on" after the right side of join (write on Column or on $left.A == $right.B), found the end of the query`,
		},
		"join condition on the same side twice": {
			query: "A | join B on $left.a == $left.b",
			want:  "1:26: a join condition must compare $left with $right",
		},
		"summarize with nothing": {
			query: "T | summarize",
			want:  "1:14: summarize needs an aggregation or a by clause, for example summarize count() by Computer",
		},
		"a let without a semicolon": {
			query: "let x = 1 T | take x",
			want:  `1:11: expected ";" to end the let statement, found "T"`,
		},
		"a let without a query": {
			query: "let x = 1;",
			want:  "1:11: expected a tabular expression after the let statements, for example KubeEvents | take 10",
		},
		"a let function body must be closed": {
			query: "let f = (x: long) { x ; T",
			want:  "1:25: expected \"}\" to close the { at 1:19, found \"T\"",
		},
		"two tabular statements": {
			query: "T; U",
			want:  `1:4: unexpected "U" after the end of the query; only one tabular expression is allowed, separate operators with |`,
		},
		"a stray closing parenthesis": {
			query: "T | take 1)",
			want:  `1:11: unexpected ")": it has no matching "("`,
		},
		"an unsupported source": {
			query: "externaldata (x:string) [\"https://example.com/x.csv\"]",
			want:  "1:1: externaldata is not supported as the start of a query; start it with a table name",
		},
		"an empty parse pattern": {
			query: "T | parse Msg with",
			want:  `1:19: the parse pattern is empty; write parse Column with * "text" Name:string *`,
		},
		"an unknown type in a parse pattern": {
			query: `T | parse Msg with "a" X:number`,
			want:  `1:26: unknown type "number" in parse pattern; use string, long, int, real, bool, datetime, timespan, dynamic or guid`,
		},
		"a quoted type name in a datatable": {
			query: `datatable (x:['string']) ["a"]`,
			want:  `1:14: unknown type name string; use string, long, int, real, bool, datetime, timespan, dynamic or guid`,
		},
		"an unknown type of a function's parameter": {
			query: `let f = (x:number) { x }; print f(1)`,
			want:  `1:12: unknown type "number"; use string, long, int, real, bool, datetime, timespan, dynamic or guid`,
		},
		"an unknown type in evaluate's output schema": {
			query: `T | project-reorder x | evaluate bag_unpack(d) : (a:strng)`,
			want:  `1:53: unknown type "strng"; use string, long, int, real, bool, datetime, timespan, dynamic or guid`,
		},
		"a lexer error surfaces with its position": {
			query: "T | where x == 'abc",
			want:  "1:16: unterminated string literal: add the closing '",
		},
		"deep nesting is an error, not a crash": {
			query: "T | where " + strings.Repeat("(", 300) + "a" + strings.Repeat(")", 300),
			want:  "1:210: the query is nested too deeply (more than 200 levels); simplify it",
		},
		"tuple names outside project, extend and print": {
			query: "T | summarize (a, b) = f(x)",
			want:  "1:15: tuple names (a, b) = ... are only allowed in project, extend and print; name each column separately",
		},
		"tuple names need an equals sign": {
			query: "T | extend (a, b) f(x)",
			want:  "1:19: expected \"=\" after the tuple names (write (a, b) = f(...)), found \"f\"",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.query)
			var kerr *Error
			if !errors.As(err, &kerr) {
				t.Fatalf("Parse(%q) error = %v, want *Error", tc.query, err)
			}
			if kerr.Error() != tc.want {
				t.Fatalf("Parse(%q) error:\n got %s\nwant %s", tc.query, kerr.Error(), tc.want)
			}
			if kerr.Pos.Offset > len(tc.query) {
				t.Fatalf("error offset %d is outside the query", kerr.Pos.Offset)
			}
			if tc.caret != "" {
				if got := kerr.Format(tc.query); got != tc.caret {
					t.Fatalf("Format:\n got %q\nwant %q", got, tc.caret)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range roundTripQueries() {
		f.Add(q)
	}
	f.Add("T | where a == 1 == 2")
	f.Add("let x = (a: long) { a }; T")
	f.Add(`datatable (a:long, s:string, d:dynamic) [1, "x", dynamic([1, 2]), -2, "", dynamic(null)] | where a != 1`)
	f.Add("print x = 1, 2 + 3 | project-keep x* | serialize r = row_number() | getschema")
	f.Add("range t from ago(1h) to now() step 5m | extend p = prev(t) | as T | sample 3")
	f.Add(`let f = (T:(*), v:long = 2) { T | where x >= v }; set notruncation; f(Perf, v=3) | mv-expand with_itemindex=i kind=array d limit 2`)
	f.Add(`T | make-series s = sum(x) default=0 on ts from ago(1d) to now() step 1h by k | extend f = series_fir(s, dynamic([1, 1]))`)
	f.Add(`T | evaluate bag_unpack(d, 'p_') : (*, a:long) | lookup (U) on a | union withsource=S (V)`)
	f.Add(`T | mv-apply e = a to typeof(long) on (top 1 by e) | parse-kv s as (k:long) with (pair_delimiter=',', kv_delimiter='=') | where x == toscalar(U | count)`)
	f.Add(`T | scan with_match_id=m declare (c:long = 0) with (step a: x > 0 => c = a.c + 1; step b output=last: true;) | top-nested 2 of k with others = "o" by sum(c), top-nested of j by max(1) | top-hitters 3 of k by c | search kind=case_sensitive "a*b" and (x:"y" or z > 1)`)
	f.Add(`search in (T, U) "*err*" | evaluate rows_near(x == 1, 2) | evaluate narrow()`)
	f.Fuzz(func(t *testing.T, query string) {
		q, err := Parse(query)
		if err != nil {
			var kerr *Error
			if !errors.As(err, &kerr) {
				t.Fatalf("Parse(%q) returned a non-user error: %v", query, err)
			}
			if kerr.Pos.Offset < 0 || kerr.Pos.Offset > len(query) {
				t.Fatalf("Parse(%q) error position %d is outside the query", query, kerr.Pos.Offset)
			}
			_ = kerr.Format(query)
			return
		}
		checkRoundTrip(t, q)
		fuzzCompile(t, query)
	})
}
