package kql

import (
	"errors"
	"testing"
)

// fuzzCompile compiles fuzzed queries that parse: planning must never fail
// with an internal error, and every plan must satisfy the invariants.
func fuzzCompile(t *testing.T, query string) {
	for _, d := range []Dialect{DuckDB, ClickHouse} {
		p, err := compileTest(query, d)
		if err != nil {
			if errors.Is(err, ErrInternal) {
				t.Fatalf("Compile(%q) on %s: %v", query, d, err)
			}
			continue
		}
		checkPlanInvariants(t, p)
	}
}
