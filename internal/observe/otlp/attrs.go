package otlp

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attribute names of the OpenTelemetry semantic conventions that the
// mapping reads. Where a convention was renamed, the stable name comes
// first and the old one after it: SDKs in the field send both.
var (
	attrServiceName      = "service.name"
	attrServiceNamespace = "service.namespace"
	attrServiceInstance  = "service.instance.id"
	attrServiceVersion   = "service.version"
	attrHost             = "host.name"
	attrK8sPod           = "k8s.pod.name"
	attrSDKLanguage      = "telemetry.sdk.language"
	attrSDKVersion       = "telemetry.sdk.version"

	attrHTTPMethod = []string{"http.request.method", "http.method"}
	attrHTTPStatus = []string{"http.response.status_code", "http.status_code"}
	attrHTTPRoute  = []string{"http.route"}
	attrURLFull    = []string{"url.full", "http.url"}
	attrURLScheme  = []string{"url.scheme", "http.scheme"}
	attrURLPath    = []string{"url.path"}
	attrURLQuery   = []string{"url.query"}
	attrHTTPTarget = []string{"http.target"}
	attrHTTPHost   = []string{"http.host"}
	// The address a client called, and the one a server was called on.
	attrPeerName  = []string{"server.address", "net.peer.name"}
	attrPeerPort  = []string{"server.port", "net.peer.port"}
	attrHostName  = []string{"server.address", "net.host.name"}
	attrHostPort  = []string{"server.port", "net.host.port"}
	attrPeerIP    = []string{"network.peer.address", "net.peer.ip", "net.sock.peer.addr"}
	attrClientIP  = []string{"client.address", "http.client_ip"}
	attrPeerSvc   = []string{"peer.service"}
	attrUserID    = []string{"enduser.id", "user.id"}
	attrSessionID = []string{"session.id"}

	attrDBSystem    = []string{"db.system.name", "db.system"}
	attrDBStatement = []string{"db.query.text", "db.statement"}
	attrDBOperation = []string{"db.operation.name", "db.operation"}
	attrDBName      = []string{"db.namespace", "db.name"}

	attrMsgSystem      = []string{"messaging.system"}
	attrMsgDestination = []string{"messaging.destination.name", "messaging.destination"}

	attrRPCSystem = []string{"rpc.system.name", "rpc.system"}
	attrRPCStatus = []string{"rpc.response.status_code", "rpc.grpc.status_code"}

	attrExcType    = "exception.type"
	attrExcMessage = "exception.message"
	attrExcStack   = "exception.stacktrace"
)

// str returns the first of keys present in m, as a string.
func str(m pcommon.Map, keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := m.Get(k); ok {
			return v.AsString(), true
		}
	}
	return "", false
}

// first returns the first of keys present in m, or "".
func first(m pcommon.Map, keys ...string) string {
	s, _ := str(m, keys...)
	return s
}

// has reports whether any of keys is in m.
func has(m pcommon.Map, keys ...string) bool {
	_, ok := str(m, keys...)
	return ok
}

// port returns the first of keys present in m as a number, 0 when absent
// or not a number.
func port(m pcommon.Map, keys ...string) int64 {
	for _, k := range keys {
		if v, ok := m.Get(k); ok {
			switch v.Type() {
			case pcommon.ValueTypeInt:
				return v.Int()
			case pcommon.ValueTypeStr:
				n, _ := strconv.ParseInt(v.Str(), 10, 64)
				return n
			}
		}
	}
	return 0
}

// maxDepth is how deep maps and arrays may nest inside an attribute value;
// deeper values are refused rather than walked.
const maxDepth = 16

// properties returns a span's, event's or log's attributes as the
// Properties column holds them (JSON values of their own types), with the
// resource attributes that place the sender in the cluster (k8s.*,
// deployment.environment*); the item's own attributes win. Nil when empty.
func properties(attrs, resource pcommon.Map) (map[string]any, error) {
	var out map[string]any
	put := func(k string, v pcommon.Value) error {
		if out == nil {
			out = make(map[string]any, attrs.Len()+2)
		}
		x, err := raw(v, 0)
		if err != nil {
			return fmt.Errorf("attribute %q: %w", k, err)
		}
		out[clean(k)] = x
		return nil
	}
	for k, v := range resource.All() {
		if strings.HasPrefix(k, "k8s.") || strings.HasPrefix(k, "deployment.environment") {
			if err := put(k, v); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range attrs.All() {
		if err := put(k, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// raw turns an attribute value into a JSON value. Unlike pcommon's AsRaw it
// bounds the depth and writes NaN and infinities as strings, which JSON
// cannot hold as numbers.
func raw(v pcommon.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return clean(v.Str()), nil
	case pcommon.ValueTypeInt:
		return v.Int(), nil
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64), nil
		}
		return f, nil
	case pcommon.ValueTypeBool:
		return v.Bool(), nil
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.EncodeToString(v.Bytes().AsRaw()), nil
	case pcommon.ValueTypeMap:
		m := make(map[string]any, v.Map().Len())
		for k, x := range v.Map().All() {
			r, err := raw(x, depth+1)
			if err != nil {
				return nil, err
			}
			m[clean(k)] = r
		}
		return m, nil
	case pcommon.ValueTypeSlice:
		s := make([]any, 0, v.Slice().Len())
		for _, x := range v.Slice().All() {
			r, err := raw(x, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, r)
		}
		return s, nil
	}
	return nil, nil
}

// measurements returns the numeric attributes as numbers, as Application
// Insights keeps custom measurements apart from properties. Nil when none;
// NaN and infinities are left to Properties.
func measurements(attrs pcommon.Map) map[string]any {
	var out map[string]any
	for k, v := range attrs.All() {
		var f float64
		switch v.Type() {
		case pcommon.ValueTypeInt:
			f = float64(v.Int())
		case pcommon.ValueTypeDouble:
			f = v.Double()
		default:
			continue
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[clean(k)] = f
	}
	return out
}

// clean makes a string from the wire safe to store: OTLP says strings are
// UTF-8, but nothing checks, and a store may refuse what is not.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
