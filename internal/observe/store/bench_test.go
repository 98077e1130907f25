package store_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// BenchmarkDuckDBAppend measures ingest of ContainerLogV2 lines as the
// collector sends them: batches of 10,000 rows with a text message and
// Kubernetes metadata as a map (JSON-encoded on the way in).
//
// The measured time ends with a CHECKPOINT: DuckDB writes committed rows to
// the WAL and compresses them into the database file only at a checkpoint,
// and that deferred work is part of ingest. Without it a short run would
// count only the appends of a threshold not yet reached. Run it with at
// least -benchtime=100x for the steady state, where DuckDB's vacuum also
// rewrites part-filled row groups (see duckCheckpointThreshold).
func BenchmarkDuckDBAppend(b *testing.B) {
	ctx := context.Background()
	s, err := store.OpenDuckDB(ctx, b.TempDir(), store.Options{RetentionInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := 10000
	if v := os.Getenv("TUGBOAT_BENCH_BATCH"); v != "" {
		batch, _ = strconv.Atoi(v)
	}
	rows := make([][]any, batch)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		rows[i] = []any{t0.Add(time.Duration(i) * time.Millisecond), "node-1", fmt.Sprintf("containerd://%064d", i%50),
			fmt.Sprintf("app-%d", i%50), fmt.Sprintf("app-%d-7d9f8c6b5-x%04d", i%50, i%500), "shop",
			fmt.Sprintf("GET /api/v1/items/%d 200 %dms", i, i%300), "stdout", "INFO",
			map[string]any{"podUid": fmt.Sprintf("uid-%d", i%500), "image": "registry.local/shop/app:1.4.2",
				"podLabels": map[string]any{"app": "shop"}}}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for b.Loop() {
		if err := s.Append(ctx, store.ContainerLogV2, rows); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.DB().ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	secs, cpuSecs := time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
	lines := float64(b.N) * float64(batch)
	b.ReportMetric(lines/secs, "lines/s")
	// Per core: lines per second of CPU the process used (Go and DuckDB's
	// threads together), so a loaded machine or a disk flush does not count.
	b.ReportMetric(lines/cpuSecs, "lines/cpu-s")
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRows is the size of the generated ContainerLogV2 table.
const benchRows = 10_000_000

var (
	benchOnce  sync.Once
	benchStore *store.DuckDB
	benchErr   error
	benchGen   time.Duration
)

// benchData generates, once per test binary, 10 M ContainerLogV2 lines over
// 24 hours (500 pods, 50 containers, 5 % errors), 1 M Perf samples and 200
// deploys, with DuckDB's range() in SQL: seconds instead of minutes.
func benchData(b *testing.B) *store.DuckDB {
	b.Helper()
	benchOnce.Do(func() {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		dir, err := tempDir()
		if err != nil {
			benchErr = err
			return
		}
		s, err := store.OpenDuckDB(context.Background(), dir, store.Options{RetentionInterval: -1, Now: func() time.Time { return now }})
		if err != nil {
			benchErr = err
			return
		}
		start := time.Now()
		stmts := []string{
			fmt.Sprintf(`INSERT INTO "ContainerLogV2" SELECT
				TIMESTAMP '2025-12-31 00:00:00' + to_microseconds(CAST(i * 86400000000 // %[1]d AS BIGINT)),
				'node-' || (i %% 10), 'containerd://' || (i %% 500), 'app-' || (i %% 50), 'app-' || (i %% 50) || '-pod-' || (i %% 500),
				'ns-' || (i %% 20), to_json('GET /api/v1/items/' || i || ' 200'), CASE WHEN i %% 20 = 0 THEN 'stderr' ELSE 'stdout' END,
				CASE WHEN i %% 20 = 0 THEN 'ERROR' WHEN i %% 7 = 0 THEN 'WARNING' ELSE 'INFO' END,
				CAST('{"image":"shop/app:1"}' AS JSON)
				FROM range(%[1]d) t(i)`, benchRows),
			`INSERT INTO "Perf" SELECT
				TIMESTAMP '2025-12-31 00:00:00' + to_microseconds(CAST(i * 86400 AS BIGINT)),
				'node-' || (i % 10), 'K8SContainer', CASE WHEN i % 2 = 0 THEN 'cpuUsageNanoCores' ELSE 'memoryWorkingSetBytes' END,
				'', (hash(i) % 1000000000)::DOUBLE, 'cl/uid-' || (i % 500) || '/app-' || (i % 50)
				FROM range(1000000) t(i)`,
			`INSERT INTO "TugboatDeployments" SELECT
				TIMESTAMP '2025-12-31 00:00:00' + to_microseconds(CAST(i * 432000000 AS BIGINT)),
				'app-' || (i % 50), 'ns-' || (i % 20), 'Deployment', 'app-' || (i % 50), 'app-' || (i % 50),
				'shop/app:' || i, 'shop/app:' || (i + 1), 'c' || i, 'ci', i, 'Succeeded', '',
				TIMESTAMP '2025-12-31 00:00:00' + to_microseconds(CAST(i * 432000000 AS BIGINT)),
				TIMESTAMP '2025-12-31 00:01:00' + to_microseconds(CAST(i * 432000000 AS BIGINT)), 60000
				FROM range(200) t(i)`,
			`CHECKPOINT`,
		}
		for _, q := range stmts {
			if _, err := s.DB().Exec(q); err != nil {
				benchErr = fmt.Errorf("failed to generate benchmark data: %w", err)
				return
			}
		}
		benchGen = time.Since(start)
		benchStore = s
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	b.Logf("generated %d ContainerLogV2 rows, 1M Perf rows and 200 deploys in %s", benchRows, benchGen.Round(time.Millisecond))
	return benchStore
}

// BenchmarkQuery10M runs the four queries on the generated data and
// reports the median latency of the iterations.
func BenchmarkQuery10M(b *testing.B) {
	queries := map[string]string{
		"count by bin 5m":          `ContainerLogV2 | summarize count() by bin(TimeGenerated, 5m)`,
		"top 10 pods by errors":    `ContainerLogV2 | where LogLevel == "ERROR" | summarize Errors = count() by PodName | top 10 by Errors`,
		"cpu p95 by container":     `Perf | where ObjectName == "K8SContainer" and CounterName == "cpuUsageNanoCores" | summarize percentile(CounterValue, 95) by InstanceName`,
		"logs joined with deploys": `ContainerLogV2 | where LogLevel == "ERROR" | join kind=inner (TugboatDeployments | project ContainerName = Container, ImageAfter) on ContainerName | summarize Errors = count() by ImageAfter | top 10 by Errors`,
	}
	names := make([]string, 0, len(queries))
	for n := range queries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			s := benchData(b)
			ctx := context.Background()
			var took []time.Duration
			rows := 0
			for b.Loop() {
				start := time.Now()
				res, err := s.Query(ctx, queries[name])
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				rows = len(res.Rows)
			}
			if rows == 0 {
				b.Fatal("the query returned no rows")
			}
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
