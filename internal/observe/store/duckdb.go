//go:build !noduckdb

// DuckDB is linked unless the build tag noduckdb leaves it out (and with it cgo):
// see duckdb_off.go.

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// duckCheckpointThreshold is the WAL size at which DuckDB moves committed
// rows into the database file (its default is 16 MiB). Every commit is in
// the WAL, synced, either way; the threshold only says how often the
// compressed copy is written. A checkpoint ends the table's last row group,
// so appends after it start a new one, and DuckDB's vacuum later rewrites
// runs of part-filled row groups into fewer: at 16 MiB (about 65,000
// ContainerLogV2 lines) row groups were rewritten up to three times, which
// cost more CPU than the appends themselves. At 64 MiB a checkpoint holds
// about two full row groups (122,880 rows each), and steady-state ingest
// is no longer spent rewriting them (BenchmarkDuckDBAppend with 100 calls;
// docs/design/2026-12-06-benchmark-history.md). The price: up to 64 MiB
// of WAL to replay after a crash and that much uncompressed data in the
// buffer pool (which spills to disk under its memory limit).
const duckCheckpointThreshold = "64MiB"

// duckConfig is the configuration the database starts with.
func duckConfig(l Limits) url.Values {
	v := url.Values{}
	v.Set("checkpoint_threshold", duckCheckpointThreshold)
	v.Set("memory_limit", fmt.Sprintf("%dB", l.MemoryBytes))
	v.Set("threads", fmt.Sprint(l.Threads))
	v.Set("autoinstall_known_extensions", "false")
	v.Set("autoload_known_extensions", "false")
	return v
}

// duckLock are the settings made once the database is open, in order, the
// last locking the configuration (lock_configuration): a statement that
// reached the engine some other way than the planner could not raise a
// limit or turn external access back on. External access is off
// (enable_external_access=false): no read_csv of /etc/passwd, no ATTACH, no
// extension downloads; the store reads only its own file and spills to its
// own temp directory. (DuckDB takes temp_directory only as a SET, not in
// the configuration a database opens with.)
func duckLock(path string, l Limits) []string {
	var stmts []string
	if path != "" {
		// DuckDB's default is the same place; named so that the limit is on
		// a directory we know. An in-memory database does not spill: it
		// stops at memory_limit.
		stmts = append(stmts,
			"SET GLOBAL temp_directory = "+quoteString(path+".tmp"),
			fmt.Sprintf("SET GLOBAL max_temp_directory_size = '%dB'", l.TempBytes))
	}
	return append(stmts,
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL lock_configuration = true")
}

// quoteString quotes a SQL string literal (our own data directory's path).
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DuckDB is the embedded engine: one database file, appends through DuckDB's
// Appender API inside a transaction, queries on concurrent connections.
type DuckDB struct {
	db   *sql.DB
	conn *duckdb.Connector
	opts Options
	// jsonCols marks, per table, dynamic columns of DuckDB's JSON type
	// (files made before dynamic became text): the Appender JSON-encodes
	// values of those, so they get json.RawMessage.
	jsonCols map[string][]bool

	// appends serialises writers; DuckDB allows one writer per table at a
	// time anyway, and one lock keeps retention deletes out of the way.
	appends sync.Mutex
	// appenders are the open Appenders, one per table, under appends
	// (duckdb_append.go).
	appenders map[string]*duckAppender

	stop chan struct{}
	done chan struct{}
}

var _ Store = (*DuckDB)(nil)

// OpenDuckDB opens (creating when missing) the database in dir, or an
// in-memory database when dir is empty, and creates the tables that do not
// exist yet.
func OpenDuckDB(ctx context.Context, dir string, opts Options) (*DuckDB, error) {
	opts = opts.withDefaults()
	path := ""
	if dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("failed to create data directory %s: %w", dir, err)
		}
		path = filepath.Join(dir, DuckDBFile)
	}
	conn, err := duckdb.NewConnector(path+"?"+duckConfig(opts.Limits).Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("failed to open DuckDB database %s: %w", path, err)
	}
	s := &DuckDB{db: sql.OpenDB(conn), conn: conn, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	for _, name := range sortedTables(opts.Tables) {
		if _, err := s.db.ExecContext(ctx, duckCreateTable(name, opts.Tables[name])); err != nil {
			_ = s.db.Close()
			_ = conn.Close()
			return nil, fmt.Errorf("failed to create table %s in %s: %w", name, path, err)
		}
	}
	if err := registerGoFunctions(ctx, s.db); err != nil {
		_ = s.db.Close()
		_ = conn.Close()
		return nil, fmt.Errorf("failed to prepare DuckDB database %s: %w", path, err)
	}
	if err := s.addMissingColumns(ctx); err != nil {
		_ = s.db.Close()
		_ = conn.Close()
		return nil, err
	}
	if err := s.findJSONColumns(ctx); err != nil {
		_ = s.db.Close()
		_ = conn.Close()
		return nil, err
	}
	for _, stmt := range duckLock(path, opts.Limits) {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			_ = s.db.Close()
			_ = conn.Close()
			return nil, fmt.Errorf("failed to configure DuckDB database %s (%s): %w", path, stmt, err)
		}
	}
	go retentionLoop(s.opts.RetentionInterval, s.ApplyRetention, s.stop, s.done)
	return s, nil
}

func (s *DuckDB) findJSONColumns(ctx context.Context) error {
	s.jsonCols = map[string][]bool{}
	for name, cols := range s.opts.Tables {
		rows, err := s.db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns WHERE table_name = ? AND data_type = 'JSON'`, name)
		if err != nil {
			return fmt.Errorf("failed to read the columns of table %s: %w", name, err)
		}
		isJSON := map[string]bool{}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return fmt.Errorf("failed to read the columns of table %s: %w", name, err)
			}
			isJSON[c] = true
		}
		rows.Close()
		if len(isJSON) == 0 {
			continue
		}
		marks := make([]bool, len(cols))
		for i, c := range cols {
			marks[i] = isJSON[c.Name]
		}
		s.jsonCols[name] = marks
	}
	return nil
}

func duckCreateTable(name string, cols []kql.Column) string {
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = quoteIdent(c.Name) + " " + duckType(c.Type)
	}
	return "CREATE TABLE IF NOT EXISTS " + quoteIdent(name) + " (" + strings.Join(defs, ", ") + ")"
}

func duckType(t kql.Type) string {
	switch t {
	case kql.TypeLong:
		return "BIGINT"
	case kql.TypeInt:
		return "INTEGER"
	case kql.TypeReal:
		return "DOUBLE"
	case kql.TypeBool:
		return "BOOLEAN"
	case kql.TypeDatetime:
		return "TIMESTAMP"
	case kql.TypeTimespan:
		return "INTERVAL"
	}
	// Dynamic values are JSON text in a VARCHAR: DuckDB's JSON functions
	// read text, and the Appender writes text without encoding it again
	// (it JSON-encodes values of JSON columns), which costs a tenth of ingest.
	return "VARCHAR"
}

// Schema returns the tables of the store.
func (s *DuckDB) Schema() kql.Schema { return s.opts.Tables }

// DB exposes the database for benchmarks and tools that generate data in
// bulk with SQL; queries from users go through Query.
func (s *DuckDB) DB() *sql.DB { return s.db }

// Query runs a KQL query inside a transaction that is always rolled back,
// so that nothing a query does can change the tables.
func (s *DuckDB) Query(ctx context.Context, query string) (*Result, error) {
	return s.QueryScoped(ctx, query, Unrestricted)
}

// QueryScoped is Query over the rows scope may read (see scopeConditions).
func (s *DuckDB) QueryScoped(ctx context.Context, query string, scope Scope) (*Result, error) {
	plan, err := compile(query, s.opts.Tables, kql.DuckDB, s.opts.Now(), scope, s.explore(ctx))
	if err != nil {
		return nil, err
	}
	return s.run(ctx, plan)
}

// explore runs the queries that decide a plugin's columns (evaluate
// bag_unpack without an output schema) over the rows scope may read, so
// that they tell nothing the query itself could not.
func (s *DuckDB) explore(ctx context.Context) func(*kql.Plan) ([][]any, error) {
	return func(plan *kql.Plan) ([][]any, error) {
		// The planner has restricted the plan to the query's scope already.
		res, err := s.run(ctx, plan)
		if err != nil {
			return nil, err
		}
		return res.Rows, nil
	}
}

func (s *DuckDB) run(ctx context.Context, plan *kql.Plan) (*Result, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to run query: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, plan.SQL, plan.Args...)
	if err != nil {
		return nil, s.queryError(ctx, err)
	}
	defer rows.Close()
	res := &Result{Columns: plan.Columns, Render: plan.Render}
	n := len(plan.Columns)
	dest := make([]any, n)
	ptrs := make([]any, n)
	for i := range dest {
		ptrs[i] = &dest[i]
	}
	for rows.Next() {
		if len(res.Rows) >= s.opts.MaxRows {
			res.Truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, s.queryError(ctx, err)
		}
		row := make([]any, n)
		for i, v := range dest {
			switch x := v.(type) {
			case duckdb.Interval:
				v = time.Duration(x.Micros)*time.Microsecond + time.Duration(x.Days)*24*time.Hour +
					time.Duration(x.Months)*30*24*time.Hour
			case *big.Int:
				v = x.Int64()
			}
			if row[i], err = normalize(plan.Columns[i].Type, v); err != nil {
				return nil, fmt.Errorf("failed to read column %s: %w", plan.Columns[i].Name, err)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, s.queryError(ctx, err)
	}
	return res, nil
}

// queryError classifies an error of a running query: its context ended, or
// a limit stopped it (DuckDB reports both memory_limit and
// max_temp_directory_size as out-of-memory errors), or anything else.
func (s *DuckDB) queryError(ctx context.Context, err error) error {
	if cerr := ctxError(ctx); cerr != nil {
		return cerr
	}
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeOutOfMemory {
		return &LimitError{Limit: fmt.Sprintf("memory limit of %s (and %s of temporary files)",
			bytesText(s.opts.Limits.MemoryBytes), bytesText(s.opts.Limits.TempBytes)), Err: err}
	}
	return fmt.Errorf("failed to run query: %w", err)
}

// ApplyRetention deletes the rows older than each table's retention.
func (s *DuckDB) ApplyRetention(ctx context.Context) error {
	now := s.opts.Now().UTC()
	var errs []error
	for _, name := range sortedTables(s.opts.Tables) {
		keep := s.opts.retention(name)
		cols := s.opts.Tables[name]
		if keep <= 0 || !timed(cols) {
			continue
		}
		s.appends.Lock()
		_, err := s.db.ExecContext(ctx, "DELETE FROM "+quoteIdent(name)+" WHERE "+quoteIdent(cols[0].Name)+" < ?", now.Add(-keep))
		s.appends.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to apply retention to table %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops retention and closes the database.
func (s *DuckDB) Close() error {
	close(s.stop)
	<-s.done
	s.appends.Lock()
	errApp := s.closeAppenders()
	s.appends.Unlock()
	err := s.db.Close()
	return errors.Join(errApp, err, s.conn.Close())
}
