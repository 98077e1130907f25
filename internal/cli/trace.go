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
		Use:   "trace OPERATION_ID",
		Short: "Show one distributed trace as a waterfall",
		Long: `Shows the end-to-end transaction of one operation (an OpenTelemetry trace id,
OperationId in AppRequests, AppDependencies and AppExceptions) as Application
Insights does: one line per span with its service, name, start offset, duration
bar and result, children under their parents, failed spans marked ✗ and their
exceptions listed under them. -o json gives the same for machines. See docs/traces.md.`,
		Example: `  tugboat trace 4bf92f3577b34da6a3ce929d0e0e4736
  tugboat query 'AppRequests | where Success == false | top 1 by TimeGenerated desc | project OperationId'
  tugboat trace --server http://localhost:9090 4bf92f3577b34da6a3ce929d0e0e4736 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, outputTable, outputJSON); err != nil {
				return err
			}
			id := strings.ToLower(args[0])
			if !operationIDRe.MatchString(id) {
				return usageErrorf("operation id %q: want the 32 hex digits of a trace id", args[0])
			}
			tr, err := fetchTrace(cmd.Context(), f, id)
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

// fetchTrace reads the spans and exceptions of one operation.
func fetchTrace(ctx context.Context, f traceFlags, id string) (*traceView, error) {
	var run func(q string) (*store.JSONResult, error)
	if f.server != "" {
		if f.clickhouse != "" {
			return nil, usageErrorf("--server cannot be used with --clickhouse")
		}
		token, err := readTokenFile(f.tokenFile)
		if err != nil {
			return nil, err
		}
		run = func(q string) (*store.JSONResult, error) { return queryServer(ctx, f.server, token, q) }
	} else {
		st, err := openQueryStore(ctx, queryFlags{dataDir: f.dataDir, clickhouse: f.clickhouse})
		if err != nil {
			return nil, err
		}
		defer st.Close()
		run = func(q string) (*store.JSONResult, error) {
			res, err := st.Query(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("failed to read trace %s: %w", id, err)
			}
			return store.ToJSON(res), nil
		}
	}
	where := fmt.Sprintf(` | where OperationId == "%s"`, id)
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
	return buildTrace(id, spans, excs), nil
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
