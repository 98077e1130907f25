package otlp

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// mapProperties is the reference for the JSON text jsonBuf writes: the
// attributes as a Go map (resource k8s.* and deployment.environment*
// first, the item's own over them, a repeated key's last value), encoded
// by encoding/json, as Properties was stored before it was written
// straight from the attributes.
func mapProperties(t *testing.T, attrs, resource pcommon.Map) (props, meas any) {
	t.Helper()
	p := map[string]any{}
	m := map[string]any{}
	put := func(k string, v pcommon.Value) {
		x, err := raw(v, 0)
		if err != nil {
			t.Fatal(err)
		}
		p[clean(k)] = x
	}
	for k, v := range resource.All() {
		if strings.HasPrefix(k, "k8s.") || strings.HasPrefix(k, "deployment.environment") {
			put(k, v)
		}
	}
	for k, v := range attrs.All() {
		put(k, v)
		switch v.Type() {
		case pcommon.ValueTypeInt:
			m[clean(k)] = float64(v.Int())
		case pcommon.ValueTypeDouble:
			if f := v.Double(); !math.IsNaN(f) && !math.IsInf(f, 0) {
				m[clean(k)] = f
			}
		}
	}
	enc := func(x map[string]any) any {
		if len(x) == 0 {
			return nil
		}
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		return store.JSONText(b)
	}
	return enc(p), enc(m)
}

func TestPropertiesAreWrittenAsEncodingJSONWritesTheirMap(t *testing.T) {
	tests := map[string]struct {
		attrs, resource func(pcommon.Map)
	}{
		"no attributes at all": {},
		"strings, numbers and bools, unsorted": {
			attrs: func(m pcommon.Map) {
				m.PutStr("url.full", "http://backend:8080/items/1?a=<b>&c")
				m.PutInt("http.response.status_code", 200)
				m.PutDouble("ratio", 0.000000125)
				m.PutDouble("big", 1e21)
				m.PutDouble("whole", 3)
				m.PutBool("cached", true)
				m.PutStr("emoji and separators", "🚢\u2028\u2029\t\"\\")
			},
		},
		"resource k8s and environment attributes are kept, others not, and the item's own win": {
			attrs: func(m pcommon.Map) { m.PutStr("k8s.pod.name", "mine"); m.PutInt("n", -7) },
			resource: func(m pcommon.Map) {
				m.PutStr("k8s.pod.name", "theirs")
				m.PutStr("k8s.namespace.name", "shop")
				m.PutStr("deployment.environment.name", "prod")
				m.PutStr("service.name", "web")
			},
		},
		"a numeric resource attribute is a property, not a measurement": {
			attrs:    func(m pcommon.Map) { m.PutInt("k8s.container.restart_count", 1); m.PutStr("a", "b") },
			resource: func(m pcommon.Map) { m.PutInt("k8s.replicas", 3); m.PutInt("k8s.container.restart_count", 9) },
		},
		"NaN and infinities become strings and stay out of Measurements": {
			attrs: func(m pcommon.Map) {
				m.PutDouble("nan", math.NaN())
				m.PutDouble("inf", math.Inf(1))
				m.PutDouble("-inf", math.Inf(-1))
			},
		},
		"bytes, nested maps and arrays, and an empty value": {
			attrs: func(m pcommon.Map) {
				m.PutEmptyBytes("raw").FromRaw([]byte{0, 1, 2, 255})
				n := m.PutEmptyMap("nested")
				n.PutStr("z", "last")
				n.PutInt("a", 1)
				s := m.PutEmptySlice("list")
				s.AppendEmpty().SetStr("x")
				s.AppendEmpty().SetDouble(1.5)
				m.PutEmpty("nothing")
			},
		},
		"invalid UTF-8 and NUL in keys and values are replaced": {
			attrs: func(m pcommon.Map) { m.PutStr("bad\xffkey", "nul\x00value\xfe") },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			attrs, resource := pcommon.NewMap(), pcommon.NewMap()
			if tc.attrs != nil {
				tc.attrs(attrs)
			}
			if tc.resource != nil {
				tc.resource(resource)
			}
			wantProps, wantMeas := mapProperties(t, attrs, resource)
			var j jsonBuf
			// Twice: the buffers are reused, and must not mix values.
			for range 2 {
				props, meas, err := j.write(attrs, resource)
				if err != nil {
					t.Fatal(err)
				}
				if props != wantProps {
					t.Errorf("Properties\n got %v\nwant %v", props, wantProps)
				}
				if meas != wantMeas {
					t.Errorf("Measurements\n got %v\nwant %v", meas, wantMeas)
				}
			}
		})
	}
}

// A repeated key, which a decoded request can hold (pdata keeps every
// entry on the wire), takes its last value, as the map did.
func TestARepeatedAttributeKeepsItsLastValue(t *testing.T) {
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",
		"attributes":[{"key":"n","value":{"intValue":"1"}},{"key":"a","value":{"stringValue":"x"}},{"key":"n","value":{"intValue":"2"}}]}]}]}]}`
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	if attrs.Len() != 3 {
		t.Fatalf("pdata kept %d attributes, want the 3 on the wire", attrs.Len())
	}
	var j jsonBuf
	props, meas, err := j.write(attrs, pcommon.NewMap())
	if err != nil {
		t.Fatal(err)
	}
	if want := store.JSONText(`{"a":"x","n":2}`); props != want {
		t.Errorf("Properties: got %v, want %v", props, want)
	}
	if want := store.JSONText(`{"n":2}`); meas != want {
		t.Errorf("Measurements: got %v, want %v", meas, want)
	}
}
