package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// ClickHouse is the scale-out engine, spoken to over the native protocol.
// Tables are MergeTree, partitioned by day so that retention drops whole
// partitions (works on 18.16, which has no TTL, and on current releases,
// which also get a TTL clause).
type ClickHouse struct {
	conn chdriver.Conn
	opts Options
	ttl  bool // the server understands MergeTree TTL (19.6 and later)

	stop chan struct{}
	done chan struct{}
}

var _ Store = (*ClickHouse)(nil)

// OpenClickHouse connects to the server of dsn (clickhouse://host:port/db)
// and creates the tables that do not exist yet.
func OpenClickHouse(ctx context.Context, dsn string, opts Options) (*ClickHouse, error) {
	opts = opts.withDefaults()
	o, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("failed to parse ClickHouse DSN: %w", err)
	}
	conn, err := clickhouse.Open(o)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to ClickHouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("failed to connect to ClickHouse at %s: %w", strings.Join(o.Addr, ","), err)
	}
	v, err := conn.ServerVersion()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("failed to read ClickHouse's version: %w", err)
	}
	s := &ClickHouse{conn: conn, opts: opts, stop: make(chan struct{}), done: make(chan struct{}),
		ttl: v.Version.Major > 19 || (v.Version.Major == 19 && v.Version.Minor >= 6)}
	for _, name := range sortedTables(opts.Tables) {
		if err := conn.Exec(ctx, s.createTable(name, opts.Tables[name])); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("failed to create table %s: %w", name, err)
		}
	}
	if err := s.addMissingColumns(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	go retentionLoop(s.opts.RetentionInterval, s.ApplyRetention, s.stop, s.done)
	return s, nil
}

func (s *ClickHouse) createTable(name string, cols []kql.Column) string {
	defs := make([]string, len(cols))
	for i, c := range cols {
		t := chType(c.Type)
		if i > 0 && c.Type != kql.TypeString && c.Type != kql.TypeGUID && c.Type != kql.TypeDynamic {
			t = "Nullable(" + t + ")"
		}
		defs[i] = quoteIdent(c.Name) + " " + t
	}
	q := "CREATE TABLE IF NOT EXISTS " + quoteIdent(name) + " (" + strings.Join(defs, ", ") + ") ENGINE = MergeTree() "
	if !timed(cols) {
		// Tables loaded from files may have no time column: no partitions, no retention.
		return q + "ORDER BY tuple()"
	}
	ts := quoteIdent(cols[0].Name)
	q += "PARTITION BY toYYYYMMDD(" + ts + ") ORDER BY " + ts
	if keep := s.opts.retention(name); s.ttl && keep > 0 {
		q += fmt.Sprintf(" TTL %s + toIntervalSecond(%d)", ts, int64(keep/time.Second))
	}
	return q
}

// chType is the column type of a KQL type; strings, GUIDs and dynamic
// values (JSON text) are never null — null dynamic is the empty string.
func chType(t kql.Type) string {
	switch t {
	case kql.TypeLong, kql.TypeTimespan:
		return "Int64"
	case kql.TypeInt:
		return "Int32"
	case kql.TypeReal:
		return "Float64"
	case kql.TypeBool:
		return "UInt8"
	case kql.TypeDatetime:
		return "DateTime('UTC')"
	}
	return "String"
}

// Schema returns the tables of the store.
func (s *ClickHouse) Schema() kql.Schema { return s.opts.Tables }

// Append sends rows to table as one INSERT block. Values are checked before
// anything is sent, so a bad row stores nothing; ClickHouse writes a block
// that fits max_insert_block_size atomically per partition (day).
func (s *ClickHouse) Append(ctx context.Context, table string, rows [][]any) error {
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
	// The column list is needed: 18.16 sends no block structure for a bare
	// INSERT INTO t.
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+quoteIdent(table)+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("failed to append to table %s: %w", table, err)
	}
	defer func() { _ = b.Close() }()
	args := make([]any, len(cols))
	for _, row := range vals {
		for j, v := range row {
			args[j] = chValue(cols[j].Type, v)
		}
		if err := b.Append(args...); err != nil {
			_ = b.Abort()
			return fmt.Errorf("failed to append to table %s: %w", table, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("failed to append to table %s: %w", table, err)
	}
	return nil
}

func chValue(t kql.Type, v any) any {
	switch v := v.(type) {
	case nil:
		if t == kql.TypeDynamic {
			return ""
		}
		return nil
	case bool:
		if v {
			return uint8(1)
		}
		return uint8(0)
	case time.Duration:
		return int64(v / time.Second)
	case int64:
		if t == kql.TypeInt {
			return int32(v)
		}
	}
	return v
}

// Query runs a KQL query with readonly=2, so the server refuses any write
// whatever the SQL, while still letting the query carry its own settings.
func (s *ClickHouse) Query(ctx context.Context, query string) (*Result, error) {
	return s.QueryScoped(ctx, query, Unrestricted)
}

// QueryScoped is Query over the rows scope may read. ClickHouse 18.16 has
// neither row policies nor table CTEs, so the plan reads every table
// through a subquery of its allowed rows (see scopeConditions), as DuckDB's
// does.
func (s *ClickHouse) QueryScoped(ctx context.Context, query string, scope Scope) (*Result, error) {
	// A first query that decides a plugin's columns (evaluate pivot) runs
	// like the query itself, over the same restricted tables (the planner
	// applies the scope to it too).
	explore := func(p *kql.Plan) ([][]any, error) {
		res, err := s.run(ctx, p)
		if err != nil {
			return nil, err
		}
		return res.Rows, nil
	}
	plan, err := compile(query, s.opts.Tables, kql.ClickHouse, s.opts.Now(), scope, explore)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, plan)
}

// readOnly adds the settings every query runs with.
func readOnly(ctx context.Context) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"readonly": 2,
		// Outer joins give NULL, not the type's default, for missing rows.
		"join_use_nulls": 1,
	}))
}

// chDefaultExecutionTime bounds a query on the server when its context has
// no deadline; the server stops it even if the client went away.
const chDefaultExecutionTime = 5 * time.Minute

// limited adds the resource limits of a query to its settings: the server
// enforces them per query (max_memory_usage, max_threads), and
// max_execution_time repeats the context's deadline on the server. These
// settings exist on 18.16 and on current releases.
func (s *ClickHouse) limited(ctx context.Context) context.Context {
	left := chDefaultExecutionTime
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	secs := max(int64((left+time.Second-1)/time.Second), 1)
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"readonly":           2,
		"join_use_nulls":     1,
		"max_memory_usage":   int(s.opts.Limits.MemoryBytes),
		"max_threads":        s.opts.Limits.Threads,
		"max_execution_time": int(secs),
	}))
}

// ClickHouse's error codes for a query stopped by a limit (ErrorCodes.cpp).
const (
	chMemoryLimitExceeded = 241
	chTimeoutExceeded     = 159
	chTooSlow             = 160
)

// queryError classifies an error of a running query, as DuckDB.queryError.
func (s *ClickHouse) queryError(ctx context.Context, err error) error {
	if cerr := ctxError(ctx); cerr != nil {
		return cerr
	}
	// The driver sets the connection's read deadline to the context's: its i/o
	// timeout can fire a moment before the context itself says it is done.
	var netErr net.Error
	if _, ok := ctx.Deadline(); ok && errors.As(err, &netErr) && netErr.Timeout() {
		return fmt.Errorf("failed to run query: it did not finish by its deadline: %w", context.DeadlineExceeded)
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case chMemoryLimitExceeded:
			return &LimitError{Limit: "memory limit of " + bytesText(s.opts.Limits.MemoryBytes) + " per query", Err: err}
		case chTimeoutExceeded, chTooSlow:
			// The server's max_execution_time is the context's deadline,
			// rounded up: the same limit, seen first by the server.
			return fmt.Errorf("failed to run query: it did not finish by its deadline: %w", errors.Join(context.DeadlineExceeded, err))
		}
	}
	return fmt.Errorf("failed to run query: %w", err)
}

func (s *ClickHouse) run(ctx context.Context, plan *kql.Plan) (*Result, error) {
	rows, err := s.conn.Query(s.limited(ctx), plan.SQL, plan.Args...)
	if err != nil {
		return nil, s.queryError(ctx, err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	if len(types) != len(plan.Columns) {
		return nil, fmt.Errorf("failed to run query: %w: %d columns from the engine, %d planned", kql.ErrInternal, len(types), len(plan.Columns))
	}
	res := &Result{Columns: plan.Columns, Render: plan.Render}
	ptrs := make([]any, len(types))
	for i, ct := range types {
		ptrs[i] = reflect.New(ct.ScanType()).Interface()
	}
	for rows.Next() {
		if len(res.Rows) >= s.opts.MaxRows {
			res.Truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, s.queryError(ctx, err)
		}
		row := make([]any, len(ptrs))
		for i, p := range ptrs {
			v := reflect.ValueOf(p).Elem()
			// Nullable columns scan into a pointer.
			for v.Kind() == reflect.Pointer {
				if v.IsNil() {
					break
				}
				v = v.Elem()
			}
			var x any
			if v.Kind() != reflect.Pointer {
				x = v.Interface()
			}
			if row[i], err = normalize(plan.Columns[i].Type, x); err != nil {
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

// ApplyRetention drops the day partitions that are entirely older than each
// table's retention.
func (s *ClickHouse) ApplyRetention(ctx context.Context) error {
	now := s.opts.Now().UTC()
	var errs []error
	for _, name := range sortedTables(s.opts.Tables) {
		keep := s.opts.retention(name)
		if keep <= 0 || !timed(s.opts.Tables[name]) {
			continue
		}
		cutoff := now.Add(-keep).Format("20060102")
		rows, err := s.conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND table = ? AND active", name)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to list partitions of table %s: %w", name, err))
			continue
		}
		var old []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				errs = append(errs, fmt.Errorf("failed to list partitions of table %s: %w", name, err))
				break
			}
			if isDate(p) && p < cutoff {
				old = append(old, p)
			}
		}
		rows.Close()
		for _, p := range old {
			// p is eight digits (checked above), the partition's toYYYYMMDD value.
			if err := s.conn.Exec(ctx, "ALTER TABLE "+quoteIdent(name)+" DROP PARTITION "+p); err != nil {
				errs = append(errs, fmt.Errorf("failed to drop partition %s of table %s: %w", p, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Close stops retention and closes the connection.
func (s *ClickHouse) Close() error {
	close(s.stop)
	<-s.done
	return s.conn.Close()
}

// isDate reports whether p is eight digits, a toYYYYMMDD partition value.
func isDate(p string) bool {
	if len(p) != 8 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
