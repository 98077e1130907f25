//go:build !noduckdb

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// implicitTxRows is the largest call whose rows go through the Appender's
// own transaction. DuckDB's Appender (BaseAppender::DEFAULT_FLUSH_COUNT)
// gathers 100 vectors of rows before it flushes by itself, and a flush is
// one INSERT committed on its own; below that, the flush at the end of the
// call is the only one, so it is the call's transaction. Half of it leaves
// room, and TestALargeCallWithoutAnExplicitTransactionIsStillAtomic holds
// DuckDB to it.
var implicitTxRows = duckdb.GetDataChunkCapacity() * 50

// duckAppender is a table's Appender, kept open between calls on a
// connection of its own. Creating one per call cost more than flushing 512
// rows: DuckDB looks the table up, and the Go side allocates a data chunk of
// 2,048 rows for every column, which the kernel zeroes page by page
// (BenchmarkIngestOTLPHTTPIntoDuckDB; docs/design/2026-12-06-otlp-ingest.md).
// A flush commits what was appended since the last one, so keeping it open
// changes no transaction; one that failed is closed and made again.
type duckAppender struct {
	conn *sql.Conn
	app  *duckdb.Appender
	// insert, instead of app, for the tables of listInsert.
	insert *sql.Stmt
}

// close drops what the Appender holds and closes it with its connection.
func (a *duckAppender) close() error {
	var errs []error
	if a.app != nil {
		// Clear first, so that Close flushes nothing of a failed call.
		errs = append(errs, a.app.Clear(), a.app.Close())
	}
	if a.insert != nil {
		errs = append(errs, a.insert.Close())
	}
	return errors.Join(append(errs, a.conn.Close())...)
}

// listInsert are the tables appended with one prepared INSERT of a list per
// column rather than the Appender. An Appender's flush parses, binds and
// plans an INSERT every time, which costs more than the few rows of
// TugboatOperations the receiver appends per request: the prepared
// statement halves what that append costs (1.3 → 0.6 ms of CPU for 64
// rows; docs/design/2026-12-06-otlp-ingest.md). Its columns are of types
// duckdb-go binds as lists (listTypes).
var listInsert = map[string]bool{TugboatOperations: true}

// listTypes are the DuckDB list types of the column types a list insert
// takes.
var listTypes = map[kql.Type]string{kql.TypeDatetime: "TIMESTAMP[]", kql.TypeString: "VARCHAR[]"}

// listInsertSQL is INSERT INTO table SELECT unnest(?::T1[]), … — the lists
// unnested side by side, one row per position — or "" when a column's type
// has no list type here.
func listInsertSQL(table string, cols []kql.Column) string {
	sel := make([]string, len(cols))
	for i, c := range cols {
		t, ok := listTypes[c.Type]
		if !ok {
			return ""
		}
		sel[i] = "unnest(?::" + t + ")"
	}
	return "INSERT INTO " + quoteIdent(table) + " SELECT " + strings.Join(sel, ", ")
}

// appender returns table's open Appender, opening it on first use. The
// caller holds s.appends.
func (s *DuckDB) appender(ctx context.Context, table string) (*duckAppender, error) {
	if a, ok := s.appenders[table]; ok {
		return a, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	a := &duckAppender{conn: conn}
	if q := listInsertSQL(table, s.opts.Tables[table]); listInsert[table] && q != "" {
		if a.insert, err = conn.PrepareContext(ctx, q); err != nil {
			_ = conn.Close()
			return nil, err
		}
		s.keepAppender(table, a)
		return a, nil
	}
	if err := a.open(table); err != nil {
		_ = conn.Close()
		return nil, err
	}
	s.keepAppender(table, a)
	return a, nil
}

// open makes the Appender of table on a's connection.
func (a *duckAppender) open(table string) error {
	return a.conn.Raw(func(dc any) error {
		var err error
		a.app, err = duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		return err
	})
}

// listable reports whether rows can go in as lists: duckdb-go panics on a
// nil element of a list parameter (and leaves the connection locked), so a
// call with a null (only a datetime column other than the first can hold
// one after checkRows) goes through the Appender.
func listable(vals [][]any) bool {
	for _, row := range vals {
		for _, v := range row {
			if v == nil {
				return false
			}
		}
	}
	return true
}

func (s *DuckDB) keepAppender(table string, a *duckAppender) {
	if s.appenders == nil {
		s.appenders = map[string]*duckAppender{}
	}
	s.appenders[table] = a
}

// dropAppender closes table's Appender after a failure, so that the next
// call starts from a new one with nothing left in it.
func (s *DuckDB) dropAppender(table string) {
	if a, ok := s.appenders[table]; ok {
		delete(s.appenders, table)
		_ = a.close()
	}
}

// closeAppenders closes every open Appender; they hold nothing between
// calls. The caller holds s.appends.
func (s *DuckDB) closeAppenders() error {
	var errs []error
	for table, a := range s.appenders {
		if err := a.close(); err != nil {
			errs = append(errs, fmt.Errorf("failed to close the appender of table %s: %w", table, err))
		}
	}
	s.appenders = nil
	return errors.Join(errs...)
}

// Append writes rows to table in one transaction: either all rows are
// stored or, on any error, none.
//
// Calls of up to implicitTxRows rows commit with the Appender's flush, in
// DuckDB's auto-commit; larger ones in BEGIN … COMMIT. An explicit COMMIT
// runs as a task on DuckDB's scheduler: a worker thread takes it while the
// caller's thread spins polling for the result, CPU that the Appender's own
// flush does not spend (BenchmarkDuckDBAppend).
func (s *DuckDB) Append(ctx context.Context, table string, rows [][]any) error {
	cols, err := columnsFor(s.opts.Tables, table)
	if err != nil {
		return err
	}
	vals, err := checkRows(table, cols, rows)
	if err != nil {
		return err
	}
	if len(vals) == 0 {
		return nil
	}
	s.appends.Lock()
	defer s.appends.Unlock()
	if err := s.appendLocked(ctx, table, cols, vals); err != nil {
		s.dropAppender(table)
		return fmt.Errorf("failed to append to table %s: %w", table, err)
	}
	return nil
}

func (s *DuckDB) appendLocked(ctx context.Context, table string, cols []kql.Column, vals [][]any) error {
	a, err := s.appender(ctx, table)
	if err != nil {
		return err
	}
	if a.insert != nil && listable(vals) {
		// One statement: all rows or none, whatever their number.
		lists := make([]any, len(cols))
		for j := range cols {
			l := make([]any, len(vals))
			for i, row := range vals {
				l[i] = row[j]
			}
			lists[j] = l
		}
		_, err := a.insert.ExecContext(ctx, lists...)
		return err
	}
	if a.app == nil {
		if err := a.open(table); err != nil {
			return err
		}
	}
	explicit := len(vals) > implicitTxRows
	if explicit {
		if _, err := a.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
	}
	jsonCols := s.jsonCols[table]
	err = a.conn.Raw(func(any) error {
		args := make([]driver.Value, len(cols))
		for _, row := range vals {
			for j, v := range row {
				args[j] = duckValue(cols[j].Type, v)
				if str, ok := v.(string); ok && jsonCols != nil && jsonCols[j] {
					args[j] = json.RawMessage(str)
				}
			}
			if err := a.app.AppendRow(args...); err != nil {
				return err
			}
		}
		// Without an explicit transaction, the flush commits all rows or,
		// failing (or cancelled by ctx), none; the caller then drops the
		// Appender with whatever it still holds.
		return a.app.FlushWithCancel(ctx)
	})
	if err != nil {
		if explicit {
			// A background context: the rollback must happen even when
			// ctx is what made the append fail.
			_, _ = a.conn.ExecContext(context.Background(), "ROLLBACK")
		}
		return err
	}
	if explicit {
		if _, err := a.conn.ExecContext(ctx, "COMMIT"); err != nil {
			_, _ = a.conn.ExecContext(context.Background(), "ROLLBACK")
			return err
		}
	}
	return nil
}

func duckValue(t kql.Type, v any) driver.Value {
	switch v := v.(type) {
	case time.Duration:
		return duckdb.Interval{Micros: int64(v / time.Microsecond)}
	case int64:
		if t == kql.TypeInt {
			return int32(v)
		}
	}
	return v
}
