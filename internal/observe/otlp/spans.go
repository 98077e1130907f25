package otlp

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// mapper turns OTLP data into rows of the Application Insights tables.
type mapper struct {
	l *layouts
}

func newMapper() *mapper { return &mapper{l: newLayouts()} }

// app is what the resource says about the sending application, the same
// for every item it sent.
type app struct {
	roleName, roleInstance, version, sdk string
	resource                             pcommon.Map
	// json writes Properties and Measurements; one per request.
	json *jsonBuf
}

// appOf follows the Azure Monitor exporter: the role name is
// [service.namespace.]service.name, the instance service.instance.id or
// else the host; k8s.pod.name comes before host.name here, since in a
// cluster the pod is the instance a user looks for.
func appOf(res pcommon.Map, j *jsonBuf) app {
	a := app{resource: res, json: j}
	name := first(res, attrServiceName)
	if ns := first(res, attrServiceNamespace); ns != "" && name != "" {
		name = ns + "." + name
	}
	a.roleName = clean(name)
	a.roleInstance = clean(first(res, attrServiceInstance, attrK8sPod, attrHost))
	a.version = clean(first(res, attrServiceVersion))
	if lang := first(res, attrSDKLanguage); lang != "" {
		a.sdk = clean("otel-" + lang + ":" + first(res, attrSDKVersion))
	}
	return a
}

// fill sets the columns every Application Insights table shares.
func (a app) fill(r row, operationID, operationName, parentID string, attrs pcommon.Map) error {
	r.set("OperationId", operationID)
	r.set("OperationName", clean(operationName))
	r.set("ParentId", parentID)
	r.set("SessionId", clean(first(attrs, attrSessionID...)))
	r.set("UserId", clean(first(attrs, attrUserID...)))
	r.set("ClientIP", clean(first(attrs, attrClientIP...)))
	r.set("AppRoleName", a.roleName)
	r.set("AppRoleInstance", a.roleInstance)
	r.set("AppVersion", a.version)
	r.set("SDKVersion", a.sdk)
	r.set("ItemCount", int64(1))
	props, meas, err := a.json.write(attrs, a.resource)
	if err != nil {
		return err
	}
	if props != nil {
		r.set("Properties", props)
	}
	if meas != nil {
		r.set("Measurements", meas)
	}
	return nil
}

// isRequest reports whether a span is a request (handled by this service)
// rather than a dependency (a call it made, or work inside it).
func isRequest(k ptrace.SpanKind) bool {
	return k == ptrace.SpanKindServer || k == ptrace.SpanKindConsumer
}

// Traces maps a batch of spans. A span without a trace or span id refuses
// the whole batch: its rows could not be joined to anything.
func (m *mapper) Traces(td ptrace.Traces) (Rows, error) {
	if err := checkIDs(td); err != nil {
		return nil, err
	}
	ops := operationNames(td)
	out := Rows{}
	j := &jsonBuf{}
	for i, rs := range td.ResourceSpans().All() {
		a := appOf(rs.Resource().Attributes(), j)
		for j, ss := range rs.ScopeSpans().All() {
			for k, span := range ss.Spans().All() {
				if err := m.span(out, a, span, ops); err != nil {
					return nil, fmt.Errorf("resource_spans[%d].scope_spans[%d].spans[%d]: %w", i, j, k, err)
				}
			}
		}
	}
	return out, nil
}

func checkIDs(td ptrace.Traces) error {
	for i, rs := range td.ResourceSpans().All() {
		for j, ss := range rs.ScopeSpans().All() {
			for k, span := range ss.Spans().All() {
				if span.TraceID().IsEmpty() {
					return fmt.Errorf("resource_spans[%d].scope_spans[%d].spans[%d]: trace_id is missing or all zeros", i, j, k)
				}
				if span.SpanID().IsEmpty() {
					return fmt.Errorf("resource_spans[%d].scope_spans[%d].spans[%d]: span_id is missing or all zeros", i, j, k)
				}
			}
		}
	}
	return nil
}

// maxHops bounds the walk up to a span's request, which a hostile batch
// could make circular.
const maxHops = 64

// operationNames gives every span of the batch the name of the request it
// belongs to (OperationName): its own for a request, else the nearest
// request above it in the same batch. A dependency whose request came in
// another batch has none; Application Insights SDKs know it from the
// in-process context, which OTLP does not carry.
func operationNames(td ptrace.Traces) map[spanKey]string {
	type node struct {
		parent spanKey
		name   string // set on requests
	}
	nodes := map[spanKey]node{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				n := node{parent: spanKey{span.TraceID(), span.ParentSpanID()}}
				if isRequest(span.Kind()) {
					n.name = requestName(span)
				}
				nodes[keyOf(span)] = n
			}
		}
	}
	out := make(map[spanKey]string, len(nodes))
	for id, n := range nodes {
		cur := n
		for hop := 0; hop < maxHops && cur.name == ""; hop++ {
			next, ok := nodes[cur.parent]
			if !ok || cur.parent.span.IsEmpty() {
				break
			}
			cur = next
		}
		out[id] = cur.name
	}
	return out
}

// spanKey names a span: span ids are unique only within their trace.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

func keyOf(s ptrace.Span) spanKey { return spanKey{s.TraceID(), s.SpanID()} }

func (m *mapper) span(out Rows, a app, span ptrace.Span, ops map[spanKey]string) error {
	attrs := span.Attributes()
	start := span.StartTimestamp().AsTime().UTC()
	dur := float64(span.EndTimestamp()-span.StartTimestamp()) / float64(time.Millisecond)
	if span.EndTimestamp() < span.StartTimestamp() {
		dur = 0
	}
	opID := span.TraceID().String()
	// Unset counts as success: instrumentation leaves the status unset unless
	// the span failed (an HTTP server span with a 4xx is not an error).
	success := span.Status().Code() != ptrace.StatusCodeError
	opName := ops[keyOf(span)]

	var r row
	var table string
	if isRequest(span.Kind()) {
		table = store.AppRequests
		r = m.l.requests.newRow()
		r.set("Name", clean(requestName(span)))
		r.set("Url", clean(requestURL(attrs)))
		r.set("Source", clean(requestSource(attrs)))
	} else {
		table = store.AppDependencies
		r = m.l.dependencies.newRow()
		d := dependencyOf(span)
		r.set("Name", clean(d.name))
		r.set("DependencyType", clean(d.typ))
		r.set("Target", clean(d.target))
		r.set("Data", clean(d.data))
	}
	r.set("TimeGenerated", start)
	r.set("Id", span.SpanID().String())
	r.set("Success", success)
	r.set("ResultCode", clean(resultCode(attrs)))
	r.set("DurationMs", dur)
	if err := a.fill(r, opID, opName, span.ParentSpanID().String(), attrs); err != nil {
		return err
	}
	out[table] = append(out[table], r.vals)

	for e, ev := range span.Events().All() {
		if err := m.event(out, a, span, ev, opName); err != nil {
			return fmt.Errorf("events[%d]: %w", e, err)
		}
	}
	return nil
}

// event maps a span event: "exception" to AppExceptions, any other to
// AppTraces with the event's name as the message, as the Azure Monitor
// exporter does. Both are children of the span (ParentId = span id).
func (m *mapper) event(out Rows, a app, span ptrace.Span, ev ptrace.SpanEvent, opName string) error {
	attrs := ev.Attributes()
	ts := ev.Timestamp().AsTime().UTC()
	if ev.Name() == "exception" {
		r := m.l.exceptions.newRow()
		r.set("TimeGenerated", ts)
		exceptionColumns(r, first(attrs, attrExcType), first(attrs, attrExcMessage), first(attrs, attrExcStack))
		// The stack is in Details; the rest stays a property.
		props := ptraceAttrsWithout(attrs, attrExcStack)
		if err := a.fill(r, span.TraceID().String(), opName, span.SpanID().String(), props); err != nil {
			return err
		}
		out[store.AppExceptions] = append(out[store.AppExceptions], r.vals)
		return nil
	}
	r := m.l.traces.newRow()
	r.set("TimeGenerated", ts)
	r.set("Message", clean(ev.Name()))
	r.set("SeverityLevel", int64(sevInformation))
	if err := a.fill(r, span.TraceID().String(), opName, span.SpanID().String(), attrs); err != nil {
		return err
	}
	out[store.AppTraces] = append(out[store.AppTraces], r.vals)
	return nil
}

func ptraceAttrsWithout(attrs pcommon.Map, key string) pcommon.Map {
	if _, ok := attrs.Get(key); !ok {
		return attrs
	}
	c := pcommon.NewMap()
	attrs.CopyTo(c)
	c.Remove(key)
	return c
}

// requestName is "METHOD route" (or path) for HTTP, else the span's name.
func requestName(span ptrace.Span) string {
	attrs := span.Attributes()
	method, ok := str(attrs, attrHTTPMethod...)
	if !ok {
		return span.Name()
	}
	if route := first(attrs, attrHTTPRoute...); route != "" {
		return method + " " + route
	}
	if p := urlPath(requestURL(attrs)); p != "" {
		return method + " " + p
	}
	if p := first(attrs, attrURLPath...); p != "" {
		return method + " " + p
	}
	return span.Name()
}

// requestURL rebuilds the URL a server was called with.
func requestURL(attrs pcommon.Map) string {
	if u := first(attrs, attrURLFull...); u != "" {
		return u
	}
	scheme := first(attrs, attrURLScheme...)
	target := first(attrs, attrHTTPTarget...)
	if target == "" {
		target = first(attrs, attrURLPath...)
		if q := first(attrs, attrURLQuery...); q != "" && target != "" {
			target += "?" + q
		}
	}
	if scheme == "" || target == "" {
		return ""
	}
	host := first(attrs, attrHTTPHost...)
	if host == "" {
		host = first(attrs, attrHostName...)
		if host == "" {
			return ""
		}
		if p := port(attrs, attrHostPort...); p != 0 && p != defaultHTTPPort(scheme) {
			host = net.JoinHostPort(host, strconv.FormatInt(p, 10))
		}
	}
	return scheme + "://" + host + target
}

// requestSource is where a consumed message came from.
func requestSource(attrs pcommon.Map) string {
	dest := first(attrs, attrMsgDestination...)
	if !has(attrs, attrMsgSystem...) || dest == "" {
		return ""
	}
	if peer := first(attrs, attrPeerName...); peer != "" {
		return peer + "/" + dest
	}
	if ip := first(attrs, attrPeerIP...); ip != "" {
		return ip + "/" + dest
	}
	return dest
}

// resultCode is the HTTP status, else the RPC status, else "0" as the
// Azure Monitor exporter writes when there is none.
func resultCode(attrs pcommon.Map) string {
	if c, ok := str(attrs, attrHTTPStatus...); ok {
		return c
	}
	if c, ok := str(attrs, attrRPCStatus...); ok {
		return c
	}
	return "0"
}

type dependency struct{ name, typ, target, data string }

// dependencyOf follows the Azure Monitor exporter's mapping of client,
// producer and internal spans by their semantic conventions.
func dependencyOf(span ptrace.Span) dependency {
	attrs := span.Attributes()
	d := dependency{name: span.Name()}
	target := first(attrs, attrPeerSvc...)
	fromPeerService := target != ""
	if target == "" {
		target = first(attrs, attrPeerName...)
		if target == "" {
			target = first(attrs, attrPeerIP...)
		}
		if p := port(attrs, attrPeerPort...); target != "" && p != 0 &&
			p != defaultHTTPPort(first(attrs, attrURLScheme...)) && p != defaultDBPort(first(attrs, attrDBSystem...)) {
			target = net.JoinHostPort(target, strconv.FormatInt(p, 10))
		}
	}
	switch span.Kind() {
	case ptrace.SpanKindClient:
		switch {
		case has(attrs, attrHTTPMethod...):
			d.typ = "HTTP"
			u := clientURL(attrs, target)
			d.data = u
			// Parsed once for its path and host: url.Parse was a
			// twentieth of ingest, twice per client span.
			pu := parseURL(u)
			if p := pathOf(pu); p != "" {
				d.name = first(attrs, attrHTTPMethod...) + " " + p
			}
			if !fromPeerService {
				if h := first(attrs, attrHTTPHost...); h != "" {
					target = hostWithoutDefaultPort(h, first(attrs, attrURLScheme...))
				} else if pu != nil && pu.Host != "" {
					target = hostWithoutDefaultPort(pu.Host, pu.Scheme)
				}
			}
		case has(attrs, attrDBSystem...):
			system := first(attrs, attrDBSystem...)
			d.typ = dbType(system)
			d.data = first(attrs, attrDBStatement...)
			if d.data == "" {
				d.data = first(attrs, attrDBOperation...)
			}
			if db := first(attrs, attrDBName...); db != "" {
				if target == "" {
					target = db
				} else {
					target += "|" + db
				}
			}
			if target == "" {
				target = system
			}
		case has(attrs, attrMsgSystem...):
			d.typ = first(attrs, attrMsgSystem...)
			if target == "" {
				target = first(attrs, attrMsgDestination...)
			}
			if target == "" {
				target = d.typ
			}
		case has(attrs, attrRPCSystem...):
			d.typ = first(attrs, attrRPCSystem...)
			if target == "" {
				target = d.typ
			}
		default:
			d.typ = "N/A"
		}
	case ptrace.SpanKindProducer:
		d.typ = "Queue Message"
		system := first(attrs, attrMsgSystem...)
		if system != "" {
			d.typ += " | " + system
		}
		if target == "" {
			target = first(attrs, attrMsgDestination...)
		}
		if target == "" {
			target = system
		}
	default: // internal, or unspecified
		d.typ = "InProc"
	}
	d.target = target
	return d
}

// clientURL is the URL a client called: url.full, or rebuilt from its parts.
func clientURL(attrs pcommon.Map, target string) string {
	if u := first(attrs, attrURLFull...); u != "" {
		return u
	}
	scheme := first(attrs, attrURLScheme...)
	path := first(attrs, attrHTTPTarget...)
	if path == "" {
		path = first(attrs, attrURLPath...)
	}
	if scheme == "" || path == "" {
		return ""
	}
	host := first(attrs, attrHTTPHost...)
	if host == "" {
		host = target
	}
	if host == "" {
		return ""
	}
	return scheme + "://" + host + path
}

func urlPath(u string) string { return pathOf(parseURL(u)) }

// parseURL parses u, nil when it is empty or not a URL.
func parseURL(u string) *url.URL {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil {
		return nil
	}
	return p
}

// pathOf is a parsed URL's path, "/" when it has none, "" without a URL.
func pathOf(p *url.URL) string {
	if p == nil {
		return ""
	}
	if p.Path == "" {
		return "/"
	}
	return p.Path
}

func hostWithoutDefaultPort(hostport, scheme string) string {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	if n, err := strconv.ParseInt(p, 10, 64); err == nil && n == defaultHTTPPort(scheme) {
		return host
	}
	return hostport
}

func defaultHTTPPort(scheme string) int64 {
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

func defaultDBPort(system string) int64 {
	switch system {
	case "postgresql":
		return 5432
	case "cassandra":
		return 9042
	case "mariadb", "mysql":
		return 3306
	case "mssql", "microsoft.sql_server":
		return 1433
	case "memcached":
		return 11211
	case "db2", "ibm.db2":
		return 50000
	case "oracle", "oracle.db":
		return 1521
	case "h2":
		return 8082
	case "derby":
		return 1527
	case "redis":
		return 6379
	}
	return 0
}

// dbType names the dependency type of a database system as the Azure
// Monitor exporter does: a few by name, the SQL family as "SQL", the rest
// as the system.
func dbType(system string) string {
	switch system {
	case "mysql", "postgresql", "mongodb", "redis":
		return system
	case "db2", "ibm.db2", "derby", "mariadb", "mssql", "microsoft.sql_server", "oracle", "oracle.db",
		"sqlite", "other_sql", "hsqldb", "h2":
		return "SQL"
	}
	return system
}

// Severity levels of Application Insights (SeverityLevel).
const (
	sevVerbose     = 0
	sevInformation = 1
	sevWarning     = 2
	sevError       = 3
	sevCritical    = 4
)

// exceptionColumns fills the exception columns from an exception's type,
// message and stack. OTLP carries one exception, not a chain, so outer and
// innermost are the same. ProblemId groups like exceptions: the type and
// the function that threw, when the stack names it.
func exceptionColumns(r row, typ, msg, stack string) {
	typ, msg, stack = clean(typ), clean(msg), clean(stack)
	if msg == "" {
		msg = "Exception"
	}
	method := clean(topFrame(stack))
	problem := typ
	if problem == "" {
		problem = firstLine(msg)
	}
	if method != "" {
		problem += " at " + method
	}
	r.set("ProblemId", problem)
	r.set("ExceptionType", typ)
	r.set("Message", msg)
	r.set("Method", method)
	r.set("OuterType", typ)
	r.set("OuterMessage", msg)
	r.set("OuterMethod", method)
	r.set("InnermostType", typ)
	r.set("InnermostMessage", msg)
	r.set("InnermostMethod", method)
	detail := map[string]any{"id": int64(1), "outerId": int64(0), "type": typ, "message": msg, "hasFullStack": stack != ""}
	if stack != "" {
		detail["rawStack"] = stack
	}
	r.set("Details", []any{detail})
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 256 {
		s = strings.ToValidUTF8(s[:256], "")
	}
	return s
}

// topFrame finds the function that threw in a stack trace as Go
// (runtime/debug.Stack), Java, .NET, JavaScript and Python print them;
// frames of the Go runtime and the OpenTelemetry SDK, which recorded the
// error, are skipped. "" when there is no stack or it is of another shape.
func topFrame(stack string) string {
	if stack == "" {
		return ""
	}
	lines := strings.Split(stack, "\n")
	if strings.HasPrefix(lines[0], "goroutine ") {
		for _, l := range lines[1:] {
			if l == "" || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "created by ") {
				continue
			}
			if strings.HasPrefix(l, "runtime/debug.") || strings.HasPrefix(l, "go.opentelemetry.io/otel") {
				continue
			}
			if i := strings.LastIndexByte(l, '('); i > 0 {
				l = l[:i]
			}
			return l
		}
		return ""
	}
	python := ""
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(t, "at "); ok {
			if i := strings.IndexAny(rest, " ("); i > 0 {
				rest = rest[:i]
			}
			return rest
		}
		if strings.HasPrefix(t, "File \"") {
			if _, fn, ok := strings.Cut(t, ", in "); ok {
				python = fn // the innermost frame is the last
			}
		}
	}
	return python
}
