package kql_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// TestSamplesOnGeneratedData runs Microsoft's Container Insights sample
// queries on both engines over a few thousand generated rows, and checks
// every result against the answer computed here in Go from the same rows.
func TestSamplesOnGeneratedData(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 12, 31, 18, 0, 0, 0, time.UTC)

	// Perf: CPU samples for 20 containers every 30 s over 2 hours, plus
	// memory samples and node samples the queries must leave out.
	type sample struct {
		ts    time.Time
		inst  string
		value float64
	}
	var perf [][]any
	var cpu []sample
	for i := 0; i < 240; i++ {
		ts := base.Add(time.Duration(i) * 30 * time.Second)
		for c := 0; c < 20; c++ {
			inst := fmt.Sprintf("cl/uid-%d/app", c)
			v := float64(rng.IntN(1_000_000_000))
			cpu = append(cpu, sample{ts, inst, v})
			perf = append(perf,
				[]any{ts, "node-1", "K8SContainer", "cpuUsageNanoCores", "", v, inst},
				[]any{ts, "node-1", "K8SContainer", "memoryWorkingSetBytes", "", float64(rng.IntN(1 << 30)), inst})
		}
		perf = append(perf, []any{ts, "node-1", "K8SNode", "cpuUsageNanoCores", "", 5e9, "cl/node-1"})
	}
	// ContainerLogV2: 3000 lines over 30 containers, a tenth of them errors.
	var logs [][]any
	errs := map[string]int64{}
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("c-%d", rng.IntN(30))
		level := "Info"
		if rng.IntN(10) == 0 {
			level = "Error"
			errs[id]++
		}
		logs = append(logs, []any{base.Add(time.Duration(i) * time.Second), "node-1", id, "app", "pod-" + id, "default",
			"line " + fmt.Sprint(i), "stdout", level, nil})
	}
	// KubePodInventory: 10 pods, 30 snapshots each; some in CrashLoopBackOff
	// with a growing restart count and the reason of the last exit.
	var pods [][]any
	type crash struct {
		restarts int64
		computer string
		reason   string
	}
	crashes := map[string]crash{}
	reasons := []string{"Error", "OOMKilled", "Completed"}
	for snap := 0; snap < 30; snap++ {
		ts := base.Add(time.Duration(snap) * time.Minute)
		for p := 0; p < 10; p++ {
			name := fmt.Sprintf("pod-%d", p)
			status, reason, last := "running", "", ""
			restarts := int64(0)
			computer := fmt.Sprintf("node-%d", p%3)
			if p%3 == 0 && snap%2 == 1 {
				status, reason = "waiting", "CrashLoopBackOff"
				restarts = int64(snap)
				r := reasons[rng.IntN(len(reasons))]
				last = fmt.Sprintf(`{"reason": %q, "exitCode": %d}`, r, rng.IntN(140))
				if c, ok := crashes[name]; !ok || restarts > c.restarts {
					crashes[name] = crash{restarts, computer, r}
				}
			}
			pods = append(pods, []any{ts, "cl", "cluster", computer, ts, "cid", last, "app", restarts, ts, status, reason,
				"ReplicaSet", "app-7d9", name, "default", ts, "10.0.0.1", "[]", restarts, ts, "Running", "uid", ""})
		}
	}

	// Expected: p95 (nearest rank) per 15-minute bin and container.
	type key struct {
		bin  time.Time
		inst string
	}
	groups := map[key][]float64{}
	for _, s := range cpu {
		k := key{s.ts.Truncate(15 * time.Minute), s.inst}
		groups[k] = append(groups[k], s.value)
	}
	wantCPU := map[key]float64{}
	for k, vs := range groups {
		sort.Float64s(vs)
		wantCPU[k] = vs[int(math.Ceil(0.95*float64(len(vs))))-1] / 1000000
	}

	for _, engine := range []string{"duckdb", "clickhouse"} {
		t.Run(engine, func(t *testing.T) {
			s := openEngine(t, engine, store.Tables())
			ctx := context.Background()
			for table, rows := range map[string][][]any{store.Perf: perf, store.ContainerLogV2: logs, store.KubePodInventory: pods} {
				if err := s.Append(ctx, table, rows); err != nil {
					t.Fatal(err)
				}
			}
			query := func(q string) *store.Result {
				t.Helper()
				res, err := s.Query(ctx, q)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return res
			}

			res := query(`Perf | where ObjectName == 'K8SContainer' | where CounterName =~ 'cpuUsageNanoCores' | summarize Value = percentile(CounterValue, 95) by bin(TimeGenerated, 15m), InstanceName | extend Value = Value / 1000000`)
			if len(res.Rows) != len(wantCPU) {
				t.Fatalf("cpu per container: %d rows, want %d", len(res.Rows), len(wantCPU))
			}
			for _, r := range res.Rows {
				k := key{r[0].(time.Time), r[1].(string)}
				if want, ok := wantCPU[k]; !ok || r[2].(float64) != want {
					t.Fatalf("cpu per container: %v %s = %v, want %v", k.bin, k.inst, r[2], want)
				}
			}

			res = query(`ContainerLogV2 | where LogLevel == "Error" | summarize ErrorCount = count() by ContainerId`)
			if len(res.Rows) != len(errs) {
				t.Fatalf("errors per container: %d rows, want %d", len(res.Rows), len(errs))
			}
			for _, r := range res.Rows {
				if want := errs[r[0].(string)]; r[1].(int64) != want {
					t.Fatalf("errors per container: %s = %v, want %d", r[0], r[1], want)
				}
			}

			res = query(`KubePodInventory | where ContainerStatus == 'waiting' | where ContainerStatusReason == 'CrashLoopBackOff' or ContainerStatusReason == 'Error' | extend ContainerLastStatus=todynamic(ContainerLastStatus) | summarize RestartCount = arg_max(ContainerRestartCount, Computer, Namespace, ContainerLastStatus.reason) by Name`)
			if len(res.Rows) != len(crashes) {
				t.Fatalf("crash loops: %d rows, want %d", len(res.Rows), len(crashes))
			}
			for _, r := range res.Rows {
				want := crashes[r[0].(string)]
				if r[1].(int64) != want.restarts || r[2] != want.computer || r[3] != "default" || r[4] != want.reason {
					t.Fatalf("crash loops: %v, want %+v", r, want)
				}
			}

			res = query(`KubePodInventory | where TimeGenerated > ago(1d) | summarize PendingCount = sumif(1, ContainerStatus =~ 'Waiting'), RunningCount = sumif(1, ContainerStatus =~ 'Running') by bin(TimeGenerated, 5m) | render timechart`)
			var pending, running int64
			for _, r := range res.Rows {
				if r[1] != nil {
					pending += r[1].(int64)
				}
				if r[2] != nil {
					running += r[2].(int64)
				}
			}
			if len(res.Rows) != 6 || pending != 4*15 || running != 300-4*15 || res.Render == nil || res.Render.Kind != "timechart" {
				t.Fatalf("pod chart: %d bins, %d waiting, %d running, render %v; want 6, 60, 240, timechart", len(res.Rows), pending, running, res.Render)
			}
		})
	}
}
