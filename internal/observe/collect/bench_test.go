package collect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

type discard struct{ rows int }

func (d *discard) Append(_ context.Context, _ string, rows [][]any) error {
	d.rows += len(rows)
	return nil
}

// writeBenchLog writes lines CRI lines: a mix of klog text, JSON, partial lines and
// access logs.
func writeBenchLog(b *testing.B, dir string, lines int) {
	b.Helper()
	path := filepath.Join(dir, "ns_pod_uid", "app", "0.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for i := range lines {
		ts := time.Date(2026, 11, 26, 1, 0, 0, i*1000, time.UTC).Format(time.RFC3339Nano)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sb, "%s stdout F I1126 01:00:00.000000 1 server.go:42] handled request id=%d path=/api/v1/items status=200\n", ts, i)
		case 1:
			fmt.Fprintf(&sb, "%s stdout F {\"level\":\"info\",\"msg\":\"request\",\"id\":%d,\"latency_ms\":12.5}\n", ts, i)
		case 2:
			fmt.Fprintf(&sb, "%s stderr P ERROR failed to reach the database after 3 attempts, \n%s stderr F retrying in 5s (id %d)\n", ts, ts, i)
		default:
			fmt.Fprintf(&sb, "%s stdout F 10.0.0.1 - - [26/Nov/2026:01:00:00 +0000] \"GET /healthz HTTP/1.1\" 200 2 %d\n", ts, i)
		}
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCRITailDuckDB measures the whole node-mode log path: tail, parse and append
// into the embedded DuckDB store, 10 000 rows per append.
func BenchmarkCRITailDuckDB(b *testing.B) {
	const lines = 100000
	dir := b.TempDir()
	writeBenchLog(b, dir, lines)
	for b.Loop() {
		b.StopTimer()
		st, err := store.OpenDuckDB(context.Background(), b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		tailer := NewCRITailer(CRITailerOptions{Dir: dir, Node: "n"}, st)
		if err := tailer.poll(context.Background(), criState{}); err != nil {
			b.Fatal(err)
		}
		tailer.closeAll()
		b.StopTimer()
		_ = st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkCRITail measures reading, parsing, recombining and classifying CRI log lines
// into ContainerLogV2 rows (no store): a mix of plain text, JSON and partial lines.
func BenchmarkCRITail(b *testing.B) {
	const lines = 200000
	dir := b.TempDir()
	writeBenchLog(b, dir, lines)
	b.ResetTimer()
	for b.Loop() {
		d := &discard{}
		tailer := NewCRITailer(CRITailerOptions{Dir: dir, Node: "n"}, d)
		if err := tailer.poll(context.Background(), criState{}); err != nil {
			b.Fatal(err)
		}
		tailer.closeAll()
		if d.rows != lines {
			b.Fatalf("rows = %d, want %d", d.rows, lines)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
