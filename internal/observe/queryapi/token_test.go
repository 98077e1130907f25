package queryapi

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// The dev store's API admits exactly its one token, with every row; any other
// bearer, none, or a server given no token at all is answered 401.
func TestTokenAuthAdmitsItsOneTokenOnly(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	for name, tc := range map[string]struct {
		configured, sent string
		want             int
	}{
		"its token reads every row":                                   {configured: token, sent: "Bearer " + token, want: http.StatusOK},
		"the scheme is case-insensitive":                              {configured: token, sent: "bearer " + token, want: http.StatusOK},
		"another token is refused":                                    {configured: token, sent: "Bearer " + token[:31] + "0", want: http.StatusUnauthorized},
		"a prefix of the token is refused":                            {configured: token, sent: "Bearer " + token[:16], want: http.StatusUnauthorized},
		"no Authorization header is refused":                          {configured: token, want: http.StatusUnauthorized},
		"basic auth is refused":                                       {configured: token, sent: "Basic " + token, want: http.StatusUnauthorized},
		"a server given no token admits nobody, not the empty bearer": {configured: "", sent: "Bearer ", want: http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			base := serveWith(t, TokenAuth{Token: tc.configured})
			req, err := http.NewRequest(http.MethodPost, base+"/api/v1/query", bytes.NewReader([]byte(`{"query": "ContainerLogV2 | count"}`)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tc.sent != "" {
				req.Header.Set("Authorization", tc.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, body.String(), tc.want)
			}
			if tc.want == http.StatusOK && !bytes.Contains(body.Bytes(), []byte(`[[1]]`)) {
				t.Errorf("the token's caller does not read the one row: %s", body.String())
			}
		})
	}
}

// serveWith serves the API with auth over a DuckDB store holding one log line.
func serveWith(t *testing.T, auth Authorizer) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDuckDB(ctx, t.TempDir(), store.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // after the server's own cleanup: the last registered runs first
	if err := st.Append(ctx, store.ContainerLogV2, [][]any{{time.Now(), "node-1", "c1", "app", "web-1", "shop", "ok", "stdout", "INFO", nil}}); err != nil {
		t.Fatal(err)
	}
	return serveOn(t, &Server{Store: st, Auth: auth})
}
