package otlp

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// Logs maps a batch of log records: each to AppTraces, and those that carry
// an exception (exception.* attributes) or have error severity or worse
// also to AppExceptions. The Azure Monitor exporter sends an exception log
// to exceptions only; keeping every record in AppTraces as well means the
// log stream of an operation reads whole in one table.
func (m *mapper) Logs(ld plog.Logs, now time.Time) (Rows, error) {
	out := Rows{}
	j := &jsonBuf{}
	for i, rl := range ld.ResourceLogs().All() {
		a := appOf(rl.Resource().Attributes(), j)
		for j, sl := range rl.ScopeLogs().All() {
			for k, lr := range sl.LogRecords().All() {
				if err := m.log(out, a, lr, now); err != nil {
					return nil, fmt.Errorf("resource_logs[%d].scope_logs[%d].log_records[%d]: %w", i, j, k, err)
				}
			}
		}
	}
	return out, nil
}

func (m *mapper) log(out Rows, a app, lr plog.LogRecord, now time.Time) error {
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	t := ts.AsTime().UTC()
	if ts == 0 {
		t = now.UTC()
	}
	attrs := lr.Attributes()
	msg := lr.Body().AsString()
	if msg == "" {
		msg = lr.EventName()
	}
	msg = clean(msg)
	opID, parentID := lr.TraceID().String(), lr.SpanID().String()
	sev := severityLevel(lr.SeverityNumber())

	r := m.l.traces.newRow()
	r.set("TimeGenerated", t)
	r.set("Message", msg)
	r.set("SeverityLevel", sev)
	if err := a.fill(r, opID, "", parentID, attrs); err != nil {
		return err
	}
	out[store.AppTraces] = append(out[store.AppTraces], r.vals)

	typ, hasType := str(attrs, attrExcType)
	excMsg, hasMsg := str(attrs, attrExcMessage)
	if !hasType && !hasMsg && lr.SeverityNumber() < plog.SeverityNumberError {
		return nil
	}
	if !hasMsg {
		excMsg = msg
	}
	e := m.l.exceptions.newRow()
	e.set("TimeGenerated", t)
	exceptionColumns(e, typ, excMsg, first(attrs, attrExcStack))
	e.set("SeverityLevel", sev)
	if err := a.fill(e, opID, "", parentID, ptraceAttrsWithout(attrs, attrExcStack)); err != nil {
		return err
	}
	out[store.AppExceptions] = append(out[store.AppExceptions], e.vals)
	return nil
}

// severityLevel maps an OTLP severity number to Application Insights'
// SeverityLevel as the Azure Monitor exporter does; unspecified is null.
func severityLevel(n plog.SeverityNumber) any {
	switch {
	case n <= plog.SeverityNumberUnspecified:
		return nil
	case n < plog.SeverityNumberInfo:
		return int64(sevVerbose)
	case n < plog.SeverityNumberWarn:
		return int64(sevInformation)
	case n < plog.SeverityNumberError:
		return int64(sevWarning)
	case n < plog.SeverityNumberFatal:
		return int64(sevError)
	}
	return int64(sevCritical)
}
