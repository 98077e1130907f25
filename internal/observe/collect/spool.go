package collect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// Defaults of the spool (Options.BufferBytes and friends).
const (
	// DefaultBufferBytes bounds, per table, the rows held while the store
	// cannot take them. The agent's DaemonSet is limited to 512 MiB; eight
	// tables at this bound leave room for the rest.
	DefaultBufferBytes int64 = 32 << 20
	// DefaultAppendTimeout bounds one append: a store that stopped answering
	// (a hung server, a half-open connection) holds a collector this long at
	// most, then the rows wait in the spool and the append is retried.
	DefaultAppendTimeout = 30 * time.Second
	// spoolMinRetry and spoolMaxRetry bound the backoff between retries.
	spoolMinRetry = time.Second
	spoolMaxRetry = 30 * time.Second
	// spoolBatchRows caps the rows of one append when a backlog is drained.
	spoolBatchRows = 10000
)

// ErrStoreUnavailable marks an append whose rows the spool kept to retry:
// the store failed (or the spool is waiting out its backoff). The caller's
// rows are not lost — unless the spool's bound is reached, which is counted
// and logged — but they are not stored yet, so a caller must not checkpoint
// past them.
var ErrStoreUnavailable = errors.New("the store cannot take rows now; they are kept and retried")

// SpoolOptions configure a Spool.
type SpoolOptions struct {
	// MaxBytes bounds each table's backlog (default DefaultBufferBytes).
	MaxBytes int64
	// AppendTimeout bounds one append (default DefaultAppendTimeout).
	AppendTimeout time.Duration
	// MinRetry and MaxRetry bound the backoff between retries (default 1 s
	// and 30 s).
	MinRetry, MaxRetry time.Duration
	// Metrics, if set, registers tugboat_agent_rows_dropped_total and
	// tugboat_agent_buffered_bytes.
	Metrics prometheus.Registerer
	// Reporter names who dropped rows in the KubeEvents row that reports a
	// loss (the node in node mode); ClusterID and ClusterName fill that row.
	Reporter, ClusterID, ClusterName string
}

// Spool is an Appender that keeps what the store could not take, bounded in
// bytes per table, and sends it first, in order, at the next append once a
// backoff (1 s doubling to 30 s) has passed. Past the bound the oldest rows of
// the table are dropped: counted in tugboat_agent_rows_dropped_total, logged,
// and once the store takes rows again reported as a KubeEvents row (Reason
// RowsDropped). An append returns nil only when the table's backlog is
// stored, so a collector that checkpoints after a nil append never
// checkpoints past a row that is only in memory.
type Spool struct {
	app  store.Appender
	opts SpoolOptions

	mu     sync.Mutex
	tables map[string]*backlog

	lossMu sync.Mutex
	loss   map[string]*lossCount // dropped and not yet reported, by table
	total  map[string]int64      // dropped since the start, by table

	dropped  *prometheus.CounterVec
	buffered *prometheus.GaugeVec
}

// backlog is one table's rows waiting for the store.
type backlog struct {
	mu       sync.Mutex
	rows     [][]any
	sizes    []int64
	bytes    int64
	head     uint64 // the sequence number of rows[0]: counts every row that left the backlog
	inflight bool   // an append of this table is running
	backoff  wait.Backoff
	next     time.Time // no append before this, after a failure
	failing  error     // the last failure, until an append succeeds
}

type lossCount struct {
	n           int64
	first, last time.Time
}

// NewSpool returns a spool in front of app.
func NewSpool(app store.Appender, o SpoolOptions) *Spool {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultBufferBytes
	}
	if o.AppendTimeout <= 0 {
		o.AppendTimeout = DefaultAppendTimeout
	}
	if o.MinRetry <= 0 {
		o.MinRetry = spoolMinRetry
	}
	if o.MaxRetry < o.MinRetry {
		o.MaxRetry = max(spoolMaxRetry, o.MinRetry)
	}
	s := &Spool{app: app, opts: o, tables: map[string]*backlog{}, loss: map[string]*lossCount{}, total: map[string]int64{},
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tugboat_agent_rows_dropped_total",
			Help: "Rows the agent dropped because the store could not take them and its buffer for the table was full."}, []string{"table"}),
		buffered: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tugboat_agent_buffered_bytes",
			Help: "Estimated bytes of rows the agent holds because the store could not take them yet."}, []string{"table"}),
	}
	if o.Metrics != nil {
		o.Metrics.MustRegister(s.dropped, s.buffered)
	}
	return s
}

func (s *Spool) backlog(table string) *backlog {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.tables[table]
	if !ok {
		b = &backlog{backoff: newBackoff(s.opts.MinRetry, s.opts.MaxRetry)}
		s.tables[table] = b
	}
	return b
}

func newBackoff(first, limit time.Duration) wait.Backoff {
	return wait.Backoff{Duration: first, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: limit}
}

// Append queues rows behind the table's backlog and sends the backlog. It
// returns an error wrapping ErrStoreUnavailable when rows are left in the
// backlog, or the store's error when rows are refused as bad (they are
// dropped: retrying them cannot help).
func (s *Spool) Append(ctx context.Context, table string, rows [][]any) error {
	b := s.backlog(table)
	b.mu.Lock()
	s.push(table, b, rows)
	for {
		if len(b.rows) == 0 {
			b.mu.Unlock()
			return nil
		}
		if b.inflight {
			// Another caller is sending this table's backlog; it will send these too.
			b.mu.Unlock()
			return fmt.Errorf("failed to append to table %s: %w", table, ErrStoreUnavailable)
		}
		if now := time.Now(); now.Before(b.next) {
			err := b.failing
			b.mu.Unlock()
			return fmt.Errorf("failed to append to table %s (retrying in %s): %w: %w", table, b.next.Sub(now).Round(time.Second), ErrStoreUnavailable, err)
		}
		n := min(len(b.rows), spoolBatchRows)
		batch, end := b.rows[:n:n], b.head+uint64(n)
		b.inflight = true
		b.mu.Unlock()

		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.AppendTimeout)
		err := s.app.Append(actx, table, batch)
		cancel()

		b.mu.Lock()
		b.inflight = false
		if err != nil && !isBadRows(err) {
			if b.failing == nil {
				klog.FromContext(ctx).Error(err, "the store cannot take rows; keeping them and retrying", "table", table,
					"buffered", len(b.rows), "bound", bytesText(s.opts.MaxBytes))
			}
			b.failing = err
			b.next = time.Now().Add(b.backoff.Step())
			b.mu.Unlock()
			return fmt.Errorf("failed to append to table %s: %w: %w", table, ErrStoreUnavailable, err)
		}
		// Stored (or refused as bad, which no retry cures): drop the batch.
		// The backlog may have lost its oldest rows to the bound meanwhile,
		// some of the batch among them; what is left of it comes first.
		s.forget(table, b, end)
		if err != nil {
			b.mu.Unlock()
			return err
		}
		if b.failing != nil {
			klog.FromContext(ctx).Info("the store takes rows again", "table", table, "left", len(b.rows))
			b.failing, b.next, b.backoff = nil, time.Time{}, newBackoff(s.opts.MinRetry, s.opts.MaxRetry)
		}
		b.mu.Unlock()
		s.reportLoss(ctx)
		b.mu.Lock()
	}
}

// Flush tries once more to store every table's backlog, whatever the backoff,
// for the agent's way out. What the store still cannot take is lost with the
// process: logged with its count, and returned as an error.
func (s *Spool) Flush(ctx context.Context) error {
	s.mu.Lock()
	tables := make([]string, 0, len(s.tables))
	for t := range s.tables {
		tables = append(tables, t)
	}
	s.mu.Unlock()
	sort.Strings(tables)
	var errs []error
	for _, t := range tables {
		b := s.backlog(t)
		b.mu.Lock()
		b.next = time.Time{}
		b.mu.Unlock()
		if err := s.Append(ctx, t, nil); err != nil {
			b.mu.Lock()
			n := len(b.rows)
			b.mu.Unlock()
			klog.FromContext(ctx).Error(err, "rows held for the store are lost: the agent stops while the store cannot take them", "table", t, "rows", n)
			errs = append(errs, fmt.Errorf("failed to store %d rows of %s before stopping: %w", n, t, err))
		}
	}
	return errors.Join(errs...)
}

// push adds rows to the backlog, dropping its oldest rows past the bound.
func (s *Spool) push(table string, b *backlog, rows [][]any) {
	for _, r := range rows {
		n := rowBytes(r)
		b.rows = append(b.rows, r)
		b.sizes = append(b.sizes, n)
		b.bytes += n
	}
	drop, over := 0, b.bytes
	for over > s.opts.MaxBytes && drop < len(b.rows) {
		over -= b.sizes[drop]
		drop++
	}
	if drop > 0 {
		s.countLoss(table, drop)
	}
	s.cut(table, b, drop)
}

// forget removes the rows before sequence number end from the backlog.
func (s *Spool) forget(table string, b *backlog, end uint64) {
	k := 0
	if end > b.head {
		k = min(int(end-b.head), len(b.rows))
	}
	s.cut(table, b, k)
}

// cut removes the backlog's first k rows. The backlog may be a batch being
// sent: it is copied, never cleared in place.
func (s *Spool) cut(table string, b *backlog, k int) {
	for _, n := range b.sizes[:k] {
		b.bytes -= n
	}
	b.rows = append([][]any(nil), b.rows[k:]...)
	b.sizes = append([]int64(nil), b.sizes[k:]...)
	b.head += uint64(k)
	s.buffered.WithLabelValues(table).Set(float64(b.bytes))
}

func (s *Spool) countLoss(table string, n int) {
	s.dropped.WithLabelValues(table).Add(float64(n))
	s.lossMu.Lock()
	defer s.lossMu.Unlock()
	now := time.Now().UTC()
	l, ok := s.loss[table]
	if !ok {
		l = &lossCount{first: now}
		s.loss[table] = l
		klog.Background().Error(nil, "the store could not take rows and the buffer is full: dropping the oldest",
			"table", table, "bound", bytesText(s.opts.MaxBytes))
	}
	l.n += int64(n)
	l.last = now
	s.total[table] += int64(n)
}

// Dropped returns the rows dropped so far that are not yet reported in the
// store, by table.
func (s *Spool) Dropped() map[string]int64 {
	s.lossMu.Lock()
	defer s.lossMu.Unlock()
	out := map[string]int64{}
	for t, l := range s.loss {
		out[t] = l.n
	}
	return out
}

// DroppedTotal returns every row dropped since the spool started, by table.
func (s *Spool) DroppedTotal() map[string]int64 {
	s.lossMu.Lock()
	defer s.lossMu.Unlock()
	out := make(map[string]int64, len(s.total))
	for t, n := range s.total {
		out[t] = n
	}
	return out
}

// reportLoss writes one KubeEvents row per table with unreported drops,
// now that the store takes rows. A failure leaves them for the next time.
func (s *Spool) reportLoss(ctx context.Context) {
	s.lossMu.Lock()
	if len(s.loss) == 0 {
		s.lossMu.Unlock()
		return
	}
	tables := make([]string, 0, len(s.loss))
	for t := range s.loss {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var rows [][]any
	counts := map[string]int64{}
	for _, t := range tables {
		l := s.loss[t]
		counts[t] = l.n
		rows = append(rows, store.Row(store.KubeEventsRow{TimeGenerated: time.Now().UTC(), ClusterID: s.opts.ClusterID, ClusterName: s.opts.ClusterName,
			Computer: s.opts.Reporter, Count: float64(l.n), FirstSeen: l.first, LastSeen: l.last, KubeEventType: "Warning",
			Message: fmt.Sprintf("tugboat agent dropped %d %s rows between %s and %s: the store could not take them and the agent's buffer (%s per table) was full",
				l.n, t, l.first.Format(time.RFC3339), l.last.Format(time.RFC3339), bytesText(s.opts.MaxBytes)),
			Name: s.opts.Reporter, ObjectKind: "Agent", Reason: ReasonRowsDropped, SourceComponent: "tugboat-agent"}))
	}
	s.lossMu.Unlock()
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.AppendTimeout)
	defer cancel()
	if err := s.app.Append(actx, store.KubeEvents, rows); err != nil {
		return
	}
	s.lossMu.Lock()
	defer s.lossMu.Unlock()
	for t, n := range counts {
		klog.FromContext(ctx).Info("reported dropped rows in KubeEvents", "table", t, "dropped", n)
		if l := s.loss[t]; l != nil {
			l.n -= n
			if l.n == 0 {
				delete(s.loss, t)
			}
		}
	}
}

// ReasonRowsDropped is the KubeEvents Reason of the row that reports rows
// the agent dropped.
const ReasonRowsDropped = "RowsDropped"

// Buffered returns the rows held per table.
func (s *Spool) Buffered() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for t, b := range s.tables {
		b.mu.Lock()
		if len(b.rows) > 0 {
			out[t] = len(b.rows)
		}
		b.mu.Unlock()
	}
	return out
}

// BufferedBytes returns the estimated bytes held, over every table.
func (s *Spool) BufferedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, b := range s.tables {
		b.mu.Lock()
		n += b.bytes
		b.mu.Unlock()
	}
	return n
}

// isBadRows reports whether the store refused rows for what they hold
// (a value of the wrong type, an unknown table): no retry would store them.
func isBadRows(err error) bool {
	return errors.Is(err, store.ErrBadRow)
}

// rowBytes estimates what a row holds on the heap: the slice of interfaces,
// and what each value boxes (a string's header and bytes, a time, a map's
// buckets). Measured against runtime.MemStats for ContainerLogV2 rows of
// 40 to 2000-byte messages, it is 4 to 17 % above the heap used, never below (see
// docs/design/2026-12-06-agent-store-outage.md).
func rowBytes(row []any) int64 {
	n := int64(24 + 16*len(row))
	for _, v := range row {
		n += valueBytes(v)
	}
	return n
}

func valueBytes(v any) int64 {
	switch v := v.(type) {
	case nil:
		return 0
	case string:
		return 16 + int64(len(v))
	case []byte:
		return 24 + int64(len(v))
	case time.Time:
		return 24
	case map[string]any:
		n := int64(300)
		for k, x := range v {
			n += 32 + int64(len(k)) + valueBytes(x)
		}
		return n
	case map[string]string:
		n := int64(300)
		for k, x := range v {
			n += 32 + int64(len(k)+len(x))
		}
		return n
	case []any:
		n := int64(24)
		for _, x := range v {
			n += 16 + valueBytes(x)
		}
		return n
	}
	return 8
}

// bytesText prints a byte count as the flags and docs give it.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
