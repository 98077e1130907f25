package kql

import (
	"bytes"
	"encoding/json"
	"strings"
)

// bag_remove_keys removes top-level keys and, for keys starting with $,
// the property a JSON path names ($.a.b or $['a']['b']), as Kusto
// documents. It runs in Go inside DuckDB, where the key order of the bag
// is kept; ClickHouse 18.16 refuses it.

// jsonPath splits $.a.b or $['a'].b into its property names; ok is false
// for paths with array indexes or wildcards, which remove nothing.
func jsonPath(p string) ([]string, bool) {
	rest := strings.TrimPrefix(p, "$")
	var out []string
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "['") || strings.HasPrefix(rest, `["`):
			q := rest[1]
			end := strings.IndexByte(rest[2:], q)
			if end < 0 || len(rest) < end+4 || rest[end+3] != ']' {
				return nil, false
			}
			out = append(out, rest[2:2+end])
			rest = rest[end+4:]
		case rest[0] == '.':
			rest = rest[1:]
			n := strings.IndexAny(rest, ".[")
			if n < 0 {
				n = len(rest)
			}
			if n == 0 || rest[:n] == "*" {
				return nil, false
			}
			out = append(out, rest[:n])
			rest = rest[n:]
		default:
			return nil, false
		}
	}
	return out, len(out) > 0
}

// removePath deletes the property at path from an ordered object.
func removePath(v any, path []string) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if len(path) == 1 {
		if _, ok := m[path[0]]; ok {
			delete(m, path[0])
			order := m["\x00order"].([]string)
			kept := order[:0:0]
			for _, k := range order {
				if k != path[0] {
					kept = append(kept, k)
				}
			}
			m["\x00order"] = kept
		}
		return
	}
	removePath(m[path[0]], path[1:])
}

// writeOrdered writes a value read by decodeOrdered.
func writeOrdered(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		for i, k := range x["\x00order"].([]string) {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeOrdered(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeOrdered(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		b.WriteString(x.String())
	default:
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}

func bagRemoveKeys(bag, keys string) (any, error) {
	d := json.NewDecoder(strings.NewReader(bag))
	d.UseNumber()
	v, err := decodeOrdered(d, 0)
	if err != nil {
		return nil, nil
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, nil
	}
	var ks []any
	_ = json.Unmarshal([]byte(keys), &ks)
	for i, k := range ks {
		if i >= maxNetList {
			break
		}
		s, ok := k.(string)
		if !ok {
			continue
		}
		if strings.HasPrefix(s, "$") {
			if path, ok := jsonPath(s); ok {
				removePath(v, path)
			}
			continue
		}
		removePath(v, []string{s})
	}
	var b bytes.Buffer
	writeOrdered(&b, v)
	return b.String(), nil
}

var _ = registerGo(GoFunc{Name: "_tb_bag_remove_keys", Args: []Type{TypeDynamic, TypeDynamic}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	return bagRemoveKeys(a[0].(string), a[1].(string))
}})
