package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tugboatcd/tugboat/internal/app"
)

func TestTheControllerTracesOnlyWhenAsked(t *testing.T) {
	tests := map[string]struct {
		o    app.TracingOptions
		env  map[string]string
		want bool
	}{
		"nothing set records nothing":                     {},
		"an endpoint flag turns it on":                    {o: app.TracingOptions{Endpoint: "http://127.0.0.1:4318"}, want: true},
		"the standard endpoint variable turns it on":      {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, want: true},
		"the traces endpoint variable turns it on":        {env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, want: true},
		"an exporter named by OTEL_TRACES_EXPORTER":       {env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}, want: true},
		"OTEL_TRACES_EXPORTER=none wins over an endpoint": {env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}},
		"OTEL_SDK_DISABLED wins over the flag":            {o: app.TracingOptions{Endpoint: "http://127.0.0.1:4318"}, env: map[string]string{"OTEL_SDK_DISABLED": "true"}},
		"a protocol alone turns nothing on":               {env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.o.Env = func(k string) string { return tc.env[k] }
			if got := tc.o.Enabled(); got != tc.want {
				t.Errorf("Enabled() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestABadEndpointOrProtocolIsRefusedByName(t *testing.T) {
	tests := map[string]struct {
		o    app.TracingOptions
		want string
	}{
		"an endpoint that is not a URL": {o: app.TracingOptions{Endpoint: "127.0.0.1:4318"}, want: "invalid --otlp-endpoint"},
		"an endpoint of another scheme": {o: app.TracingOptions{Endpoint: "ftp://collector:4318"}, want: "invalid --otlp-endpoint"},
		"an unknown protocol":           {o: app.TracingOptions{Endpoint: "http://collector:4318", Protocol: "http/json"}, want: "invalid --otlp-protocol"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := app.NewControllerManager(context.Background(), nil, app.ControllerOptions{Tracing: tc.o})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
