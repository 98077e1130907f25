package store_test

import (
	"context"
	"testing"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// A release that adds a column at the end of a table (TugboatReconciliations'
// OperationId) must open a store made by the release before, on both engines.
func TestAStoreOfAnOlderReleaseGetsTheColumnsAddedSince(t *testing.T) {
	older := kql.Schema{"T": {{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "A", Type: kql.TypeString}}}
	newer := kql.Schema{"T": append(append([]kql.Column{}, older["T"]...), kql.Column{Name: "B", Type: kql.TypeString}, kql.Column{Name: "N", Type: kql.TypeLong})}
	dir := t.TempDir()
	dsn := storetest.ClickHouse(t).Database(t)
	open := map[string]func(kql.Schema) (store.Store, error){
		"duckdb": func(s kql.Schema) (store.Store, error) {
			return store.OpenDuckDB(context.Background(), dir, store.Options{Tables: s, RetentionInterval: -1})
		},
		"clickhouse": func(s kql.Schema) (store.Store, error) {
			return store.OpenClickHouse(context.Background(), dsn, store.Options{Tables: s, RetentionInterval: -1})
		},
	}
	for name, open := range open {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := open(older)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Append(ctx, "T", [][]any{{t0, "old"}}); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			s, err = open(newer)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Append(ctx, "T", [][]any{{t0, "new", "b", int64(7)}}); err != nil {
				t.Fatal(err)
			}
			res, err := s.Query(ctx, `T | sort by A desc | project A, B, N`)
			if err != nil {
				t.Fatal(err)
			}
			want := &store.Result{Columns: res.Columns, Rows: [][]any{{"old", "", nil}, {"new", "b", int64(7)}}}
			if got := store.FormatRows(res); got != store.FormatRows(want) {
				t.Fatalf("got\n%s\nwant\n%s", got, store.FormatRows(want))
			}
		})
	}
}
