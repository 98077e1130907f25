package otlp

import (
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// operationRanges makes the TugboatOperations rows of a group: for each
// operation (trace) with rows in it, the earliest and latest TimeGenerated
// of those rows. They are appended before the rows they range, so that any
// stored span is inside a stored range: `tugboat trace` then reads the span
// tables in that range only (store.TugboatOperationsRow says why).
type operationRanges struct {
	// opCol is the position of OperationId in each table it ranges;
	// TimeGenerated is first in every table.
	opCol map[string]int
	// seen is reused from group to group (one group at a time).
	seen map[string]int
}

func newOperationRanges() *operationRanges {
	o := &operationRanges{opCol: map[string]int{}, seen: map[string]int{}}
	for _, table := range tableOrder {
		for i, c := range store.Tables()[table] {
			if c.Name == "OperationId" {
				o.opCol[table] = i
			}
		}
	}
	return o
}

// rows returns the ranges of the operations in batch, in the column order
// of TugboatOperations (TimeGenerated = the latest, OperationId, StartTime
// = the earliest); rows without an OperationId (logs outside a trace) have
// none.
func (o *operationRanges) rows(batch []*pending) [][]any {
	clear(o.seen)
	var out [][]any
	for _, p := range batch {
		for table, rows := range p.rows {
			col, ok := o.opCol[table]
			if !ok {
				continue
			}
			for _, r := range rows {
				id, _ := r[col].(string)
				at, ok := r[0].(time.Time)
				if id == "" || !ok {
					continue
				}
				i, ok := o.seen[id]
				if !ok {
					o.seen[id] = len(out)
					out = append(out, []any{at, id, at})
					continue
				}
				if at.After(out[i][0].(time.Time)) {
					out[i][0] = at
				}
				if at.Before(out[i][2].(time.Time)) {
					out[i][2] = at
				}
			}
		}
	}
	return out
}
