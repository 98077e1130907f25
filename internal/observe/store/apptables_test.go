package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// appRow fills a row of an Application Insights table by column name, the
// other columns null, so the test does not depend on the column order.
func appRow(table string, vals map[string]any) []any {
	cols := store.Tables()[table]
	row := make([]any, len(cols))
	for i, c := range cols {
		row[i] = vals[c.Name]
	}
	return row
}

func TestTheApplicationInsightsTablesKeepRowsOnBothEnginesWithTheDefaultRetention(t *testing.T) {
	now := t0.Add(40 * 24 * time.Hour)
	opts := store.Options{RetentionInterval: -1, Now: func() time.Time { return now }}
	ctx := context.Background()
	duck, err := store.OpenDuckDB(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	ch, err := store.OpenClickHouse(ctx, storetest.ClickHouse(t).Database(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	tables := map[string]struct {
		vals  map[string]any
		query string
		want  string
	}{
		"a request keeps its success, result code and duration": {
			vals: map[string]any{"Id": "00f067aa0ba902b7", "Name": "GET /users/{id}", "Success": false,
				"ResultCode": "500", "DurationMs": 12.5, "AppRoleName": "frontend"},
			query: "AppRequests | project Name, Success, ResultCode, DurationMs, AppRoleName",
			want:  "GET /users/{id} false 500 12.5 frontend",
		},
		"a dependency keeps its type, target and data": {
			vals: map[string]any{"Id": "00f067aa0ba902b8", "DependencyType": "postgresql", "Target": "db:5433|shop",
				"Data": "SELECT 1", "Success": true},
			query: "AppDependencies | project DependencyType, Target, Data, Success",
			want:  "postgresql db:5433|shop SELECT 1 true",
		},
		"an exception keeps its type, message and details": {
			vals: map[string]any{"ExceptionType": "*errors.errorString", "OuterMessage": "boom",
				"Details": []any{map[string]any{"message": "boom"}}, "SeverityLevel": int64(3)},
			query: "AppExceptions | project ExceptionType, OuterMessage, D = tostring(Details), SeverityLevel",
			want:  `*errors.errorString boom [{"message":"boom"}] 3`,
		},
		"a trace keeps its message, severity and properties": {
			vals: map[string]any{"Message": "listening", "SeverityLevel": int64(1),
				"Properties": map[string]any{"k8s.pod.name": "web-1"}},
			query: `AppTraces | project Message, SeverityLevel, Pod = tostring(Properties["k8s.pod.name"])`,
			want:  "listening 1 web-1",
		},
	}
	for engine, s := range map[string]interface {
		store.Store
		ApplyRetention(context.Context) error
	}{"duckdb": duck, "clickhouse": ch} {
		for name, tc := range tables {
			t.Run(engine+"/"+name, func(t *testing.T) {
				table, _, _ := strings.Cut(tc.query, " ")
				// One row a day old, one past the default retention of 30 days.
				for _, age := range []time.Duration{24 * time.Hour, 35 * 24 * time.Hour} {
					vals := map[string]any{"TimeGenerated": now.Add(-age), "OperationId": "4bf92f3577b34da6a3ce929d0e0e4736"}
					for k, v := range tc.vals {
						vals[k] = v
					}
					if err := s.Append(ctx, table, [][]any{appRow(table, vals)}); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.ApplyRetention(ctx); err != nil {
					t.Fatal(err)
				}
				res, err := s.Query(ctx, tc.query)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Rows) != 1 {
					t.Fatalf("%s has %d rows after retention, want 1", table, len(res.Rows))
				}
				got := strings.TrimSuffix(fmt.Sprintln(res.Rows[0]...), "\n")
				if got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
	}
}
