package kql_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// engineNow is now() in every engine test.
var engineNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The engine test language, one file per area under testdata/engine:
//
//	# a comment
//	load Table [Name:type ...]     columns may be left out for the store's own tables
//	{"Name": value, ...}           a row as an object (missing columns are null) ...
//	[value, ...]                   ... or as an array in column order
//
//	query
//	KQL, on as many lines as needed
//	expect [ordered] [duckdb|clickhouse]
//	Name:type Name:type ...        the result's columns
//	[value, ...]                   the rows; unordered unless "ordered"
//
//	expect error [duckdb|clickhouse]: text the error must contain
//
// Values are JSON: datetimes as RFC 3339 strings, timespans as Kusto's
// [d.]hh:mm:ss text (Go duration text such as "90s" in load), dynamic as
// any JSON. Reals compare with a relative tolerance of 1e-9. An expect line
// naming an engine applies to it only; every engine needs exactly one.
type engineFile struct {
	loads   []engineLoad
	queries []engineQuery
}

type engineLoad struct {
	line  int
	table string
	rows  [][]any
}

type engineQuery struct {
	line    int
	kql     string
	expects []engineExpect
}

type engineExpect struct {
	line    int
	engines []string // empty: all
	ordered bool
	err     string
	isErr   bool
	columns []kql.Column
	rows    []string // JSON arrays as written
}

func TestEngine(t *testing.T) {
	files, err := filepath.Glob("testdata/engine/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no engine tests found: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			ef, schema, err := parseEngineFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, engine := range []string{"duckdb", "clickhouse"} {
				t.Run(engine, func(t *testing.T) {
					s := openEngine(t, engine, schema)
					ctx := context.Background()
					for _, l := range ef.loads {
						if err := s.Append(ctx, l.table, l.rows); err != nil {
							t.Fatalf("%s:%d: %v", file, l.line, err)
						}
					}
					for _, q := range ef.queries {
						runEngineQuery(t, file, engine, s, q)
					}
				})
			}
		})
	}
}

func openEngine(t *testing.T, engine string, schema kql.Schema) store.Store {
	t.Helper()
	opts := store.Options{Tables: schema, RetentionInterval: -1, Now: func() time.Time { return engineNow }}
	var s store.Store
	var err error
	if engine == "duckdb" {
		s, err = store.OpenDuckDB(context.Background(), "", opts)
	} else {
		s, err = store.OpenClickHouse(context.Background(), storetest.ClickHouse(t).Database(t), opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func runEngineQuery(t *testing.T, file, engine string, s store.Store, q engineQuery) {
	t.Helper()
	var exp *engineExpect
	for i := range q.expects {
		e := &q.expects[i]
		if len(e.engines) == 0 || contains(e.engines, engine) {
			if exp != nil {
				t.Errorf("%s:%d: two expectations for %s", file, e.line, engine)
				return
			}
			exp = e
		}
	}
	if exp == nil {
		t.Errorf("%s:%d: no expectation for %s", file, q.line, engine)
		return
	}
	where := fmt.Sprintf("%s:%d (%s)", file, q.line, engine)
	res, err := s.Query(context.Background(), q.kql)
	if exp.isErr {
		if err == nil {
			t.Errorf("%s: got no error, want one containing %q\n%s", where, exp.err, store.FormatRows(res))
		} else if !strings.Contains(err.Error(), exp.err) {
			t.Errorf("%s: got error %q, want one containing %q", where, err, exp.err)
		}
		return
	}
	if err != nil {
		var qe *store.QueryError
		if ok := asQueryError(err, &qe); ok {
			t.Errorf("%s: %s", where, qe.Format())
		} else {
			t.Errorf("%s: %v", where, err)
		}
		return
	}
	if !reflect.DeepEqual(res.Columns, exp.columns) {
		t.Errorf("%s: columns %s, want %s", where, columnSpec(res.Columns), columnSpec(exp.columns))
		return
	}
	got := make([][]any, len(res.Rows))
	for i, row := range res.Rows {
		got[i] = make([]any, len(row))
		for j, v := range row {
			got[i][j] = roundTrip(store.JSONValue(res.Columns[j].Type, v))
		}
	}
	want := make([][]any, len(exp.rows))
	for i, r := range exp.rows {
		if err := json.Unmarshal([]byte(r), &want[i]); err != nil {
			t.Fatalf("%s: bad expected row %s: %v", where, r, err)
		}
	}
	if !exp.ordered {
		sortRows(got)
		sortRows(want)
	}
	if !rowsEqual(got, want) {
		t.Errorf("%s: query\n%s\ngot rows\n%s\nwant\n%s", where, q.kql, rowsText(got), rowsText(want))
	}
}

func asQueryError(err error, qe **store.QueryError) bool {
	e, ok := err.(*store.QueryError) //nolint:errorlint // Query returns it unwrapped
	if ok {
		*qe = e
	}
	return ok
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func columnSpec(cols []kql.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + ":" + c.Type.String()
	}
	return strings.Join(parts, " ")
}

// roundTrip passes a value through JSON so that it compares with what the
// test file wrote.
func roundTrip(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func rowsText(rows [][]any) string {
	var b strings.Builder
	for _, r := range rows {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func sortRows(rows [][]any) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, _ := json.Marshal(rows[i])
		b, _ := json.Marshal(rows[j])
		return string(a) < string(b)
	})
}

func rowsEqual(a, b [][]any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !valueEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func valueEqual(a, b any) bool {
	switch a := a.(type) {
	case float64:
		bf, ok := b.(float64)
		if !ok {
			return false
		}
		if a == bf {
			return true
		}
		return math.Abs(a-bf) <= 1e-9*math.Max(math.Abs(a), math.Abs(bf))
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if !valueEqual(a[i], bl[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			if !valueEqual(v, bm[k]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// parseEngineFile reads a test file and the schema its loads need.
func parseEngineFile(file string) (*engineFile, kql.Schema, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	known := store.Tables()
	schema := kql.Schema{}
	ef := &engineFile{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lineNo := 0
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	next := func() (string, bool) {
		if lineNo >= len(lines) {
			return "", false
		}
		lineNo++
		return lines[lineNo-1], true
	}
	peek := func() string {
		if lineNo >= len(lines) {
			return ""
		}
		return lines[lineNo]
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, lineNo, fmt.Sprintf(format, args...))
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(trimmed, "load "):
			fields := strings.Fields(trimmed)
			table := fields[1]
			cols := schema[table]
			if len(fields) > 2 {
				cols = nil
				for _, spec := range fields[2:] {
					name, typ, _ := strings.Cut(spec, ":")
					tt, ok := kql.ParseType(typ)
					if !ok {
						return nil, nil, bad("bad column %q", spec)
					}
					cols = append(cols, kql.Column{Name: name, Type: tt})
				}
			} else if cols == nil {
				cols = known[table]
			}
			if cols == nil {
				return nil, nil, bad("table %s needs its columns", table)
			}
			schema[table] = cols
			l := engineLoad{line: lineNo, table: table}
			for strings.TrimSpace(peek()) != "" {
				row, _ := next()
				r, err := loadRow(strings.TrimSpace(row), cols)
				if err != nil {
					return nil, nil, bad("%v", err)
				}
				l.rows = append(l.rows, r)
			}
			ef.loads = append(ef.loads, l)
		case trimmed == "query":
			q := engineQuery{line: lineNo + 1}
			var text []string
			for !strings.HasPrefix(strings.TrimSpace(peek()), "expect") {
				l, ok := next()
				if !ok {
					return nil, nil, bad("query without expect")
				}
				text = append(text, l)
			}
			q.kql = strings.TrimSpace(strings.Join(text, "\n"))
			for strings.HasPrefix(strings.TrimSpace(peek()), "expect") {
				l, _ := next()
				e, err := parseExpect(strings.TrimSpace(l))
				if err != nil {
					return nil, nil, bad("%v", err)
				}
				e.line = lineNo
				if !e.isErr {
					header, _ := next()
					for _, spec := range strings.Fields(header) {
						name, typ, _ := strings.Cut(spec, ":")
						tt, ok := kql.ParseType(typ)
						if !ok {
							return nil, nil, bad("bad column %q in the expected header", spec)
						}
						e.columns = append(e.columns, kql.Column{Name: name, Type: tt})
					}
					for p := strings.TrimSpace(peek()); p != "" && !strings.HasPrefix(p, "expect"); p = strings.TrimSpace(peek()) {
						row, _ := next()
						e.rows = append(e.rows, strings.TrimSpace(row))
					}
				}
				q.expects = append(q.expects, e)
			}
			ef.queries = append(ef.queries, q)
		default:
			return nil, nil, bad("unexpected line %q", line)
		}
	}
	return ef, schema, nil
}

func parseExpect(line string) (engineExpect, error) {
	var e engineExpect
	head, msg, hasMsg := strings.Cut(line, ":")
	for _, w := range strings.Fields(head)[1:] {
		switch w {
		case "ordered":
			e.ordered = true
		case "error":
			e.isErr = true
		case "duckdb", "clickhouse":
			e.engines = append(e.engines, w)
		default:
			return e, fmt.Errorf("unknown word %q after expect", w)
		}
	}
	if e.isErr {
		if !hasMsg {
			return e, fmt.Errorf("expect error needs \": message\"")
		}
		e.err = strings.TrimSpace(msg)
	}
	return e, nil
}

// loadRow turns a JSON row into Go values of the columns' types.
func loadRow(text string, cols []kql.Column) ([]any, error) {
	var raw []json.RawMessage
	if strings.HasPrefix(text, "{") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &obj); err != nil {
			return nil, err
		}
		raw = make([]json.RawMessage, len(cols))
		for i, c := range cols {
			raw[i] = obj[c.Name]
			delete(obj, c.Name)
		}
		for k := range obj {
			return nil, fmt.Errorf("no column %s", k)
		}
	} else if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, err
	}
	if len(raw) != len(cols) {
		return nil, fmt.Errorf("%d values for %d columns", len(raw), len(cols))
	}
	row := make([]any, len(cols))
	for i, c := range cols {
		if raw[i] == nil || string(raw[i]) == "null" {
			continue
		}
		var err error
		switch c.Type {
		case kql.TypeString, kql.TypeGUID:
			var s string
			err = json.Unmarshal(raw[i], &s)
			row[i] = s
		case kql.TypeLong, kql.TypeInt:
			var n int64
			err = json.Unmarshal(raw[i], &n)
			row[i] = n
		case kql.TypeReal:
			var f float64
			err = json.Unmarshal(raw[i], &f)
			row[i] = f
		case kql.TypeBool:
			var b bool
			err = json.Unmarshal(raw[i], &b)
			row[i] = b
		case kql.TypeDatetime:
			var s string
			if err = json.Unmarshal(raw[i], &s); err == nil {
				row[i], err = time.Parse(time.RFC3339Nano, s)
			}
		case kql.TypeTimespan:
			var s string
			if err = json.Unmarshal(raw[i], &s); err == nil {
				row[i], err = time.ParseDuration(s)
			}
		case kql.TypeDynamic:
			row[i] = raw[i]
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return row, nil
}
