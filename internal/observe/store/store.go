package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// Store keeps the tables: collectors append rows, users read them with KQL.
// Both engines (DuckDB, ClickHouse) implement it with the same semantics, so
// a query gives the same rows on either.
type Store interface {
	Appender
	// Query compiles a KQL query against the store's tables and runs it.
	// A problem with the query is a *QueryError (line, column, caret).
	Query(ctx context.Context, query string) (*Result, error)
	// QueryScoped is Query over only the rows scope may read.
	QueryScoped(ctx context.Context, query string, scope Scope) (*Result, error)
	// Schema returns the tables the store holds.
	Schema() kql.Schema
	Close() error
}

// Result is a query's answer. Values are normalised so that both engines
// give the same Go values for the same KQL type: string, int64 (long and
// int), float64, bool, time.Time (UTC), time.Duration, and for dynamic the
// decoded JSON (map[string]any, []any, string, float64, bool) — nil is null.
type Result struct {
	Columns []kql.Column
	Rows    [][]any
	Render  *kql.RenderHint // nil without a render operator
	// Truncated is set when the engine had more rows than Options.MaxRows.
	Truncated bool
}

// DefaultRetention is how long rows are kept when a table has no retention
// of its own.
const DefaultRetention = 30 * 24 * time.Hour

// DefaultMaxRows caps a result, as Kusto caps results at 500,000 rows.
const DefaultMaxRows = 500000

// Options are shared by the engines.
type Options struct {
	// Tables to create and query; nil means Tables().
	Tables kql.Schema
	// Retention per table; tables missing here keep rows DefaultRetention.
	// Zero or negative keeps rows forever.
	Retention map[string]time.Duration
	// DefaultRetention overrides DefaultRetention when non-zero.
	DefaultRetention time.Duration
	// RetentionInterval is how often old rows are removed; zero means
	// every hour, negative never (tests call ApplyRetention themselves).
	RetentionInterval time.Duration
	// MaxRows caps results; zero means DefaultMaxRows.
	MaxRows int
	// Now fixes now() and ago() for tests; zero means the clock.
	Now func() time.Time
	// Limits bound the engine's memory, spill and threads.
	Limits Limits
}

func (o Options) withDefaults() Options {
	if o.Tables == nil {
		o.Tables = Tables()
	}
	if o.DefaultRetention == 0 {
		o.DefaultRetention = DefaultRetention
	}
	if o.RetentionInterval == 0 {
		o.RetentionInterval = time.Hour
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Limits = o.Limits.withDefaults()
	return o
}

func (o Options) retention(table string) time.Duration {
	if d, ok := o.Retention[table]; ok {
		return d
	}
	if table == TugboatOperations {
		// Unless told otherwise, the time ranges outlive the rows they
		// point at: a trace whose range is gone is looked up in every row.
		var keep time.Duration
		for _, t := range operationTables {
			d := o.retention(t)
			if d <= 0 {
				return d
			}
			keep = max(keep, d)
		}
		return keep
	}
	return o.DefaultRetention
}

// operationTables are the tables whose rows TugboatOperations ranges.
var operationTables = []string{AppRequests, AppDependencies, AppExceptions, AppTraces}

// QueryError is a problem with a KQL query. It keeps the query text so that
// the position can be shown with the source line and a caret.
type QueryError struct {
	Query string
	Err   *kql.Error
}

// Error returns "line:col: message".
func (e *QueryError) Error() string { return e.Err.Error() }

// Unwrap returns the *kql.Error.
func (e *QueryError) Unwrap() error { return e.Err }

// Format renders the error with the source line and a caret under the
// position. Errors the engine cannot place (position 0:0, e.g. a construct
// the engine does not support) are given without a caret.
func (e *QueryError) Format() string {
	if e.Err.Pos.Line == 0 {
		return e.Err.Msg
	}
	return e.Err.Format(e.Query)
}

// Position returns the 1-based line and column, or 0, 0 when unknown.
func (e *QueryError) Position() (line, col int) { return e.Err.Pos.Line, e.Err.Pos.Col }

// compile turns KQL into a plan for dialect over the rows scope may read,
// wrapping query errors. explore, when not nil, runs the queries that
// decide a plugin's columns (kql.Options.Explore); the planner restricts
// them to the scope as well.
func compile(query string, schema kql.Schema, d kql.Dialect, now time.Time, scope Scope, explore func(*kql.Plan) ([][]any, error)) (*kql.Plan, error) {
	p, err := kql.CompileWithOptions(query, schema, kql.Options{Dialect: d, Now: now, Explore: explore, Restrict: scopeConditions(d, schema, scope), Principal: scope.Principal})
	if err != nil {
		var ke *kql.Error
		if errors.As(err, &ke) {
			return nil, &QueryError{Query: query, Err: ke}
		}
		return nil, fmt.Errorf("failed to compile query: %w", err)
	}
	// The planner only emits one SELECT (with its common table expressions
	// first); checking it here as well means no planner bug can make a
	// query write.
	if !strings.HasPrefix(p.SQL, "SELECT ") && !strings.HasPrefix(p.SQL, "WITH ") || strings.Contains(p.SQL, ";") {
		return nil, fmt.Errorf("failed to compile query: %w: the plan is not a single SELECT", kql.ErrInternal)
	}
	return p, nil
}

// ErrBadRow marks an append refused for what its rows hold (a value of the
// wrong type, a missing time, an unknown table): retrying it cannot help,
// unlike an append the engine could not take now. errors.Is finds it.
var ErrBadRow = errors.New("bad row")

// badRowError is an error that errors.Is matches to ErrBadRow, keeping its
// own message.
type badRowError struct{ error }

func (e badRowError) Unwrap() error        { return e.error }
func (e badRowError) Is(target error) bool { return target == ErrBadRow }

func badRow(err error) error { return badRowError{err} }

// columnsFor returns the schema of table or an error naming it.
func columnsFor(schema kql.Schema, table string) ([]kql.Column, error) {
	cols, ok := schema[table]
	if !ok {
		return nil, badRow(fmt.Errorf("failed to append to table %s: no such table", table))
	}
	return cols, nil
}

// timed reports whether a table's first column is its time (TimeGenerated
// in every table of ours), which partitioning and retention go by.
func timed(cols []kql.Column) bool { return len(cols) > 0 && cols[0].Type == kql.TypeDatetime }
