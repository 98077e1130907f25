package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// TestRealNodeRunsAContainer runs a static Go HTTP server, packed here and pulled from
// the local registry, on the real node: the pod becomes Ready, its stdout lands in the
// CRI log under /var/log/pods, it answers HTTP on its pod IP from the host and its log
// reads back through the apiserver; after Stop nothing of it is left on the host.
func TestRealNodeRunsAContainer(t *testing.T) {
	if err := CheckRealNode(); err != nil {
		t.Fatalf("%v (the real node's tests need them; `%s` installs the packages)", err, PrerequisitesCommand)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 21*time.Minute)
	defer cancel()
	// Another package's test may hold the machine's real node (go test runs packages
	// at once); the kernel parameters are read once it is free, so that they are the
	// machine's own.
	for {
		lock, err := takeRealNodeLock()
		if err == nil {
			_ = lock.Close()
			break
		}
		if !errors.Is(err, ErrRealNodeUnavailable) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	before := readSysctls(t)
	// A temporary cluster, whose Stop also removes its pods' logs; it waits while
	// another package's test holds the machine's real node.
	c, err := Start(ctx, Options{RealNode: true, RealNodeWait: 15 * time.Minute, StartTimeout: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	dir := c.Dir
	stopped := false
	defer func() {
		if !stopped {
			c.Stop()
		}
	}()
	clients, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "hello")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./testdata/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("failed to build the test server: %v\n%s", err, out)
	}
	image, err := PushBinaryImage(ctx, c.Registry()+"/test/hello:v1", bin, "-message", "real node says hi", "-ask-apiserver", "-lookup", "kubernetes.default")
	if err != nil {
		t.Fatal(err)
	}

	pod := realNodePod("hello", image)
	pod, err = clients.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod = waitPodReady(ctx, t, clients, pod.Name)
	if pod.Spec.NodeName != RealNodeName {
		t.Fatalf("pod runs on %s, want %s", pod.Spec.NodeName, RealNodeName)
	}

	// It answers from its own network namespace, on the pod IP, from the host.
	body := httpGet(ctx, t, "http://"+net.JoinHostPort(pod.Status.PodIP, "8080")+"/")
	if strings.TrimSpace(body) != "real node says hi" {
		t.Errorf("pod answers %q, want %q", body, "real node says hi")
	}

	// kube-proxy makes a ClusterIP Service in front of it answer from the host.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "hello"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	svc, err = clients.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body = waitHTTP(ctx, t, "http://"+net.JoinHostPort(svc.Spec.ClusterIP, "80")+"/")
	if strings.TrimSpace(body) != "real node says hi" {
		t.Errorf("Service %s answers %q, want %q", svc.Spec.ClusterIP, body, "real node says hi")
	}

	// Its stdout and stderr are in the kubelet's CRI log file.
	logDir := filepath.Join("/var/log/pods", fmt.Sprintf("default_%s_%s", pod.Name, pod.UID))
	logFile := filepath.Join(logDir, "hello", "0.log")
	lines := waitLogLines(ctx, t, logFile, 6)
	want := map[string]string{
		// An in-cluster client reaches the apiserver through the kubernetes Service.
		"stdout": "hello reached the apiserver: " + KubernetesVersion,
		"stderr": `hello says "real node says hi"`,
	}
	// The cluster's DNS answers a Service's name through the pod's search path.
	if !hasCRILine(lines, "stdout", "hello resolved kubernetes.default: 10.96.0.1") {
		t.Errorf("%s has no line saying kubernetes.default resolved to 10.96.0.1; it holds:\n%s", logFile, strings.Join(lines, "\n"))
	}
	if !hasCRILine(lines, "stdout", "hello listening on :8080") {
		t.Errorf("%s has no stdout line %q; it holds:\n%s", logFile, "hello listening on :8080", strings.Join(lines, "\n"))
	}
	for stream, text := range want {
		if !hasCRILine(lines, stream, text) {
			t.Errorf("%s has no %s line %q; it holds:\n%s", logFile, stream, text, strings.Join(lines, "\n"))
		}
	}
	if !hasCRILine(lines, "stdout", "hello served GET /") {
		t.Errorf("%s does not log the request; it holds:\n%s", logFile, strings.Join(lines, "\n"))
	}

	// The apiserver reaches the kubelet for the same log (its client certificate, the
	// kubelet's webhook authorization).
	apiLog, err := clients.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("failed to read the pod's log through the apiserver: %v", err)
	}
	if !strings.Contains(string(apiLog), "hello listening on :8080") {
		t.Errorf("the pod's log through the apiserver lacks its first line:\n%s", apiLog)
	}

	// The kubelet's stats, which the agent reads, are there for the pod: its CPU from
	// the cgroups and its network from cAdvisor, which finds containerd through
	// /run/containerd/containerd.sock.
	summary := waitSummary(ctx, t, clients, pod.Name)
	if summary.CPU.UsageNanoCores == nil && summary.CPU.UsageCoreNanoSeconds == nil {
		t.Errorf("the stats summary has no CPU figure for pod %s: %+v", pod.Name, summary)
	}
	if summary.Network == nil {
		t.Errorf("the stats summary has no network figures for pod %s", pod.Name)
	}

	// The machine has one real node: a second cluster asking for one is refused at
	// once, naming the process that holds it.
	second, err := Start(ctx, Options{RealNode: true})
	if err == nil {
		second.Stop()
		t.Errorf("a second cluster with a real node started beside the first")
	} else if !errors.Is(err, ErrRealNodeUnavailable) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("a second real node fails with %v, want ErrRealNodeUnavailable naming pid %d", err, os.Getpid())
	}

	// A pod that does not tolerate the real node's taint stays off it.
	plain := realNodePod("plain", image)
	plain.Spec.Tolerations, plain.Spec.NodeSelector = nil, nil
	plain, err = clients.CoreV1().Pods("default").Create(ctx, plain, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain = waitPodScheduled(ctx, t, clients, plain.Name)
	if plain.Spec.NodeName == RealNodeName {
		t.Errorf("pod %s without the toleration runs on the real node", plain.Name)
	}

	c.Stop()
	stopped = true
	// Nothing of the node is left: no process, mount, bridge, log directory, changed
	// kernel parameter or record.
	if left := processesMentioning(dir); len(left) > 0 {
		t.Errorf("processes of the node still run after Stop: %v", left)
	}
	if mounts := mountsUnder(t, dir); len(mounts) > 0 {
		t.Errorf("mounts under %s remain after Stop: %v", dir, mounts)
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", bridgeName)); err == nil {
		t.Errorf("bridge %s remains after Stop", bridgeName)
	}
	if _, err := os.Stat(logDir); err == nil {
		t.Errorf("log directory %s of a temporary cluster remains after Stop", logDir)
	}
	if _, err := os.Lstat(criSocketLink); err == nil {
		if target, _ := os.Readlink(criSocketLink); strings.HasPrefix(target, dir) {
			t.Errorf("%s still points at the stopped node's containerd", criSocketLink)
		}
	}
	if out, err := exec.Command("iptables-save").Output(); err != nil {
		t.Errorf("failed to list iptables rules: %v", err)
	} else if strings.Contains(string(out), ":KUBE-") {
		t.Errorf("iptables chains of the node remain after Stop:\n%s", out)
	}
	after := readSysctls(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("kernel parameter %s is %s after Stop, was %s before Start", k, after[k], v)
		}
	}
}

func realNodePod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{RealNodeLabel: "true"},
			Tolerations:  []corev1.Toleration{{Key: RealNodeTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{
				Name:  "hello",
				Image: image,
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("200m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				}},
			}},
			TerminationGracePeriodSeconds: new(int64),
		},
	}
}

func waitPodReady(ctx context.Context, t *testing.T, clients kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	for {
		var err error
		pod, err = clients.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return pod
			}
		}
		select {
		case <-ctx.Done():
			events, _ := clients.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
			var seen []string
			if events != nil {
				for _, e := range events.Items {
					seen = append(seen, e.Reason+": "+e.Message)
				}
			}
			t.Fatalf("pod %s is not Ready (phase %s, status %+v); events:\n%s", name, pod.Status.Phase, pod.Status.ContainerStatuses, strings.Join(seen, "\n"))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func waitPodScheduled(ctx context.Context, t *testing.T, clients kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	for {
		pod, err := clients.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.NodeName != "" {
			return pod
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod %s was not scheduled", name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func httpGet(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := direct.Do(req)
	if err != nil {
		t.Fatalf("failed to reach %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// waitHTTP gets url until it answers 200: kube-proxy programs a new Service within
// its sync period.
func waitHTTP(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := direct.Do(req.WithContext(callCtx))
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			cancel()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body)
			}
			last = fmt.Errorf("%s: %w", resp.Status, rerr)
		} else {
			cancel()
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s does not answer: %v", url, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// podStats is the part of the kubelet's /stats/summary a test reads.
type podStats struct {
	PodRef struct {
		Name string `json:"name"`
	} `json:"podRef"`
	CPU struct {
		UsageNanoCores       *uint64 `json:"usageNanoCores"`
		UsageCoreNanoSeconds *uint64 `json:"usageCoreNanoSeconds"`
	} `json:"cpu"`
	Network *struct {
		Name string `json:"name"`
	} `json:"network"`
}

// waitSummary reads the real node's /stats/summary through the apiserver's node proxy
// until it lists pod with CPU and network figures (the kubelet collects every ~10 s).
func waitSummary(ctx context.Context, t *testing.T, clients kubernetes.Interface, pod string) podStats {
	t.Helper()
	var last podStats
	var lastErr error
	for {
		raw, err := clients.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", RealNodeName, "proxy", "stats", "summary").DoRaw(ctx)
		if err == nil {
			var summary struct {
				Pods []podStats `json:"pods"`
			}
			if err = json.Unmarshal(raw, &summary); err == nil {
				for _, p := range summary.Pods {
					if p.PodRef.Name == pod {
						last = p
						if (p.CPU.UsageNanoCores != nil || p.CPU.UsageCoreNanoSeconds != nil) && p.Network != nil {
							return p
						}
					}
				}
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Logf("last stats summary read: %v", lastErr)
			return last
		case <-time.After(time.Second):
		}
	}
}

// waitLogLines waits until the CRI log file holds at least n lines.
func waitLogLines(ctx context.Context, t *testing.T, path string, n int) []string {
	t.Helper()
	for {
		data, err := os.ReadFile(path)
		var lines []string
		if err == nil {
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			if len(lines) >= n {
				return lines
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s holds %d lines, want %d (read error: %v)", path, len(lines), n, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hasCRILine reports whether lines hold a full CRI log line ("<time> <stream> F <text>")
// of stream with text.
func hasCRILine(lines []string, stream, text string) bool {
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) == 4 && f[1] == stream && f[2] == "F" && f[3] == text {
			if _, err := time.Parse(time.RFC3339Nano, f[0]); err == nil {
				return true
			}
		}
	}
	return false
}

func readSysctls(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range hostSysctls {
		if v, err := os.ReadFile(filepath.Join("/proc/sys", s)); err == nil {
			out[s] = strings.TrimSpace(string(v))
		}
	}
	return out
}

func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// TestCheckRealNodeNamesWhatIsMissing runs the check on a PATH without the node's
// programs: the error names each Debian package and the command that installs them.
func TestCheckRealNodeNamesWhatIsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := CheckRealNode()
	if err == nil {
		t.Fatal("CheckRealNode passes without containerd, runc, iptables and ip on the PATH")
	}
	if !errors.Is(err, ErrRealNodeUnavailable) {
		t.Errorf("error %v is not ErrRealNodeUnavailable", err)
	}
	for _, want := range []string{"containerd", "runc", "iptables", "iproute2", PrerequisitesCommand, "apt-get install"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
}
