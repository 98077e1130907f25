package controller

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tugboatcd/tugboat/internal/localdev/localport"
)

// shardLabel marks the objects a test hands to a tugboat controller it runs as a
// separate process (selected with --watch-label-selector); the suite's in-process
// manager ignores every object that carries it, so the two never reconcile the same
// object.
const shardLabel = "test.tugboat.dev/shard"

// The tugboat binary, built once per suite run for the tests that run the controller
// as a process of its own (to kill it, or to run several). It is built into the user's
// cache directory rather than a temporary one because go build leaves a binary whose
// build ID is current untouched: an unchanged tree costs no link (a link of the whole
// CLI takes tens of seconds on a loaded 2-core machine).
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

func tugboatBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			binaryErr = err
			return
		}
		// One binary per checkout: worktrees of the same repository test side by side,
		// and one's build must not replace the binary another's test runs.
		wd, err := os.Getwd()
		if err != nil {
			binaryErr = err
			return
		}
		dir := filepath.Join(cache, "tugboat", "controller-test", fmt.Sprintf("%x", sha256.Sum256([]byte(wd)))[:12])
		if binaryErr = os.MkdirAll(dir, 0o755); binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(dir, "tugboat")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", binaryPath, "github.com/tugboatcd/tugboat/cmd/tugboat").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("failed to build tugboat: %w\n%s", err, out)
		}
		t.Logf("go build ./cmd/tugboat took %s", time.Since(start).Round(time.Millisecond))
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// controllerProcess is `tugboat controller` running against the suite's cluster.
type controllerProcess struct {
	cmd     *exec.Cmd
	logPath string
	// metrics is the address of its /metrics endpoint.
	metrics string
	exited  chan struct{}
}

// startController runs `tugboat controller` with args added to the kubeconfig, a
// metrics address of its own and no leader election (args may turn it back on), and
// returns once /metrics answers. Several of these run side by side, each on a shard of
// its own, where a shared default lease would leave all but one waiting. The process
// is killed when the test ends; its log is printed when the test failed.
func startController(t *testing.T, args ...string) *controllerProcess {
	t.Helper()
	return startControllerWithDefaults(t, append([]string{"--leader-elect=false"}, args...)...)
}

// startControllerWithDefaults is startController with the binary's own leader
// election defaults: the route a user takes.
func startControllerWithDefaults(t *testing.T, args ...string) *controllerProcess {
	t.Helper()
	bin := tugboatBinary(t)
	p := &controllerProcess{metrics: "127.0.0.1:" + freePort(t), exited: make(chan struct{})}
	p.logPath = filepath.Join(t.TempDir(), "controller.log")
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	full := append([]string{"controller", "--kubeconfig", env.Kubeconfig,
		"--metrics-bind-address", p.metrics, "--health-probe-bind-address", "0"}, quietFlags(t, bin)...)
	full = append(full, args...)
	p.cmd = exec.Command(bin, full...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("failed to start tugboat controller: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("tugboat controller %v log:\n%s", args, p.logTail(60))
		}
	})
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("tugboat controller exited: %s", p.cmd.ProcessState)
		default:
		}
		_, err := p.scrape()
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("tugboat controller %v never served /metrics: %v\n%s", args, err, p.logTail(40))
	}
	return p
}

// quietFlags turns off every other server `tugboat controller` runs and keeps its
// data in the test's directory, so that several processes run side by side. The
// command grows servers as the project grows; each flag is passed only when the binary
// has it.
func quietFlags(t *testing.T, bin string) []string {
	t.Helper()
	help, err := exec.Command(bin, "controller", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("tugboat controller --help: %v\n%s", err, help)
	}
	var out []string
	for _, f := range [][2]string{
		{"--receiver-bind-address", "0"},
		{"--http-bind-address", "0"},
		{"--pprof-bind-address", "0"},
		{"--data-dir", t.TempDir()},
	} {
		if strings.Contains(string(help), f[0]+" ") {
			out = append(out, f[0], f[1])
		}
	}
	return out
}

// signal sends sig and waits until the process has exited.
func (p *controllerProcess) signal(sig syscall.Signal) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// kill ends the process at once, as the kernel's OOM killer or a node failure would:
// no deferred code, no status patch, no lease release.
func (p *controllerProcess) kill() { p.signal(syscall.SIGKILL) }

// stop asks the process to stop, as the kubelet does on a pod's deletion.
func (p *controllerProcess) stop() { p.signal(syscall.SIGTERM) }

func (p *controllerProcess) logTail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// scrape reads the process's /metrics over HTTP, as Prometheus does.
func (p *controllerProcess) scrape() (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// metricValue sums the samples of a counter or gauge family whose labels include
// every given name=value pair; for a histogram it sums the sample counts.
func metricValue(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if label(m, labels[i]) != labels[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func freePort(t *testing.T) string {
	t.Helper()
	port, err := localport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(port)
}

// sharded adds the shard label to the metadata of every GitRepository and
// Kustomization in a manifest built by gitRepository and kustomization.
func sharded(shard, manifests string) string {
	return strings.ReplaceAll(manifests, "\nmetadata:\n", "\nmetadata:\n  labels:\n    "+shardLabel+": "+shard+"\n")
}
