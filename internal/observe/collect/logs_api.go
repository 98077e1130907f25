package collect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// APILogsCollector follows the logs of every running container through the pods/log
// API (follow, timestamps, sinceTime from the checkpoint), for an agent that runs out
// of the cluster. The API merges stdout and stderr and does not read rotated files, so
// LogSource is empty and lines rotated away while no stream was open are lost; node
// mode (CRITailer) has neither limit.
type APILogsCollector struct {
	Clients kubernetes.Interface
	Pods    podLister
	// Checkpoint remembers the time of the last stored line of each container.
	Checkpoint string
	// Retry is the pause before a stream that ended is opened again (default 5s).
	Retry time.Duration
	App   store.Appender
	// MaxMessageBytes caps one line of a stream (default DefaultMaxMessageBytes):
	// the apiserver joins a container's partial lines, so a line is as long as
	// the container makes it.
	MaxMessageBytes int

	mu      sync.Mutex
	rows    [][]any
	pending map[string]time.Time // container key → last line time, once rows are stored
	saved   map[string]time.Time
	streams map[string]time.Time // open streams (zero) or when the last one ended
	// unstored is set while a Spool keeps rows of a failed append: the next
	// flush retries it even with no new line.
	unstored bool
}

// Run follows container logs until ctx ends, flushing every second and once at the end.
func (c *APILogsCollector) Run(ctx context.Context) error {
	if c.Retry <= 0 {
		c.Retry = 5 * time.Second
	}
	ck := checkpoint[map[string]time.Time]{path: c.Checkpoint}
	saved, err := ck.load()
	if err != nil {
		return err
	}
	if saved == nil {
		saved = map[string]time.Time{}
	}
	c.saved, c.pending, c.streams = saved, map[string]time.Time{}, map[string]time.Time{}
	var wg sync.WaitGroup
	_ = every(ctx, time.Second, func(ctx context.Context) {
		c.startStreams(ctx, &wg)
		if err := c.flush(ctx, ck); err != nil && ctx.Err() == nil && !errors.Is(err, ErrStoreUnavailable) {
			klog.FromContext(ctx).Error(err, "log collection failed; retrying")
		}
	})
	wg.Wait()
	return c.flush(context.WithoutCancel(ctx), ck)
}

func containerKey(pod *corev1.Pod, container string) string {
	return pod.Namespace + "/" + pod.Name + "/" + string(pod.UID) + "/" + container
}

func (c *APILogsCollector) startStreams(ctx context.Context, wg *sync.WaitGroup) {
	pods := c.Pods.list()
	c.forgetGone(pods)
	for _, pod := range pods {
		for _, st := range pod.Status.ContainerStatuses {
			if st.State.Running == nil {
				continue
			}
			key := containerKey(pod, st.Name)
			c.mu.Lock()
			ended, known := c.streams[key]
			open := known && ended.IsZero()
			if open || known && time.Since(ended) < c.Retry {
				c.mu.Unlock()
				continue
			}
			c.streams[key] = time.Time{}
			since := c.saved[key]
			if t, ok := c.pending[key]; ok {
				since = t
			}
			c.mu.Unlock()
			wg.Add(1)
			go func(pod *corev1.Pod, container string) {
				defer wg.Done()
				err := c.follow(ctx, pod, container, since)
				if err != nil && ctx.Err() == nil {
					klog.FromContext(ctx).V(1).Info("log stream ended", "pod", klog.KObj(pod), "container", container, "err", err)
				}
				c.mu.Lock()
				c.streams[key] = time.Now()
				c.mu.Unlock()
			}(pod, st.Name)
		}
	}
}

// forgetGone drops the checkpoint entries and stream records of containers whose pod
// no longer exists, so that neither grows with every pod the cluster ever ran.
func (c *APILogsCollector) forgetGone(pods []*corev1.Pod) {
	live := map[string]bool{}
	for _, p := range pods {
		live[p.Namespace+"/"+p.Name+"/"+string(p.UID)+"/"] = true
	}
	gone := func(key string) bool {
		i := strings.LastIndexByte(key, '/')
		return i < 0 || !live[key[:i+1]]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, ended := range c.streams {
		if !ended.IsZero() && gone(k) {
			delete(c.streams, k)
		}
	}
	for k := range c.saved {
		if _, pending := c.pending[k]; !pending && gone(k) {
			delete(c.saved, k)
		}
	}
}

// follow reads one container's stream, skipping lines not newer than since (sinceTime
// has a resolution of one second, so the API repeats the lines of that second).
func (c *APILogsCollector) follow(ctx context.Context, pod *corev1.Pod, container string, since time.Time) error {
	opts := &corev1.PodLogOptions{Container: container, Follow: true, Timestamps: true}
	if !since.IsZero() {
		opts.SinceTime = &metav1.Time{Time: since}
	}
	stream, err := c.Clients.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		return fmt.Errorf("failed to open the log stream: %w", err)
	}
	defer stream.Close()
	key := containerKey(pod, container)
	containerID, meta := containerMetadata(pod, container)
	r := bufio.NewReaderSize(stream, 64<<10)
	limit := c.MaxMessageBytes
	if limit <= 0 {
		limit = DefaultMaxMessageBytes
	}
	// The timestamp and its space come before the message.
	limit += len(time.RFC3339Nano) + 1
	for {
		line, truncated, err := readLine(r, limit)
		if len(line) > 0 && (truncated || line[len(line)-1] == '\n') {
			t, msg, perr := parseAPILine(bytes.TrimSuffix(line, []byte{'\n'}))
			if perr == nil && t.After(since) {
				since = t
				value, level := messageValue(msg, truncated)
				row := store.Row(store.ContainerLogV2Row{TimeGenerated: t, Computer: pod.Spec.NodeName, ContainerID: containerID,
					ContainerName: container, PodName: pod.Name, PodNamespace: pod.Namespace, LogMessage: value, LogLevel: level,
					KubernetesMetadata: meta})
				c.mu.Lock()
				c.rows = append(c.rows, row)
				c.pending[key] = t
				c.mu.Unlock()
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to read the log stream: %w", err)
		}
	}
}

// readLine reads one line of r, newline included, keeping at most limit bytes of
// it: the rest of a longer line is read and dropped (truncated is then set), so
// memory stays bounded whatever the stream sends.
func readLine(r *bufio.Reader, limit int) (line []byte, truncated bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		body := bytes.TrimSuffix(chunk, []byte{'\n'})
		if !truncated {
			keep, cut := capBytes(body, limit-len(line))
			line = append(line, keep...)
			truncated = cut
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if truncated {
			// The cut may have fallen between two chunks inside a character.
			line = trimPartialRune(line)
		}
		if len(body) < len(chunk) {
			line = append(line, '\n')
		}
		return line, truncated, err
	}
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// parseAPILine splits a line of a timestamps=true log stream: `<RFC3339Nano> <message>`.
func parseAPILine(line []byte) (time.Time, string, error) {
	ts, msg, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		ts, msg = line, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return time.Time{}, "", fmt.Errorf("bad timestamp %q: %w", ts, err)
	}
	return t.UTC(), string(msg), nil
}

func (c *APILogsCollector) flush(ctx context.Context, ck checkpoint[map[string]time.Time]) error {
	c.mu.Lock()
	rows, pending, unstored := c.rows, c.pending, c.unstored
	c.rows, c.pending = nil, map[string]time.Time{}
	c.mu.Unlock()
	if len(rows) == 0 && !unstored {
		return nil
	}
	if err := c.App.Append(ctx, store.ContainerLogV2, rows); err != nil {
		c.mu.Lock()
		if errors.Is(err, ErrStoreUnavailable) {
			c.unstored = true // the spool keeps the rows
		} else {
			c.rows = append(rows, c.rows...)
		}
		// The checkpoint moves past these lines only once they are stored.
		for k, t := range pending {
			if _, newer := c.pending[k]; !newer {
				c.pending[k] = t
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("failed to append %d log rows: %w", len(rows), err)
	}
	c.mu.Lock()
	c.unstored = false
	for k, t := range pending {
		c.saved[k] = t
	}
	snapshot := make(map[string]time.Time, len(c.saved))
	for k, t := range c.saved {
		snapshot[k] = t
	}
	c.mu.Unlock()
	return ck.save(snapshot)
}
