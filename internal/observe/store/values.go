package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// checkRows converts every row of an Append call to the canonical Go value
// of its column type before anything is written, so that a bad value
// rejects the whole call and nothing of it is stored. Canonical values:
// string, int64, float64, bool, time.Time (UTC), time.Duration, and for
// dynamic the JSON text (a string; a JSONText is kept as it is) — nil for
// null; strings are never null (Kusto has no null string), so nil becomes "".
//
// It runs on every ingested line, so it allocates little: the converted
// rows share one backing slice, and a value that is already canonical is
// kept in its interface instead of being boxed again.
func checkRows(table string, cols []kql.Column, rows [][]any) ([][]any, error) {
	out := make([][]any, len(rows))
	n := len(cols)
	backing := make([]any, len(rows)*n)
	var c converter
	for i, row := range rows {
		if len(row) != n {
			return nil, badRow(fmt.Errorf("failed to append to table %s: row %d has %d values, the table has %d columns", table, i, len(row), n))
		}
		conv := backing[i*n : (i+1)*n : (i+1)*n]
		for j, v := range row {
			x, err := c.toColumn(cols[j].Type, v)
			if err != nil {
				return nil, badRow(fmt.Errorf("failed to append to table %s: row %d, column %s (%s): %w", table, i, cols[j].Name, cols[j].Type, err))
			}
			if j == 0 && x == nil && cols[0].Type == kql.TypeDatetime {
				return nil, badRow(fmt.Errorf("failed to append to table %s: row %d, column %s: must not be null", table, i, cols[j].Name))
			}
			conv[j] = x
		}
		out[i] = conv
	}
	return out, nil
}

// converter turns values into their column's canonical value; it keeps a
// JSON encoder's buffers across the values of one Append call.
type converter struct {
	json jsonEncoder
}

// emptyString is "" in an interface, without boxing it for every null.
var emptyString any = ""

func (c *converter) toColumn(t kql.Type, v any) (any, error) {
	if v == nil {
		if t == kql.TypeString || t == kql.TypeGUID {
			return emptyString, nil
		}
		return nil, nil
	}
	switch t {
	case kql.TypeString, kql.TypeGUID:
		if _, ok := v.(string); ok {
			return v, nil
		}
	case kql.TypeLong, kql.TypeInt:
		var n int64
		switch x := v.(type) {
		case int64:
			if t == kql.TypeLong {
				return v, nil
			}
			n = x
		case int:
			n = int64(x)
		case int32:
			n = int64(x)
		case int16:
			n = int64(x)
		case int8:
			n = int64(x)
		case uint32:
			n = int64(x)
		case uint16:
			n = int64(x)
		case uint8:
			n = int64(x)
		default:
			return nil, fmt.Errorf("want an integer, got %T", v)
		}
		if t == kql.TypeInt && (n < math.MinInt32 || n > math.MaxInt32) {
			return nil, fmt.Errorf("%d does not fit an int", n)
		}
		if _, ok := v.(int64); ok {
			return v, nil
		}
		return n, nil
	case kql.TypeReal:
		switch x := v.(type) {
		case float64:
			return v, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case int32:
			return float64(x), nil
		}
	case kql.TypeBool:
		if _, ok := v.(bool); ok {
			return v, nil
		}
	case kql.TypeDatetime:
		if tm, ok := v.(time.Time); ok {
			if tm.Location() == time.UTC {
				return v, nil
			}
			return tm.UTC(), nil
		}
	case kql.TypeTimespan:
		if _, ok := v.(time.Duration); ok {
			return v, nil
		}
	case kql.TypeDynamic:
		if t, ok := v.(JSONText); ok {
			return string(t), nil
		}
		if r, ok := v.(json.RawMessage); ok {
			// Compact, so that ClickHouse's text-based JSON functions see
			// one spelling of every value.
			var b bytes.Buffer
			if err := json.Compact(&b, r); err != nil {
				return nil, fmt.Errorf("invalid JSON %q: %w", r, err)
			}
			return b.String(), nil
		}
		s, err := c.json.encode(v)
		if err != nil {
			return nil, fmt.Errorf("failed to encode JSON: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("want a %s value, got %T", t, v)
}

// normalize turns what an engine returned into the canonical result value
// of the KQL type (see Result).
func normalize(t kql.Type, v any) (any, error) {
	if v == nil {
		if t == kql.TypeString || t == kql.TypeGUID {
			return "", nil
		}
		return nil, nil
	}
	switch t {
	case kql.TypeString, kql.TypeGUID:
		switch v := v.(type) {
		case string:
			return v, nil
		case []byte:
			return string(v), nil
		}
	case kql.TypeLong, kql.TypeInt, kql.TypeTimespan:
		var n int64
		switch v := v.(type) {
		case int64:
			n = v
		case int32:
			n = int64(v)
		case int16:
			n = int64(v)
		case int8:
			n = int64(v)
		case uint64:
			n = int64(v)
		case uint32:
			n = int64(v)
		case uint16:
			n = int64(v)
		case uint8:
			n = int64(v)
		case int:
			n = int64(v)
		case float64:
			if t == kql.TypeTimespan {
				// ClickHouse keeps timespans as (possibly fractional) seconds.
				return time.Duration(math.Round(v * float64(time.Second))), nil
			}
			n = int64(v)
		case time.Duration:
			return v, nil
		case interface{ Int64() int64 }: // *big.Int from a DuckDB HUGEINT
			n = v.Int64()
		default:
			return nil, fmt.Errorf("unexpected %T for a %s column", v, t)
		}
		if t == kql.TypeTimespan {
			return time.Duration(n) * time.Second, nil
		}
		return n, nil
	case kql.TypeReal:
		switch v := v.(type) {
		case float64:
			return v, nil
		case float32:
			return float64(v), nil
		case int64:
			return float64(v), nil
		case int32:
			return float64(v), nil
		case uint64:
			return float64(v), nil
		case uint32:
			return float64(v), nil
		case interface{ Float64() (float64, int) }: // *big.Float
			f, _ := v.Float64()
			return f, nil
		}
	case kql.TypeBool:
		switch v := v.(type) {
		case bool:
			return v, nil
		case uint8:
			return v != 0, nil
		case int64:
			return v != 0, nil
		case int32:
			return v != 0, nil
		}
	case kql.TypeDatetime:
		if tm, ok := v.(time.Time); ok {
			return tm.UTC(), nil
		}
	case kql.TypeDynamic:
		switch v := v.(type) {
		case string:
			return decodeJSON(v), nil
		case []byte:
			return decodeJSON(string(v)), nil
		default:
			// DuckDB decodes JSON itself.
			return v, nil
		}
	}
	return nil, fmt.Errorf("unexpected %T for a %s column", v, t)
}

// decodeJSON parses JSON text; text that is not JSON is kept as a string,
// which is how Kusto shows a dynamic string.
func decodeJSON(s string) any {
	if s == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	return v
}

// JSONValue returns v (a normalised result value of type t) in the form the
// HTTP API and `tugboat query -o json` use: datetimes as RFC 3339 text,
// timespans in Kusto's [-][d.]hh:mm:ss[.fffffff] form, non-finite reals as
// the strings "NaN", "Infinity" and "-Infinity", the rest as JSON values.
func JSONValue(t kql.Type, v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return FormatTimespan(v)
	case float64:
		switch {
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 1):
			return "Infinity"
		case math.IsInf(v, -1):
			return "-Infinity"
		}
	}
	return v
}

// FormatValue renders a value as text for tables and CSV: strings as they
// are, dynamic values as compact JSON, null as empty.
func FormatValue(t kql.Type, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		// A dynamic string prints as its text, as Kusto shows it.
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return FormatTimespan(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// FormatTimespan writes a duration as Kusto does: [-][d.]hh:mm:ss[.fffffff].
func FormatTimespan(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		fmt.Fprintf(&b, "%d.", days)
	}
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	s := d / time.Second
	d -= s * time.Second
	fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
	if d > 0 {
		fmt.Fprintf(&b, ".%07d", d/100)
	}
	return b.String()
}

// FormatRows renders a result as text, one tab-separated line per row after
// a header of name:type — compact enough for test failures and logs.
func FormatRows(r *Result) string {
	var b strings.Builder
	for i, c := range r.Columns {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(c.Name + ":" + c.Type.String())
	}
	b.WriteByte('\n')
	for _, row := range r.Rows {
		for i, v := range row {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(FormatValue(r.Columns[i].Type, v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
