package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

// phases splits each app's time from its Kustomization's creation to Ready into: until
// its Deployment was created (tugboat's build and apply), until the Deployment was
// Available (the cluster's work), and until the Kustomization was Ready (tugboat
// noticing), and returns the percentiles of each. Times are the apiserver's
// timestamps, to the second.
func phases(ctx context.Context, c client.Client, n int) (string, error) {
	var ks kustomizev1.KustomizationList
	if err := c.List(ctx, &ks, client.InNamespace(metav1.NamespaceDefault)); err != nil {
		return "", err
	}
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, client.InNamespace(targetNS)); err != nil {
		return "", err
	}
	available := map[string][2]time.Time{}
	for _, d := range deps.Items {
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				available[d.Name] = [2]time.Time{d.CreationTimestamp.Time, cond.LastTransitionTime.Time}
			}
		}
	}
	var apply, cluster, notice, total []float64
	for _, k := range ks.Items {
		ready := apimeta.FindStatusCondition(k.Status.Conditions, meta.ReadyCondition)
		d, ok := available["podinfo-"+strings.TrimPrefix(k.Name, "podinfo-")+"app"]
		if ready == nil || !ok {
			continue
		}
		created := k.CreationTimestamp.Time
		apply = append(apply, d[0].Sub(created).Seconds())
		cluster = append(cluster, d[1].Sub(d[0]).Seconds())
		notice = append(notice, ready.LastTransitionTime.Sub(d[1]).Seconds())
		total = append(total, ready.LastTransitionTime.Sub(created).Seconds())
	}
	if len(total) != n {
		return "", fmt.Errorf("phases: %d of %d apps have a Ready Kustomization and an Available Deployment", len(total), n)
	}
	pct := func(name string, v []float64) string {
		slices.Sort(v)
		at := func(q float64) float64 { return v[int(q*float64(len(v)-1))] }
		return fmt.Sprintf("%s p50 %.0fs p90 %.0fs max %.0fs", name, at(0.5), at(0.9), v[len(v)-1])
	}
	return strings.Join([]string{pct("created→Deployment created", apply), pct("Deployment created→Available", cluster),
		pct("Available→Kustomization Ready", notice), pct("created→Ready", total)}, "; "), nil
}

// requestCounts are sums of a metric's samples from the controller's /metrics by a
// label: client-go's rest_client_requests_total by HTTP method (every API request the
// process sent), or its reconciles by result.
type requestCounts map[string]float64

func (r requestCounts) total() float64 {
	var t float64
	for _, v := range r {
		t += v
	}
	return t
}

// since returns the counts added after earlier, by key, as "GET 12 PATCH 3".
func (r requestCounts) since(earlier requestCounts) string {
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(r)) {
		if d := r[m] - earlier[m]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", m, d))
		}
	}
	return strings.Join(parts, " ")
}

var methodLabel = regexp.MustCompile(`method="([A-Z]+)"`)

func restRequests(addr string) (requestCounts, error) {
	counts, err := scrapeSums(addr, "rest_client_requests_total", func(line string) (string, bool) {
		if m := methodLabel.FindStringSubmatch(line); m != nil {
			return m[1], true
		}
		return "OTHER", true
	})
	if err == nil && len(counts) == 0 {
		err = errors.New("the controller's /metrics has no rest_client_requests_total")
	}
	return counts, err
}

var resultLabel = regexp.MustCompile(`result="([a-z_]+)"`)

// reconciles reads the controller's tugboat_reconcile_total of Kustomizations by
// result, as "progressing 430 ready 1000": how often each was reconciled.
func reconciles(addr string) (string, error) {
	counts, err := scrapeSums(addr, "tugboat_reconcile_total", func(line string) (string, bool) {
		m := resultLabel.FindStringSubmatch(line)
		if m == nil || !strings.Contains(line, `kind="Kustomization"`) {
			return "", false
		}
		return m[1], true
	})
	return counts.since(nil), err
}

// scrapeSums reads the controller's /metrics and sums the samples of the metric name
// by the key that key gives each sample line (lines it refuses are left out).
func scrapeSums(addr, name string, key func(line string) (string, bool)) (requestCounts, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("failed to scrape the controller's metrics: %w", err)
	}
	defer resp.Body.Close()
	sums := requestCounts{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		k, ok := key(line)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("bad metric line %q: %w", line, err)
		}
		sums[k] += v
	}
	return sums, sc.Err()
}

// cpuTime reads a process's user+system CPU time from /proc/<pid>/stat (fields 14
// and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// saveProfile fetches /debug/pprof/<what> from the controller into file.
func saveProfile(addr, what, file string) error {
	resp, err := http.Get("http://" + addr + "/debug/pprof/" + what)
	if err != nil {
		return fmt.Errorf("failed to fetch the controller's %s profile: %w", what, err)
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// apiServerCounts reads the apiserver's own counters from its /metrics: requests by
// verb, resource and subresource (refused ones by code apart), and watch events sent
// by resource. The difference of two readings says who loaded the apiserver during a
// measure (every component's requests, not only the controller's).
func apiServerCounts(ctx context.Context, cfg *rest.Config) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	data, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to read the apiserver's metrics: %w", err)
	}
	label := func(line, name string) string {
		_, after, ok := strings.Cut(line, name+`="`)
		if !ok {
			return ""
		}
		v, _, _ := strings.Cut(after, `"`)
		return v
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(data), "\n") {
		var key string
		switch {
		case strings.HasPrefix(line, "apiserver_request_total{"):
			key = label(line, "verb") + " " + label(line, "resource")
			if sub := label(line, "subresource"); sub != "" {
				key += "/" + sub
			}
			// Refused requests are counted apart: a third of the controller-manager's
			// Deployment status writes are conflicts (409) in either measure.
			if code := label(line, "code"); code != "" && code[0] != '2' {
				key += " code=" + code
			}
		case strings.HasPrefix(line, "apiserver_watch_events_total{"):
			key = "watch-event " + label(line, "resource")
		case strings.HasPrefix(line, "apiserver_terminated_watchers_total{"):
			// Watchers the apiserver closed because they did not keep up.
			key = "terminated-watcher " + label(line, "resource")
		default:
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			out[key] += v
		}
	}
	return out, nil
}

// countsSince lists the counters that grew since earlier, largest first.
func countsSince(now, earlier map[string]float64) string {
	type count struct {
		key string
		n   float64
	}
	var counts []count
	for k, v := range now {
		if d := v - earlier[k]; d >= 1 {
			counts = append(counts, count{k, d})
		}
	}
	slices.SortFunc(counts, func(a, b count) int { return int(b.n - a.n) })
	parts := make([]string, 0, len(counts))
	for _, c := range counts {
		parts = append(parts, fmt.Sprintf("%s %.0f", c.key, c.n))
	}
	return strings.Join(parts, ", ")
}

// saveAPIServerProfile saves a 30 s CPU profile of kube-apiserver (its
// /debug/pprof, served to the cluster admin): what the apiserver spends its CPU on
// while the controller or the floor's client loads it.
func saveAPIServerProfile(ctx context.Context, cfg *rest.Config, file string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	data, err := cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", profileSeconds("30")).DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("failed to fetch the apiserver's CPU profile: %w", err)
	}
	return os.WriteFile(file, data, 0o644)
}

// profileSeconds is how long the CPU profiles run: TUGBOAT_BENCH_PROFILE_SECONDS, so
// that a profile can cover a whole measure, or def.
func profileSeconds(def string) string {
	if v := os.Getenv("TUGBOAT_BENCH_PROFILE_SECONDS"); v != "" {
		return v
	}
	return def
}

// sampleAnonRSS samples a process's RssAnon every 100 ms until ctx ends; the
// returned function gives the highest value seen so far.
func sampleAnonRSS(ctx context.Context, pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	read := func() {
		if v, err := procStatus(pid, "RssAnon:"); err == nil {
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
		}
	}
	go func() {
		for {
			read()
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		read()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// sampleBusy samples, every second until the returned function is called, how busy
// the machine's cores were (from /proc/stat), and returns the samples as whole
// percents: a measure whose cores idle somewhere waits on something other than CPU.
// Given the CPU the measure's processes used, it also says how much busy time went
// to none of them (other programs, interrupts): a measure with more than a few such
// seconds was disturbed, and its wall time says little.
func sampleBusy(ctx context.Context) func(used processCPU) (string, time.Duration) {
	ctx, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	var samples []string
	firstBusy, _ := cpuJiffies()
	done := make(chan struct{})
	go func() {
		defer close(done)
		busy, total := cpuJiffies()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			b, t := cpuJiffies()
			if t > total {
				mu.Lock()
				samples = append(samples, strconv.Itoa(int(100*(b-busy)/(t-total))))
				mu.Unlock()
			}
			busy, total = b, t
		}
	}()
	return func(used processCPU) (string, time.Duration) {
		stop()
		<-done
		b, _ := cpuJiffies()
		mu.Lock()
		defer mu.Unlock()
		// /proc/stat counts in USER_HZ ticks, 100 a second on Linux (as cpuTime).
		outside := time.Duration(b-firstBusy)*10*time.Millisecond - used.total()
		return fmt.Sprintf("%s (%% per second); %.1f CPU-s busy outside these processes",
			strings.Join(samples, " "), outside.Seconds()), outside
	}
}

// cpuJiffies reads the machine's busy and total CPU time from /proc/stat's first
// line: user, nice, system, idle, iowait, irq, softirq, steal (guest time is already
// in user). Idle, iowait and steal (the hypervisor running someone else) are not busy.
func cpuJiffies() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	for i := 1; i < len(fields) && i <= 8; i++ {
		v, _ := strconv.ParseInt(fields[i], 10, 64)
		total += v
		if i != 4 && i != 5 && i != 8 {
			busy += v
		}
	}
	return busy, total
}

// peakRSS reads a process's high-water resident set size (VmHWM) from /proc.
func peakRSS(pid int) (int64, error) {
	return procStatus(pid, "VmHWM:")
}

// procStatus reads one "<field> <n> kB" line of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// processCPU is the CPU time of this test process and of each of its children (the
// control plane's components, the Git server's helpers, the controller), by name:
// where the machine's cores went during a measure.
type processCPU map[string]time.Duration

// readProcessCPU reads the CPU time of this process ("bench") and of every process
// whose parent it is, named by their command line's first argument after the
// program when the program is a multi-call binary (tugboat-k8s kube-apiserver,
// tugboat controller).
func readProcessCPU() processCPU {
	out := processCPU{}
	if d, err := cpuTime(os.Getpid()); err == nil {
		out["bench"] = d
	}
	entries, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(fields) < 2 || fields[1] != self {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		name := filepath.Base(args[0])
		if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
			name = args[1]
		}
		if d, err := cpuTime(pid); err == nil {
			out[name] += d
		}
	}
	return out
}

// since is the CPU time each process used after earlier.
func (p processCPU) since(earlier processCPU) processCPU {
	used := processCPU{}
	for name, d := range p {
		used[name] = d - earlier[name]
	}
	return used
}

// String lists the CPU seconds of each process, largest first, with the total.
func (p processCPU) String() string {
	type use struct {
		name string
		d    time.Duration
	}
	var uses []use
	for name, d := range p {
		uses = append(uses, use{name, d})
	}
	slices.SortFunc(uses, func(a, b use) int { return int(b.d - a.d) })
	parts := []string{fmt.Sprintf("total %.1f", p.total().Seconds())}
	for _, u := range uses {
		parts = append(parts, fmt.Sprintf("%s %.1f", u.name, u.d.Seconds()))
	}
	return strings.Join(parts, ", ")
}

// total is the CPU time of all the processes together.
func (p processCPU) total() time.Duration {
	var t time.Duration
	for _, d := range p {
		t += d
	}
	return t
}
