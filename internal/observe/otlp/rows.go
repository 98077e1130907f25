package otlp

import (
	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// Rows are the rows of one request, per table, in the column order of the
// store's schema.
type Rows map[string][][]any

// Len is the number of rows of all tables.
func (r Rows) Len() int {
	n := 0
	for _, rows := range r {
		n += len(rows)
	}
	return n
}

// tableOrder is the order in which the tables of a request are appended:
// exceptions and traces first, so that a request that fails half way and is
// retried duplicates the small side tables rather than requests.
var tableOrder = []string{store.AppExceptions, store.AppTraces, store.AppDependencies, store.AppRequests}

// layout maps a table's column names to their positions, so that the
// mapping fills rows by name and does not depend on the column order.
type layout struct {
	n   int
	pos map[string]int
}

func newLayout(cols []kql.Column) layout {
	l := layout{n: len(cols), pos: make(map[string]int, len(cols))}
	for i, c := range cols {
		l.pos[c.Name] = i
	}
	return l
}

// row is one row being filled.
type row struct {
	l    *layout
	vals []any
}

func (l *layout) newRow() row { return row{l: l, vals: make([]any, l.n)} }

// set stores v in column name; a column the schema lacks is a programming
// error caught by the tests.
func (r row) set(name string, v any) {
	i, ok := r.l.pos[name]
	if !ok {
		panic("otlp: no column " + name) // a mismatch between this package and store.Tables
	}
	r.vals[i] = v
}

// layouts are the four tables' layouts, from the store's schema.
type layouts struct {
	requests, dependencies, exceptions, traces layout
}

func newLayouts() *layouts {
	t := store.Tables()
	return &layouts{
		requests:     newLayout(t[store.AppRequests]),
		dependencies: newLayout(t[store.AppDependencies]),
		exceptions:   newLayout(t[store.AppExceptions]),
		traces:       newLayout(t[store.AppTraces]),
	}
}
