package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

// selfImageFlags publish tugboat's own image as `make images` does (internal/cli's
// tests keep the same list): no DuckDB and so no cgo, stripped, no base, non-root.
var selfImageFlags = []string{"--base", "scratch", "--build-tags", "noduckdb", "--ldflags", "-s -w", "--user", "65532", "--insecure"}

// BenchmarkControllerInPod runs the controller as `tugboat install` runs it, its
// no-cgo image in a pod on the real node (config/manager: --concurrent=20, leader
// election on, memory limit 1 GiB), against the GitOps shape at N=1000
// (TUGBOAT_BENCH_POD_N): the Git server on the host, the Kustomizations' Deployments on
// kwok's node. Reported: the image's size, pushed and unpacked; the container's peak
// memory as its cgroup counts it (memory.max_usage_in_bytes: anonymous memory plus the
// page cache it touched, the binary's pages among them) and its peak anonymous RSS
// (memory.stat total_rss, sampled every 200 ms); its CPU (cpuacct.usage) and the
// seconds from creating the Kustomizations to all Ready. The goal (docs/benchmarks.md)
// is a peak of at most 150 MiB, as out of cluster.
func BenchmarkControllerInPod(b *testing.B) {
	if err := cluster.CheckRealNode(); err != nil {
		b.Fatalf("%v (the real node's benchmarks need them; `%s` installs the packages)", err, cluster.PrerequisitesCommand)
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("TUGBOAT_BENCH_POD_N")); err == nil && v > 0 {
		n = v
	}
	bin := buildTugboat(b)
	for b.Loop() {
		if err := measureControllerInPod(b, bin, n); err != nil {
			b.Fatal(err)
		}
	}
}

func measureControllerInPod(b *testing.B, bin string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	env, err := cluster.Start(ctx, cluster.Options{RealNode: true, RealNodeWait: 15 * time.Minute, StartTimeout: 4 * time.Minute})
	if err != nil {
		return err
	}
	defer env.Stop()
	tugboat := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
		cmd.Dir = "."
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("tugboat %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return strings.TrimSpace(out.String()), nil
	}
	image, err := tugboat(append([]string{"image", "publish", "../../cmd/tugboat", "--repo", env.Registry() + "/tugboat"}, selfImageFlags...)...)
	if err != nil {
		return err
	}
	pushed, unpacked, err := imageSize(ctx, image)
	if err != nil {
		return err
	}
	if _, err := tugboat("install", "--image", image, "--timeout", "5m", "--toleration-keys", cluster.RealNodeTaint,
		"--node-selector", cluster.RealNodeLabel+"=true"); err != nil {
		return err
	}
	cs := kubernetes.NewForConfigOrDie(env.RESTConfig)
	pods, err := cs.CoreV1().Pods("tugboat-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=tugboat-controller"})
	if err != nil {
		return err
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Status.Phase == corev1.PodRunning && p.Spec.NodeName == cluster.RealNodeName {
			pod = p
		}
	}
	if pod == nil {
		return fmt.Errorf("no running controller pod on %s", cluster.RealNodeName)
	}
	memCG, err := cluster.ContainerCgroup("memory", pod, "controller")
	if err != nil {
		return err
	}
	cpuCG, err := cluster.ContainerCgroup("cpuacct", pod, "controller")
	if err != nil {
		return err
	}

	root, err := os.MkdirTemp("", "tugboat-bench-git-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	git := gitserver.New(root).WithHost(env.HostIP()) // where the pod reaches the host
	if _, err := git.Start(); err != nil {
		return err
	}
	defer git.Close()
	if err := git.InitRepo("apps", "main"); err != nil {
		return err
	}
	wd, err := git.Workdir("apps")
	if err != nil {
		return err
	}
	defer wd.Close()
	if err := wd.WriteFiles(map[string]string{appPath: podinfo}); err != nil {
		return err
	}
	if _, err := wd.CommitAndPush("podinfo"); err != nil {
		return err
	}
	c, err := client.New(env.RESTConfig, client.Options{Scheme: kube.NewScheme()})
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: targetNS}}); err != nil {
		return err
	}
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: metav1.NamespaceDefault},
		Spec: sourcev1.GitRepositorySpec{URL: git.RepoURL("apps"), Interval: metav1.Duration{Duration: 60 * time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	if err := c.Create(ctx, repo); err != nil {
		return err
	}
	if err := poll(ctx, func() (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
			return false, "", err
		}
		return apimeta.IsStatusConditionTrue(repo.Status.Conditions, meta.ReadyCondition), "GitRepository not Ready", nil
	}); err != nil {
		return err
	}

	sampleCtx, stopSampling := context.WithCancel(ctx)
	peakAnon := sampleCgroupRSS(sampleCtx, memCG)
	cpuBefore, err := cluster.CgroupValue(cpuCG, "cpuacct.usage", "")
	if err != nil {
		stopSampling()
		return err
	}
	start := time.Now()
	if err := createKustomizations(ctx, c, n, 60*time.Minute); err != nil {
		stopSampling()
		return err
	}
	err = waitAll(ctx, dynamic.NewForConfigOrDie(env.RESTConfig), kustomizev1.GroupVersion.WithResource("kustomizations"),
		metav1.NamespaceDefault, n, "Kustomizations Ready", kustomizationReady)
	ready := time.Since(start)
	stopSampling()
	if err != nil {
		return err
	}
	cpuAfter, err := cluster.CgroupValue(cpuCG, "cpuacct.usage", "")
	if err != nil {
		return err
	}
	peak, err := cluster.CgroupValue(memCG, "memory.max_usage_in_bytes", "")
	if err != nil {
		return err
	}
	anon := peakAnon()
	b.Logf("N=%d: image %s: %.1f MB pushed, %.1f MB unpacked; all Ready in %.1f s; controller pod: CPU %.1f s, "+
		"cgroup peak %.1f MiB (memory.max_usage_in_bytes), peak anonymous RSS %.1f MiB (memory.stat total_rss)",
		n, image, float64(pushed)/1e6, float64(unpacked)/1e6, ready.Seconds(), float64(cpuAfter-cpuBefore)/1e9,
		float64(peak)/(1<<20), float64(anon)/(1<<20))
	b.ReportMetric(float64(pushed)/1e6, "MB-image-pushed")
	b.ReportMetric(float64(unpacked)/1e6, "MB-image-unpacked")
	b.ReportMetric(ready.Seconds(), "s/ready")
	b.ReportMetric(float64(cpuAfter-cpuBefore)/1e9, "s-controller-cpu")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-cgroup")
	b.ReportMetric(float64(anon)/(1<<20), "MiB-peak-anon-rss")
	return nil
}

// sampleCgroupRSS samples the cgroup's anonymous RSS (memory.stat total_rss) every
// 200 ms until ctx ends and returns a function giving the highest; the kernel keeps a
// high-water mark of usage with page cache (memory.max_usage_in_bytes) but not of RSS.
func sampleCgroupRSS(ctx context.Context, dir string) func() int64 {
	var (
		mu   sync.Mutex
		peak int64
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := cluster.CgroupValue(dir, "memory.stat", "total_rss"); err == nil {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// imageSize reads an image's size as pushed (its compressed layers) and unpacked.
func imageSize(ctx context.Context, ref string) (pushed, unpacked int64, err error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return 0, 0, err
	}
	img, err := remote.Image(r, remote.WithContext(ctx))
	if err != nil {
		return 0, 0, fmt.Errorf("failed to read image %s: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return 0, 0, err
	}
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			return 0, 0, err
		}
		pushed += size
		rc, err := l.Uncompressed()
		if err != nil {
			return 0, 0, err
		}
		m, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, 0, err
		}
		unpacked += m
	}
	return pushed, unpacked, nil
}
