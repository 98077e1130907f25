package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// engines opens an empty store of each engine, with the clock fixed at t0
// plus one day and retention run only when a test asks for it.
func engines(t *testing.T, schema kql.Schema) map[string]store.Store {
	t.Helper()
	opts := store.Options{
		Tables:            schema,
		RetentionInterval: -1,
		Now:               func() time.Time { return t0.Add(24 * time.Hour) },
	}
	ctx := context.Background()
	duck, err := store.OpenDuckDB(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = duck.Close() })
	ch, err := store.OpenClickHouse(ctx, storetest.ClickHouse(t).Database(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	return map[string]store.Store{"duckdb": duck, "clickhouse": ch}
}

func logRow(ts time.Time, pod, level string, msg any) []any {
	return []any{ts, "node-1", "c1", "app", pod, "default", msg, "stdout", level,
		map[string]any{"podLabels": map[string]any{"app": "web"}, "image": "web:1"}}
}

func TestAppendThenQueryGivesTheSameValuesOnBothEngines(t *testing.T) {
	for name, s := range engines(t, nil) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			rows := [][]any{
				logRow(t0, "web-1", "ERROR", map[string]any{"msg": "boom", "code": 500}),
				logRow(t0.Add(time.Minute), "web-2", "INFO", "plain text"),
			}
			if err := s.Append(ctx, store.ContainerLogV2, rows); err != nil {
				t.Fatal(err)
			}
			res, err := s.Query(ctx, `ContainerLogV2 | sort by TimeGenerated asc | project TimeGenerated, PodName, LogMessage, Image = tostring(KubernetesMetadata.image), Code = toint(LogMessage.code)`)
			if err != nil {
				t.Fatal(err)
			}
			want := [][]any{
				{t0, "web-1", map[string]any{"msg": "boom", "code": float64(500)}, "web:1", int64(500)},
				{t0.Add(time.Minute), "web-2", "plain text", "web:1", nil},
			}
			if got := store.FormatRows(res); got != store.FormatRows(&store.Result{Columns: res.Columns, Rows: want}) {
				t.Fatalf("got\n%s\nwant\n%s", got, store.FormatRows(&store.Result{Columns: res.Columns, Rows: want}))
			}
		})
	}
}

func TestABadRowStoresNothingOfTheCall(t *testing.T) {
	tests := map[string]struct {
		rows    [][]any
		wantErr string
	}{
		"a value of the wrong type in the last row": {
			rows:    [][]any{logRow(t0, "a", "INFO", "x"), {t0, "node", "c", "app", 42, "ns", "m", "stdout", "INFO", nil}},
			wantErr: "row 1, column PodName (string): want a string value, got int",
		},
		"a row with too few values": {
			rows:    [][]any{logRow(t0, "a", "INFO", "x"), {t0, "node"}},
			wantErr: "row 1 has 2 values, the table has 10 columns",
		},
		"a null TimeGenerated": {
			rows:    [][]any{logRow(t0, "a", "INFO", "x"), logRow(time.Time{}, "b", "INFO", "y")},
			wantErr: "",
		},
		"a value JSON cannot encode": {
			rows:    [][]any{logRow(t0, "a", "INFO", "x"), logRow(t0, "b", "INFO", make(chan int))},
			wantErr: "row 1, column LogMessage (dynamic): failed to encode JSON",
		},
	}
	for name, s := range engines(t, nil) {
		for tname, tc := range tests {
			t.Run(name+"/"+tname, func(t *testing.T) {
				ctx := context.Background()
				before := count(t, s, store.ContainerLogV2)
				rows := tc.rows
				if tname == "a null TimeGenerated" {
					rows[1][0] = nil
					tc.wantErr = "row 1, column TimeGenerated: must not be null"
				}
				err := s.Append(ctx, store.ContainerLogV2, rows)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "table ContainerLogV2") {
					t.Fatalf("got error %v, want one naming the table and containing %q", err, tc.wantErr)
				}
				if after := count(t, s, store.ContainerLogV2); after != before {
					t.Fatalf("%d rows before the failed append, %d after", before, after)
				}
			})
		}
	}
}

func TestAnUnknownTableIsAnError(t *testing.T) {
	for name, s := range engines(t, nil) {
		t.Run(name, func(t *testing.T) {
			err := s.Append(context.Background(), "Nope", [][]any{{t0}})
			if err == nil || !strings.Contains(err.Error(), "table Nope: no such table") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestQueryErrorsKeepThePositionAndACaret(t *testing.T) {
	for name, s := range engines(t, nil) {
		t.Run(name, func(t *testing.T) {
			_, err := s.Query(context.Background(), "ContainerLogV2\n| where PodNme == 'x'")
			var qe *store.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("got %T %v, want a *store.QueryError", err, err)
			}
			line, col := qe.Position()
			if line != 2 || col != 9 {
				t.Fatalf("position %d:%d, want 2:9", line, col)
			}
			want := "2:9: unknown column PodNme"
			if f := qe.Format(); !strings.HasPrefix(f, want) || !strings.HasSuffix(f, "| where PodNme == 'x'\n        ^") {
				t.Fatalf("formatted error:\n%s", f)
			}
		})
	}
}

func TestRetentionDropsOnlyRowsOlderThanTheTablesRetention(t *testing.T) {
	schema := kql.Schema{
		"Short": {{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "N", Type: kql.TypeLong}},
		"Long":  {{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "N", Type: kql.TypeLong}},
	}
	now := t0.Add(40 * 24 * time.Hour)
	opts := store.Options{Tables: schema, RetentionInterval: -1, Retention: map[string]time.Duration{"Short": 2 * 24 * time.Hour},
		Now: func() time.Time { return now }}
	ctx := context.Background()
	duck, err := store.OpenDuckDB(ctx, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	ch, err := store.OpenClickHouse(ctx, storetest.ClickHouse(t).Database(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	for name, s := range map[string]interface {
		store.Store
		ApplyRetention(context.Context) error
	}{"duckdb": duck, "clickhouse": ch} {
		t.Run(name, func(t *testing.T) {
			// Rows 1, 5, 20 and 35 days old.
			var rows [][]any
			for i, age := range []int{1, 5, 20, 35} {
				rows = append(rows, []any{now.Add(-time.Duration(age) * 24 * time.Hour), int64(i)})
			}
			for _, table := range []string{"Short", "Long"} {
				if err := s.Append(ctx, table, rows); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.ApplyRetention(ctx); err != nil {
				t.Fatal(err)
			}
			// Short keeps 2 days; Long the default 30 days.
			if got := count(t, s, "Short"); got != 1 {
				t.Errorf("Short has %d rows, want 1", got)
			}
			if got := count(t, s, "Long"); got != 3 {
				t.Errorf("Long has %d rows, want 3", got)
			}
		})
	}
}

func TestConcurrentAppendsAndQueries(t *testing.T) {
	for name, s := range engines(t, nil) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for w := 0; w < 4; w++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := 0; i < 5; i++ {
						batch := make([][]any, 50)
						for j := range batch {
							batch[j] = logRow(t0.Add(time.Duration(j)*time.Second), "p", "INFO", "m")
						}
						if err := s.Append(ctx, store.ContainerLogV2, batch); err != nil {
							errs <- err
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := 0; i < 5; i++ {
						if _, err := s.Query(ctx, "ContainerLogV2 | summarize count() by PodName"); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got := count(t, s, store.ContainerLogV2); got != 4*5*50 {
				t.Fatalf("%d rows, want %d", got, 4*5*50)
			}
		})
	}
}

func count(t *testing.T, s store.Store, table string) int64 {
	t.Helper()
	res, err := s.Query(context.Background(), table+" | count")
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows[0][0].(int64)
}

// A data directory made when dynamic columns were DuckDB's JSON type keeps
// working: values are stored once-encoded and read back as JSON.
func TestDuckDBFilesWithJSONColumnsStillWork(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	schema := kql.Schema{"J": {{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "D", Type: kql.TypeDynamic}}}
	old, err := store.OpenDuckDB(ctx, dir, store.Options{Tables: kql.Schema{}, RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.DB().Exec(`CREATE TABLE "J" ("TimeGenerated" TIMESTAMP, "D" JSON)`); err != nil {
		t.Fatal(err)
	}
	_ = old.Close()
	s, err := store.OpenDuckDB(ctx, dir, store.Options{Tables: schema, RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(ctx, "J", [][]any{{t0, map[string]any{"a": "b"}}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Query(ctx, "J | project A = tostring(D.a)")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0][0]; got != "b" {
		t.Fatalf("D.a = %q, want b", got)
	}
}
