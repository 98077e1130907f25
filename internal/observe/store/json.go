package store

import "github.com/tugboatcd/tugboat/internal/observe/kql"

// JSONResult is a result as the HTTP API and `tugboat query -o json` write
// it: columns with their KQL types, rows of JSON values (see JSONValue),
// and the render hint when the query had one.
type JSONResult struct {
	Columns   []JSONColumn `json:"columns"`
	Rows      [][]any      `json:"rows"`
	Render    *JSONRender  `json:"render,omitempty"`
	Truncated bool         `json:"truncated,omitempty"`
}

// JSONColumn is a result column.
type JSONColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// JSONRender is the render operator: the visualization and its properties.
type JSONRender struct {
	Kind       string            `json:"kind"`
	Properties map[string]string `json:"properties,omitempty"`
}

// ToJSON converts a result for encoding.
func ToJSON(r *Result) *JSONResult {
	out := &JSONResult{Columns: make([]JSONColumn, len(r.Columns)), Rows: make([][]any, len(r.Rows)), Truncated: r.Truncated}
	for i, c := range r.Columns {
		out.Columns[i] = JSONColumn{Name: c.Name, Type: c.Type.String()}
	}
	for i, row := range r.Rows {
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = JSONValue(r.Columns[j].Type, v)
		}
		out.Rows[i] = vals
	}
	if r.Render != nil {
		out.Render = renderJSON(r.Render)
	}
	return out
}

func renderJSON(h *kql.RenderHint) *JSONRender {
	r := &JSONRender{Kind: h.Kind}
	if len(h.Properties) > 0 {
		r.Properties = h.Properties
	}
	return r
}
