package collect

import (
	"context"
	"fmt"
	"sync"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// recorder is an Appender for pure-logic tests: it keeps rows in memory and checks
// each row against the table's column count, as the engines do.
type recorder struct {
	mu   sync.Mutex
	rows map[string][][]any
	// fail, when set, is called before each append; an error fails that append.
	fail func(table string, rows [][]any) error
	// also, when set, receives every append first (a real store); its error fails it.
	also store.Appender
}

func newRecorder() *recorder { return &recorder{rows: map[string][][]any{}} }

func (r *recorder) Append(ctx context.Context, table string, rows [][]any) error {
	cols, ok := store.Tables()[table]
	if !ok {
		return fmt.Errorf("unknown table %s", table)
	}
	for i, row := range rows {
		if len(row) != len(cols) {
			return fmt.Errorf("%s row %d has %d values, want %d", table, i, len(row), len(cols))
		}
	}
	if r.also != nil {
		if err := r.also.Append(ctx, table, rows); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(table, rows); err != nil {
			return err
		}
	}
	r.rows[table] = append(r.rows[table], rows...)
	return nil
}

func (r *recorder) table(name string) [][]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]any(nil), r.rows[name]...)
}

// column returns the index of a column of a table.
func column(table, name string) int {
	for i, c := range store.Tables()[table] {
		if c.Name == name {
			return i
		}
	}
	panic("no column " + name + " in " + table)
}
