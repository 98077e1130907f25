package kql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// format_timespan formats with Kusto's elements: d to dddddddd (days,
// zero-padded), h/hh and H/HH (hours within the day), m/mm, s/ss,
// f to fffffff (fractions) and F to FFFFFFF (fractions, trailing zeros
// and a zero fraction left out), and the separators of format_datetime.
// A negative timespan is written with a leading minus. It runs in Go
// inside DuckDB on the timespan's microseconds; ClickHouse 18.16 refuses it.
var timespanFunctions = map[string]funcDef{
	"format_timespan": sig(2, 2, TypeString, argTimespan, argConstString).with(checkFormatTimespan),
}

var timespanElement = regexp.MustCompile(`d{1,8}|f{1,7}|F{1,7}|[hH]{1,2}|m{1,2}|s{1,2}|[ /\-:,._\[\]]`)

// timespanFormat splits a format into elements, or says where it is wrong.
func timespanFormat(f string) ([]string, error) {
	var out []string
	for rest := f; rest != ""; {
		loc := timespanElement.FindStringIndex(rest)
		if loc == nil || loc[0] != 0 {
			return nil, fmt.Errorf("unsupported format_timespan format %q at %q; use d, h, H, m, s, f, F (repeated for width) and the separators / - : , . _ [ ] and space", f, rest)
		}
		out = append(out, rest[:loc[1]])
		rest = rest[loc[1]:]
	}
	return out, nil
}

func checkFormatTimespan(ck *checker, c *Call, a []texpr) texpr {
	f, _ := constString(a[1])
	if _, err := timespanFormat(f); err != nil {
		ck.fail(c.Args[1].Position(), "%v", err)
	}
	return mkCall("format_timespan", TypeString, a...)
}

// formatTimespanAs writes ticks (100 ns) in the elements of format.
func formatTimespanAs(ticks int64, format string) string {
	elems, err := timespanFormat(format)
	if err != nil {
		return ""
	}
	var b strings.Builder
	if ticks < 0 {
		b.WriteByte('-')
		ticks = -ticks
	}
	const perSecond = 10_000_000
	frac := ticks % perSecond
	secs := ticks / perSecond
	pad := func(v int64, n int) string {
		s := strconv.FormatInt(v, 10)
		if len(s) < n {
			s = strings.Repeat("0", n-len(s)) + s
		}
		return s
	}
	for _, e := range elems {
		switch e[0] {
		case 'd':
			b.WriteString(pad(secs/86400, len(e)))
		case 'h', 'H':
			b.WriteString(pad(secs/3600%24, len(e)))
		case 'm':
			b.WriteString(pad(secs/60%60, len(e)))
		case 's':
			b.WriteString(pad(secs%60, len(e)))
		case 'f':
			b.WriteString(pad(frac, 7)[:len(e)])
		case 'F':
			b.WriteString(strings.TrimRight(pad(frac, 7)[:len(e)], "0"))
		default:
			b.WriteString(e)
		}
	}
	return b.String()
}

var _ = registerGo(GoFunc{Name: "_tb_format_timespan", Args: []Type{TypeLong, TypeString}, Result: TypeString, Fn: func(a []any) (any, error) {
	return formatTimespanAs(a[0].(int64)*10, a[1].(string)), nil
}})

var duckdbTimespan = map[string]sqlFunc{
	"format_timespan": tmpl("_tb_format_timespan(epoch_us($0), $1)"),
}
