package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// TestALargeCallWithoutAnExplicitTransactionIsStillAtomic appends calls of
// implicitTxRows rows (the largest that commit with the Appender's own
// flush) and one row more (BEGIN … COMMIT) to a table whose CHECK
// constraint rejects the last row: DuckDB reports it only when it inserts,
// after every row went through the Appender, and nothing of the call may
// be stored. Should DuckDB's Appender flush on its own before Close, the
// rows before the flush would stay and this test fails.
func TestALargeCallWithoutAnExplicitTransactionIsStillAtomic(t *testing.T) {
	tests := map[string]struct {
		rows int
	}{
		"the largest call in the Appender's transaction": {rows: implicitTxRows},
		"a call one row larger, in BEGIN and COMMIT":     {rows: implicitTxRows + 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			// The store creates only missing tables: this one has a
			// constraint the store's tables do not have.
			db, err := sql.Open("duckdb", filepath.Join(dir, DuckDBFile))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TABLE "Checked" ("TimeGenerated" TIMESTAMP, "Message" VARCHAR CHECK ("Message" <> 'bad'))`); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			schema := kql.Schema{"Checked": {{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "Message", Type: kql.TypeString}}}
			s, err := OpenDuckDB(ctx, dir, Options{Tables: schema, RetentionInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
			rows := make([][]any, tc.rows)
			for i := range rows {
				rows[i] = []any{t0.Add(time.Duration(i) * time.Millisecond), "ok"}
			}
			rows[len(rows)-1][1] = "bad"
			err = s.Append(ctx, "Checked", rows)
			if err == nil || !strings.Contains(err.Error(), "failed to append to table Checked") || !strings.Contains(err.Error(), "CHECK") {
				t.Fatalf("got error %v, want DuckDB's CHECK failure naming the table", err)
			}
			var n int
			if err := s.DB().QueryRow(`SELECT count(*) FROM "Checked"`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("%d of the failed call's %d rows were stored", n, tc.rows)
			}
			// The table still takes a good call.
			rows[len(rows)-1][1] = "ok"
			if err := s.Append(ctx, "Checked", rows); err != nil {
				t.Fatal(err)
			}
			if err := s.DB().QueryRow(`SELECT count(*) FROM "Checked"`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tc.rows {
				t.Fatalf("%d rows stored, want %d", n, tc.rows)
			}
		})
	}
}

func TestTheStoreCheckpointsAtItsOwnWALSize(t *testing.T) {
	s, err := OpenDuckDB(context.Background(), t.TempDir(), Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got string
	if err := s.DB().QueryRow(`SELECT current_setting('checkpoint_threshold')`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "64.0 MiB" {
		t.Fatalf("checkpoint_threshold is %s, want 64.0 MiB (duckCheckpointThreshold)", got)
	}
}

func TestACancelledAppendStoresNothing(t *testing.T) {
	s, err := OpenDuckDB(context.Background(), t.TempDir(), Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	row := []any{time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), "node-1", "c1", "app", "web-1", "default", "hello", "stdout", "INFO", map[string]any{"image": "web:1"}}
	err = s.Append(ctx, ContainerLogV2, [][]any{row})
	if err == nil || !strings.Contains(err.Error(), "failed to append to table ContainerLogV2") || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got error %v, want a cancelled append naming the table", err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM "ContainerLogV2"`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows stored by a cancelled append", n)
	}
}

// TugboatOperations goes in through one prepared INSERT of lists
// (listInsert): its rows must come out as the Appender would have stored
// them, in as many calls and rows as the receiver makes, and a call that
// fails must store nothing and leave the table taking the next one.
func TestTheOperationRangesAreStoredByAListInsert(t *testing.T) {
	ctx := context.Background()
	s, err := OpenDuckDB(ctx, t.TempDir(), Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 123456000, time.UTC)
	for call := range 3 {
		rows := make([][]any, 1000)
		for i := range rows {
			rows[i] = []any{t0.Add(time.Duration(call*1000+i) * time.Second), strings.Repeat("ab", 16), t0}
		}
		if err := s.Append(ctx, TugboatOperations, rows); err != nil {
			t.Fatal(err)
		}
	}
	if a := s.appenders[TugboatOperations]; a == nil || a.insert == nil {
		t.Fatal("TugboatOperations was not appended with the list insert")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Append(cancelled, TugboatOperations, [][]any{{t0, "cd", t0}}); err == nil {
		t.Fatal("a cancelled append succeeded")
	}
	if err := s.Append(ctx, TugboatOperations, [][]any{{t0, "ef", t0.Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	// A null, which duckdb-go cannot bind in a list, goes through the
	// Appender; the table then still takes lists.
	if err := s.Append(ctx, TugboatOperations, [][]any{{t0, "gh", nil}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, TugboatOperations, [][]any{{t0, "ij", t0}}); err != nil {
		t.Fatal(err)
	}
	var nulls int
	if err := s.DB().QueryRow(`SELECT count(*) FROM "TugboatOperations" WHERE "StartTime" IS NULL AND "OperationId" = 'gh'`).Scan(&nulls); err != nil {
		t.Fatal(err)
	}
	if nulls != 1 {
		t.Errorf("%d rows with a null StartTime, want 1", nulls)
	}
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM "TugboatOperations" WHERE "OperationId" IN ('gh', 'ij')`); err != nil {
		t.Fatal(err)
	}
	var n, ids int
	var first, last, start time.Time
	if err := s.DB().QueryRow(`SELECT count(*), count(DISTINCT "OperationId"), min("TimeGenerated"), max("TimeGenerated"), min("StartTime") FROM "TugboatOperations"`).
		Scan(&n, &ids, &first, &last, &start); err != nil {
		t.Fatal(err)
	}
	if n != 3001 || ids != 2 || !first.Equal(t0) || !last.Equal(t0.Add(2999*time.Second)) || !start.Equal(t0.Add(-time.Hour)) {
		t.Errorf("got %d rows of %d ids, TimeGenerated %s .. %s, earliest StartTime %s; want 3001 of 2, %s .. %s, %s",
			n, ids, first, last, start, t0, t0.Add(2999*time.Second), t0.Add(-time.Hour))
	}
}
