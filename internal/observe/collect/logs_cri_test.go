package collect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// criWriter writes CRI log lines the way a container runtime does and remembers the
// messages it wrote, in order.
type criWriter struct {
	t    *testing.T
	f    *os.File
	next int
	want []string
}

func openCRI(t *testing.T, path string) *criWriter {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return &criWriter{t: t, f: f}
}

// write writes n messages named prefix-<i>; every 7th is split into three partial
// lines and every 5th goes to stderr.
func (w *criWriter) write(prefix string, n int) {
	w.t.Helper()
	var b strings.Builder
	for range n {
		i := w.next
		w.next++
		msg := fmt.Sprintf("%s-%d", prefix, i)
		stream := "stdout"
		if i%5 == 0 {
			stream = "stderr"
		}
		ts := time.Date(2026, 11, 26, 1, 0, 0, i, time.UTC).Format(time.RFC3339Nano)
		if i%7 == 0 && len(msg) > 3 {
			fmt.Fprintf(&b, "%s %s P %s\n%s %s P %s\n%s %s F %s\n", ts, stream, msg[:1], ts, stream, msg[1:3], ts, stream, msg[3:])
		} else {
			fmt.Fprintf(&b, "%s %s F %s\n", ts, stream, msg)
		}
		w.want = append(w.want, msg)
	}
	if _, err := w.f.WriteString(b.String()); err != nil {
		w.t.Fatal(err)
	}
}

// messages returns the LogMessage of every row, grouped by pod/container.
func messages(rows [][]any) map[string][]string {
	out := map[string][]string{}
	pod, ctr, msg := column(store.ContainerLogV2, "PodName"), column(store.ContainerLogV2, "ContainerName"),
		column(store.ContainerLogV2, "LogMessage")
	for _, r := range rows {
		k := r[pod].(string) + "/" + r[ctr].(string)
		out[k] = append(out[k], r[msg].(string))
	}
	return out
}

func checkExactlyOnce(t *testing.T, got []string, want ...[]string) {
	t.Helper()
	var all []string
	for _, w := range want {
		all = append(all, w...)
	}
	seen := map[string]int{}
	for _, m := range got {
		seen[m]++
	}
	var missing, dup []string
	for _, m := range all {
		switch seen[m] {
		case 0:
			missing = append(missing, m)
		case 1:
		default:
			dup = append(dup, m)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(got) != len(all) {
		t.Fatalf("got %d rows for %d messages; missing %d (first %v), duplicated %d (first %v)",
			len(got), len(all), len(missing), first(missing), len(dup), first(dup))
	}
	for i := range all {
		if got[i] != all[i] {
			t.Fatalf("row %d is %q, want %q: lines out of order", i, got[i], all[i])
		}
	}
}

func first(s []string) []string {
	if len(s) > 3 {
		return s[:3]
	}
	return s
}

func TestCRITailerRotationAndRestart(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(t.TempDir(), "logs.json")
	podDir := filepath.Join(dir, "shop_web-7d9c_0f3a-uid")
	live := filepath.Join(podDir, "app", "0.log")
	w0 := openCRI(t, live)
	w0.write("a", 5000)

	// First run: killed after three batches of 500, in the middle of the file.
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	appends := 0
	rec.fail = func(string, [][]any) error {
		appends++
		if appends == 3 {
			cancel()
		}
		return nil
	}
	opts := CRITailerOptions{Dir: dir, Node: "node-1", Checkpoint: ckpt, BatchRows: 500, Poll: time.Millisecond}
	if err := NewCRITailer(opts, rec).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.table(store.ContainerLogV2)); got != 1500 {
		t.Fatalf("the killed run stored %d rows, want 1500 (three batches)", got)
	}

	// While it is down: the kubelet rotates 0.log, the runtime writes a last few lines
	// into the renamed file, then into the new 0.log; the container restarts (1.log); a
	// second container starts; and the live file ends in the middle of a message.
	rotated := live + ".20261126-010000"
	if err := os.Rename(live, rotated); err != nil {
		t.Fatal(err)
	}
	w0.write("a", 100)
	w0new := openCRI(t, live)
	w0new.write("b", 1000)
	w1 := openCRI(t, filepath.Join(podDir, "app", "1.log"))
	w1.write("c", 200)
	side := openCRI(t, filepath.Join(dir, "shop_web-7d9c_0f3a-uid", "sidecar", "0.log"))
	side.write("s", 300)
	ts := "2026-11-26T02:00:00Z"
	if _, err := w1.f.WriteString(ts + " stdout P half-"); err != nil { // not even a newline yet
		t.Fatal(err)
	}

	// Second run from the checkpoint.
	rec.fail = nil
	tailer := NewCRITailer(opts, rec)
	state, err := (checkpoint[criState]{path: ckpt}).load()
	if err != nil {
		t.Fatal(err)
	}
	if err := tailer.poll(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	// The message is finished after the poll that saw its first half.
	if _, err := w1.f.WriteString("\n" + ts + " stdout F done\n"); err != nil {
		t.Fatal(err)
	}
	w1.want = append(w1.want, "half-done")
	if err := tailer.poll(context.Background(), criState{}); err != nil {
		t.Fatal(err)
	}
	tailer.closeAll()

	got := messages(rec.table(store.ContainerLogV2))
	checkExactlyOnce(t, got["web-7d9c/app"], w0.want, w0new.want, w1.want)
	checkExactlyOnce(t, got["web-7d9c/sidecar"], side.want)

	// The rows carry the path's identity and the line's stream, time and level.
	row := rec.table(store.ContainerLogV2)[0]
	if row[column(store.ContainerLogV2, "PodNamespace")] != "shop" || row[column(store.ContainerLogV2, "Computer")] != "node-1" ||
		row[column(store.ContainerLogV2, "LogSource")] != "stderr" || row[column(store.ContainerLogV2, "LogLevel")] != LevelUnknown ||
		!row[column(store.ContainerLogV2, "TimeGenerated")].(time.Time).Equal(time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("first row = %v", row)
	}
	if meta := row[column(store.ContainerLogV2, "KubernetesMetadata")]; meta != nil {
		t.Errorf("metadata without a pod lookup = %v, want nil", meta)
	}

	// A third run with nothing new stores nothing more.
	before := len(rec.table(store.ContainerLogV2))
	state, err = (checkpoint[criState]{path: ckpt}).load()
	if err != nil {
		t.Fatal(err)
	}
	again := NewCRITailer(opts, rec)
	if err := again.poll(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	again.closeAll()
	if after := len(rec.table(store.ContainerLogV2)); after != before {
		t.Errorf("a restart with nothing new stored %d more rows", after-before)
	}
}

func TestCRITailerRetriesAFailedAppend(t *testing.T) {
	dir := t.TempDir()
	w := openCRI(t, filepath.Join(dir, "ns_p_uid", "c", "0.log"))
	w.write("x", 2000)
	rec := newRecorder()
	calls := 0
	rec.fail = func(string, [][]any) error {
		calls++
		if calls == 2 {
			return errors.New("store unavailable")
		}
		return nil
	}
	tailer := NewCRITailer(CRITailerOptions{Dir: dir, Checkpoint: filepath.Join(t.TempDir(), "c.json"), BatchRows: 300}, rec)
	defer tailer.closeAll()
	err := tailer.poll(context.Background(), criState{})
	if err == nil || !strings.Contains(err.Error(), "store unavailable") {
		t.Fatalf("poll error = %v, want the append failure", err)
	}
	tailer.rewind()
	if err := tailer.poll(context.Background(), criState{}); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, messages(rec.table(store.ContainerLogV2))["p/c"], w.want)
}

func TestCRITailerRejectsACorruptCheckpoint(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "logs.json")
	if err := os.WriteFile(ckpt, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := NewCRITailer(CRITailerOptions{Dir: t.TempDir(), Checkpoint: ckpt}, newRecorder()).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), ckpt) {
		t.Fatalf("err = %v, want one naming %s", err, ckpt)
	}
}

func TestCRITailerKeepsALineNotInCRIFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ns_p_uid", "c", "0.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	content := "2026-11-26T01:00:00Z stdout F before\nnot a CRI line at all\n2026-11-26T01:00:01Z stdout F after\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	tailer := NewCRITailer(CRITailerOptions{Dir: dir}, rec)
	defer tailer.closeAll()
	if err := tailer.poll(context.Background(), criState{}); err != nil {
		t.Fatal(err)
	}
	got := messages(rec.table(store.ContainerLogV2))["p/c"]
	if strings.Join(got, "|") != "before|not a CRI line at all|after" {
		t.Errorf("messages = %q", got)
	}
}

// An overlong message (here 64 partial lines of 1 KiB against a 4 KiB cap) is stored
// once, truncated and marked, the tailer moves past it, and a restart from the
// checkpoint neither stores it again nor stalls on it, finished or not.
func TestCRITailerCapsAnOverlongMessage(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(t.TempDir(), "logs.json")
	path := filepath.Join(dir, "ns_p_uid", "c", "0.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	chunk := strings.Repeat("x", 1024)
	var b strings.Builder
	b.WriteString("2026-11-26T01:00:00Z stdout F before\n")
	for range 64 {
		b.WriteString("2026-11-26T01:00:01Z stdout P " + chunk + "\n")
	}
	b.WriteString("2026-11-26T01:00:01Z stdout F end-of-long\n")
	b.WriteString("2026-11-26T01:00:02Z stdout F after\n")
	// A second overlong message that never ends (the container still writing it).
	for range 64 {
		b.WriteString("2026-11-26T01:00:03Z stdout P " + chunk + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := CRITailerOptions{Dir: dir, Checkpoint: ckpt, MaxMessageBytes: 4096}
	rec := newRecorder()
	first := NewCRITailer(opts, rec)
	if err := first.poll(context.Background(), criState{}); err != nil {
		t.Fatal(err)
	}
	first.closeAll()
	long := strings.Repeat("x", 4096) + TruncatedSuffix
	want := []string{"before", long, "after", long}
	if got := messages(rec.table(store.ContainerLogV2))["p/c"]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("messages = %.80q, want the overlong ones truncated and marked", got)
	}
	// A restart resumes past both.
	again := newRecorder()
	state, err := (checkpoint[criState]{path: ckpt}).load()
	if err != nil {
		t.Fatal(err)
	}
	second := NewCRITailer(opts, again)
	defer second.closeAll()
	if err := second.poll(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	if got := again.table(store.ContainerLogV2); len(got) != 0 {
		t.Fatalf("the restart stored %d rows again", len(got))
	}
}

// Under the log directory, a symlink to a file (even one of 0600 the agent, as root,
// could read), a symlinked directory and a FIFO are skipped; regular files are read.
func TestCRITailerSkipsLinksAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(secret, []byte("2026-11-26T01:00:00Z stdout F root:secret-hash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secretDir := filepath.Join(t.TempDir(), "secret-dir")
	if err := os.MkdirAll(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secretDir, "0.log"), []byte("2026-11-26T01:00:00Z stdout F dir-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mk := func(p string) string {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.Symlink(secret, mk(filepath.Join(dir, "ns_link_uid", "c", "0.log"))); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "ns_dirlink_uid"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretDir, filepath.Join(dir, "ns_dirlink_uid", "c")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(mk(filepath.Join(dir, "ns_fifo_uid", "c", "0.log")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mk(filepath.Join(dir, "ns_real_uid", "c", "0.log")), []byte("2026-11-26T01:00:00Z stdout F real line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	tailer := NewCRITailer(CRITailerOptions{Dir: dir}, rec)
	defer tailer.closeAll()
	if err := tailer.poll(context.Background(), criState{}); err != nil {
		t.Fatal(err)
	}
	got := messages(rec.table(store.ContainerLogV2))
	if len(got) != 1 || strings.Join(got["real/c"], "|") != "real line" {
		t.Fatalf("collected %q, want only the regular file's line", got)
	}
}
