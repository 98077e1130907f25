package queryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// serve starts the API on a real listener over a DuckDB store holding a
// few log lines, with callers reviewed by the local cluster, and returns its
// base URL.
func serve(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDuckDB(ctx, t.TempDir(), store.Options{RetentionInterval: -1,
		Now: func() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // after the server's own cleanup: the last registered runs first
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	row := func(ts time.Time, pod, level string, msg any) []any {
		return []any{ts, "node-1", "c1", "app", pod, "shop", msg, "stdout", level, nil}
	}
	if err := st.Append(ctx, store.ContainerLogV2, [][]any{
		row(t0, "web-1", "ERROR", map[string]any{"msg": "timeout", "ms": 5000}),
		row(t0.Add(time.Minute), "web-1", "INFO", "ok"),
		row(t0.Add(7*time.Minute), "web-2", "ERROR", "reset"),
	}); err != nil {
		t.Fatal(err)
	}
	return serveOn(t, &Server{Store: st, Auth: kubeAuth(t), AllowedHosts: []string{"tugboat-api.tugboat-system.svc"}})
}

func TestQueryAPI(t *testing.T) {
	base := serve(t)
	token := adminToken(t)
	tests := map[string]struct {
		method, path, contentType string
		host                      string
		token                     string // "-" for none; empty for a token that may read everything
		body                      string
		code                      int
		want                      string // the JSON answer, compacted
	}{
		"a query answers columns with types, rows and the render hint": {
			body: `{"query": "ContainerLogV2 | where LogLevel == 'ERROR' | summarize Errors = count(), Ms = max(tolong(LogMessage.ms)) by PodName, bin(TimeGenerated, 5m) | sort by PodName asc | render timechart with (title='errors')"}`,
			code: http.StatusOK,
			want: `{"columns":[{"name":"PodName","type":"string"},{"name":"TimeGenerated","type":"datetime"},{"name":"Errors","type":"long"},{"name":"Ms","type":"long"}],` +
				`"rows":[["web-1","2026-01-01T10:00:00Z",1,5000],["web-2","2026-01-01T10:05:00Z",1,null]],"render":{"kind":"timechart","properties":{"title":"errors"}}}`,
		},
		"dynamic values come back as JSON and timespans in Kusto's form": {
			body: `{"query": "ContainerLogV2 | where PodName == 'web-1' | sort by TimeGenerated asc | project LogMessage, Age = now() - TimeGenerated"}`,
			code: http.StatusOK,
			want: `{"columns":[{"name":"LogMessage","type":"dynamic"},{"name":"Age","type":"timespan"}],"rows":[[{"ms":5000,"msg":"timeout"},"02:00:00"],["ok","01:59:00"]]}`,
		},
		"a KQL error is 400 with its line and column": {
			body: `{"query": "ContainerLogV2\n| where PodNme == 'x'"}`,
			code: http.StatusBadRequest,
			want: `{"error":"2:9: unknown column PodNme; did you mean PodName?\n| where PodNme == 'x'\n        ^","line":2,"column":9}`,
		},
		"a body that is not JSON is 400": {
			body: `query=ContainerLogV2`,
			code: http.StatusBadRequest,
			want: `{"error":"the body must be a JSON object {\"query\": \"...\"}: invalid character 'q' looking for beginning of value"}`,
		},
		"an unknown field is 400": {
			body: `{"query": "ContainerLogV2 | count", "timeout": 5}`,
			code: http.StatusBadRequest,
			want: `{"error":"the body must be a JSON object {\"query\": \"...\"}: json: unknown field \"timeout\""}`,
		},
		"an empty query is 400": {
			body: `{"query": "  "}`,
			code: http.StatusBadRequest,
			want: `{"error":"query is empty"}`,
		},
		"a body over the limit is 413": {
			body: `{"query": "` + strings.Repeat("x", MaxBodyBytes) + `"}`,
			code: http.StatusRequestEntityTooLarge,
			want: fmt.Sprintf(`{"error":"the body is larger than %d bytes"}`, MaxBodyBytes),
		},
		"another content type is 415": {
			contentType: "text/plain",
			body:        `ContainerLogV2`,
			code:        http.StatusUnsupportedMediaType,
			want:        `{"error":"the body must be application/json, not \"text/plain\""}`,
		},
		"a form, as a browser posts across origins without asking, is 415": {
			contentType: "application/x-www-form-urlencoded",
			body:        `{"query": "ContainerLogV2 | count"}`,
			code:        http.StatusUnsupportedMediaType,
			want:        `{"error":"the body must be application/json, not \"application/x-www-form-urlencoded\""}`,
		},
		"no content type is 415": {
			contentType: "-",
			body:        `{"query": "ContainerLogV2 | count"}`,
			code:        http.StatusUnsupportedMediaType,
			want:        `{"error":"the body must be application/json, not \"\""}`,
		},
		"JSON with a charset is a query": {
			contentType: "application/json; charset=utf-8",
			body:        `{"query": "ContainerLogV2 | count"}`,
			code:        http.StatusOK,
			want:        `{"columns":[{"name":"Count","type":"long"}],"rows":[[3]]}`,
		},
		"no token is 401": {
			token: "-",
			body:  `{"query": "ContainerLogV2 | count"}`,
			code:  http.StatusUnauthorized,
			want:  `{"error":"a bearer token the cluster accepts is required (Authorization: Bearer \u003ctoken\u003e)"}`,
		},
		"a token the cluster does not accept is 401": {
			token: "not-a-token",
			body:  `{"query": "ContainerLogV2 | count"}`,
			code:  http.StatusUnauthorized,
		},
		"a foreign Host, as a DNS-rebinding page sends, is 421": {
			host: "attacker.example:9090",
			body: `{"query": "ContainerLogV2 | count"}`,
			code: http.StatusMisdirectedRequest,
			want: `{"error":"this server does not answer for the host the request names"}`,
		},
		"a Host the server is told to answer for is a query": {
			host: "Tugboat-API.tugboat-system.svc.:9090",
			body: `{"query": "ContainerLogV2 | count"}`,
			code: http.StatusOK,
		},
		"localhost is a query": {
			host: "localhost:9090",
			body: `{"query": "ContainerLogV2 | count"}`,
			code: http.StatusOK,
		},
		"GET is 405": {
			method: http.MethodGet,
			code:   http.StatusMethodNotAllowed,
		},
		"another path is 404": {
			path: "/api/v2/query",
			code: http.StatusNotFound,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			method, path, ct := tc.method, tc.path, tc.contentType
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/api/v1/query"
			}
			if ct == "" {
				ct = "application/json"
			}
			req, err := http.NewRequest(method, base+path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if ct != "-" {
				req.Header.Set("Content-Type", ct)
			}
			switch tc.token {
			case "":
				req.Header.Set("Authorization", "Bearer "+token)
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if tc.code == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
			if tc.want == "" {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, body); err != nil {
				t.Fatalf("answer is not JSON: %v: %s", err, body)
			}
			if compact.String() != tc.want {
				t.Errorf("answer\n%s\nwant\n%s", compact.String(), tc.want)
			}
		})
	}
}
