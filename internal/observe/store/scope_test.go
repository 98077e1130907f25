package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// scopedStore fills s with rows of namespaces a and b in every table that
// belongs to a namespace, and one node's rows.
func scopedStore(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(table string, rows ...[]any) {
		t.Helper()
		if err := s.Append(ctx, table, rows); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"a", "b"} {
		uid := "uid-" + ns
		add(ContainerLogV2, []any{at, "node-1", "c-" + ns, "app", "pod-" + ns, ns, "line of " + ns, "stdout", "INFO", nil})
		pod := make([]any, len(Tables()[KubePodInventory]))
		pod[0] = at
		for i, c := range Tables()[KubePodInventory] {
			switch c.Name {
			case "Name":
				pod[i] = "pod-" + ns
			case "Namespace":
				pod[i] = ns
			case "PodUid":
				pod[i] = uid
			}
		}
		add(KubePodInventory, pod)
		add(KubeEvents, []any{at, "cl", "cl", "node-1", 1.0, at, at, "Normal", "event of " + ns, "pod-" + ns, ns, "Pod", "Started", "kubelet"})
		add(Perf, []any{at, "node-1", "K8SContainer", "memoryWorkingSetBytes", "p", 1.0, "cl/" + uid + "/app"})
		add(InsightsMetrics, []any{at, "node-1", "container.azm.ms/kubelet", "container_memory_working_set_bytes", "o", fmt.Sprintf(`{"namespace":%q,"pod":"pod-%s"}`, ns, ns), 1.0})
	}
	add(Perf, []any{at, "node-1", "K8SNode", "memoryWorkingSetBytes", "p", 1.0, "cl/node-1"})
	node := make([]any, len(Tables()[KubeNodeInventory]))
	node[0] = at
	add(KubeNodeInventory, node)
}

// Both engines keep a scoped caller to its namespaces the same way: the
// planner reads each table through a subquery of the allowed rows.
func TestAScopedQueryReadsOnlyItsNamespaces(t *testing.T) {
	ctx := context.Background()
	opts := Options{RetentionInterval: -1, DefaultRetention: -1}
	duck, err := OpenDuckDB(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	ch, err := OpenClickHouse(ctx, storetest.ClickHouse(t).Database(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	engines := map[string]Store{"DuckDB": duck, "ClickHouse": ch}
	for _, s := range engines {
		scopedStore(t, s)
	}
	onlyA := Scope{Pods: []string{"a"}, Logs: []string{"a"}}
	alice := Scope{Pods: []string{"a"}, Principal: &kql.Principal{Name: "alice@contoso.com", Groups: []string{"sre", "system:authenticated"}}}
	tests := map[string]struct {
		scope Scope
		query string
		want  string
		// duckdbOnly marks a query ClickHouse 18.16 cannot run at all
		// (it cannot list JSON keys), scoped or not.
		duckdbOnly bool
	}{
		"log lines of the namespaces where pods/log may be read": {
			scope: onlyA, query: `ContainerLogV2 | project PodNamespace`, want: "[[a]]",
		},
		"no log lines where only pods may be read": {
			scope: Scope{Pods: []string{"a", "b"}}, query: `ContainerLogV2 | count`, want: "[[0]]",
		},
		"inventory and events of the namespaces where pods may be read": {
			scope: onlyA, query: `union (KubePodInventory | project Namespace), (KubeEvents | project Namespace) | summarize count() by Namespace`, want: "[[a 2]]",
		},
		"container metrics by the pods of those namespaces, no node metrics": {
			scope: onlyA, query: `Perf | project InstanceName`, want: "[[cl/uid-a/app]]",
		},
		"bag_unpack lists the properties of the rows the scope may read only": {
			scope: onlyA, query: `InsightsMetrics | project b = bag_pack(tostring(todynamic(Tags).namespace), 1) | evaluate bag_unpack(b)`, want: "[[1]]", duckdbOnly: true,
		},
		"kubelet samples by their namespace label": {
			scope: onlyA, query: `InsightsMetrics | project Tags`, want: `[[{"namespace":"a","pod":"pod-a"}]]`,
		},
		"no node inventory without access to every namespace": {
			scope: onlyA, query: `KubeNodeInventory | count`, want: "[[0]]",
		},
		"a join reads the restricted rows on both sides": {
			scope: onlyA, query: `ContainerLogV2 | join kind=inner (KubePodInventory | project PodName = Name, Namespace) on PodName | project PodName, Namespace`, want: "[[pod-a a]]",
		},
		"a let reads the restricted rows too": {
			scope: onlyA, query: `let L = ContainerLogV2 | project Namespace = PodNamespace; KubeEvents | join kind=inner (L) on Namespace | project Namespace`, want: "[[a]]",
		},
		"the values pivot lists come from the restricted rows only": {
			scope: onlyA, query: `KubeEvents | project Namespace | evaluate pivot(Namespace)`, want: "[[1]]",
		},
		"a namespace that looks like SQL is only a value": {
			scope: Scope{Pods: []string{"a') OR TRUE --"}, Logs: []string{"x' OR '1'='1"}}, query: `union ContainerLogV2, KubeEvents | count`, want: "[[0]]",
		},
		"the zero scope reads nothing": {
			query: `union ContainerLogV2, KubeEvents, Perf, InsightsMetrics, KubePodInventory, KubeNodeInventory | count`, want: "[[0]]",
		},
		"current_principal names the authenticated caller": {
			scope: alice, query: `print p = current_principal()`, want: "[[k8suser=alice@contoso.com]]",
		},
		"the caller is a member of its own groups, named the Entra way with a tenant": {
			scope: alice, query: `print m = current_principal_is_member_of('aaduser=bob@contoso.com', 'aadgroup=sre;72f988bf')`, want: "[[true]]",
		},
		"the caller is its own user, in a dynamic array": {
			scope: alice, query: `print m = current_principal_is_member_of(dynamic(['k8sgroup=dev', 'aaduser=Alice@Contoso.com']))`, want: "[[true]]",
		},
		"names that are not the caller, or kinds tugboat cannot authenticate, are not": {
			scope: alice, query: `print m = current_principal_is_member_of('aadgroup=dev', 'aadapp=alice@contoso.com', 'k8suser=', 'sre')`, want: "[[false]]",
		},
		"a query without a principal runs as nobody": {
			scope: onlyA, query: `print m = current_principal_is_member_of('k8suser=alice@contoso.com'), p = current_principal()`, want: "[[false ]]",
		},
		"access to every namespace reads every row": {
			scope: Unrestricted, query: `union ContainerLogV2, KubeEvents, Perf, KubeNodeInventory | count`, want: "[[8]]",
		},
	}
	for engine, s := range engines {
		for name, tc := range tests {
			if tc.duckdbOnly && engine != "DuckDB" {
				continue
			}
			t.Run(engine+"/"+name, func(t *testing.T) {
				res, err := s.QueryScoped(ctx, tc.query, tc.scope)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(ToJSON(res).Rows); got != tc.want {
					t.Errorf("rows %s, want %s", got, tc.want)
				}
			})
		}
	}
}
