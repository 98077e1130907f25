package otlp

import (
	"context"
	"fmt"
	"sync"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// groupCommit appends the rows of requests that arrive while the store is
// busy as one append per table: a DuckDB append costs about as much CPU for
// 512 rows as for several thousand (the flush and commit dominate), so
// concurrent senders share it. Each request still waits for the append that
// holds its rows and is answered with its result: a failed group fails every
// request in it, and their senders retry.
//
// No goroutine runs at rest: one is started when rows wait and none is
// writing, and ends when none are left.
type groupCommit struct {
	app store.Appender
	ops *operationRanges

	mu      sync.Mutex
	queue   []*pending
	running bool
}

type pending struct {
	rows Rows
	done chan error
}

// maxGroupRows bounds the rows of one group, per table, below the size at
// which a DuckDB append needs a transaction of its own (implicitTxRows).
const maxGroupRows = 50_000

// commit stores rows with whatever else is waiting and returns the result.
// It does not give up when ctx ends: the rows may already be in an append,
// and the answer must say whether they were stored.
func (g *groupCommit) commit(rows Rows) error {
	p := &pending{rows: rows, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	return <-p.done
}

func (g *groupCommit) run() {
	g.mu.Lock()
	for len(g.queue) > 0 {
		n, size := 0, 0
		for n < len(g.queue) && (n == 0 || size+g.queue[n].rows.Len() <= maxGroupRows) {
			size += g.queue[n].rows.Len()
			n++
		}
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		err := g.write(batch)
		for _, p := range batch {
			p.done <- err
		}
		g.mu.Lock()
	}
	g.running = false
	g.mu.Unlock()
}

// write appends a group, table by table. The context is not a request's:
// the group belongs to several.
func (g *groupCommit) write(batch []*pending) error {
	if ops := g.ops.rows(batch); len(ops) > 0 {
		if err := g.app.Append(context.Background(), store.TugboatOperations, ops); err != nil {
			return fmt.Errorf("%w: %w", errBusy, err)
		}
	}
	for _, table := range tableOrder {
		var rows [][]any
		for _, p := range batch {
			rows = append(rows, p.rows[table]...)
		}
		if len(rows) == 0 {
			continue
		}
		if err := g.app.Append(context.Background(), table, rows); err != nil {
			return fmt.Errorf("%w: %w", errBusy, err)
		}
	}
	return nil
}
