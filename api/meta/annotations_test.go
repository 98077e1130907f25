package meta

import "testing"

func TestReconcileTraceParent(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := map[string]struct {
		annotations map[string]string
		want        string
		ok          bool
	}{
		"the traceparent written with the current request is returned": {
			annotations: map[string]string{ReconcileRequestAnnotation: "2026-12-06T08:00:00Z", TraceParentAnnotation: TraceParentValue("2026-12-06T08:00:00Z", tp)},
			want:        tp, ok: true,
		},
		"a traceparent of an earlier request is not": {
			annotations: map[string]string{ReconcileRequestAnnotation: "2026-12-06T09:00:00Z", TraceParentAnnotation: TraceParentValue("2026-12-06T08:00:00Z", tp)},
		},
		"no request, no traceparent": {
			annotations: map[string]string{TraceParentAnnotation: TraceParentValue("", tp)},
		},
		"a value without a token is refused": {
			annotations: map[string]string{ReconcileRequestAnnotation: "x", TraceParentAnnotation: tp},
		},
		"an empty traceparent is none": {
			annotations: map[string]string{ReconcileRequestAnnotation: "x", TraceParentAnnotation: "x "},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ReconcileTraceParent(tt.annotations)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ReconcileTraceParent = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
