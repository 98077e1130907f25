//go:build noduckdb

package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoDuckDB is what OpenDuckDB answers in a binary built with the tag noduckdb:
// tugboat's controller image leaves DuckDB (a cgo library of some 60 MB) out, and
// reaches a store over ClickHouse or not at all
// (docs/design/2026-12-06-images.md).
var ErrNoDuckDB = errors.New("this tugboat binary was built without DuckDB (build tag noduckdb): use a ClickHouse store (--clickhouse / --clickhouse-dsn) or the full tugboat binary")

// DuckDB stands for the embedded engine in a binary without it; OpenDuckDB never
// returns one.
type DuckDB struct{ Store }

// OpenDuckDB fails with ErrNoDuckDB: this binary has no DuckDB.
func OpenDuckDB(_ context.Context, dir string, _ Options) (*DuckDB, error) {
	return nil, fmt.Errorf("failed to open the DuckDB store in %q: %w", dir, ErrNoDuckDB)
}
