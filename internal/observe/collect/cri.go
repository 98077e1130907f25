package collect

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
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
	// Truncated is set when the message was longer than the cap and only its
	// first bytes are kept.
	Truncated bool
}

// DefaultMaxMessageBytes caps one recombined log message. A container decides how
// long its lines are, and the runtime splits them into 16 KiB partial lines that the
// collector joins: without a cap one 64 MiB line took the agent to 275 MB, past its
// 512 Mi limit (issue 21). Fluent Bit's tail input buffers 32 KiB by default and
// Log Analytics keeps 32 KiB of a string; 256 KiB keeps long stack traces whole.
const DefaultMaxMessageBytes = 256 << 10

// TruncatedSuffix ends the stored text of a message cut at the cap, so that a reader
// sees it and a query finds it (`where LogMessage endswith "[truncated by tugboat]"`).
const TruncatedSuffix = " …[truncated by tugboat]"

// Recombiner joins partial (P) CRI lines with the full (F) line that ends them, per
// stream, as the kubelet does when it serves logs. A message that reaches MaxBytes is
// given out at once, truncated, and the rest of it up to its F line is dropped, so
// memory stays bounded and the reader moves past it. Its zero value is ready to use.
type Recombiner struct {
	// MaxBytes caps a message; zero means DefaultMaxMessageBytes.
	MaxBytes int
	pending  [2]partial // stdout, stderr
}

type partial struct {
	buf  []byte
	time time.Time
	open bool
	// skip is set after a truncated message was given out while its lines go on.
	skip bool
}

func (r *Recombiner) max() int {
	if r.MaxBytes > 0 {
		return r.MaxBytes
	}
	return DefaultMaxMessageBytes
}

// Add feeds one parsed line and reports a complete entry when the line ends a message
// or the message reached the cap. The entry's time is that of the message's first part.
func (r *Recombiner) Add(l CRILine) (LogEntry, bool) {
	p := &r.pending[streamIndex(l.Stream)]
	limit := r.max()
	if p.skip {
		// The rest of a message already given out truncated.
		if !l.Partial {
			p.skip = false
		}
		return LogEntry{}, false
	}
	if !p.open {
		if !l.Partial {
			msg, cut := capBytes(l.Message, limit)
			return LogEntry{Time: l.Time, Stream: l.Stream, Message: string(msg), Truncated: cut}, true
		}
		p.open, p.time, p.buf = true, l.Time, p.buf[:0]
	}
	msg, cut := capBytes(l.Message, limit-len(p.buf))
	p.buf = append(p.buf, msg...)
	if !cut && l.Partial {
		return LogEntry{}, false
	}
	e := LogEntry{Time: p.time, Stream: l.Stream, Message: string(p.buf), Truncated: cut}
	p.open, p.skip = false, cut && l.Partial
	p.buf = p.buf[:0]
	if cap(p.buf) > 64<<10 {
		p.buf = nil // do not hold a large buffer for one long message
	}
	return e, true
}

// capBytes returns the first n bytes of b and whether b was longer. A cut in the
// middle of a UTF-8 sequence is moved back to the sequence's start.
func capBytes(b []byte, n int) ([]byte, bool) {
	if len(b) <= n {
		return b, false
	}
	n = max(n, 0)
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n], true
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
		}
		p.open, p.skip, p.buf = false, false, nil
	}
	return out
}

func streamIndex(s string) int {
	if s == "stderr" {
		return 1
	}
	return 0
}
