package kql

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Dialect is the SQL engine a plan targets.
type Dialect uint8

// The supported engines. Their representations of KQL types differ:
//
//	KQL       DuckDB      ClickHouse 18.16
//	string    VARCHAR     String
//	long      BIGINT      Int64
//	int       INTEGER     Int32
//	real      DOUBLE      Float64
//	bool      BOOLEAN     UInt8
//	datetime  TIMESTAMP   DateTime (UTC, whole seconds)
//	timespan  INTERVAL    Int64 or Float64 seconds
//	dynamic   JSON        String holding JSON text
//	guid      VARCHAR     String
const (
	DuckDB Dialect = iota + 1
	ClickHouse
)

func (d Dialect) String() string {
	switch d {
	case DuckDB:
		return "duckdb"
	case ClickHouse:
		return "clickhouse"
	}
	return "unknown"
}

// sqlType is the column type used for casts and typed nulls.
func (d Dialect) sqlType(t Type) string {
	if d == ClickHouse {
		switch t {
		case TypeLong, TypeTimespan:
			return "Int64"
		case TypeInt:
			return "Int32"
		case TypeReal:
			return "Float64"
		case TypeBool:
			return "UInt8"
		case TypeDatetime:
			return "DateTime"
		}
		return "String"
	}
	switch t {
	case TypeLong:
		return "BIGINT"
	case TypeInt:
		return "INTEGER"
	case TypeReal:
		return "DOUBLE"
	case TypeBool:
		return "BOOLEAN"
	case TypeDatetime:
		return "TIMESTAMP"
	case TypeTimespan:
		return "INTERVAL"
	case TypeDynamic:
		return "JSON"
	}
	return "VARCHAR"
}

// nullOf is a typed NULL.
func (d Dialect) nullOf(t Type) string {
	if d == ClickHouse {
		return "CAST(NULL AS Nullable(" + d.sqlType(t) + "))"
	}
	return "CAST(NULL AS " + d.sqlType(t) + ")"
}

// unionColumn is column x of type t as one branch of a UNION ALL gives it.
// ClickHouse 18.16 types a union column as the common supertype of its
// branches but passes each branch's blocks on unconverted, so a branch
// whose column is not Nullable under a Nullable header (a table's first
// column beside a null-padded one, say) fails in the first function or
// WHERE that reads it: "Illegal column for DataTypeNullable". Every branch
// therefore gives the same nullability: Nullable for scalars, and plain
// String for the string-held types, whose absent value ClickHouse tables
// keep as the empty string (read back as "" or a dynamic null, as
// DuckDB's NULL is) and which must stay non-Nullable for functions that
// return arrays, such as splitByString behind split().
func (d Dialect) unionColumn(x string, t Type) string {
	if d != ClickHouse {
		return x
	}
	if stringHeld(t) {
		return "ifNull(" + x + ", '')"
	}
	return "toNullable(" + x + ")"
}

// unionNull is the value of a column that a branch of a union lacks. A
// Kusto string is never null, so a missing one is "" on both engines (and
// w == "", strlen(w) and split(w, ",") agree with Kusto's); ClickHouse
// pads its other string-held types with the empty string too, see
// unionColumn.
func (d Dialect) unionNull(t Type) string {
	if t == TypeString || d == ClickHouse && stringHeld(t) {
		return "''"
	}
	return d.nullOf(t)
}

// stringHeld reports whether ClickHouse keeps a type as a plain String
// (never Nullable in a table).
func stringHeld(t Type) bool {
	return t == TypeString || t == TypeGUID || t == TypeDynamic
}

// literal turns a KQL constant into a bound parameter, wrapped so that the
// engine sees the right type. Values never appear in the SQL text.
func (d Dialect) literal(v any, t Type) frag {
	if v == nil {
		return raw(d.nullOf(t))
	}
	switch v := v.(type) {
	case time.Time:
		if d == ClickHouse {
			return cat("toDateTime(", param(v.UTC().Format("2006-01-02 15:04:05")), ", 'UTC')")
		}
		return cat("CAST(", param(v.UTC().Format("2006-01-02 15:04:05.999999")), " AS TIMESTAMP)")
	case time.Duration:
		if d == ClickHouse {
			if v%time.Second == 0 {
				return param(int64(v / time.Second))
			}
			return param(v.Seconds())
		}
		return cat("to_microseconds(CAST(", param(int64(v/time.Microsecond)), " AS BIGINT))")
	case string:
		if t == TypeDynamic && d == DuckDB {
			return cat("CAST(", param(v), " AS JSON)")
		}
		return param(v)
	case int64:
		if t == TypeInt {
			return param(int64(int32(v)))
		}
		return param(v)
	}
	return param(v)
}

// inlineNumber formats a number that must appear in the SQL text because the
// engine requires a constant there (LIMIT, quantile levels, regexp groups).
// It is the only place a value is written into SQL: the output contains only
// digits, '.', 'e', '+' and '-', so it cannot break out of its position.
func inlineNumber(v float64) (string, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", fmt.Errorf("failed to inline number %v: not finite", v)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.FormatInt(int64(v), 10), nil
	}
	return strconv.FormatFloat(v, 'g', -1, 64), nil
}

// quoteIdent quotes a column or table name. Names are checked with safeIdent
// before they get here, so no escaping is needed; both engines accept
// double-quoted identifiers.
func quoteIdent(name string) string { return `"` + name + `"` }

// safeIdent reports whether name can be used as a SQL identifier as is:
// ASCII letters, digits and underscores, and not our reserved _tb_ prefix.
func safeIdent(name string) bool {
	if name == "" || len(name) > 128 || (len(name) >= 4 && name[:4] == "_tb_") {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
