package kql

import (
	"time"
	// Time zones must not depend on the host's zoneinfo files.
	_ "time/tzdata"
)

// tzFunctions convert between UTC and a time zone's wall clock, with Go's
// IANA database, in Go inside DuckDB. A wall time that does not exist (the
// hour a clock skips) is read with the offset after the change; an unknown
// zone gives null. ClickHouse 18.16 takes only constant zones and refuses
// them.
var tzFunctions = map[string]funcDef{
	"datetime_local_to_utc": sig(2, 2, TypeDatetime, argDatetime, argString).with(goCall("_tb_datetime_local_to_utc", TypeDatetime)),
	"datetime_utc_to_local": sig(2, 2, TypeDatetime, argDatetime, argString).with(goCall("_tb_datetime_utc_to_local", TypeDatetime)),
}

// maxZoneName bounds the zone names looked up (the longest IANA name is
// about 30 bytes).
const maxZoneName = 64

func loadZone(name string) (*time.Location, bool) {
	if name == "" || len(name) > maxZoneName {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	return loc, err == nil
}

var _ = registerGo(
	GoFunc{Name: "_tb_datetime_local_to_utc", Args: []Type{TypeDatetime, TypeString}, Result: TypeDatetime, Fn: func(a []any) (any, error) {
		loc, ok := loadZone(a[1].(string))
		if !ok {
			return nil, nil
		}
		w := a[0].(time.Time).UTC()
		t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
		if !sameWallClock(t, w) {
			// A skipped wall time: take the offset after the change.
			_, after := t.Add(time.Hour * 24).Zone()
			t = w.Add(-time.Duration(after) * time.Second)
		}
		return t.UTC(), nil
	}},
	GoFunc{Name: "_tb_datetime_utc_to_local", Args: []Type{TypeDatetime, TypeString}, Result: TypeDatetime, Fn: func(a []any) (any, error) {
		loc, ok := loadZone(a[1].(string))
		if !ok {
			return nil, nil
		}
		l := a[0].(time.Time).In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC), nil
	}},
)

func sameWallClock(t, w time.Time) bool {
	return t.Hour() == w.Hour() && t.Minute() == w.Minute() && t.Day() == w.Day()
}
