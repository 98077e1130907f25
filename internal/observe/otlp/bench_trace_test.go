package otlp_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// benchTraceSpans is how many spans the trace-lookup benchmark stores: the
// issue's 10 M unless TUGBOAT_BENCH_SPANS says otherwise.
func benchTraceSpans(b *testing.B) int {
	n := 10_000_000
	if v := os.Getenv("TUGBOAT_BENCH_SPANS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2000 {
			b.Fatalf("TUGBOAT_BENCH_SPANS=%q: want a number of spans of at least 2000", v)
		}
	}
	return n
}

// bigTrace is the operation id of the 1,000-span trace the benchmark looks up.
const bigTrace = "0b1ab1ab1ab1ab1ab1ab1ab1ab1ab1ab"

// BenchmarkTraceOf1000SpansAmong10MSpans times what `tugboat trace` runs
// (the three queries of traceOf in internal/cli/trace.go) for a trace of
// 1,000 spans in a store of 10 M spans: 1 M traces of 10 spans (one request,
// nine dependencies) with random trace ids, inserted trace by trace as an
// SDK's batches bring them, and the big trace's spans spread over 100,000
// rows of other traffic in the middle (every 100th row).
//
// The rows are made with DuckDB's range() in SQL, in insert order, then
// checkpointed: the layout is the one appends give, row groups of 122,880
// rows in arrival order.
func BenchmarkTraceOf1000SpansAmong10MSpans(b *testing.B) {
	ctx := context.Background()
	n := benchTraceSpans(b)
	st, err := store.OpenDuckDB(ctx, b.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	mid := n / 2
	// Row i belongs to trace i/10 (row i%10 == 0 is its request), or to
	// the big trace when it is one of the 1,000 dependencies at mid+1,
	// mid+101, ….
	trace := fmt.Sprintf(`CASE WHEN i >= %[1]d AND i < %[1]d + 100000 AND i %% 100 = 1 THEN '%[2]s' ELSE printf('%%016x%%016x', hash(i // 10), hash(-(i // 10))) END`, mid, bigTrace)
	common := `TIMESTAMP '2026-12-01 00:00:00' + to_microseconds(CAST(i * 1000 AS BIGINT)) AS TimeGenerated,
		printf('%016x', hash(i)) AS Id, 'GET /items/{id}' AS Name, true AS Success, '200' AS ResultCode,
		(i % 977)::DOUBLE AS DurationMs, ` + trace + ` AS OperationId, 'GET /items/{id}' AS OperationName,
		CASE WHEN i % 10 = 0 THEN '' ELSE printf('%016x', hash(i - i % 10)) END AS ParentId,
		'shop-' || (i % 7) AS AppRoleName, 'shop-' || (i % 7) || '-7d9f8c6b5-x' || (i % 50) AS AppRoleInstance,
		'1.4.2' AS AppVersion, 'otel-go:1.47.0' AS SDKVersion, 1 AS ItemCount,
		'{"http.request.method":"GET","http.response.status_code":200,"k8s.pod.name":"shop-' || (i % 50) || '","url.full":"http://backend:8080/items/' || i || '"}' AS Properties,
		'{"http.response.status_code":200}' AS Measurements`
	stmts := []string{
		fmt.Sprintf(`INSERT INTO "AppRequests" BY NAME SELECT %s, 'http://shop:8080/items/' || i AS Url FROM range(0, %d, 10) t(i)`, common, n),
		fmt.Sprintf(`INSERT INTO "AppDependencies" BY NAME SELECT %s, 'backend:8080' AS Target, 'HTTP' AS DependencyType,
			'http://backend:8080/items/' || i AS Data FROM range(%d) t(i) WHERE i %% 10 <> 0`, common, n),
		// What the receiver writes beside them: each operation's time range
		// per request of 512 spans (store.TugboatOperationsRow).
		fmt.Sprintf(`INSERT INTO "TugboatOperations" BY NAME SELECT max(TimeGenerated) AS TimeGenerated, OperationId,
			min(TimeGenerated) AS StartTime FROM (SELECT TimeGenerated, OperationId, i FROM (SELECT %s, i FROM range(%d) t(i)))
			GROUP BY OperationId, i // 512 ORDER BY TimeGenerated`, common, n),
		`CHECKPOINT`,
	}
	for _, q := range stmts {
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			b.Fatalf("failed to generate benchmark data: %v", err)
		}
	}
	b.Logf("generated %d spans in %s", n, time.Since(start).Round(time.Millisecond))
	// What fetchTrace in internal/cli/trace.go asks: the operation's time
	// range (operationRange), then the three tables in that range. Without
	// the range (scan-p50-ms) is how it read them before TugboatOperations.
	where := ` | where OperationId == "` + bigTrace + `"`
	common2 := "TimeGenerated, Id, ParentId, Name, AppRoleName, AppRoleInstance, DurationMs, Success, ResultCode"
	queries := func(where string) []string {
		return []string{
			store.AppRequests + where + " | project " + common2 + ", Url | take 10001",
			store.AppDependencies + where + " | project " + common2 + ", DependencyType, Target, Data | take 10001",
			store.AppExceptions + where + " | project TimeGenerated, ParentId, ExceptionType, OuterMessage, ProblemId, AppRoleName | take 10001",
		}
	}
	lookup := func(ranged bool) {
		w := where
		if ranged {
			res, err := st.Query(ctx, store.TugboatOperations+where+" | summarize First = min(StartTime), Last = max(TimeGenerated)")
			if err != nil {
				b.Fatal(err)
			}
			first, _ := res.Rows[0][0].(time.Time)
			last, _ := res.Rows[0][1].(time.Time)
			if first.IsZero() || last.IsZero() {
				b.Fatalf("no time range for the trace: %v", res.Rows)
			}
			w += fmt.Sprintf(" | where TimeGenerated between (datetime(%s) .. datetime(%s))",
				first.Add(-time.Second).Format(time.RFC3339Nano), last.Add(time.Second).Format(time.RFC3339Nano))
		}
		spans := 0
		for _, q := range queries(w) {
			res, err := st.Query(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			spans += len(res.Rows)
		}
		if spans != 1000 {
			b.Fatalf("the trace has %d spans, want 1000", spans)
		}
	}
	var took, scan []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		lookup(true)
		took = append(took, time.Since(t0))
		t0 = time.Now()
		lookup(false)
		scan = append(scan, time.Since(t0))
	}
	b.ReportMetric(p50ms(took), "p50-ms")
	b.ReportMetric(p50ms(scan), "scan-p50-ms")
}

func p50ms(d []time.Duration) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[len(d)/2].Microseconds()) / 1000
}
