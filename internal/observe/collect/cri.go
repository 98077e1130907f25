package collect

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// CRILine is one line of a CRI container log file as the kubelet's runtime writes it:
// `<RFC3339Nano> <stdout|stderr> <P|F> <message>`.
type CRILine struct {
	Time    time.Time
	Stream  string // stdout or stderr
	Partial bool   // tag P: the message continues on the next line of the same stream
	Message []byte // without the trailing newline; aliases the input
}

// ParseCRILine parses one line of a CRI log file (without its newline). The tag field
// may carry several `:`-separated tags for forward compatibility; only P/F is read.
// The format is parsed here rather than with k8s.io/cri-client/pkg/logs because that
// package keeps its parser unexported behind ReadLogs, which follows one file for one
// reader and has no notion of offsets to checkpoint.
func ParseCRILine(line []byte) (CRILine, error) {
	var out CRILine
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return out, errors.New("missing the stream field after the timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return out, fmt.Errorf("bad timestamp %q: %w", ts, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return out, errors.New("missing the tag field after the stream")
	}
	switch string(stream) {
	case "stdout", "stderr":
	default:
		return out, fmt.Errorf("bad stream %q, want stdout or stderr", stream)
	}
	tags, msg, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		// An empty full line is written as `<ts> stdout F` with nothing after the tag.
		tags, msg = rest, nil
	}
	first, _, _ := bytes.Cut(tags, []byte{':'})
	switch string(first) {
	case "F":
	case "P":
		out.Partial = true
	default:
		return out, fmt.Errorf("bad tag %q, want P or F", tags)
	}
	out.Time, out.Stream, out.Message = t, streamName(stream), msg
	return out, nil
}

// streamName returns a constant string so that rows do not hold on to the read buffer.
func streamName(b []byte) string {
	if string(b) == "stderr" {
		return "stderr"
	}
	return "stdout"
}

// LogEntry is one complete log message of a container, partial lines recombined.
type LogEntry struct {
	Time    time.Time
	Stream  string
	Message string
}

// Recombiner joins partial (P) CRI lines with the full (F) line that ends them, per
// stream, as the kubelet does when it serves logs. Its zero value is ready to use.
type Recombiner struct {
	pending [2]partial // stdout, stderr
}

type partial struct {
	buf  []byte
	time time.Time
	open bool
}

// Add feeds one parsed line and reports a complete entry when the line ends a message.
// The entry's time is that of the message's first part.
func (r *Recombiner) Add(l CRILine) (LogEntry, bool) {
	p := &r.pending[streamIndex(l.Stream)]
	if l.Partial {
		if !p.open {
			p.open, p.time, p.buf = true, l.Time, p.buf[:0]
		}
		p.buf = append(p.buf, l.Message...)
		return LogEntry{}, false
	}
	if !p.open {
		return LogEntry{Time: l.Time, Stream: l.Stream, Message: string(l.Message)}, true
	}
	p.buf = append(p.buf, l.Message...)
	e := LogEntry{Time: p.time, Stream: l.Stream, Message: string(p.buf)}
	p.open, p.buf = false, p.buf[:0]
	return e, true
}

// Pending reports whether a message has started but not ended on some stream.
func (r *Recombiner) Pending() bool { return r.pending[0].open || r.pending[1].open }

// Flush returns the unfinished messages (a file that ended mid-message) and resets.
func (r *Recombiner) Flush() []LogEntry {
	var out []LogEntry
	for i, s := range []string{"stdout", "stderr"} {
		p := &r.pending[i]
		if p.open {
			out = append(out, LogEntry{Time: p.time, Stream: s, Message: string(p.buf)})
			p.open, p.buf = false, p.buf[:0]
		}
	}
	return out
}

func streamIndex(s string) int {
	if s == "stderr" {
		return 1
	}
	return 0
}
