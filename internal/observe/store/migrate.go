package store

import (
	"context"
	"fmt"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// Columns are only ever added to a table at its end (the row structs in rows.go
// say so), so a store made by an older tugboat is brought up to date by adding the
// columns its tables lack: appends are positional and must find every column.

// columnsToAdd returns the columns of want a table with the columns have lacks, when
// have is a prefix of want; nil when nothing is missing or the table is not one of
// ours in an older shape (then it is left alone, and appends report the mismatch).
func columnsToAdd(have []string, want []kql.Column) []kql.Column {
	if len(have) == 0 || len(have) >= len(want) {
		return nil
	}
	for i, h := range have {
		if want[i].Name != h {
			return nil
		}
	}
	return want[len(have):]
}

// nameRows is what both engines' drivers return for a query of names.
type nameRows interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}

// scanNames reads a one-column result of names and closes it.
func scanNames(rows nameRows) ([]string, error) {
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// addMissingColumns adds the columns the tables of an older store lack.
func (s *ClickHouse) addMissingColumns(ctx context.Context) error {
	for _, name := range sortedTables(s.opts.Tables) {
		rows, err := s.conn.Query(ctx, `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ?`, name)
		if err != nil {
			return fmt.Errorf("failed to read the columns of table %s: %w", name, err)
		}
		have, err := scanNames(rows)
		if err != nil {
			return fmt.Errorf("failed to read the columns of table %s: %w", name, err)
		}
		for _, c := range columnsToAdd(have, s.opts.Tables[name]) {
			t := chType(c.Type)
			if c.Type != kql.TypeString && c.Type != kql.TypeGUID && c.Type != kql.TypeDynamic {
				t = "Nullable(" + t + ")"
			}
			if err := s.conn.Exec(ctx, "ALTER TABLE "+quoteIdent(name)+" ADD COLUMN "+quoteIdent(c.Name)+" "+t); err != nil {
				return fmt.Errorf("failed to add column %s to table %s: %w", c.Name, name, err)
			}
		}
	}
	return nil
}
