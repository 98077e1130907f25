package cli

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// traceView is one operation: its spans in waterfall order (parents
// before children, siblings by start) with their offsets from the first.
type traceView struct {
	OperationID string      `json:"operationId"`
	Start       time.Time   `json:"start"`
	DurationMs  float64     `json:"durationMs"`
	Spans       []traceSpan `json:"spans"`
	// Exceptions whose span is not in the trace (not received, or cut).
	Exceptions []traceException `json:"exceptions,omitempty"`
	Failed     int              `json:"failed"`
	Truncated  bool             `json:"truncated,omitempty"`
}

type traceSpan struct {
	Kind       string           `json:"kind"` // request or dependency
	ID         string           `json:"id"`
	ParentID   string           `json:"parentId,omitempty"`
	Depth      int              `json:"depth"`
	Name       string           `json:"name"`
	Service    string           `json:"service"`
	Instance   string           `json:"instance,omitempty"`
	Type       string           `json:"type,omitempty"`
	Target     string           `json:"target,omitempty"`
	Data       string           `json:"data,omitempty"`
	URL        string           `json:"url,omitempty"`
	Start      time.Time        `json:"start"`
	OffsetMs   float64          `json:"offsetMs"`
	DurationMs float64          `json:"durationMs"`
	Success    bool             `json:"success"`
	ResultCode string           `json:"resultCode"`
	Exceptions []traceException `json:"exceptions,omitempty"`
	// Orphan marks a span whose parent was not received.
	Orphan bool `json:"orphan,omitempty"`
}

type traceException struct {
	Time      time.Time `json:"time"`
	OffsetMs  float64   `json:"offsetMs"`
	SpanID    string    `json:"spanId,omitempty"`
	Type      string    `json:"type"`
	Message   string    `json:"message"`
	ProblemID string    `json:"problemId,omitempty"`
	Service   string    `json:"service,omitempty"`
}

// buildTrace orders the spans as a tree, whatever order they were stored
// in: a span arriving before its parent still sits under it.
func buildTrace(id string, spans []traceSpan, excs []traceException) *traceView {
	tv := &traceView{OperationID: id}
	if len(spans) > maxTraceSpans {
		spans, tv.Truncated = spans[:maxTraceSpans], true
	}
	var start, end time.Time
	for i, s := range spans {
		e := s.Start.Add(time.Duration(s.DurationMs * float64(time.Millisecond)))
		if i == 0 || s.Start.Before(start) {
			start = s.Start
		}
		if i == 0 || e.After(end) {
			end = e
		}
	}
	for _, e := range excs {
		if len(spans) == 0 && (start.IsZero() || e.Time.Before(start)) {
			start = e.Time
		}
	}
	tv.Start, tv.DurationMs = start, ms(end.Sub(start))
	if len(spans) == 0 {
		tv.DurationMs = 0
	}

	byID := map[string]int{}
	for i, s := range spans {
		if _, dup := byID[s.ID]; !dup {
			byID[s.ID] = i
		}
	}
	for _, e := range excs {
		e.OffsetMs = ms(e.Time.Sub(start))
		if i, ok := byID[e.SpanID]; ok {
			spans[i].Exceptions = append(spans[i].Exceptions, e)
		} else {
			tv.Exceptions = append(tv.Exceptions, e)
		}
	}
	children := map[string][]int{}
	var roots []int
	for i, s := range spans {
		if _, ok := byID[s.ParentID]; ok && s.ParentID != s.ID {
			children[s.ParentID] = append(children[s.ParentID], i)
			continue
		}
		spans[i].Orphan = s.ParentID != ""
		roots = append(roots, i)
	}
	order := func(idx []int) {
		sort.SliceStable(idx, func(a, b int) bool {
			sa, sb := spans[idx[a]], spans[idx[b]]
			if !sa.Start.Equal(sb.Start) {
				return sa.Start.Before(sb.Start)
			}
			return sa.ID < sb.ID
		})
	}
	order(roots)
	seen := make([]bool, len(spans))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if seen[i] {
			return // a cycle of parent ids, which a hostile sender can make
		}
		seen[i] = true
		s := spans[i]
		s.Depth, s.OffsetMs = depth, ms(s.Start.Sub(start))
		sort.SliceStable(s.Exceptions, func(a, b int) bool { return s.Exceptions[a].Time.Before(s.Exceptions[b].Time) })
		if !s.Success {
			tv.Failed++
		}
		tv.Spans = append(tv.Spans, s)
		kids := children[s.ID]
		order(kids)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	// Spans only reachable through a cycle have no root: show them at the top level.
	for i := range spans {
		if !seen[i] {
			spans[i].Orphan = true
			walk(i, 0)
		}
	}
	return tv
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waterfallWidth is the width of the timeline, in characters.
const waterfallWidth = 40

// writeWaterfall prints the trace as Application Insights' end-to-end
// transaction view does, as text.
func writeWaterfall(w io.Writer, tv *traceView, width int) error {
	excs := len(tv.Exceptions)
	for _, s := range tv.Spans {
		excs += len(s.Exceptions)
	}
	fmt.Fprintf(w, "Operation %s: %s, %s, %s, %s\n", tv.OperationID, plural(len(tv.Spans), "span"),
		formatMs(tv.DurationMs), plural(tv.Failed, "failed"), plural(excs, "exception"))
	if !tv.Start.IsZero() {
		fmt.Fprintf(w, "Started %s\n", tv.Start.Format(time.RFC3339Nano))
	}
	if tv.Truncated {
		fmt.Fprintf(w, "Only the first %d spans are shown.\n", maxTraceSpans)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tNAME\tTYPE\tSTART\tDURATION\tRESULT\tTIMELINE")
	for _, s := range tv.Spans {
		indent := strings.Repeat("  ", s.Depth)
		if s.Depth > 0 {
			indent = strings.Repeat("  ", s.Depth-1) + "└ "
		}
		typ := s.Type
		if s.Kind == "request" {
			typ = "request"
		}
		if s.Target != "" {
			typ += " " + s.Target
		}
		result := s.ResultCode
		if !s.Success {
			result = "✗ " + result
		}
		name := s.Name
		if s.Orphan {
			name += " (parent " + s.ParentID + " not received)"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\n", cell(s.Service), indent, cell(name), cell(typ),
			formatMs(s.OffsetMs), formatMs(s.DurationMs), cell(result), bar(s.OffsetMs, s.DurationMs, tv.DurationMs, width))
		for _, e := range s.Exceptions {
			fmt.Fprintf(tw, "%s\t%s! %s\t%s\t%s\t\t\t%s\n", cell(s.Service), strings.Repeat("  ", s.Depth+1), cell(exceptionText(e)), "exception",
				formatMs(e.OffsetMs), bar(e.OffsetMs, 0, tv.DurationMs, width))
		}
	}
	for _, e := range tv.Exceptions {
		fmt.Fprintf(tw, "%s\t! %s (span %s not received)\t%s\t%s\t\t\t%s\n", cell(e.Service), cell(exceptionText(e)), e.SpanID,
			"exception", formatMs(e.OffsetMs), bar(e.OffsetMs, 0, tv.DurationMs, width))
	}
	return tw.Flush()
}

func exceptionText(e traceException) string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// cell keeps a value on its row and the row readable: names and messages
// come from senders, and may be long, multi-line or hold control characters.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

func plural(n int, word string) string {
	if word == "failed" {
		return fmt.Sprintf("%d failed", n)
	}
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// formatMs prints a duration in milliseconds the way a waterfall reads it.
func formatMs(v float64) string {
	switch {
	case v >= 1000:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v/1000), "0"), ".") + "s"
	case v >= 10 || v == 0:
		return fmt.Sprintf("%.0fms", v)
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".") + "ms"
}

// bar draws [offset, offset+duration] of total on width characters; a
// moment (an exception) is one mark.
func bar(offset, dur, total float64, width int) string {
	cells := make([]rune, width)
	for i := range cells {
		cells[i] = '·'
	}
	if total <= 0 {
		total = math.Max(dur, 1)
	}
	from := int(offset / total * float64(width))
	to := int(math.Ceil((offset + dur) / total * float64(width)))
	from = min(max(from, 0), width-1)
	to = min(max(to, from+1), width)
	mark := '█'
	if dur == 0 {
		mark = '!'
	}
	for i := from; i < to; i++ {
		cells[i] = mark
	}
	return "|" + string(cells) + "|"
}
