package bench

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
)

func TestMain(m *testing.M) {
	// The harness's clients log nothing; the controller under test logs to its own file.
	ctrl.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

//go:embed testdata/podinfo.yaml
var podinfo string

const (
	appPath    = "apps/podinfo/podinfo.yaml"
	targetNS   = "apps"
	workers    = 20 // the floor's workers and the controller's --concurrent, as Flux's runs
	fieldOwner = "bench-floor"
)

// vars are the postBuild.substitute of Kustomization i, as in flux-benchmark.
func vars(i int) map[string]string {
	return map[string]string{"INDEX": fmt.Sprintf("%dapp", i), "PODS": "1", "MCPU": "1m"}
}

// BenchmarkGitOps measures, for N = 100, 500 and 1000, the seconds from creating N
// Kustomizations of the podinfo shape to all of them Ready with a lastAppliedRevision
// (tugboat), beside the floor measured in the same run on a fresh cluster of the same
// settings: the same objects server-side applied by 20 plain-client workers, then all
// Deployments available. Also reported: the controller process's peak RSS and the API
// requests it sent during the run.
//
// The machine's speed moves by 10-25 % from minute to minute (a shared VM), so each
// iteration measures the floor and tugboat in turn, TUGBOAT_BENCH_PAIRS times (5 by
// default; the floor goes first in every other pair), and reports the median of each
// figure (the highest peak RSS); every pair is logged. Single pairs of the same code
// spread too widely to be read alone (docs/design/2026-12-06-benchmark-history.md).
func BenchmarkGitOps(b *testing.B) {
	bin := buildTugboat(b)
	pairs := 5
	if v, err := strconv.Atoi(os.Getenv("TUGBOAT_BENCH_PAIRS")); err == nil && v > 0 {
		pairs = v
	}
	for _, n := range []int{100, 500, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				var floors, readies, ratios, sameSpeeds, cpus, requests []float64
				var peak, peakAnon int64
				for p := range pairs {
					// TUGBOAT_BENCH_FLOOR=0 skips the floor while iterating on the
					// controller; published figures always have it.
					var floorRun measured
					var run *tugboatRun
					err := inTurn(p, func() (err error) {
						if os.Getenv("TUGBOAT_BENCH_FLOOR") != "0" {
							floorRun, err = measureFloor(n)
						}
						return err
					}, func() (err error) {
						run, err = measureTugboat(bin, n, 60*time.Minute, 0)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
					floor := floorRun.elapsed
					readies = append(readies, run.ready.Seconds())
					// Without the floor, the yardstick still compares measures of one N
					// taken minutes apart, as seconds of wall time per yardstick second.
					pair := fmt.Sprintf("pair %d: tugboat %.1f s, %.2f s per yardstick CPU-s", p+1, run.ready.Seconds(),
						run.ready.Seconds()/yardstick(run.used).Seconds())
					if floor > 0 {
						ratio := run.ready.Seconds() / floor.Seconds()
						same := sameSpeed(ratio, floorRun.used, run.used)
						floors, ratios, sameSpeeds = append(floors, floor.Seconds()), append(ratios, ratio), append(sameSpeeds, same)
						pair = fmt.Sprintf("pair %d (%s first): tugboat %.1f s, floor %.1f s, %.3f× the floor (%.3f× at the floor's speed)",
							p+1, firstIn(p, "tugboat"), run.ready.Seconds(), floor.Seconds(), ratio, same)
					}
					cpus = append(cpus, run.cpu.Seconds())
					requests = append(requests, run.requests)
					peak, peakAnon = max(peak, run.peakRSS), max(peakAnon, run.peakAnonRSS)
					pair += fmt.Sprintf("; controller CPU %.1f s, peak RSS %.1f MiB (anon %.1f MiB)", run.cpu.Seconds(),
						float64(run.peakRSS)/(1<<20), float64(run.peakAnonRSS)/(1<<20))
					if floor > 0 {
						pair += disturbed(floorRun.outside, floorRun.used, "floor")
					}
					pair += disturbed(run.outside, run.used, "tugboat")
					b.Log(pair)
					// The details go to stderr: a benchmark's log keeps only its first 10 lines.
					fmt.Fprintf(os.Stderr, "N=%d %s\n  %s\n  CPU seconds by process, floor: %s\n  CPU seconds by process, tugboat: %s\n"+
						"  API requests by method: %s\n  Kustomization reconciles by result: %s\n",
						n, pair, run.phases, floorRun.details, run.processCPU, run.byMethod, run.reconciles)
				}
				b.ReportMetric(median(readies), "s/tugboat")
				if len(floors) > 0 {
					b.ReportMetric(median(floors), "s/floor")
					b.ReportMetric(median(ratios), "x-floor")
					// A diagnostic beside the goal's figure, which is x-floor: see yardstick.
					b.ReportMetric(median(sameSpeeds), "x-floor-same-speed")
				}
				b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-rss")
				b.ReportMetric(float64(peakAnon)/(1<<20), "MiB-peak-anon-rss")
				b.ReportMetric(median(requests), "api-requests")
				b.ReportMetric(median(cpus), "s-controller-cpu")
			}
		})
	}
}

// BenchmarkGitOpsIdle is the idle measure of the benchmark shape: N=100
// Kustomizations at interval 1m, converged, then 180 s in which nothing changes in
// Git or the cluster. Flux sends thousands of requests in that window (a dry-run of
// every object per interval); tugboat should send none.
func BenchmarkGitOpsIdle(b *testing.B) {
	bin := buildTugboat(b)
	for b.Loop() {
		run, err := measureTugboat(bin, 100, time.Minute, 180*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(run.idleRequests, "api-requests/idle-180s")
		if run.idleByMethod != "" {
			b.Log("idle API requests by method: ", run.idleByMethod)
		}
		b.ReportMetric(float64(run.peakRSS)/(1<<20), "MiB-peak-rss")
		b.ReportMetric(float64(run.peakAnonRSS)/(1<<20), "MiB-peak-anon-rss")
	}
}

// TestGitOpsShape runs the benchmark's harness on a small N, so that `make test` keeps
// it working: both measures must converge and the controller must report its metrics.
func TestGitOpsShape(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two clusters; run without -short")
	}
	floor, err := measureFloor(3)
	if err != nil {
		t.Fatal(err)
	}
	run, err := measureTugboat(buildTugboat(t), 3, 60*time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The yardstick reads the scheduler's and kwok's CPU by process name: both must be
	// found in each measure (at N=3 they may use under one 10 ms clock tick, so their
	// CPU may read 0; BenchmarkGitOps's N saturates the machine).
	for _, m := range []processCPU{floor.used, run.used} {
		for _, p := range []string{"kube-scheduler", "kwok"} {
			if _, ok := m[p]; !ok {
				t.Fatalf("a measure has no yardstick process %s: floor %s; tugboat %s", p, floor.used, run.used)
			}
		}
	}
	if run.peakRSS == 0 || run.requests == 0 {
		t.Fatalf("controller measures missing: peak RSS %d, requests %v", run.peakRSS, run.requests)
	}
	if !strings.Contains(run.reconciles, "ready ") {
		t.Fatalf("the Kustomizations' reconciles by result miss the ready ones: %q", run.reconciles)
	}
	if !strings.Contains(run.processCPU, "kube-apiserver") || !strings.Contains(run.processCPU, "controller") {
		t.Fatalf("CPU by process misses the apiserver or the controller: %s", run.processCPU)
	}
}

// buildTugboat builds the tugboat binary of this tree, so the controller runs as its
// own process and its RSS is its own.
func buildTugboat(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "tugboat")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/tugboat")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("failed to build tugboat: %v\n%s", err, out)
	}
	return bin
}
