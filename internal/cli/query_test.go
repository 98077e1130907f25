package cli

import (
	"path/filepath"
	"strings"
	"testing"
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
		"a file of another name gets inferred columns": {
			args: []string{"--load", "Services=" + file("custom.csv"), "-o", "json",
				`Services | extend Load = requests * p95_ms | where healthy or seen > datetime(2026-01-01T10:01:00Z)`},
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

func TestQueryWithoutAStoreSaysWhatToDo(t *testing.T) {
	r := mustRun(t, ExitError, "", "query", "--data-dir", t.TempDir(), "ContainerLogV2 | count")
	if !strings.Contains(r.stderr, "no tugboat.duckdb in") || !strings.Contains(r.stderr, "--load") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}
