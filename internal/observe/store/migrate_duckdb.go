//go:build !noduckdb

package store

import (
	"context"
	"fmt"
)

// addMissingColumns adds the columns the tables of an older store lack.
func (s *DuckDB) addMissingColumns(ctx context.Context) error {
	for _, name := range sortedTables(s.opts.Tables) {
		rows, err := s.db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position`, name)
		if err != nil {
			return fmt.Errorf("failed to read the columns of table %s: %w", name, err)
		}
		have, err := scanNames(rows)
		if err != nil {
			return fmt.Errorf("failed to read the columns of table %s: %w", name, err)
		}
		for _, c := range columnsToAdd(have, s.opts.Tables[name]) {
			if _, err := s.db.ExecContext(ctx, "ALTER TABLE "+quoteIdent(name)+" ADD COLUMN "+quoteIdent(c.Name)+" "+duckType(c.Type)); err != nil {
				return fmt.Errorf("failed to add column %s to table %s: %w", c.Name, name, err)
			}
		}
	}
	return nil
}
