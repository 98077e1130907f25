package otlp

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tugboatcd/tugboat/internal/observe/store"
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

// jsonBuf holds the buffers one request's Properties and Measurements are
// written with, reused from row to row: writing the JSON text straight from
// the attributes (store.JSONText) saves a map per row and the store's second
// encoding of it, which were a fifth of ingest
// (docs/design/2026-12-06-otlp-ingest.md). Not safe for concurrent use.
type jsonBuf struct {
	buf  []byte
	keys []attrKV
}

// attrKV is one attribute on its way into a JSON object.
type attrKV struct {
	key string
	val pcommon.Value
	seq int
}

// properties returns a span's, event's or log's attributes as the
// Properties column holds them (JSON values of their own types), with the
// resource attributes that place the sender in the cluster (k8s.*,
// deployment.environment*); the item's own attributes win. Nil when empty.
//
// The text is what encoding/json writes for the map the attributes make:
// keys sorted, a repeated key's last value.
func (j *jsonBuf) properties(attrs, resource pcommon.Map) (any, error) {
	j.keys = j.keys[:0]
	for k, v := range resource.All() {
		if strings.HasPrefix(k, "k8s.") || strings.HasPrefix(k, "deployment.environment") {
			j.keys = append(j.keys, attrKV{key: clean(k), val: v, seq: len(j.keys)})
		}
	}
	for k, v := range attrs.All() {
		j.keys = append(j.keys, attrKV{key: clean(k), val: v, seq: len(j.keys)})
	}
	if len(j.keys) == 0 {
		return nil, nil
	}
	j.sortKeys()
	j.buf = append(j.buf[:0], '{')
	for i, kv := range j.keys {
		if i > 0 && kv.key == j.keys[i-1].key {
			continue // a repeat, written already with its last value
		}
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		j.buf = store.AppendJSONString(j.buf, kv.key)
		j.buf = append(j.buf, ':')
		var err error
		if j.buf, err = appendValue(j.buf, kv.val); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", kv.key, err)
		}
	}
	j.buf = append(j.buf, '}')
	return store.JSONText(j.buf), nil
}

// sortKeys sorts by key and, for a repeated key, puts its last value first,
// so that the writers keep the first of each run.
func (j *jsonBuf) sortKeys() {
	slices.SortFunc(j.keys, func(a, b attrKV) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return b.seq - a.seq
	})
}

// appendValue writes an attribute value as JSON: the text of raw(v).
func appendValue(dst []byte, v pcommon.Value) ([]byte, error) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return store.AppendJSONString(dst, clean(v.Str())), nil
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool()), nil
	case pcommon.ValueTypeDouble:
		if out, ok := store.AppendJSONFloat(dst, v.Double()); ok {
			return out, nil
		}
	}
	// NaN and infinities (as strings), bytes, maps, arrays, empty: rare, and
	// raw bounds their depth.
	x, err := raw(v, 0)
	if err != nil {
		return dst, err
	}
	return store.AppendJSON(dst, x)
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
func (j *jsonBuf) measurements(attrs pcommon.Map) any {
	j.keys = j.keys[:0]
	for k, v := range attrs.All() {
		switch v.Type() {
		case pcommon.ValueTypeInt:
		case pcommon.ValueTypeDouble:
			if f := v.Double(); math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
		default:
			continue
		}
		j.keys = append(j.keys, attrKV{key: clean(k), val: v, seq: len(j.keys)})
	}
	if len(j.keys) == 0 {
		return nil
	}
	j.sortKeys()
	j.buf = append(j.buf[:0], '{')
	for i, kv := range j.keys {
		if i > 0 && kv.key == j.keys[i-1].key {
			continue
		}
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		j.buf = store.AppendJSONString(j.buf, kv.key)
		j.buf = append(j.buf, ':')
		f := v2f(kv.val)
		j.buf, _ = store.AppendJSONFloat(j.buf, f) // finite: checked above
	}
	j.buf = append(j.buf, '}')
	return store.JSONText(j.buf)
}

// v2f is a numeric attribute's value as a float64.
func v2f(v pcommon.Value) float64 {
	if v.Type() == pcommon.ValueTypeInt {
		return float64(v.Int())
	}
	return v.Double()
}

// clean makes a string from the wire safe to store: OTLP says strings are
// UTF-8, but nothing checks, and a store may refuse what is not.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
