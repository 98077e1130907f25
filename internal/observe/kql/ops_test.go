package kql

import (
	"errors"
	"testing"
)

// TestOperatorErrors covers the misuse of make-series, evaluate plugins,
// the series_* functions and the other operators added for Kusto's
// documentation examples: each error names what is wrong and where.
func TestOperatorErrors(t *testing.T) {
	tests := map[string]struct {
		query string
		want  string
	}{
		"a series function over two numbers": {
			query: "Perf | extend s = series_add(CounterValue, 1)",
			want:  "1:19: series_add needs at least one dynamic array; for two numbers use the arithmetic operators",
		},
		"a series function over a string": {
			query: `Perf | extend s = series_add(dynamic([1]), Computer)`,
			want:  "1:44: argument 2 of series_add must be a dynamic array or a number, but it is string",
		},
	}
	schema := testSchema()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := CompileWithOptions(tc.query, schema, Options{Dialect: DuckDB, Now: testNow})
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
