package kql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func compileTest(query string, d Dialect) (*Plan, error) {
	return CompileWithOptions(query, testSchema(), Options{Dialect: d, Now: testNow})
}

// sqlConstants are the only string literals the planner may write into SQL
// itself; every user value must arrive as an argument instead.
var sqlConstants = map[string]bool{
	"$": true, "[]": true, "UTC": true, "day": true, `^"(.*)"$`: true, `\\1`: true, "ARRAY": true,
	"true": true, "false": true, " ": true, "T": true, "Z": true, "[": true, "]": true, ",": true,
	`"`: true, `\\`: true, `^\\s+|\\s+$`: true, `\\\\`: true, `\\"`: true, "%Y-%m-%dT%H:%M:%SZ": true, "": true,
}

// stringLiterals returns the single-quoted literals of a SQL text.
func stringLiterals(sql string) []string {
	var out []string
	for i := 0; i < len(sql); i++ {
		if sql[i] != '\'' {
			continue
		}
		var b strings.Builder
		j := i + 1
		for ; j < len(sql); j++ {
			if sql[j] == '\\' && j+1 < len(sql) {
				b.WriteByte(sql[j])
				b.WriteByte(sql[j+1])
				j++
				continue
			}
			if sql[j] == '\'' {
				break
			}
			b.WriteByte(sql[j])
		}
		out = append(out, b.String())
		i = j
	}
	return out
}

// checkPlanInvariants holds for every plan: one SELECT, no statement
// separator, exactly one argument per placeholder, and no string literal in
// the SQL other than the planner's own constants.
func checkPlanInvariants(t *testing.T, p *Plan) {
	t.Helper()
	if !strings.HasPrefix(p.SQL, "SELECT ") && !strings.HasPrefix(p.SQL, "WITH ") {
		t.Fatalf("plan does not start with SELECT: %s", p.SQL)
	}
	if strings.Contains(p.SQL, ";") {
		t.Fatalf("plan contains a statement separator: %s", p.SQL)
	}
	if n := strings.Count(p.SQL, "?"); n != len(p.Args) {
		t.Fatalf("plan has %d placeholders and %d arguments: %s %v", n, len(p.Args), p.SQL, p.Args)
	}
	for _, lit := range stringLiterals(p.SQL) {
		if !sqlConstants[lit] && !strings.HasPrefix(lit, "v") && lit != "1970-01-01 00:00:00" {
			t.Fatalf("plan contains the string literal '%s', which is not one of the planner's constants: %s", lit, p.SQL)
		}
	}
}

func TestCompile(t *testing.T) {
	tests := map[string]struct {
		query      string
		duckdb     string
		duckArgs   []any
		clickhouse string
		chArgs     []any
		columns    string // optional: result columns
	}{
		"equality is case-sensitive and =~ is not": {
			query:      `TugboatDeployments | where Name == "web" and Status =~ "failed"`,
			duckdb:     `SELECT "TimeGenerated", "Name", "Namespace", "Revision", "Status", "Duration" FROM (SELECT * FROM "TugboatDeployments" AS t1 WHERE (("Name" = ?) AND (lower("Status") = lower(?)))) AS t2`,
			duckArgs:   []any{"web", "failed"},
			clickhouse: `SELECT "TimeGenerated", "Name", "Namespace", "Revision", "Status", "Duration" FROM (SELECT * FROM "TugboatDeployments" AS t1 WHERE (("Name" = ?) AND (lowerUTF8("Status") = lowerUTF8(?)))) AS t2`,
			chArgs:     []any{"web", "failed"},
		},
		"has matches whole terms through a regular expression": {
			query:      `KubeEvents | where Reason has "Pulled" | project Name`,
			duckdb:     `SELECT "Name" FROM (SELECT "Name" AS "Name" FROM (SELECT * FROM "KubeEvents" AS t1 WHERE regexp_matches("Reason", ?)) AS t2) AS t3`,
			duckArgs:   []any{`(?i)(?:^|[^\p{L}\p{N}])Pulled(?:$|[^\p{L}\p{N}])`},
			clickhouse: `SELECT "Name" FROM (SELECT "Name" AS "Name" FROM (SELECT * FROM "KubeEvents" AS t1 WHERE match(lowerUTF8("Reason"), ?)) AS t2) AS t3`,
			chArgs:     []any{`(?:^|[^\p{L}\p{N}])pulled(?:$|[^\p{L}\p{N}])`},
		},
		"contains and startswith ignore case; dynamic is converted to text": {
			query:      `ContainerLogV2 | where LogMessage contains "timeout" and PodName startswith "api-" | project TimeGenerated, PodName`,
			duckdb:     `SELECT "TimeGenerated", "PodName" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "PodName" AS "PodName" FROM (SELECT * FROM "ContainerLogV2" AS t1 WHERE ((strpos(lower(("LogMessage" ->> '$')), lower(?)) > 0) AND starts_with(lower("PodName"), lower(?)))) AS t2) AS t3`,
			duckArgs:   []any{"timeout", "api-"},
			clickhouse: `SELECT "TimeGenerated", "PodName" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "PodName" AS "PodName" FROM (SELECT * FROM "ContainerLogV2" AS t1 WHERE ((positionCaseInsensitiveUTF8(replaceRegexpOne("LogMessage", '^"(.*)"$', '\\1'), ?) > 0) AND startsWith(lowerUTF8("PodName"), lowerUTF8(?)))) AS t2) AS t3`,
			chArgs:     []any{"timeout", "api-"},
		},
		"sort defaults to descending and its order survives project and take": {
			query:      `KubeEvents | where TimeGenerated > ago(1h) | sort by LastSeen | project Name, Reason | take 10`,
			duckdb:     `SELECT "Name", "Reason" FROM (SELECT * FROM (SELECT "Name" AS "Name", "Reason" AS "Reason", "_tb_o1" FROM (SELECT *, "LastSeen" AS "_tb_o1" FROM (SELECT * FROM "KubeEvents" AS t1 WHERE ("TimeGenerated" > (CAST(? AS TIMESTAMP) - to_microseconds(CAST(? AS BIGINT))))) AS t2) AS t3) AS t4 ORDER BY "_tb_o1" DESC NULLS LAST LIMIT 10) AS t5 ORDER BY "_tb_o1" DESC NULLS LAST`,
			duckArgs:   []any{"2024-01-02 03:04:05", int64(3600000000)},
			clickhouse: `SELECT "Name", "Reason" FROM (SELECT * FROM (SELECT "Name" AS "Name", "Reason" AS "Reason", "_tb_o1" FROM (SELECT *, "LastSeen" AS "_tb_o1" FROM (SELECT * FROM "KubeEvents" AS t1 WHERE ("TimeGenerated" > (toDateTime(?, 'UTC') - toInt64(?)))) AS t2) AS t3) AS t4 ORDER BY "_tb_o1" DESC NULLS LAST LIMIT 10) AS t5 ORDER BY "_tb_o1" DESC NULLS LAST`,
			chArgs:     []any{"2024-01-02 03:04:05", int64(3600)},
			columns:    "Name:string, Reason:string",
		},
		"take before sort limits first": {
			query:      `KubeEvents | take 5 | sort by Name asc | project Name`,
			duckdb:     `SELECT "Name" FROM (SELECT "Name" AS "Name", "_tb_o1" FROM (SELECT *, "Name" AS "_tb_o1" FROM (SELECT * FROM "KubeEvents" AS t1 LIMIT 5) AS t2) AS t3) AS t4 ORDER BY "_tb_o1" ASC NULLS FIRST`,
			clickhouse: `SELECT "Name" FROM (SELECT "Name" AS "Name", "_tb_o1" FROM (SELECT *, "Name" AS "_tb_o1" FROM (SELECT * FROM "KubeEvents" AS t1 LIMIT 5) AS t2) AS t3) AS t4 ORDER BY "_tb_o1" ASC NULLS FIRST`,
		},
		"top is order plus limit with explicit nulls": {
			query:      `KubeEvents | top 3 by Count asc nulls last | project Name`,
			duckdb:     `SELECT "Name" FROM (SELECT "Name" AS "Name", "_tb_o1" FROM (SELECT * FROM (SELECT *, "Count" AS "_tb_o1" FROM "KubeEvents" AS t1) AS t2 ORDER BY "_tb_o1" ASC NULLS LAST LIMIT 3) AS t3) AS t4 ORDER BY "_tb_o1" ASC NULLS LAST`,
			clickhouse: `SELECT "Name" FROM (SELECT "Name" AS "Name", "_tb_o1" FROM (SELECT * FROM (SELECT *, "Count" AS "_tb_o1" FROM "KubeEvents" AS t1) AS t2 ORDER BY "_tb_o1" ASC NULLS LAST LIMIT 3) AS t3) AS t4 ORDER BY "_tb_o1" ASC NULLS LAST`,
		},
		"summarize by a 7 day bin aligns to Kusto's Monday epoch": {
			query:      `Perf | summarize percentile(CounterValue, 95), dcount(Computer), countif(CounterValue > 10) by bin(TimeGenerated, 7d)`,
			duckdb:     `SELECT "TimeGenerated", "percentile_CounterValue_95", "dcount_Computer", "countif_" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "_tb_a2" AS "percentile_CounterValue_95", "_tb_a3" AS "dcount_Computer", "_tb_a4" AS "countif_" FROM (SELECT "_tb_k1" AS "TimeGenerated", quantile_disc("CounterValue", 0.95) AS "_tb_a2", approx_count_distinct("Computer") AS "_tb_a3", count_if(("CounterValue" > ?)) AS "_tb_a4" FROM (SELECT *, make_timestamp((epoch_us("TimeGenerated") + 62135596800000000) // 604800000000 * 604800000000 - 62135596800000000) AS "_tb_k1" FROM "Perf" AS t1) AS t2 GROUP BY "_tb_k1") AS t3) AS t4`,
			duckArgs:   []any{int64(10)},
			clickhouse: `SELECT "TimeGenerated", "percentile_CounterValue_95", "dcount_Computer", "countif_" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "_tb_a2" AS "percentile_CounterValue_95", "_tb_a3" AS "dcount_Computer", "_tb_a4" AS "countif_" FROM (SELECT "_tb_k1" AS "TimeGenerated", if(count("CounterValue") = 0, NULL, arrayElement(arraySort(groupArray("CounterValue")), toUInt64(greatest(1, ceil(0.95 * count("CounterValue")))))) AS "_tb_a2", uniq("Computer") AS "_tb_a3", countIf(("CounterValue" > ?)) AS "_tb_a4" FROM (SELECT *, toDateTime(intDiv(toInt64("TimeGenerated") + ?, ?) * ? - ?, 'UTC') AS "_tb_k1" FROM "Perf" AS t1) AS t2 GROUP BY "_tb_k1") AS t3) AS t4`,
			chArgs:     []any{int64(10), int64(259200), int64(604800), int64(604800), int64(259200)},
		},
		"a 5 minute bin needs no shift": {
			query:      `Perf | summarize count() by bin(TimeGenerated, 5m)`,
			duckdb:     `SELECT "TimeGenerated", "count_" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "_tb_a2" AS "count_" FROM (SELECT "_tb_k1" AS "TimeGenerated", count(*) AS "_tb_a2" FROM (SELECT *, make_timestamp((epoch_us("TimeGenerated") + 62135596800000000) // 300000000 * 300000000 - 62135596800000000) AS "_tb_k1" FROM "Perf" AS t1) AS t2 GROUP BY "_tb_k1") AS t3) AS t4`,
			clickhouse: `SELECT "TimeGenerated", "count_" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "_tb_a2" AS "count_" FROM (SELECT "_tb_k1" AS "TimeGenerated", count() AS "_tb_a2" FROM (SELECT *, toDateTime(intDiv(toUInt32("TimeGenerated"), ?) * ?, 'UTC') AS "_tb_k1" FROM "Perf" AS t1) AS t2 GROUP BY "_tb_k1") AS t3) AS t4`,
			chArgs:     []any{int64(300), int64(300)},
		},
		"arg_max returns one row through a tuple": {
			query:      `TugboatDeployments | summarize arg_max(TimeGenerated, Status) by Name`,
			duckdb:     `SELECT "Name", "TimeGenerated", "Status" FROM (SELECT "Name" AS "Name", "_tb_a2" AS "TimeGenerated", "_tb_a3" AS "Status" FROM (SELECT "Name", struct_extract("_tb_g1", 'v0') AS "_tb_a2", struct_extract("_tb_g1", 'v1') AS "_tb_a3" FROM (SELECT "Name" AS "Name", (CASE WHEN count("TimeGenerated") = 0 THEN first(struct_pack(v0 := "TimeGenerated", v1 := "Status")) ELSE arg_max(struct_pack(v0 := "TimeGenerated", v1 := "Status"), "TimeGenerated") END) AS "_tb_g1" FROM "TugboatDeployments" AS t1 GROUP BY "Name") AS t2) AS t3) AS t4`,
			clickhouse: `SELECT "Name", "TimeGenerated", "Status" FROM (SELECT "Name" AS "Name", "_tb_a2" AS "TimeGenerated", "_tb_a3" AS "Status" FROM (SELECT "Name", tupleElement("_tb_g1", 1) AS "_tb_a2", tupleElement("_tb_g1", 2) AS "_tb_a3" FROM (SELECT "Name" AS "Name", if(count("TimeGenerated") = 0, any(tuple("TimeGenerated", "Status")), argMax(tuple("TimeGenerated", "Status"), "TimeGenerated")) AS "_tb_g1" FROM "TugboatDeployments" AS t1 GROUP BY "Name") AS t2) AS t3) AS t4`,
		},
		"the default join keeps one left row per key": {
			query:      `TugboatDeployments | project Name, Status | join (TugboatReconciliations | project Name, Result) on Name`,
			duckdb:     `SELECT "Name", "Status", "Name1", "Result" FROM (SELECT t3."Name" AS "Name", t3."Status" AS "Status", t4."Name" AS "Name1", t4."Result" AS "Result" FROM (SELECT DISTINCT ON ("Name") * FROM (SELECT "Name" AS "Name", "Status" AS "Status" FROM "TugboatDeployments" AS t1) AS t5) AS t3 INNER JOIN (SELECT "Name" AS "Name", "Result" AS "Result" FROM "TugboatReconciliations" AS t2) AS t4 ON t3."Name" = t4."Name") AS t6`,
			clickhouse: `SELECT "Name", "Status", "Name1", "Result" FROM (SELECT t3."_tb_j1" AS "Name", t3."_tb_j2" AS "Status", t4."_tb_j4" AS "Name1", t4."_tb_j5" AS "Result" FROM (SELECT * FROM (SELECT "Name" AS "_tb_j1", "Status" AS "_tb_j2", "Name" AS "_tb_j3" FROM (SELECT "Name" AS "Name", "Status" AS "Status" FROM "TugboatDeployments" AS t1) AS t5) AS t7 LIMIT 1 BY "_tb_j3") AS t3 ALL INNER JOIN (SELECT "Name" AS "_tb_j4", "Result" AS "_tb_j5", "Name" AS "_tb_j6" FROM (SELECT "Name" AS "Name", "Result" AS "Result" FROM "TugboatReconciliations" AS t2) AS t6) AS t4 ON t3."_tb_j3" = t4."_tb_j6") AS t8`,
		},
		"leftanti is NOT IN over non-null keys": {
			query:      `TugboatDeployments | join kind=leftanti TugboatReconciliations on Name, $left.Revision == $right.Revision | project Name`,
			duckdb:     `SELECT "Name" FROM (SELECT "Name" AS "Name" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "Name" AS "Name", "Namespace" AS "Namespace", "Revision" AS "Revision", "Status" AS "Status", "Duration" AS "Duration" FROM "TugboatDeployments" AS t4 WHERE ("Name", "Revision") NOT IN (SELECT "Name", "Revision" FROM "TugboatReconciliations" AS t3 WHERE "Name" IS NOT NULL AND "Revision" IS NOT NULL)) AS t5) AS t6`,
			clickhouse: `SELECT "Name" FROM (SELECT "Name" AS "Name" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "Name" AS "Name", "Namespace" AS "Namespace", "Revision" AS "Revision", "Status" AS "Status", "Duration" AS "Duration" FROM "TugboatDeployments" AS t4 WHERE ("Name", "Revision") NOT IN (SELECT "Name", "Revision" FROM "TugboatReconciliations" AS t3 WHERE "Name" IS NOT NULL AND "Revision" IS NOT NULL)) AS t5) AS t6`,
		},
		"union pads a missing string with '' and other missing columns with typed nulls": {
			query:      `TugboatDeployments | project Name, Duration | union (TugboatReconciliations | project Name, Result)`,
			duckdb:     `SELECT "Name", "Duration", "Result" FROM (SELECT "Name" AS "Name", "Duration" AS "Duration", '' AS "Result" FROM (SELECT "Name" AS "Name", "Duration" AS "Duration" FROM "TugboatDeployments" AS t1) AS t2 UNION ALL SELECT "Name" AS "Name", CAST(NULL AS INTERVAL) AS "Duration", "Result" AS "Result" FROM (SELECT "Name" AS "Name", "Result" AS "Result" FROM "TugboatReconciliations" AS t3) AS t4) AS t5`,
			clickhouse: `SELECT "Name", "Duration", "Result" FROM (SELECT ifNull("Name", '') AS "Name", toNullable("Duration") AS "Duration", '' AS "Result" FROM (SELECT "Name" AS "Name", "Duration" AS "Duration" FROM "TugboatDeployments" AS t1) AS t2 UNION ALL SELECT ifNull("Name", '') AS "Name", CAST(NULL AS Nullable(Int64)) AS "Duration", ifNull("Result", '') AS "Result" FROM (SELECT "Name" AS "Name", "Result" AS "Result" FROM "TugboatReconciliations" AS t3) AS t4) AS t5`,
		},
		"dynamic paths, conversions and in~": {
			query:      `ContainerLogV2 | project level = tostring(LogMessage.level), code = toint(LogMessage["code"]) | where level in~ ("error", "warn")`,
			duckdb:     `SELECT "level", "code" FROM (SELECT * FROM (SELECT (json_extract("LogMessage", ?) ->> '$') AS "level", (CASE WHEN regexp_matches((json_extract("LogMessage", ?) ->> '$'), ?) THEN TRY_CAST((json_extract("LogMessage", ?) ->> '$') AS INTEGER) ELSE TRY_CAST(trunc(TRY_CAST((json_extract("LogMessage", ?) ->> '$') AS DOUBLE)) AS INTEGER) END) AS "code" FROM "ContainerLogV2" AS t1) AS t2 WHERE (lower("level") IN (lower(?), lower(?)))) AS t3`,
			duckArgs:   []any{`$."level"`, `$."code"`, `^\s*[+-]?[0-9]+\s*$`, `$."code"`, `$."code"`, "error", "warn"},
			clickhouse: `SELECT "level", "code" FROM (SELECT * FROM (SELECT replaceRegexpOne(replaceRegexpAll(visitParamExtractRaw("LogMessage", ?), '^\\s+|\\s+$', ''), '^"(.*)"$', '\\1') AS "level", if(abs((ifNull(if(toString(toInt64OrNull((replaceRegexpAll(replaceRegexpOne(replaceRegexpAll(visitParamExtractRaw("LogMessage", ?), '^\\s+|\\s+$', ''), '^"(.*)"$', '\\1'), ?, '') AS "_tb_s1"))) = "_tb_s1", toInt64OrNull("_tb_s1"), NULL), if(abs((toFloat64OrNull("_tb_s1") AS "_tb_f2")) < 9223372036854775807, toInt64(trunc("_tb_f2")), NULL)) AS "_tb_l3")) <= 2147483647, toInt32("_tb_l3"), NULL) AS "code" FROM "ContainerLogV2" AS t1) AS t2 WHERE (lowerUTF8("level") IN (lowerUTF8(?), lowerUTF8(?)))) AS t3`,
			chArgs:     []any{"level", "code", `^\s+|\s+$`, "error", "warn"},
		},
		"the count operator": {
			query:      `KubeEvents | count`,
			duckdb:     `SELECT "Count" FROM (SELECT "_tb_a1" AS "Count" FROM (SELECT count(*) AS "_tb_a1" FROM "KubeEvents" AS t1) AS t2) AS t3`,
			clickhouse: `SELECT "Count" FROM (SELECT "_tb_a1" AS "Count" FROM (SELECT count() AS "_tb_a1" FROM "KubeEvents" AS t1) AS t2) AS t3`,
			columns:    "Count:long",
		},
		"parse extracts each column with its own expression": {
			query:      `KubeEvents | parse Message with * "pulled " Image " in " Ms:long "ms" * | project Image, Ms`,
			duckdb:     `SELECT "Image", "Ms" FROM (SELECT "Image" AS "Image", "Ms" AS "Ms" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "ClusterId" AS "ClusterId", "Computer" AS "Computer", "Count" AS "Count", "FirstSeen" AS "FirstSeen", "LastSeen" AS "LastSeen", "KubeEventType" AS "KubeEventType", "Message" AS "Message", "Name" AS "Name", "Namespace" AS "Namespace", "ObjectKind" AS "ObjectKind", "Reason" AS "Reason", "SourceComponent" AS "SourceComponent", regexp_extract("Message", ?, 1) AS "Image", (CASE WHEN regexp_matches(NULLIF(regexp_extract("Message", ?, 1), ''), ?) THEN TRY_CAST(NULLIF(regexp_extract("Message", ?, 1), '') AS BIGINT) ELSE TRY_CAST(trunc(TRY_CAST(NULLIF(regexp_extract("Message", ?, 1), '') AS DOUBLE)) AS BIGINT) END) AS "Ms" FROM "KubeEvents" AS t1) AS t2) AS t3`,
			duckArgs:   []any{`^.*?pulled (.*?) in (?:-?\d+)ms.*?`, `^.*?pulled (?:.*?) in (-?\d+)ms.*?`, `^\s*[+-]?[0-9]+\s*$`, `^.*?pulled (?:.*?) in (-?\d+)ms.*?`, `^.*?pulled (?:.*?) in (-?\d+)ms.*?`},
			clickhouse: `SELECT "Image", "Ms" FROM (SELECT "Image" AS "Image", "Ms" AS "Ms" FROM (SELECT "TimeGenerated" AS "TimeGenerated", "ClusterId" AS "ClusterId", "Computer" AS "Computer", "Count" AS "Count", "FirstSeen" AS "FirstSeen", "LastSeen" AS "LastSeen", "KubeEventType" AS "KubeEventType", "Message" AS "Message", "Name" AS "Name", "Namespace" AS "Namespace", "ObjectKind" AS "ObjectKind", "Reason" AS "Reason", "SourceComponent" AS "SourceComponent", extract("Message", ?) AS "Image", ifNull(if(toString(toInt64OrNull((replaceRegexpAll(NULLIF(extract("Message", ?), ''), ?, '') AS "_tb_s1"))) = "_tb_s1", toInt64OrNull("_tb_s1"), NULL), if(abs((toFloat64OrNull("_tb_s1") AS "_tb_f2")) < 9223372036854775807, toInt64(trunc("_tb_f2")), NULL)) AS "Ms" FROM "KubeEvents" AS t1) AS t2) AS t3`,
			chArgs:     []any{`^.*?pulled (.*?) in (?:-?\d+)ms.*?`, `^.*?pulled (?:.*?) in (-?\d+)ms.*?`, `^\s+|\s+$`},
		},
		"names that are unsafe in SQL get internal names": {
			query:      `TugboatDeployments | project ['my name'] = Name, name = Namespace`,
			duckdb:     `SELECT "_tb_c1", "name" FROM (SELECT "Name" AS "_tb_c1", "Namespace" AS "name" FROM "TugboatDeployments" AS t1) AS t2`,
			clickhouse: `SELECT "_tb_c1", "name" FROM (SELECT "Name" AS "_tb_c1", "Namespace" AS "name" FROM "TugboatDeployments" AS t1) AS t2`,
			columns:    "my name:string, name:string",
		},
		"literals are always parameters": {
			query:      `TugboatReconciliations | where Error == "x'); DROP TABLE t; --" | project Name`,
			duckdb:     `SELECT "Name" FROM (SELECT "Name" AS "Name" FROM (SELECT * FROM "TugboatReconciliations" AS t1 WHERE ("Error" = ?)) AS t2) AS t3`,
			duckArgs:   []any{"x'); DROP TABLE t; --"},
			clickhouse: `SELECT "Name" FROM (SELECT "Name" AS "Name" FROM (SELECT * FROM "TugboatReconciliations" AS t1 WHERE ("Error" = ?)) AS t2) AS t3`,
			chArgs:     []any{"x'); DROP TABLE t; --"},
		},
	}
	for name, tc := range tests {
		for _, d := range []Dialect{DuckDB, ClickHouse} {
			t.Run(name+" on "+d.String(), func(t *testing.T) {
				p, err := compileTest(tc.query, d)
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				wantSQL, wantArgs := tc.duckdb, tc.duckArgs
				if d == ClickHouse {
					wantSQL, wantArgs = tc.clickhouse, tc.chArgs
				}
				if p.SQL != wantSQL {
					t.Fatalf("SQL:\n got %s\nwant %s", p.SQL, wantSQL)
				}
				if !reflect.DeepEqual(p.Args, wantArgs) && (len(p.Args) != 0 || len(wantArgs) != 0) {
					t.Fatalf("args:\n got %#v\nwant %#v", p.Args, wantArgs)
				}
				if tc.columns != "" && columnsString(p.Columns) != tc.columns {
					t.Fatalf("columns:\n got %s\nwant %s", columnsString(p.Columns), tc.columns)
				}
				checkPlanInvariants(t, p)
			})
		}
	}
}

func TestCompileRender(t *testing.T) {
	p, err := compileTest(`Perf | summarize avg(CounterValue) by bin(TimeGenerated, 1h) | render timechart with (title="CPU", ycolumns=avg_CounterValue)`, DuckDB)
	if err != nil {
		t.Fatal(err)
	}
	want := &RenderHint{Kind: "timechart", Properties: map[string]string{"title": "CPU", "ycolumns": "avg_CounterValue"}}
	if !reflect.DeepEqual(p.Render, want) {
		t.Fatalf("Render = %+v, want %+v", p.Render, want)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := map[string]struct {
		query   string
		dialect Dialect
		want    string
	}{
		"mv-expand on ClickHouse": {
			query:   "ContainerLogV2 | mv-expand KubernetesMetadata",
			dialect: ClickHouse,
			want:    "0:0: mv-expand is not supported on ClickHouse 18.16, which cannot split JSON arrays",
		},
		"array index on ClickHouse": {
			query:   "ContainerLogV2 | project x = LogMessage.items[0]",
			dialect: ClickHouse,
			want:    "0:0: array indexes on dynamic values are not supported on ClickHouse 18.16; only property names are",
		},
		"sub-second bins on ClickHouse": {
			query:   "Perf | summarize count() by bin(TimeGenerated, 500ms)",
			dialect: ClickHouse,
			want:    "0:0: bin of a datetime needs a constant whole number of seconds on ClickHouse 18.16",
		},
		"a parse error comes through with its position": {
			query:   "Perf | where",
			dialect: DuckDB,
			want:    "1:13: expected an expression, found the end of the query",
		},
		"a check error comes through with its position": {
			query:   "Perf | where Computr == 'x'",
			dialect: DuckDB,
			want:    "1:14: unknown column Computr; did you mean Computer?",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := compileTest(tc.query, tc.dialect)
			var kerr *Error
			if !errors.As(err, &kerr) {
				t.Fatalf("Compile(%q) error = %v, want *Error", tc.query, err)
			}
			if kerr.Error() != tc.want {
				t.Fatalf("Compile(%q):\n got %s\nwant %s", tc.query, kerr.Error(), tc.want)
			}
		})
	}
}

// TestCompileSampleQueries runs Microsoft's sample queries through the whole
// pipeline; the ones that need functions we do not support yet must say so.
func TestCompileSampleQueries(t *testing.T) {
	unsupported := map[string]string{
		"ingestion latency":    "function ingestion_time is not supported because",
		"errors per container": "unknown table ContainerLogv2; did you mean ContainerLogV2?",
	}
	// Functions that DuckDB has and ClickHouse 18.16 cannot express.
	clickhouseOnly := map[string]string{
		"uptime":              "function datetime_add is not supported on ClickHouse 18.16",
		"requests per minute": "function prev is not supported on ClickHouse 18.16",
	}
	for name, q := range sampleQueries {
		for _, d := range []Dialect{DuckDB, ClickHouse} {
			t.Run(name+" on "+d.String(), func(t *testing.T) {
				p, err := compileTest(q, d)
				want, ok := unsupported[name]
				if w, chOnly := clickhouseOnly[name]; chOnly && d == ClickHouse {
					want, ok = w, true
				}
				if ok {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("Compile error = %v, want one containing %q", err, want)
					}
					return
				}
				if err != nil {
					var kerr *Error
					if errors.As(err, &kerr) {
						t.Fatalf("Compile: %s", kerr.Format(q))
					}
					t.Fatalf("Compile: %v", err)
				}
				checkPlanInvariants(t, p)
			})
		}
	}
}

func TestStringLiterals(t *testing.T) {
	got := stringLiterals(`SELECT 'a', "x", 'it''s', '\\1', 'b\'c' FROM t`)
	want := []string{"a", "it", "s", `\\1`, `b\'c`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stringLiterals = %q, want %q", got, want)
	}
}

// Restrict reads a table through a subquery of its allowed rows at every
// place the query names it (here both sides of a join), with the
// condition's arguments bound in order before the query's own.
func TestCompileRestrict(t *testing.T) {
	p, err := CompileWithOptions(`KubeEvents | where Reason == "Pulled" | join kind=inner (KubeEvents) on Name | project Name`, testSchema(),
		Options{Dialect: ClickHouse, Now: testNow, Restrict: map[string]Condition{"KubeEvents": {SQL: `"Namespace" IN (?)`, Args: []any{"team-a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	const scoped = `(SELECT * FROM "KubeEvents" WHERE "Namespace" IN (?))`
	if n := strings.Count(p.SQL, scoped); n != 2 {
		t.Errorf("the table is read through its restriction %d times, want 2:\n%s", n, p.SQL)
	}
	if strings.Count(p.SQL, `"KubeEvents"`) != 2 {
		t.Errorf("the table is read without its restriction:\n%s", p.SQL)
	}
	if want := []any{"team-a", "Pulled", "team-a"}; !reflect.DeepEqual(p.Args, want) {
		t.Errorf("args %v, want %v", p.Args, want)
	}
}
