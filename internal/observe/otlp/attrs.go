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
	props, meas []byte
	keys        []attrKV
	// order sorts keys: a permutation is cheaper to sort than the entries.
	order []int32
}

// attrKV is one attribute on its way into a JSON object; its position in
// keys is its sequence, resource attributes first.
type attrKV struct {
	key string
	val pcommon.Value
}

// write returns an item's Properties and Measurements, each nil when empty.
//
// Properties are its attributes (JSON values of their own types) with the
// resource attributes that place the sender in the cluster (k8s.*,
// deployment.environment*); the item's own attributes win. Measurements are
// its own numeric attributes, as Application Insights keeps custom
// measurements apart from properties; NaN and infinities are left to
// Properties. Both texts are what encoding/json writes for the maps they
// replace: keys sorted, a repeated key's last value (for Measurements, its
// last numeric one). One sort serves both.
func (j *jsonBuf) write(attrs, resource pcommon.Map) (props, meas any, err error) {
	j.keys = j.keys[:0]
	for k, v := range resource.All() {
		if strings.HasPrefix(k, "k8s.") || strings.HasPrefix(k, "deployment.environment") {
			j.keys = append(j.keys, attrKV{key: clean(k), val: v})
		}
	}
	own := len(j.keys) // keys from here on are the item's
	for k, v := range attrs.All() {
		j.keys = append(j.keys, attrKV{key: clean(k), val: v})
	}
	if len(j.keys) == 0 {
		return nil, nil, nil
	}
	j.sortKeys()
	j.props = append(j.props[:0], '{')
	j.meas = append(j.meas[:0], '{')
	for n := 0; n < len(j.order); {
		// A run of one key, its last value first.
		end := n + 1
		for end < len(j.order) && j.keys[j.order[end]].key == j.keys[j.order[n]].key {
			end++
		}
		kv := j.keys[j.order[n]]
		if len(j.props) > 1 {
			j.props = append(j.props, ',')
		}
		j.props = store.AppendJSONString(j.props, kv.key)
		j.props = append(j.props, ':')
		if j.props, err = appendValue(j.props, kv.val); err != nil {
			return nil, nil, fmt.Errorf("attribute %q: %w", kv.key, err)
		}
		for _, i := range j.order[n:end] {
			if int(i) < own {
				break // the resource's: not a measurement
			}
			if f, ok := measurement(j.keys[i].val); ok {
				if len(j.meas) > 1 {
					j.meas = append(j.meas, ',')
				}
				j.meas = store.AppendJSONString(j.meas, kv.key)
				j.meas = append(j.meas, ':')
				j.meas, _ = store.AppendJSONFloat(j.meas, f) // finite: checked
				break
			}
		}
		n = end
	}
	j.props = append(j.props, '}')
	props = store.JSONText(j.props)
	if len(j.meas) > 1 {
		j.meas = append(j.meas, '}')
		meas = store.JSONText(j.meas)
	}
	return props, meas, nil
}

// measurement is a numeric attribute's value, unless it is not a number or
// not finite.
func measurement(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// sortKeys orders keys by key and, for a repeated key, puts its last value
// first, so that the writers keep the first of each run. Items carry a
// dozen attributes or so, for which an insertion sort of the permutation
// beats a general sort of the entries.
func (j *jsonBuf) sortKeys() {
	j.order = j.order[:0]
	for i := range j.keys {
		j.order = append(j.order, int32(i))
	}
	less := func(a, b int32) bool {
		if ka, kb := j.keys[a].key, j.keys[b].key; ka != kb {
			return ka < kb
		}
		return a > b
	}
	if len(j.order) > 32 {
		slices.SortFunc(j.order, func(a, b int32) int {
			if less(a, b) {
				return -1
			}
			return 1 // never equal: positions differ
		})
		return
	}
	for i := 1; i < len(j.order); i++ {
		x := j.order[i]
		k := i
		for ; k > 0 && less(x, j.order[k-1]); k-- {
			j.order[k] = j.order[k-1]
		}
		j.order[k] = x
	}
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

// clean makes a string from the wire safe to store: OTLP says strings are
// UTF-8, but nothing checks, and a store may refuse what is not.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
