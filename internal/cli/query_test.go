package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

func TestQueryOverLoadedFiles(t *testing.T) {
	file := func(name string) string { return filepath.Join("testdata", "query", name) }
	tests := map[string]struct {
		args []string
		code int
	}{
		"a table of ours takes its schema and prints as a table": {
			args: []string{"--load", "ContainerLogV2=" + file("logs.jsonl"),
				`ContainerLogV2 | where LogLevel == "ERROR" | summarize Errors = count() by PodName | sort by PodName asc`},
		},
		"logs joined with deploys from a CSV file, as JSON": {
			args: []string{"--load", "ContainerLogV2=" + file("logs.jsonl"), "--load", "TugboatDeployments=" + file("deploys.csv"), "-o", "json",
				`ContainerLogV2 | extend Name = extract("^([a-z]+)", 1, PodName) | summarize Lines = count(), Errors = countif(LogLevel == "ERROR") by Name, bin(TimeGenerated, 5m)
| join kind=inner (TugboatDeployments | project Name, ImageAfter) on Name | project TimeGenerated, Name, Lines, Errors, ImageAfter | sort by TimeGenerated asc, Name asc | render timechart`},
		},
		"dynamic values, tabs and nulls as CSV": {
			args: []string{"--load", "ContainerLogV2=" + file("logs.jsonl"), "-o", "csv",
				`ContainerLogV2 | project TimeGenerated, LogMessage, Ms = tolong(LogMessage.ms) | sort by TimeGenerated asc`},
		},
		"terminal escape sequences in a stored log line are printed escaped": {
			args: []string{"--load", "ContainerLogV2=" + file("escapes.jsonl"), `ContainerLogV2 | project PodName, LogMessage`},
		},
		"a file of another name gets inferred columns": {
			args: []string{"--load", "Services=" + file("custom.csv"), "-o", "json",
				`Services | extend Load = requests * p95_ms | where healthy or seen > datetime(2026-01-01T10:01:00Z)`},
		},
		"Application Insights, slowest operations by p50, p95, p99": {
			args: append(appTables(file), `AppRequests | summarize Requests = count(), percentiles(DurationMs, 50, 95, 99) by Name
| sort by percentile_DurationMs_95 desc`),
		},
		"Application Insights, failure rate by dependency target": {
			args: append(appTables(file), `AppDependencies | summarize Calls = count(), Failed = countif(Success == false) by DependencyType, Target
| extend FailureRate = 100.0 * Failed / Calls | sort by FailureRate desc, Target asc`),
		},
		"Application Insights, the application map as rows": {
			args: append(appTables(file), `AppDependencies
| join kind=inner (AppRequests | project ParentId = Id, Caller = AppRoleName) on ParentId
| summarize Calls = count(), Failures = countif(Success == false), P95 = percentile(DurationMs, 95) by Caller, Target
| sort by Target asc`),
		},
		"Application Insights, top exception types with a sample": {
			args: append(appTables(file), "-o", "json", `AppExceptions
| summarize Count = count(), arg_max(TimeGenerated, *) by ProblemId
| project ProblemId, Count, Last = TimeGenerated, OuterMessage, Stack = tostring(Details[0].rawStack), OperationId`),
		},
		"Application Insights, failed requests with their exception": {
			args: append(appTables(file), `AppRequests | where Success == false
| join kind=inner (AppExceptions | project OperationId, ExceptionType, OuterMessage) on OperationId
| project TimeGenerated, Name, ResultCode, ExceptionType, OperationId | sort by TimeGenerated asc`),
		},
		"a KQL error shows the line and a caret": {
			args: []string{"--load", "ContainerLogV2=" + file("logs.jsonl"), "ContainerLogV2\n| summarize count() by PodNme"},
			code: ExitError,
		},
		"a bad JSON line names the file and line": {
			args: []string{"--load", "ContainerLogV2=" + file("bad_line.jsonl"), "ContainerLogV2 | count"},
			code: ExitError,
		},
		"an unknown column names the file and line": {
			args: []string{"--load", "ContainerLogV2=" + file("bad_column.jsonl"), "ContainerLogV2 | count"},
			code: ExitError,
		},
		"a value of the wrong type names the file, line and column": {
			args: []string{"--load", "TugboatDeployments=" + file("bad_type.csv"), "TugboatDeployments | count"},
			code: ExitError,
		},
		"a load without a file is a usage error": {
			args: []string{"--load", "ContainerLogV2", "ContainerLogV2 | count"},
			code: ExitUsage,
		},
		"an unknown output format is a usage error": {
			args: []string{"--load", "ContainerLogV2=" + file("logs.jsonl"), "-o", "yaml", "ContainerLogV2 | count"},
			code: ExitUsage,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, tc.code, "", append([]string{"query"}, tc.args...)...)
			got := r.stdout
			if tc.code != ExitOK {
				got = r.stderr
			}
			golden(t, "query", strings.ReplaceAll(name, " ", "_"), got)
		})
	}
}

// appTables loads the Application Insights tables' fixtures.
func appTables(file func(string) string) []string {
	return []string{"--load", "AppRequests=" + file("apprequests.jsonl"), "--load", "AppDependencies=" + file("appdependencies.jsonl"),
		"--load", "AppExceptions=" + file("appexceptions.jsonl")}
}

func TestQueryWithoutAStoreSaysWhatToDo(t *testing.T) {
	r := mustRun(t, ExitError, "", "query", "--data-dir", t.TempDir(), "ContainerLogV2 | count")
	if !strings.Contains(r.stderr, "no tugboat.duckdb in") || !strings.Contains(r.stderr, "--load") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}

// The same query through a controller's HTTP API prints what it prints
// over the files themselves, in every format, and a KQL error keeps its caret.
func TestQueryThroughTheHTTPAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := filepath.Join("testdata", "query", "logs.jsonl")
	st, err := store.OpenDuckDB(ctx, t.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, rows, err := store.ReadFile(logs, store.Tables()[store.ContainerLogV2])
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Append(ctx, store.ContainerLogV2, rows); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clients, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = (&queryapi.Server{Store: st, Auth: &queryapi.KubeAuth{Client: clients}}).Serve(ctx, ln) }()
	server := "http://" + ln.Addr().String()
	// A caller who may read pods and logs everywhere: the cluster's own
	// "view" ClusterRole, bound to a ServiceAccount whose token it issues.
	ns := newNamespace(t)
	if _, err := clients.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := clients.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "query-reader-" + ns},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := clients.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "reader", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(tr.Status.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	const q = `ContainerLogV2 | summarize Lines = count(), Last = max(TimeGenerated), Msgs = make_list(LogMessage) by PodName | sort by PodName asc`
	for _, format := range []string{"table", "csv", "json"} {
		local := mustRun(t, ExitOK, "", "query", "-o", format, "--load", "ContainerLogV2="+logs, q)
		remote := mustRun(t, ExitOK, "", "query", "-o", format, "--server", server, "--token-file", tokenFile, q)
		if local.stdout != remote.stdout {
			t.Errorf("-o %s differs:\n--- --load\n%s\n--- --server\n%s", format, local.stdout, remote.stdout)
		}
	}
	r := mustRun(t, ExitError, "", "query", "--server", server, "--token-file", tokenFile, "ContainerLogV2 | where PodNme == 1")
	golden(t, "query", "a_KQL_error_through_the_HTTP_API", r.stderr)
	r = mustRun(t, ExitError, "", "query", "--server", server, "ContainerLogV2 | count")
	if !strings.Contains(r.stderr, "a bearer token the cluster accepts is required") {
		t.Errorf("without --token-file: %s", r.stderr)
	}
	r = mustRun(t, ExitError, "", "query", "--server", "http://127.0.0.1:1", "ContainerLogV2 | count")
	if !strings.Contains(r.stderr, "failed to query http://127.0.0.1:1/api/v1/query") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// --timeout stops a query that runs too long with an error that says so.
func TestQueryTimeout(t *testing.T) {
	file := filepath.Join(t.TempDir(), "logs.jsonl")
	var b strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, `{"TimeGenerated": "2026-01-01T10:00:00Z", "PodName": "web-1", "ContainerId": "c%d", "LogMessage": "line %d"}`+"\n", i, i)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// 4·10⁸ joined rows: far longer than the timeout.
	r := mustRun(t, ExitError, "", "query", "--timeout", "3s", "--load", "ContainerLogV2="+file,
		`ContainerLogV2 | join kind=inner (ContainerLogV2) on PodName | summarize dcount(strcat(ContainerId, ContainerId1))`)
	if !strings.Contains(r.stderr, "the query did not finish within 3s (--timeout)") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}
