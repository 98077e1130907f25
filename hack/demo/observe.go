package main

import (
	"context"
	"fmt"
	"strings"
)

// whatHappened runs the third part on the dev cluster's store, which the supervisor
// fills (its agent: the real node's container logs and metrics, events, the delivery
// history; its OTLP receiver: the controllers' own spans): each query is first
// awaited, quietly, until its rows are there, then shown as a user types it.
func whatHappened(ctx context.Context, sh *shell, st devStatus, image, commit string) error {
	fmt.Println("\n== What happened: tugboat query over the dev cluster's store (tugboat dev status names its query API and token)")
	server := st.Store.flags()
	fmt.Printf("\n$ S=%s\n", quote(server))
	sh.env = append(sh.env, "S="+server)
	steps := []struct {
		what, query string
		done        func([]map[string]any) bool
	}{
		{
			what:  "the app's container logs of v2 (ContainerLogV2)",
			query: `ContainerLogV2 | where PodNamespace == "demo" and ContainerName == "web" | extend Version = tostring(LogMessage.version), Msg = tostring(LogMessage.msg) | summarize Lines = count(), Heartbeats = countif(Msg == "heartbeat"), Last = max(TimeGenerated) by PodName, Version | sort by Last asc`,
			done:  has("Version", "v2"),
		},
		{
			what:  "the app's container CPU and memory (Perf)",
			query: `Perf | where ObjectName == "K8SContainer" and InstanceName endswith "/web" and CounterName in ("cpuUsageNanoCores", "memoryWorkingSetBytes") | summarize Samples = count(), Avg = round(avg(CounterValue)), Max = round(max(CounterValue)) by CounterName`,
			done:  has("CounterName", "cpuUsageNanoCores"),
		},
		{
			what:  "the deploy of v2 (TugboatDeployments)",
			query: `TugboatDeployments | where Namespace == "demo" and Workload == "web" | project TimeGenerated, Workload, Container, ImageBefore, ImageAfter, Result, DurationMs | sort by TimeGenerated asc`,
			done:  has("ImageAfter", image),
		},
		{
			what:  "the reconciles of the last commit (TugboatReconciliations)",
			query: `TugboatReconciliations | where Namespace == "default" and Name in ("aks-config", "apps") | project TimeGenerated, Kind, Name, Commit, Result, ObjectsChanged, DurationMs, OperationId | sort by TimeGenerated asc`,
			done:  has("Commit", commit),
		},
	}
	for _, s := range steps {
		q := "tugboat query $S " + quote(s.query)
		err := sh.waitFor(ctx, s.what, func(ctx context.Context) (bool, string) {
			recs, err := sh.rows(ctx, q+" -o json")
			if err != nil {
				return false, err.Error()
			}
			return s.done(recs), fmt.Sprintf("%d rows: %v", len(recs), recs)
		})
		if err != nil {
			return err
		}
		if err := sh.run(ctx, q); err != nil {
			return err
		}
	}

	fmt.Println("\n== What happened: the controller's own trace of that commit, from the webhook call to Ready (AppRequests, AppDependencies)")
	trace := "tugboat trace $S kustomization apps -n default"
	err := sh.waitFor(ctx, "the controller's spans of commit "+commit[:8], func(ctx context.Context) (bool, string) {
		out, err := sh.quiet(ctx, trace+" -o json")
		if err != nil {
			return false, err.Error()
		}
		// The Kustomization's span ends at the verdict: it is there once the trace is
		// whole, under the webhook call that announced the commit.
		for _, span := range []string{"POST /hook/{digest}", "reconcile Kustomization default/apps", "status Ready=True"} {
			if !strings.Contains(string(out), span) {
				return false, "no span " + span + " yet: " + string(out)
			}
		}
		return true, ""
	})
	if err != nil {
		return err
	}
	return sh.run(ctx, trace)
}

// has says whether a record's column holds want (as a suffix: a Commit column may
// hold the revision).
func has(column, want string) func([]map[string]any) bool {
	return func(recs []map[string]any) bool {
		for _, r := range recs {
			if v, ok := r[column].(string); ok && v != "" && strings.HasSuffix(v, want) {
				return true
			}
		}
		return false
	}
}
