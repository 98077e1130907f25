package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

type traceFlags struct {
	output     string
	dataDir    string
	clickhouse string
	server     string
	tokenFile  string
}

func newTraceCommand(s streams) *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace (OPERATION_ID | kustomization NAME | gitrepository NAME)",
		Short: "Show one distributed trace as a waterfall",
		Long: `Shows the end-to-end transaction of one operation (an OpenTelemetry trace id,
OperationId in AppRequests, AppDependencies and AppExceptions) as Application
Insights does: one line per span with its service, name, start offset, duration
bar and result, children under their parents, failed spans marked ✗ and their
exceptions listed under them. -o json gives the same for machines.

'tugboat trace kustomization NAME' shows the controller's own trace of the
Kustomization's latest traced reconcile (the commit's webhook call, the Git fetch,
the build, apply, health wait and Ready), found by its OperationId in
TugboatReconciliations: its spans and the steps that led to them. The controller
records traces when run with --otlp-endpoint (or the OTEL_* variables) pointing at
the agent. See docs/traces.md.`,
		Example: `  tugboat trace 4bf92f3577b34da6a3ce929d0e0e4736
  tugboat query 'AppRequests | where Success == false | top 1 by TimeGenerated desc | project OperationId'
  tugboat trace --server http://localhost:9090 4bf92f3577b34da6a3ce929d0e0e4736 -o json
  tugboat trace kustomization podinfo -n apps`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, outputTable, outputJSON); err != nil {
				return err
			}
			run, done, err := traceQuerier(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer done()
			var id, focus string
			if len(args) == 2 {
				kind, ok := traceKinds[strings.ToLower(args[0])]
				if !ok {
					return usageErrorf("unknown kind %q: use kustomization or gitrepository, or give an operation id", args[0])
				}
				ns, err := s.kube.namespace()
				if err != nil {
					return err
				}
				if id, err = latestOperation(run, kind, ns, args[1]); err != nil {
					return err
				}
				focus = "reconcile " + kind + " " + ns + "/" + args[1]
			} else {
				id = strings.ToLower(args[0])
				if !operationIDRe.MatchString(id) {
					return usageErrorf("operation id %q: want the 32 hex digits of a trace id", args[0])
				}
			}
			tr, err := fetchTrace(run, id, focus)
			if err != nil {
				return err
			}
			if len(tr.Spans) == 0 && len(tr.Exceptions) == 0 {
				return fmt.Errorf("no spans of operation %s in AppRequests or AppDependencies", id)
			}
			if f.output == outputJSON {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(tr)
			}
			return writeWaterfall(s.out, tr, waterfallWidth)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", outputTable, "output format: table or json")
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "directory of the DuckDB store")
	fl.StringVar(&f.clickhouse, "clickhouse", "", "read from this ClickHouse server instead (clickhouse://host:9000/db)")
	fl.StringVar(&f.server, "server", "", "ask a controller's HTTP API instead (http://host:9090); the controller holds its DuckDB file open")
	fl.StringVar(&f.tokenFile, "token-file", "", "with --server: a file holding the bearer token to send (e.g. from kubectl create token)")
	return cmd
}

// operationIDRe is what an operation id of ours is: a trace id in hex. The
// id is put in the queries, so nothing else may pass.
var operationIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// maxTraceSpans bounds what one trace loads; a bigger one is shown cut.
const maxTraceSpans = 10000

// traceKinds are the kinds whose latest reconcile 'tugboat trace KIND NAME' shows.
var traceKinds = map[string]string{
	"kustomization": "Kustomization", "kustomizations": "Kustomization", "ks": "Kustomization",
	"gitrepository": "GitRepository", "gitrepositories": "GitRepository", "gitrepo": "GitRepository",
}

// querier runs one KQL query against the store the flags select.
type querier func(q string) (*store.JSONResult, error)

// traceQuerier opens the store (or the controller's HTTP API) the flags select.
func traceQuerier(ctx context.Context, f traceFlags) (querier, func(), error) {
	if f.server != "" {
		if f.clickhouse != "" {
			return nil, nil, usageErrorf("--server cannot be used with --clickhouse")
		}
		token, err := readTokenFile(f.tokenFile)
		if err != nil {
			return nil, nil, err
		}
		return func(q string) (*store.JSONResult, error) { return queryServer(ctx, f.server, token, q) }, func() {}, nil
	}
	st, err := openQueryStore(ctx, queryFlags{dataDir: f.dataDir, clickhouse: f.clickhouse})
	if err != nil {
		return nil, nil, err
	}
	return func(q string) (*store.JSONResult, error) {
		res, err := st.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("failed to read the trace: %w", err)
		}
		return store.ToJSON(res), nil
	}, func() { _ = st.Close() }, nil
}

// latestOperation finds the OperationId of the newest traced reconcile of an object
// in TugboatReconciliations.
func latestOperation(run querier, kind, ns, name string) (string, error) {
	// Both go into the query: only what Kubernetes allows as names passes.
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", usageErrorf("%s name %q: %s", kind, name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", usageErrorf("namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	res, err := run(fmt.Sprintf(`%s | where Kind == "%s" and Namespace == "%s" and Name == "%s" and OperationId != "" | top 1 by TimeGenerated desc | project OperationId`,
		store.TugboatReconciliations, kind, ns, name))
	if err != nil {
		return "", err
	}
	for _, r := range records(res) {
		if id := r.str("OperationId"); operationIDRe.MatchString(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("no traced reconcile of %s %s/%s in %s: the controller records traces when run with --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) pointing at the agent, whose delivery collector reads the reconcile's event",
		kind, ns, name, store.TugboatReconciliations)
}

// fetchTrace reads the spans and exceptions of one operation. With focus (the name
// of a reconcile's span) it keeps that span, what is under it and what led to it,
// leaving out the other objects a commit reached in the same trace.
func fetchTrace(run querier, id, focus string) (*traceView, error) {
	where := fmt.Sprintf(` | where OperationId == "%s"`, id) + operationRange(run, id)
	take := fmt.Sprintf(" | take %d", maxTraceSpans+1)
	common := "TimeGenerated, Id, ParentId, Name, AppRoleName, AppRoleInstance, DurationMs, Success, ResultCode"
	var spans []traceSpan
	for _, q := range []struct{ table, cols string }{
		{store.AppRequests, common + ", Url"},
		{store.AppDependencies, common + ", DependencyType, Target, Data"},
	} {
		res, err := run(q.table + where + " | project " + q.cols + take)
		if err != nil {
			return nil, err
		}
		for _, r := range records(res) {
			s := traceSpan{
				Kind: "request", ID: r.str("Id"), ParentID: r.str("ParentId"), Name: r.str("Name"),
				Service: r.str("AppRoleName"), Instance: r.str("AppRoleInstance"), Start: r.time("TimeGenerated"),
				DurationMs: r.num("DurationMs"), Success: r.boolean("Success"), ResultCode: r.str("ResultCode"),
				URL: r.str("Url"), Type: r.str("DependencyType"), Target: r.str("Target"), Data: r.str("Data"),
			}
			if q.table == store.AppDependencies {
				s.Kind = "dependency"
			}
			spans = append(spans, s)
		}
	}
	res, err := run(store.AppExceptions + where + " | project TimeGenerated, ParentId, ExceptionType, OuterMessage, ProblemId, AppRoleName" + take)
	if err != nil {
		return nil, err
	}
	var excs []traceException
	for _, r := range records(res) {
		excs = append(excs, traceException{Time: r.time("TimeGenerated"), SpanID: r.str("ParentId"),
			Type: r.str("ExceptionType"), Message: r.str("OuterMessage"), ProblemID: r.str("ProblemId"), Service: r.str("AppRoleName")})
	}
	if focus != "" {
		spans, excs = focusOn(spans, excs, focus)
	}
	return buildTrace(id, spans, excs), nil
}

// operationRange is a filter on the time range in which the operation's rows
// were stored, from TugboatOperations, or "" when the store has none for it
// (rows appended other than by the OTLP receiver, or before the table existed;
// a server of an older version). Trace ids are random, so without it each
// lookup reads OperationId of every row; with it, only the blocks of that
// time range (store.TugboatOperationsRow). A second either side leaves room
// for the engines' precision (ClickHouse keeps whole seconds).
func operationRange(run querier, id string) string {
	res, err := run(fmt.Sprintf(`%s | where OperationId == "%s" | summarize First = min(StartTime), Last = max(TimeGenerated)`,
		store.TugboatOperations, id))
	if err != nil || len(res.Rows) == 0 {
		return ""
	}
	r := records(res)[0]
	first, last := r.time("First"), r.time("Last")
	if first.IsZero() || last.IsZero() {
		return ""
	}
	return fmt.Sprintf(" | where TimeGenerated between (datetime(%s) .. datetime(%s))",
		first.Add(-time.Second).Format(time.RFC3339Nano), last.Add(time.Second).Format(time.RFC3339Nano))
}

// focusOn leaves out the reconciles of the other objects of focus's kind (the other
// Kustomizations a commit reached, in the same trace) and what is under them; the
// webhook call, the fetch and everything of focus's own reconcile stay. Nothing is
// left out when no span is named focus.
func focusOn(spans []traceSpan, excs []traceException, focus string) ([]traceSpan, []traceException) {
	prefix := focus[:strings.LastIndexByte(focus, ' ')+1] // "reconcile Kustomization "
	children := map[string][]string{}
	var others []string
	found := false
	for _, s := range spans {
		children[s.ParentID] = append(children[s.ParentID], s.ID)
		switch {
		case s.Name == focus:
			found = true
		case strings.HasPrefix(s.Name, prefix):
			others = append(others, s.ID)
		}
	}
	if !found {
		return spans, excs
	}
	drop := map[string]bool{}
	var down func(id string)
	down = func(id string) {
		if drop[id] { // also ends a cycle of hostile ids
			return
		}
		drop[id] = true
		for _, c := range children[id] {
			down(c)
		}
	}
	for _, id := range others {
		down(id)
	}
	var outSpans []traceSpan
	for _, s := range spans {
		if !drop[s.ID] {
			outSpans = append(outSpans, s)
		}
	}
	var outExcs []traceException
	for _, e := range excs {
		if !drop[e.SpanID] {
			outExcs = append(outExcs, e)
		}
	}
	return outSpans, outExcs
}

// record is one result row by column name, with the JSON values of either
// the local store or the HTTP API read the same way.
type record map[string]any

func records(res *store.JSONResult) []record {
	out := make([]record, len(res.Rows))
	for i, row := range res.Rows {
		r := make(record, len(row))
		for j, v := range row {
			r[res.Columns[j].Name] = v
		}
		out[i] = r
	}
	return out
}

func (r record) str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r record) num(k string) float64 {
	switch v := r[k].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case json.Number:
		f, _ := v.Float64()
		return f
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

func (r record) boolean(k string) bool {
	b, _ := r[k].(bool)
	return b
}

func (r record) time(k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.str(k))
	return t.UTC()
}
