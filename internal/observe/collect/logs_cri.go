package collect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// CRITailerOptions configure the node-mode log collector.
type CRITailerOptions struct {
	// Dir is the kubelet's pod log directory (/var/log/pods).
	Dir string
	// Node is the node's name, the rows' Computer.
	Node string
	// Checkpoint is the file that remembers how far each log file was read; empty
	// keeps no checkpoint (every start reads every file from its beginning).
	Checkpoint string
	// Poll is how often files are checked for new lines (default 250ms).
	Poll time.Duration
	// BatchRows caps the rows of one append (default 10000).
	BatchRows int
	// Pods supplies container IDs and KubernetesMetadata; nil leaves them empty.
	Pods PodLookup
	// MaxMessageBytes caps a recombined message (default DefaultMaxMessageBytes).
	MaxMessageBytes int
	// BatchBytes caps the message bytes of one append (default 8 MiB), so
	// that a batch of long lines stays small whatever BatchRows is.
	BatchBytes int
	// AppendTimeout bounds one append (default DefaultAppendTimeout): a store
	// that stopped answering holds the tailer this long, then it retries.
	AppendTimeout time.Duration
}

// CRITailer tails the CRI log files of every container on a node into ContainerLogV2.
//
// Files are followed by inode, so a rotation (n.log renamed to n.log.<timestamp>, a new
// n.log created) is seen as a new file while the renamed one is read to its end; a
// container restart adds <n+1>.log beside it. Offsets are saved to the checkpoint right
// after the rows up to them were appended, and only at the end of a complete message,
// so that a restart resumes exactly where the stored rows end. The one window for a
// duplicate is a crash between an append and the checkpoint write that follows it.
type CRITailer struct {
	opts  CRITailerOptions
	app   store.Appender
	files map[uint64]*tailedFile
	buf   []byte
	// batchBytes counts the message bytes read since the last flush.
	batchBytes int
}

type tailedFile struct {
	path      string
	ino       uint64
	f         *os.File
	readOff   int64 // bytes consumed (complete lines)
	commitOff int64 // end of the last complete message: where a restart resumes
	savedOff  int64 // commitOff as last saved
	seen      bool  // found by the latest scan
	rec       Recombiner
	pendStart [2]int64 // offset where each stream's open partial message began

	// From the path.
	namespace, pod, uid, container string
	restart                        int
	rotated                        string // the suffix after ".log." of a rotated file

	containerID string
	meta        map[string]any
}

// criState is the checkpoint: offsets by inode, with the path for people reading it.
type criState struct {
	Files map[string]criFileState `json:"files"`
}

type criFileState struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
}

// NewCRITailer returns a tailer that appends to app.
func NewCRITailer(opts CRITailerOptions, app store.Appender) *CRITailer {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = 10000
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 8 << 20
	}
	if opts.AppendTimeout <= 0 {
		opts.AppendTimeout = DefaultAppendTimeout
	}
	return &CRITailer{opts: opts, app: app, files: map[uint64]*tailedFile{}, buf: make([]byte, 256<<10)}
}

// Run tails until ctx ends. An append error is retried from the last checkpointed
// offset after a backoff (1 s doubling to 30 s): the log files are the buffer, so a
// store outage loses nothing the kubelet keeps, and memory does not grow with it.
// Files deleted meanwhile stay open, so their lines are read once the store is back.
func (t *CRITailer) Run(ctx context.Context) error {
	ck := checkpoint[criState]{path: t.opts.Checkpoint}
	state, err := ck.load()
	if err != nil {
		return err
	}
	defer t.closeAll()
	backoff := newBackoff(spoolMinRetry, spoolMaxRetry)
	failing := false
	for {
		wait := t.opts.Poll
		if err := t.poll(ctx, state); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !failing {
				klog.FromContext(ctx).Error(err, "log collection failed; retrying from the checkpoint with backoff")
			}
			failing = true
			wait = backoff.Step()
			t.rewind()
		} else if failing {
			klog.FromContext(ctx).Info("log collection resumed")
			failing, backoff = false, newBackoff(spoolMinRetry, spoolMaxRetry)
		}
		state = criState{}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// poll reads every file once to its current end and appends the rows. resume gives the
// checkpointed offsets of files not yet tracked (only the first poll needs it).
func (t *CRITailer) poll(ctx context.Context, resume criState) error {
	if err := t.scan(resume); err != nil {
		return err
	}
	ordered := make([]*tailedFile, 0, len(t.files))
	for _, f := range t.files {
		ordered = append(ordered, f)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].less(ordered[j]) })
	var rows [][]any
	for _, f := range ordered {
		t.refreshMetadata(f)
		for {
			var done bool
			var err error
			rows, done, err = t.read(f, rows, t.opts.BatchRows)
			if err != nil {
				return err
			}
			if len(rows) >= t.opts.BatchRows || t.batchBytes >= t.opts.BatchBytes {
				if err := t.flush(ctx, rows); err != nil {
					return err
				}
				rows = rows[:0]
			}
			if done {
				break
			}
		}
		if !f.seen {
			// Deleted (pod gone, or an old rotation pruned): its end was just read.
			rows = append(rows, t.rowsOf(f, f.rec.Flush())...)
			f.commitOff = f.readOff
		}
	}
	if err := t.flush(ctx, rows); err != nil {
		return err
	}
	for ino, f := range t.files {
		if !f.seen {
			_ = f.f.Close()
			delete(t.files, ino)
		}
	}
	return t.saveIfChanged(true)
}

// flush appends rows, then saves every file's committed offset.
func (t *CRITailer) flush(ctx context.Context, rows [][]any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.batchBytes = 0
	if len(rows) > 0 {
		actx, cancel := context.WithTimeout(ctx, t.opts.AppendTimeout)
		err := t.app.Append(actx, store.ContainerLogV2, rows)
		cancel()
		if err != nil {
			return fmt.Errorf("failed to append %d log rows: %w", len(rows), err)
		}
	}
	return t.saveIfChanged(len(rows) > 0)
}

func (t *CRITailer) saveIfChanged(force bool) error {
	changed := force
	for _, f := range t.files {
		if f.commitOff != f.savedOff {
			changed = true
		}
	}
	if !changed || t.opts.Checkpoint == "" {
		return nil
	}
	st := criState{Files: map[string]criFileState{}}
	for ino, f := range t.files {
		if f.seen {
			st.Files[strconv.FormatUint(ino, 10)] = criFileState{Path: f.path, Offset: f.commitOff}
		}
	}
	if err := (checkpoint[criState]{path: t.opts.Checkpoint}).save(st); err != nil {
		return err
	}
	for _, f := range t.files {
		f.savedOff = f.commitOff
	}
	return nil
}

// rewind forgets what was read after the last saved offsets, after a failed append.
func (t *CRITailer) rewind() {
	t.batchBytes = 0
	for _, f := range t.files {
		f.readOff, f.commitOff, f.rec = f.savedOff, f.savedOff, Recombiner{MaxBytes: t.opts.MaxMessageBytes}
	}
}

func (t *CRITailer) closeAll() {
	for _, f := range t.files {
		_ = f.f.Close()
	}
}

// scan finds the log files and tracks new ones.
func (t *CRITailer) scan(resume criState) error {
	for _, f := range t.files {
		f.seen = false
	}
	paths, err := filepath.Glob(filepath.Join(t.opts.Dir, "*", "*", "*.log*"))
	if err != nil {
		return fmt.Errorf("failed to list log files in %s: %w", t.opts.Dir, err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".tmp") {
			continue // compressed rotations are not tailed; the uncompressed one was
		}
		// Lstat, not Stat: a symlink is skipped, not followed (the agent runs as
		// root, and a link could name any file of the node), and so is anything
		// that is not a regular file (a FIFO would block a read forever).
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue // removed between the listing and now, a link, or not a file
		}
		ino := st.Sys().(*syscall.Stat_t).Ino
		if f, ok := t.files[ino]; ok {
			f.path, f.seen = p, true
			if st.Size() < f.readOff {
				// Truncated in place (copytruncate): start over.
				f.readOff, f.commitOff, f.rec = 0, 0, Recombiner{MaxBytes: t.opts.MaxMessageBytes}
			}
			continue
		}
		f, err := newTailedFile(t.opts.Dir, p, ino)
		if err != nil {
			klog.Background().V(1).Info("not collecting a log file", "file", p, "err", err)
			continue
		}
		f.rec.MaxBytes = t.opts.MaxMessageBytes
		if saved, ok := resume.Files[strconv.FormatUint(ino, 10)]; ok && saved.Offset <= st.Size() &&
			filepath.Dir(saved.Path) == filepath.Dir(p) {
			f.readOff, f.commitOff, f.savedOff = saved.Offset, saved.Offset, saved.Offset
		}
		t.files[ino] = f
	}
	return nil
}

func newTailedFile(dir, path string, ino uint64) (*tailedFile, error) {
	fh, err := openLogFile(dir, path, ino)
	if err != nil {
		return nil, err
	}
	f := &tailedFile{path: path, ino: ino, f: fh, seen: true}
	base := filepath.Base(path)
	num, rotated, _ := strings.Cut(base, ".log")
	f.rotated = strings.TrimPrefix(rotated, ".")
	f.restart, _ = strconv.Atoi(num)
	f.container = filepath.Base(filepath.Dir(path))
	// <namespace>_<pod>_<uid>: none of the three may contain '_'.
	parts := strings.Split(filepath.Base(filepath.Dir(filepath.Dir(path))), "_")
	if len(parts) == 3 {
		f.namespace, f.pod, f.uid = parts[0], parts[1], parts[2]
	}
	return f, nil
}

// less orders files so that a container's older lines are read first: by directory,
// restart number, then rotated files (oldest suffix first) before the live one.
func (f *tailedFile) less(g *tailedFile) bool {
	if a, b := filepath.Dir(f.path), filepath.Dir(g.path); a != b {
		return a < b
	}
	if f.restart != g.restart {
		return f.restart < g.restart
	}
	if (f.rotated == "") != (g.rotated == "") {
		return f.rotated != ""
	}
	return f.rotated < g.rotated
}

func (t *CRITailer) refreshMetadata(f *tailedFile) {
	if t.opts.Pods == nil {
		return
	}
	pod, ok := t.opts.Pods.Pod(f.namespace, f.pod)
	if !ok || pod.UID != types.UID(f.uid) {
		if f.meta == nil {
			f.meta = map[string]any{"podUid": f.uid}
		}
		return
	}
	f.containerID, f.meta = containerMetadata(pod, f.container)
}

// read consumes complete lines of f from readOff until the end of the file or until
// rows holds max rows; done reports the end of the file.
func (t *CRITailer) read(f *tailedFile, rows [][]any, max int) ([][]any, bool, error) {
	n, err := f.f.ReadAt(t.buf, f.readOff)
	if err != nil && err != io.EOF {
		return rows, true, fmt.Errorf("failed to read %s: %w", f.path, err)
	}
	data := t.buf[:n]
	consumed := 0
	for len(rows) < max && t.batchBytes < t.opts.BatchBytes {
		i := bytes.IndexByte(data[consumed:], '\n')
		if i < 0 {
			break
		}
		line := data[consumed : consumed+i]
		t.batchBytes += len(line)
		lineStart := f.readOff + int64(consumed)
		consumed += i + 1
		l, perr := ParseCRILine(line)
		if perr != nil {
			// A line the runtime did not write in the CRI format (or a torn write) is
			// kept whole, at the time it was read, rather than dropped.
			klog.Background().V(2).Info("unparsable CRI log line", "file", f.path, "offset", lineStart, "err", perr)
			l = CRILine{Time: time.Now().UTC(), Stream: "stdout", Message: line}
		}
		si := streamIndex(l.Stream)
		if l.Partial && !f.rec.pending[si].open {
			f.pendStart[si] = lineStart
		}
		if e, ok := f.rec.Add(l); ok {
			rows = append(rows, t.rowsOf(f, []LogEntry{e})...)
		}
		end := f.readOff + int64(consumed)
		f.commitOff = end
		for s := range f.rec.pending {
			if f.rec.pending[s].open && f.pendStart[s] < f.commitOff {
				f.commitOff = f.pendStart[s]
			}
		}
	}
	f.readOff += int64(consumed)
	switch {
	case len(rows) >= max || t.batchBytes >= t.opts.BatchBytes:
		return rows, false, nil
	case n < len(t.buf):
		return rows, true, nil // the end of the file: what is left is a line being written
	case consumed > 0:
		return rows, false, nil // the buffer was full: read on
	case len(t.buf) < maxLine:
		// A line longer than the buffer; the runtime splits lines at 16 KiB, so this is
		// rare: grow the buffer and read it again.
		t.buf = make([]byte, 2*len(t.buf))
		return rows, false, nil
	default:
		klog.Background().Info("skipping an overlong log line", "file", f.path, "offset", f.readOff, "bytes", n)
		f.readOff += int64(n)
		return rows, false, nil
	}
}

// maxLine bounds the read buffer; no runtime writes CRI lines anywhere near this long.
const maxLine = 8 << 20

func (t *CRITailer) rowsOf(f *tailedFile, entries []LogEntry) [][]any {
	out := make([][]any, 0, len(entries))
	for _, e := range entries {
		msg, level := messageValue(e.Message, e.Truncated)
		out = append(out, store.Row(store.ContainerLogV2Row{TimeGenerated: e.Time, Computer: t.opts.Node, ContainerID: f.containerID,
			ContainerName: f.container, PodName: f.pod, PodNamespace: f.namespace, LogMessage: msg, LogSource: e.Stream,
			LogLevel: level, KubernetesMetadata: metaValue(f.meta)}))
	}
	return out
}

// metaValue keeps a nil map a nil interface, so that the store writes NULL.
func metaValue(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}
