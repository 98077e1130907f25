package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// selfJoin is the shape of the 180-byte query that took the controller to
// 1.8 GB (issue 21): every line joined with every other line of its pod, and
// the result gathered into one value.
const selfJoin = `ContainerLogV2 | join kind=inner (ContainerLogV2) on PodName | summarize L = make_list(LogMessage1), S = make_set(strcat(ContainerId, ContainerId1)) by PodName`

// seedLines appends n log lines of one pod, so that the self-join has n² rows.
func seedLines(t *testing.T, s Store, n int) {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{t0.Add(time.Duration(i) * time.Millisecond), "node-1", fmt.Sprintf("c%06d", i), "app", "web-1", "shop",
			strings.Repeat("x", 40) + fmt.Sprint(i), "stdout", "INFO", nil}
	}
	if err := s.Append(context.Background(), ContainerLogV2, rows); err != nil {
		t.Fatal(err)
	}
}

// The self-join attack stops at the store's memory limit with a LimitError
// that names the limit (not the engine's text), within its deadline, and the
// store answers the next query.
func TestASelfJoinStopsAtTheMemoryLimit(t *testing.T) {
	limits := Limits{MemoryBytes: 64 << 20, TempBytes: 64 << 20, Threads: 2}
	engines := map[string]func(t *testing.T) Store{
		"duckdb": func(t *testing.T) Store {
			s, err := OpenDuckDB(context.Background(), t.TempDir(), Options{RetentionInterval: -1, DefaultRetention: -1, Limits: limits})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"clickhouse": func(t *testing.T) Store {
			s, err := OpenClickHouse(context.Background(), storetest.ClickHouse(t).Database(t), Options{RetentionInterval: -1, DefaultRetention: -1, Limits: limits})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			seedLines(t, s, 20000)
			// The deadline only keeps a broken limit from hanging the test:
			// reaching it fails the test below, as it is not a LimitError.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			_, err := s.Query(ctx, selfJoin)
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("the self-join: got %v, want a LimitError", err)
			}
			if msg := le.Error(); !strings.Contains(msg, "memory limit of 64 MiB") || strings.Contains(msg, "Error") {
				t.Errorf("message %q: want the limit named, without the engine's text", msg)
			}
			res, err := s.Query(context.Background(), "ContainerLogV2 | count")
			if err != nil || res.Rows[0][0] != int64(20000) {
				t.Fatalf("the store after the attack: %v %v", res, err)
			}
		})
	}
}

// A query past its context's deadline is context.DeadlineExceeded, on both
// engines, whatever each engine says about it.
func TestAQueryPastItsDeadlineIsDeadlineExceeded(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) Store{
		"duckdb": func(t *testing.T) Store {
			s, err := OpenDuckDB(context.Background(), "", Options{RetentionInterval: -1, DefaultRetention: -1})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"clickhouse": func(t *testing.T) Store {
			// ClickHouse 18.16 materializes a join's output a block at a time (8192
			// left rows × 20000 matches), so at the default 256 MiB the memory limit
			// can come before the deadline; 4 GiB cannot be filled in 200 ms, and the
			// server's max_execution_time (1 s) ends the query there.
			o := Options{RetentionInterval: -1, DefaultRetention: -1, Limits: Limits{MemoryBytes: 4 << 30}}
			s, err := OpenClickHouse(context.Background(), storetest.ClickHouse(t).Database(t), o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			seedLines(t, s, 20000)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			// 4·10⁸ joined rows summed: far longer than the deadline, in little memory
			// (a dcount of them reached ClickHouse's memory limit first on a fast run).
			_, err := s.Query(ctx, `ContainerLogV2 | join kind=inner (ContainerLogV2) on PodName | summarize sum(strlen(strcat(ContainerId, ContainerId1)))`)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want context.DeadlineExceeded", err)
			}
		})
	}
}

// External access is off and the configuration locked, so even SQL that
// reached DuckDB other than through the planner cannot read a file of the
// host, attach another database or raise a limit.
func TestDuckDBRefusesExternalAccessAndConfigurationChanges(t *testing.T) {
	s, err := OpenDuckDB(context.Background(), t.TempDir(), Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := map[string]string{
		"reading a host file with read_csv": `SELECT * FROM read_csv('/etc/passwd')`,
		"reading a host file by its name":   `SELECT * FROM '/etc/passwd'`,
		"reading a file with read_text":     `SELECT content FROM read_text('/etc/hostname')`,
		"attaching another database":        `ATTACH '/tmp/other.duckdb' AS other`,
		"turning external access back on":   `SET enable_external_access = true`,
		"raising the memory limit":          `SET memory_limit = '100GB'`,
		"unlocking the configuration":       `SET lock_configuration = false`,
		"installing an extension":           `INSTALL httpfs`,
	}
	for name, sql := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.DB().Exec(sql); err == nil {
				t.Fatalf("%s ran", sql)
			}
		})
	}
	var limit string
	if err := s.DB().QueryRow(`SELECT current_setting('memory_limit')`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(limit, "256.0 MiB") && !strings.HasPrefix(limit, "268.4 MB") {
		t.Errorf("memory_limit %q, want the default of 256 MiB", limit)
	}
}
