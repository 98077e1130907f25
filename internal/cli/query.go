package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

const outputCSV = "csv"

type queryFlags struct {
	output     string
	dataDir    string
	clickhouse string
	server     string
	cluster    bool
	loads      []string
	timeout    time.Duration
	tokenFile  string
}

func newQueryCommand(s streams) *cobra.Command {
	var f queryFlags
	cmd := &cobra.Command{
		Use:   "query KQL",
		Short: "Run a KQL query against the store, or over local files with --load",
		Long: `Runs a KQL query against tugboat's tables (ContainerLogV2, Perf, KubeEvents,
TugboatDeployments, ...) in the DuckDB file of --data-dir or on the ClickHouse
server of --clickhouse. With --cluster it goes to the query API of the controller that
tugboat install put in the kubeconfig's cluster, through the apiserver's service proxy,
and reads the cluster's store (tugboat install --observe). With --load TABLE=FILE (repeatable) the query runs over
local JSON-lines or CSV files in an in-memory DuckDB instead, with no cluster:
a TABLE named like one of tugboat's takes its columns, any other name gets
columns inferred from the file.`,
		Example: `  tugboat query 'ContainerLogV2 | where LogLevel == "ERROR" | summarize count() by PodName'
  tugboat query --cluster 'ContainerLogV2 | where PodNamespace == "shop" | take 20'
  tugboat query --load Logs=app.jsonl 'Logs | summarize count() by level' -o csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, outputTable, outputJSON, outputCSV); err != nil {
				return err
			}
			return runQuery(cmd.Context(), s, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", outputTable, "output format: table, json or csv")
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "directory of the DuckDB store")
	fl.StringVar(&f.clickhouse, "clickhouse", "", "query this ClickHouse server instead (clickhouse://host:9000/db)")
	fl.StringVar(&f.server, "server", "", "send the query to a controller's HTTP API instead (http://host:9090); the controller holds its DuckDB file open")
	fl.BoolVar(&f.cluster, "cluster", false, "send the query to the installed controller's API through the apiserver (the kubeconfig's cluster and credentials); it reads the cluster's store")
	fl.StringVar(&f.tokenFile, "token-file", "", "with --server or --cluster: a file holding the bearer token to send (e.g. from kubectl create token), with --cluster to the apiserver too instead of the kubeconfig's credentials; the API answers with the rows its RBAC allows")
	fl.DurationVar(&f.timeout, "timeout", time.Minute, "give up on the query after this long (0: no limit)")
	fl.StringArrayVar(&f.loads, "load", nil, "TABLE=FILE: load a .json/.jsonl/.ndjson or .csv file as TABLE into an in-memory store (repeatable)")
	return cmd
}

// defaultDataDir is where the controller keeps its DuckDB file unless told
// otherwise.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "tugboat")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "tugboat-data"
	}
	return filepath.Join(home, ".local", "share", "tugboat")
}

// queryError shows a KQL error with its source line and a caret.
type queryError struct{ qe *store.QueryError }

func (e *queryError) Error() string { return e.qe.Format() }
func (e *queryError) Unwrap() error { return e.qe }

func runQuery(ctx context.Context, s streams, f queryFlags, query string) error {
	if f.timeout < 0 {
		return usageErrorf("--timeout %s: must not be negative", f.timeout)
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	err := runQueryIn(ctx, s, f, query)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("the query did not finish within %s (--timeout)", f.timeout)
	}
	return err
}

func runQueryIn(ctx context.Context, s streams, f queryFlags, query string) error {
	if f.cluster {
		if len(f.loads) > 0 || f.clickhouse != "" || f.server != "" {
			return usageErrorf("--cluster cannot be used with --load, --clickhouse or --server")
		}
		token, err := readTokenFile(f.tokenFile)
		if err != nil {
			return err
		}
		cfg, err := s.kube.restConfig()
		if err != nil {
			return err
		}
		res, err := queryCluster(ctx, cfg, token, query)
		if err != nil {
			return err
		}
		return writeJSONResult(s.out, f.output, res)
	}
	if f.server != "" {
		if len(f.loads) > 0 || f.clickhouse != "" {
			return usageErrorf("--server cannot be used with --load or --clickhouse")
		}
		token, err := readTokenFile(f.tokenFile)
		if err != nil {
			return err
		}
		res, err := queryServer(ctx, f.server, token, query)
		if err != nil {
			return err
		}
		return writeJSONResult(s.out, f.output, res)
	}
	st, err := openQueryStore(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.Query(ctx, query)
	if err != nil {
		var qe *store.QueryError
		if errors.As(err, &qe) {
			return &queryError{qe: qe}
		}
		return err
	}
	return writeResult(s.out, f.output, res)
}

func openQueryStore(ctx context.Context, f queryFlags) (store.Store, error) {
	switch {
	case len(f.loads) > 0 && f.clickhouse != "":
		return nil, usageErrorf("--load runs on an in-memory DuckDB; it cannot be used with --clickhouse")
	case len(f.loads) > 0:
		return loadFiles(ctx, f.loads)
	case f.clickhouse != "":
		return store.OpenClickHouse(ctx, f.clickhouse, store.Options{RetentionInterval: -1, Limits: cliLimits})
	}
	if _, err := os.Stat(filepath.Join(f.dataDir, store.DuckDBFile)); err != nil {
		return nil, fmt.Errorf("failed to open the store: no %s in %s (use --data-dir, --clickhouse or --load)", store.DuckDBFile, f.dataDir)
	}
	return store.OpenDuckDB(ctx, f.dataDir, store.Options{RetentionInterval: -1, Limits: cliLimits})
}

// cliLimits are the store's limits when tugboat query opens it itself: its user
// runs it on their own machine, over their own files (--load holds them in
// memory), so it gets more than the controller's defaults, which share a pod
// with the reconcilers and serve anyone the API lets in. --timeout still bounds it.
var cliLimits = store.Limits{MemoryBytes: 2 << 30, TempBytes: 8 << 30}

// loadFiles reads every TABLE=FILE into one in-memory DuckDB.
func loadFiles(ctx context.Context, loads []string) (store.Store, error) {
	ours := store.Tables()
	schema := kql.Schema{}
	for name, cols := range ours {
		schema[name] = cols
	}
	type loaded struct {
		table string
		rows  [][]any
	}
	var data []loaded
	seen := map[string]string{}
	for _, l := range loads {
		table, file, ok := strings.Cut(l, "=")
		if !ok || table == "" || file == "" {
			return nil, usageErrorf("--load %q: want TABLE=FILE", l)
		}
		if prev, dup := seen[table]; dup {
			return nil, usageErrorf("--load: table %s is loaded twice (%s and %s)", table, prev, file)
		}
		seen[table] = file
		cols, rows, err := store.ReadFile(file, ours[table])
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			return nil, fmt.Errorf("failed to load %s: the file has no columns", file)
		}
		schema[table] = cols
		data = append(data, loaded{table: table, rows: rows})
	}
	// Loaded data can be of any age: no retention.
	st, err := store.OpenDuckDB(ctx, "", store.Options{Tables: schema, RetentionInterval: -1, DefaultRetention: -1, Limits: cliLimits})
	if err != nil {
		return nil, err
	}
	for _, d := range data {
		if err := st.Append(ctx, d.table, d.rows); err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("failed to load %s: %w", seen[d.table], err)
		}
	}
	return st, nil
}

// queryServer posts the query to a controller's /api/v1/query.
// readTokenFile reads the bearer token --token-file names; "" when it names none.
func readTokenFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("failed to read --token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func queryServer(ctx context.Context, base, token, query string) (*store.JSONResult, error) {
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		return nil, fmt.Errorf("failed to encode the query: %w", err)
	}
	url := strings.TrimSuffix(base, "/") + "/api/v1/query"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, usageErrorf("--server %q: %v", base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to query %s: %w", url, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&e); err != nil || e.Error == "" {
			return nil, fmt.Errorf("failed to query %s: %s", url, resp.Status)
		}
		// A KQL error arrives formatted, with its line and caret.
		return nil, errors.New(e.Error)
	}
	var res store.JSONResult
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("failed to read the answer of %s: %w", url, err)
	}
	return &res, nil
}

func writeResult(w io.Writer, format string, res *store.Result) error {
	if format == outputJSON {
		return writeJSONResult(w, format, store.ToJSON(res))
	}
	return writeRows(w, format, res.Columns, len(res.Rows), func(i int) []string { return formatRow(res, res.Rows[i]) }, res.Truncated)
}

// writeJSONResult prints an answer of the HTTP API.
func writeJSONResult(w io.Writer, format string, res *store.JSONResult) error {
	if format == outputJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	cols := make([]kql.Column, len(res.Columns))
	for i, c := range res.Columns {
		t, _ := kql.ParseType(c.Type)
		cols[i] = kql.Column{Name: c.Name, Type: t}
	}
	return writeRows(w, format, cols, len(res.Rows), func(i int) []string {
		cells := make([]string, len(res.Rows[i]))
		for j, v := range res.Rows[i] {
			switch v := v.(type) {
			case nil:
			case string:
				cells[j] = v
			case json.Number:
				cells[j] = v.String()
			default:
				b, _ := json.Marshal(v)
				cells[j] = string(b)
			}
		}
		return cells
	}, res.Truncated)
}

func writeRows(w io.Writer, format string, columns []kql.Column, n int, row func(int) []string, truncated bool) error {
	switch format {
	case outputCSV:
		cw := csv.NewWriter(w)
		header := make([]string, len(columns))
		for i, c := range columns {
			header[i] = c.Name
		}
		_ = cw.Write(header)
		for i := 0; i < n; i++ {
			_ = cw.Write(row(i))
		}
		cw.Flush()
		return cw.Error()
	}
	t := newTable(w)
	header := make([]string, len(columns))
	for i, c := range columns {
		header[i] = c.Name
	}
	t.row(header...)
	for r := 0; r < n; r++ {
		cells := row(r)
		for i, c := range cells {
			// One line per row, and nothing a terminal would act on.
			cells[i] = escapeCell(c)
		}
		t.row(cells...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if truncated {
		fmt.Fprintf(w, "(truncated to %d rows)\n", n)
	}
	return nil
}

func formatRow(res *store.Result, row []any) []string {
	cells := make([]string, len(row))
	for i, v := range row {
		cells[i] = store.FormatValue(res.Columns[i].Type, v)
	}
	return cells
}
