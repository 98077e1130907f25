package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Default resource limits of a store. A query is text from whoever may reach
// the API: without limits one self-join took the controller to 1.8 GB
// (issue 21). The controller's pod is limited to 1 GiB and shares it with the
// reconcilers, so the engine gets a quarter of it.
const (
	// DefaultMemoryLimit bounds the engine's memory: DuckDB's memory_limit
	// (the whole database: queries and the buffer pool of appends) and
	// ClickHouse's max_memory_usage (each query).
	DefaultMemoryLimit int64 = 256 << 20
	// DefaultTempLimit bounds what DuckDB spills to its temp directory
	// (max_temp_directory_size) when a sort, join or aggregate outgrows memory.
	DefaultTempLimit int64 = 1 << 30
	// DefaultMaxThreads bounds the threads one query (ClickHouse's max_threads)
	// or the database (DuckDB's threads) runs on.
	DefaultMaxThreads = 2
)

// Limits bound what queries may use; zero fields take the defaults above.
type Limits struct {
	MemoryBytes int64
	TempBytes   int64
	Threads     int
}

func (l Limits) withDefaults() Limits {
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = DefaultMemoryLimit
	}
	if l.TempBytes <= 0 {
		l.TempBytes = DefaultTempLimit
	}
	if l.Threads <= 0 {
		l.Threads = min(DefaultMaxThreads, runtime.GOMAXPROCS(0))
	}
	return l
}

// LimitError is a query stopped by one of the store's resource limits. Its
// message names the limit and what to do, never the engine's own text, which
// stays in Unwrap for the log.
type LimitError struct {
	// Limit names the limit, e.g. "memory limit of 256 MiB".
	Limit string
	Err   error
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the query went past the store's %s; narrow it (a time range, where, take, or summarize before a join)", e.Limit)
}

// Unwrap returns the engine's error.
func (e *LimitError) Unwrap() error { return e.Err }

// ctxError returns the context's error when ctx has ended, wrapped so that
// errors.Is finds context.DeadlineExceeded or context.Canceled: engines
// report an interrupted query with text of their own, which stays out.
func ctxError(ctx context.Context) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		if dl, ok := ctx.Deadline(); ok {
			return fmt.Errorf("failed to run query: it did not finish by its deadline (%s): %w", dl.UTC().Format(time.RFC3339), context.DeadlineExceeded)
		}
		return fmt.Errorf("failed to run query: %w", context.DeadlineExceeded)
	case ctx.Err() != nil:
		return fmt.Errorf("failed to run query: %w", ctx.Err())
	}
	return nil
}

// bytesText prints a byte count the way the limits are documented.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
