package store

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// ReadFile reads rows for a table from a local file: JSON lines (.json,
// .jsonl, .ndjson: one object per line) or CSV (.csv: a header of column
// names, then rows). With known columns (a table of ours) values are
// converted to them and other names are errors; without, the columns are
// the names in order of first appearance and their types are inferred from
// the values. Errors name the file and line.
func ReadFile(path string, known []kql.Column) ([]kql.Column, [][]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	defer f.Close()
	var recs []record
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json", ".jsonl", ".ndjson":
		recs, err = readJSONLines(path, f)
	case ".csv":
		recs, err = readCSV(path, f)
	default:
		return nil, nil, fmt.Errorf("failed to read %s: unknown extension %q; use .json, .jsonl, .ndjson or .csv", path, ext)
	}
	if err != nil {
		return nil, nil, err
	}
	cols := known
	if cols == nil {
		cols = inferColumns(recs)
	}
	index := map[string]int{}
	for i, c := range cols {
		index[c.Name] = i
	}
	rows := make([][]any, 0, len(recs))
	for _, r := range recs {
		row := make([]any, len(cols))
		for name, v := range r.values {
			i, ok := index[name]
			if !ok {
				return nil, nil, fmt.Errorf("%s:%d: unknown column %s; the table's columns are %s", path, r.line, name, columnList(cols))
			}
			x, err := convertLoaded(cols[i].Type, v, r.csv)
			if err != nil {
				return nil, nil, fmt.Errorf("%s:%d: column %s (%s): %w", path, r.line, name, cols[i].Type, err)
			}
			row[i] = x
		}
		if timed(cols) && row[0] == nil {
			return nil, nil, fmt.Errorf("%s:%d: column %s is missing; every row needs it", path, r.line, cols[0].Name)
		}
		rows = append(rows, row)
	}
	return cols, rows, nil
}

// record is one row as read: column name → JSON value (json.Number,
// string, bool, map, slice) or, from CSV, a string cell; "" cells are absent.
type record struct {
	line   int
	order  []string
	values map[string]any
	csv    bool
}

func readJSONLines(path string, r io.Reader) ([]record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var out []record
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		tok, err := dec.Token()
		if err != nil || tok != json.Delim('{') {
			return nil, fmt.Errorf("%s:%d: want a JSON object per line", path, line)
		}
		rec := record{line: line, values: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%s:%d: invalid JSON: %w", path, line, err)
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("%s:%d: invalid JSON: %w", path, line, err)
			}
			name := k.(string)
			if _, dup := rec.values[name]; !dup {
				rec.order = append(rec.order, name)
			}
			if v != nil {
				rec.values[name] = v
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("%s:%d: invalid JSON: %w", path, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value on the line", path, line)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: failed to read: %w", path, line+1, err)
	}
	return out, nil
}

func readCSV(path string, r io.Reader) ([]record, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:1: failed to read the CSV header: %w", path, err)
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if header[i] == "" {
			return nil, fmt.Errorf("%s:1: column %d of the header has no name", path, i+1)
		}
	}
	var out []record
	for {
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %w", path, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rec := record{line: line, order: header, values: map[string]any{}, csv: true}
		for i, c := range cells {
			if c != "" {
				rec.values[header[i]] = c
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

func columnList(cols []kql.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// inferColumns picks, per name, the narrowest type that holds every value:
// bool, long, real, datetime (RFC 3339 text), string, else dynamic.
func inferColumns(recs []record) []kql.Column {
	var order []string
	seen := map[string]bool{}
	types := map[string]kql.Type{}
	for _, r := range recs {
		for _, name := range r.order {
			if !seen[name] {
				seen[name] = true
				order = append(order, name)
			}
			v, ok := r.values[name]
			if !ok {
				continue
			}
			types[name] = widen(types[name], typeOf(v, r.csv))
		}
	}
	cols := make([]kql.Column, len(order))
	for i, name := range order {
		t := types[name]
		if t == kql.TypeUnknown {
			t = kql.TypeString
		}
		cols[i] = kql.Column{Name: name, Type: t}
	}
	return cols
}

func typeOf(v any, fromCSV bool) kql.Type {
	switch v := v.(type) {
	case bool:
		return kql.TypeBool
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return kql.TypeLong
		}
		return kql.TypeReal
	case string:
		if fromCSV {
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				return kql.TypeLong
			}
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				return kql.TypeReal
			}
			if v == "true" || v == "false" {
				return kql.TypeBool
			}
		}
		if _, err := parseTime(v); err == nil {
			return kql.TypeDatetime
		}
		return kql.TypeString
	}
	return kql.TypeDynamic
}

func widen(a, b kql.Type) kql.Type {
	switch {
	case a == kql.TypeUnknown || a == b:
		return b
	case (a == kql.TypeLong && b == kql.TypeReal) || (a == kql.TypeReal && b == kql.TypeLong):
		return kql.TypeReal
	case (a == kql.TypeString && b == kql.TypeDatetime) || (a == kql.TypeDatetime && b == kql.TypeString):
		return kql.TypeString
	}
	return kql.TypeDynamic
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
}

// convertLoaded turns a JSON value or CSV cell into the column's Go value.
func convertLoaded(t kql.Type, v any, fromCSV bool) (any, error) {
	s, isString := v.(string)
	switch t {
	case kql.TypeString, kql.TypeGUID:
		if isString {
			return s, nil
		}
		if n, ok := v.(json.Number); ok {
			return n.String(), nil
		}
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
	case kql.TypeLong, kql.TypeInt:
		text := s
		if n, ok := v.(json.Number); ok {
			text = n.String()
		}
		if text != "" {
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer", text)
			}
			return n, nil
		}
	case kql.TypeReal:
		text := s
		if n, ok := v.(json.Number); ok {
			text = n.String()
		}
		if text != "" {
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", text)
			}
			return f, nil
		}
	case kql.TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if b, err := strconv.ParseBool(s); isString && err == nil {
			return b, nil
		}
	case kql.TypeDatetime:
		if isString {
			return parseTime(s)
		}
	case kql.TypeTimespan:
		if isString {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a duration such as 90s or 1h30m", s)
			}
			return d, nil
		}
	case kql.TypeDynamic:
		// A CSV cell holding a JSON object or array is that value; any
		// other cell, and a JSON string, is a dynamic string.
		if fromCSV && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid([]byte(s)) {
			return json.RawMessage(s), nil
		}
		return v, nil
	}
	return nil, fmt.Errorf("cannot use %s", describe(v))
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
