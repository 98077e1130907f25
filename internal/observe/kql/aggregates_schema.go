package kql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// buildschema is the minimal schema that admits all the dynamic values of
// a group, as Kusto documents it: a property bag maps each key to its
// schema, an array is {"`indexer`": schema of its elements}, a scalar is
// its type name (long, double, string, bool); a key whose values differ
// has the array of their schemas, in the order they first appear. DuckDB
// collects the group's values and Go merges them; ClickHouse 18.16 refuses
// it.

// schemaNode is the union of the shapes seen at one place.
type schemaNode struct {
	order   []string // "s:<type>", "o", "a": alternatives by first appearance
	scalars map[string]bool
	keys    []string
	fields  map[string]*schemaNode
	elems   *schemaNode
}

// maxSchemaDepth bounds the nesting buildschema follows.
const maxSchemaDepth = 64

func newSchemaNode() *schemaNode {
	return &schemaNode{scalars: map[string]bool{}, fields: map[string]*schemaNode{}}
}

func (n *schemaNode) add(v any, depth int) {
	if depth > maxSchemaDepth {
		return
	}
	switch x := v.(type) {
	case nil:
	case map[string]any:
		if len(n.keys) == 0 && !n.has("o") {
			n.order = append(n.order, "o")
		}
		// Keys in the order the text has them.
		for _, k := range x["\x00order"].([]string) {
			f, ok := n.fields[k]
			if !ok {
				f = newSchemaNode()
				n.fields[k] = f
				n.keys = append(n.keys, k)
			}
			f.add(x[k], depth+1)
		}
	case []any:
		if n.elems == nil {
			n.elems = newSchemaNode()
			n.order = append(n.order, "a")
		}
		for _, e := range x {
			n.elems.add(e, depth+1)
		}
	default:
		t := scalarSchemaType(x)
		if !n.scalars[t] {
			n.scalars[t] = true
			n.order = append(n.order, "s:"+t)
		}
	}
}

func (n *schemaNode) has(alt string) bool {
	for _, a := range n.order {
		if a == alt {
			return true
		}
	}
	return false
}

func scalarSchemaType(v any) string {
	switch x := v.(type) {
	case bool:
		return "bool"
	case string:
		return "string"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "double"
		}
		return "long"
	}
	return "string"
}

func (n *schemaNode) write(b *bytes.Buffer) {
	alts := n.order
	if len(alts) > 1 {
		b.WriteByte('[')
	}
	for i, a := range alts {
		if i > 0 {
			b.WriteByte(',')
		}
		switch a {
		case "o":
			b.WriteByte('{')
			for j, k := range n.keys {
				if j > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				n.fields[k].write(b)
			}
			b.WriteByte('}')
		case "a":
			b.WriteString("{\"`indexer`\":")
			n.elems.write(b)
			b.WriteByte('}')
		default:
			tb, _ := json.Marshal(a[2:])
			b.Write(tb)
		}
	}
	if len(alts) > 1 {
		b.WriteByte(']')
	}
	if len(alts) == 0 {
		b.WriteString("null")
	}
}

// decodeOrdered reads JSON keeping each object's key order under the key
// "\x00order", which no JSON text can hold.
func decodeOrdered(d *json.Decoder, depth int) (any, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("failed to read a dynamic value: deeper than %d", maxSchemaDepth)
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			var order []string
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeOrdered(d, depth+1)
				if err != nil {
					return nil, err
				}
				if _, dup := m[k]; !dup {
					order = append(order, k)
				}
				m[k] = v
			}
			_, err := d.Token()
			m["\x00order"] = order
			return m, err
		case '[':
			var l []any
			for d.More() {
				v, err := decodeOrdered(d, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := d.Token()
			return l, err
		}
	}
	return tok, nil
}

func buildSchema(values string) (any, error) {
	d := json.NewDecoder(strings.NewReader(values))
	d.UseNumber()
	v, err := decodeOrdered(d, 0)
	if err != nil {
		return nil, nil
	}
	list, _ := v.([]any)
	root := newSchemaNode()
	for _, x := range list {
		root.add(x, 0)
	}
	if len(root.order) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	root.write(&b)
	return b.String(), nil
}

var _ = registerGo(GoFunc{Name: "_tb_buildschema", Args: []Type{TypeDynamic}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	return buildSchema(a[0].(string))
}})

func init() {
	aggregates["buildschema"] = agg(1, 1, fixed(TypeDynamic), argDynamic).named("schema")
	duckdbAggregates["buildschema"] = func(c aggSQL) frag {
		return cat("CAST(_tb_buildschema(CAST(to_json(list(CAST(", c.arg(0), " AS JSON))) AS VARCHAR)) AS JSON)")
	}
}
