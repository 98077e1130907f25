package queryapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// A caller reads the rows of the namespaces where the apiserver's RBAC lets
// it read pods, and log lines only where it may read pods/log; nothing of
// the others. The callers are ServiceAccounts with Roles in one namespace.
// Both engines filter the same way.
func TestRowsFollowTheCallersRBAC(t *testing.T) {
	ctx := context.Background()
	opts := store.Options{RetentionInterval: -1, DefaultRetention: -1}
	duck, err := store.OpenDuckDB(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	ch, err := store.OpenClickHouse(ctx, storetest.ClickHouse(t).Database(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bases := map[string]string{}
	for engine, st := range map[string]store.Store{"DuckDB": duck, "ClickHouse": ch} {
		for _, ns := range []string{"qa-team-a", "qa-team-b"} {
			ensureNamespace(t, ns)
			if err := st.Append(ctx, store.ContainerLogV2, [][]any{{at, "node-1", "c", "app", "web", ns, "secret of " + ns, "stdout", "INFO", nil}}); err != nil {
				t.Fatal(err)
			}
			if err := st.Append(ctx, store.KubeEvents, [][]any{{at, "cl", "cl", "node-1", 1.0, at, at, "Normal", "event of " + ns, "web", ns, "Pod", "Started", "kubelet"}}); err != nil {
				t.Fatal(err)
			}
		}
		bases[engine] = serveServer(t, &Server{Store: st})
	}
	const q = `union (ContainerLogV2 | project Table = "logs", Namespace = PodNamespace), (KubeEvents | project Table = "events", Namespace) | sort by Table asc, Namespace asc`
	tests := map[string]struct {
		token string
		want  string
	}{
		"a ServiceAccount that reads pods and logs in one namespace sees only its rows": {
			token: caller(t, "qa-team-a", "reader", map[string][]rbacv1.PolicyRule{"qa-team-a": {readPods, readLogs}}),
			want:  `{"columns":[{"name":"Table","type":"string"},{"name":"Namespace","type":"string"}],"rows":[["events","qa-team-a"],["logs","qa-team-a"]]}` + "\n",
		},
		"one that may read pods but not their logs sees events and no log line": {
			token: caller(t, "qa-team-a", "no-logs", map[string][]rbacv1.PolicyRule{"qa-team-a": {readPods}}),
			want:  `{"columns":[{"name":"Table","type":"string"},{"name":"Namespace","type":"string"}],"rows":[["events","qa-team-a"]]}` + "\n",
		},
		"one with rights in another namespace only sees nothing of these": {
			token: caller(t, "qa-team-c", "other", map[string][]rbacv1.PolicyRule{"qa-team-c": {readPods, readLogs}}),
			want:  `{"columns":[{"name":"Table","type":"string"},{"name":"Namespace","type":"string"}],"rows":[]}` + "\n",
		},
		"one that reads pods and logs everywhere sees every row": {
			token: adminToken(t),
			want: `{"columns":[{"name":"Table","type":"string"},{"name":"Namespace","type":"string"}],"rows":[["events","qa-team-a"],["events","qa-team-b"],` +
				`["logs","qa-team-a"],["logs","qa-team-b"]]}` + "\n",
		},
	}
	for engine, base := range bases {
		for name, tc := range tests {
			t.Run(engine+"/"+name, func(t *testing.T) {
				code, body := postQueryAs(t, base, tc.token, q)
				if code != http.StatusOK || body != tc.want {
					t.Errorf("%d %s\nwant %s", code, body, tc.want)
				}
			})
		}
	}
}

// The query API runs a query as the caller the apiserver authenticated: KQL's
// current_principal() names the ServiceAccount, and current_principal_is_member_of
// sees its groups (TokenReview's), not the API's own identity.
func TestQueriesRunAsTheAuthenticatedCaller(t *testing.T) {
	ctx := context.Background()
	duck, err := store.OpenDuckDB(ctx, t.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	base := serveServer(t, &Server{Store: duck})
	token := caller(t, "qa-team-a", "principal", map[string][]rbacv1.PolicyRule{"qa-team-a": {readPods}})
	q := `print p = current_principal(), sa = current_principal_is_member_of('k8sgroup=system:serviceaccounts:qa-team-a'),` +
		` admin = current_principal_is_member_of('k8sgroup=system:masters')`
	want := `{"columns":[{"name":"p","type":"string"},{"name":"sa","type":"bool"},{"name":"admin","type":"bool"}],` +
		`"rows":[["k8suser=system:serviceaccount:qa-team-a:principal",true,false]]}` + "\n"
	if code, body := postQueryAs(t, base, token, q); code != http.StatusOK || body != want {
		t.Errorf("%d %s\nwant %s", code, body, want)
	}
}
