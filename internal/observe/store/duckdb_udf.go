//go:build !noduckdb

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// registerGoFunctions registers the KQL functions DuckDB runs in Go
// (kql.GoFunctions). DuckDB keeps scalar functions in its system catalog,
// so registering them on one connection makes them visible on all.
func registerGoFunctions(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("failed to open a connection to register functions: %w", err)
	}
	defer conn.Close()
	for _, f := range kql.GoFunctions() {
		udf, err := newGoUDF(f)
		if err != nil {
			return err
		}
		if err := duckdb.RegisterScalarUDF(conn, f.Name, udf); err != nil {
			return fmt.Errorf("failed to register function %s: %w", f.Name, err)
		}
	}
	return nil
}

type goUDF struct {
	config duckdb.ScalarFuncConfig
	fn     func([]any) (any, error)
}

func (u *goUDF) Config() duckdb.ScalarFuncConfig { return u.config }

func (u *goUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		args := make([]any, len(values))
		for i, v := range values {
			if v == nil {
				return nil, nil
			}
			args[i] = v
		}
		return u.fn(args)
	}}
}

func newGoUDF(f kql.GoFunc) (*goUDF, error) {
	in := make([]duckdb.TypeInfo, len(f.Args))
	for i, t := range f.Args {
		ti, err := duckdb.NewTypeInfo(udfType(t))
		if err != nil {
			return nil, fmt.Errorf("failed to declare argument %d of function %s: %w", i+1, f.Name, err)
		}
		in[i] = ti
	}
	out, err := duckdb.NewTypeInfo(udfType(f.Result))
	if err != nil {
		return nil, fmt.Errorf("failed to declare the result of function %s: %w", f.Name, err)
	}
	return &goUDF{config: duckdb.ScalarFuncConfig{InputTypeInfos: in, ResultTypeInfo: out}, fn: f.Fn}, nil
}

func udfType(t kql.Type) duckdb.Type {
	switch t {
	case kql.TypeLong:
		return duckdb.TYPE_BIGINT
	case kql.TypeInt:
		return duckdb.TYPE_INTEGER
	case kql.TypeReal:
		return duckdb.TYPE_DOUBLE
	case kql.TypeBool:
		return duckdb.TYPE_BOOLEAN
	case kql.TypeDatetime:
		return duckdb.TYPE_TIMESTAMP
	}
	return duckdb.TYPE_VARCHAR
}
