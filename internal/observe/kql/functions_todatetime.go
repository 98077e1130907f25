package kql

import (
	"strings"
	"time"
)

// Kusto's datetime() literals and todatetime() read the formats of "The
// datetime data type" page: ISO 8601 (lexer.go's parseDatetime), RFC 822,
// RFC 850 and "sortable" with a zone name, and the month-first
// 12-02-2022 of todatetime's own example (.NET's invariant culture reads
// month, day, year). Two-digit years follow .NET's window (00-49 are
// 20xx, 50-99 19xx), not Go's (69 is the pivot).

// namedLayouts are the documented formats besides ISO 8601, as Go layouts;
// a trailing zone name is taken off first (zoneOffsets).
var namedLayouts = []struct {
	layout   string
	twoDigit bool // the year is %r, two digits
}{
	// RFC 822: %w, %e %b %r %H:%M[:%s] and the same without the weekday.
	{"Mon, 2 Jan 06 15:04:05", true},
	{"Mon, 2 Jan 06 15:04", true},
	{"2 Jan 06 15:04:05", true},
	{"2 Jan 06 15:04", true},
	// RFC 850: %w, %e-%b-%r %H:%M[:%s], the weekday written in full.
	{"Monday, 2-Jan-06 15:04:05", true},
	{"Monday, 2-Jan-06 15:04", true},
	{"2-Jan-06 15:04:05", true},
	{"2-Jan-06 15:04", true},
	// Sortable: %Y-%n-%e[T| ]%H:%M[:%s], month and day without leading zeros.
	{"2006-1-2 15:04:05", false},
	{"2006-1-2 15:04", false},
	{"2006-1-2T15:04:05", false},
	{"2006-1-2T15:04", false},
	// todatetime('12-02-2022'): month, day, year.
	{"1-2-2006", false},
}

// isoDatetimeRE is the shape of Kusto's ISO 8601 formats.
const isoDatetimeRE = `^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$`

// zoneOffsets are RFC 822's zone names. Other names make the text invalid
// rather than silently UTC.
var zoneOffsets = map[string]int{
	"GMT": 0, "UTC": 0, "UT": 0, "Z": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

// parseNamedDatetime reads the formats besides ISO 8601.
func parseNamedDatetime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return time.Time{}, false
	}
	offset := 0
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		if h, ok := zoneOffsets[s[i+1:]]; ok {
			offset = h
			s = strings.TrimSpace(s[:i])
		}
	}
	for _, l := range namedLayouts {
		t, err := time.Parse(l.layout, s)
		if err != nil {
			continue
		}
		if l.twoDigit && t.Year() >= 2050 {
			t = t.AddDate(-100, 0, 0)
		}
		t = t.Add(-time.Duration(offset) * time.Hour).UTC()
		if t.Year() < 1 || t.Year() > 9999 {
			return time.Time{}, false
		}
		return t, true
	}
	return time.Time{}, false
}

// todatetimeGo converts text the database's cast did not read.
var _ = registerGo(GoFunc{Name: "_tb_todatetime", Args: []Type{TypeString}, Result: TypeDatetime, Fn: func(a []any) (any, error) {
	s, _ := a[0].(string)
	if len(s) > 256 {
		return nil, nil
	}
	if t, ok := parseDatetime(strings.TrimSpace(s)); ok {
		return t, nil
	}
	return nil, nil
}})
