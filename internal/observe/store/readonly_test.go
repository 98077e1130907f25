package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// The planner only emits SELECTs, and compile checks that; these tests
// show the engines' own guard holds even if a statement that writes got
// through: DuckDB rolls the query's transaction back, ClickHouse refuses
// writes under readonly=2.
func TestAQueryCannotWrite(t *testing.T) {
	ctx := context.Background()
	schema := kql.Schema{"T": {{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "N", Type: kql.TypeLong}}}
	opts := Options{Tables: schema, RetentionInterval: -1}
	row := [][]any{{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), int64(1)}}
	count := func(s Store) int64 {
		t.Helper()
		res, err := s.Query(ctx, "T | count")
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows[0][0].(int64)
	}

	t.Run("duckdb", func(t *testing.T) {
		s, err := OpenDuckDB(ctx, t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Append(ctx, "T", row); err != nil {
			t.Fatal(err)
		}
		plan := &kql.Plan{SQL: `DELETE FROM "T" RETURNING "N"`, Columns: []kql.Column{{Name: "N", Type: kql.TypeLong}}}
		if _, err := s.run(ctx, plan); err != nil {
			t.Fatal(err)
		}
		if n := count(s); n != 1 {
			t.Fatalf("%d rows after a deleting statement ran as a query, want 1", n)
		}
	})
	t.Run("clickhouse", func(t *testing.T) {
		s, err := OpenClickHouse(ctx, storetest.ClickHouse(t).Database(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Append(ctx, "T", row); err != nil {
			t.Fatal(err)
		}
		err = s.conn.Exec(readOnly(ctx), `INSERT INTO "T" ("TimeGenerated", "N") VALUES (now(), 2)`)
		if err == nil || !strings.Contains(err.Error(), "readonly") {
			t.Fatalf("an INSERT under the query settings: got %v, want a readonly refusal", err)
		}
		if err := s.conn.Exec(readOnly(ctx), `DROP TABLE "T"`); err == nil {
			t.Fatal("a DROP ran under the query settings")
		}
		if n := count(s); n != 1 {
			t.Fatalf("%d rows, want 1", n)
		}
	})
}
