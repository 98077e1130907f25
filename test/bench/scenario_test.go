package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/build"
	"github.com/tugboatcd/tugboat/internal/install"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
	"github.com/tugboatcd/tugboat/internal/localdev/localport"
)

// render builds the N apps with tugboat's own build (kustomize + Flux's envsubst),
// so the floor applies exactly what the controller applies, minus its labels.
func render(n int) ([][]byte, error) {
	var docs [][]byte
	for i := range n {
		app, err := renderApp(i)
		if err != nil {
			return nil, err
		}
		docs = append(docs, app...)
	}
	return docs, nil
}

// renderApp builds app i (Kustomization i's objects) as JSON documents.
func renderApp(i int) ([][]byte, error) {
	files := map[string][]byte{appPath: []byte(podinfo)}
	res, err := build.Build(files, nil, build.Input{
		Path: "./apps/podinfo",
		Spec: kustomizev1.KustomizationSpec{TargetNamespace: targetNS,
			PostBuild: &kustomizev1.PostBuild{Substitute: vars(i)}},
		Vars: vars(i),
	})
	if err != nil {
		return nil, err
	}
	docs := make([][]byte, 0, len(res.Objects))
	for _, o := range res.Objects {
		data, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		docs = append(docs, data)
	}
	return docs, nil
}

// floorResources are the resources of the benchmark's kinds.
var floorResources = map[string]schema.GroupVersionResource{
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Service":        {Version: "v1", Resource: "services"},
	"Deployment":     {Group: "apps", Version: "v1", Resource: "deployments"},
	"Ingress":        {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// measured is one timed measure: its wall time, the CPU time each process used in it,
// and the details logged beside it.
type measured struct {
	elapsed time.Duration
	used    processCPU
	outside time.Duration // busy CPU time no process of the measure used (see sampleBusy)
	details string
}

// measureFloor applies the N apps' objects with server-side apply from 20 workers on
// a fresh cluster and waits for every Deployment to be available.
func measureFloor(n int) (measured, error) {
	docs, err := render(n)
	if err != nil {
		return measured{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	env, err := cluster.Start(ctx, clusterOptions())
	if err != nil {
		return measured{}, err
	}
	defer env.Stop()
	cs := kubernetes.NewForConfigOrDie(env.RESTConfig)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: targetNS}}, metav1.CreateOptions{}); err != nil {
		return measured{}, err
	}
	dyn := dynamic.NewForConfigOrDie(env.RESTConfig)
	// The profile is awaited before the cluster stops, so that it may outlast the measure.
	profiled := make(chan struct{})
	if dir := os.Getenv("TUGBOAT_BENCH_PROFILE"); dir != "" {
		go func() {
			defer close(profiled)
			_ = saveAPIServerProfile(ctx, env.RESTConfig, filepath.Join(dir, fmt.Sprintf("apiserver-floor-%d.pprof", n)))
		}()
	} else {
		close(profiled)
	}
	defer func() { <-profiled }()
	countsBefore, err := apiServerCounts(ctx, env.RESTConfig)
	if err != nil {
		return measured{}, err
	}
	cpuBefore := readProcessCPU()
	busy := sampleBusy(ctx)
	start := time.Now()
	work := make(chan []byte)
	errs := make(chan error, len(docs))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for doc := range work {
				kind, name := kindAndName(doc)
				gvr, ok := floorResources[kind]
				if !ok {
					errs <- fmt.Errorf("no resource for kind %s", kind)
					continue
				}
				force := true
				if _, err := dyn.Resource(gvr).Namespace(targetNS).Patch(ctx, name, types.ApplyPatchType, doc,
					metav1.PatchOptions{FieldManager: fieldOwner, Force: &force}); err != nil {
					errs <- fmt.Errorf("failed to apply %s/%s: %w", kind, name, err)
				}
			}
		})
	}
	for _, d := range docs {
		work <- d
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return measured{}, err
	}
	err = waitAll(ctx, dyn, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, targetNS, n,
		"deployments available", func(u *unstructured.Unstructured) bool {
			var d appsv1.Deployment
			if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d) != nil || d.Spec.Replicas == nil {
				return false
			}
			return d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == *d.Spec.Replicas
		})
	elapsed := time.Since(start)
	used := readProcessCPU().since(cpuBefore)
	busyLog, outside := busy(used)
	if err != nil {
		return measured{}, err
	}
	countsAfter, err := apiServerCounts(ctx, env.RESTConfig)
	if err != nil {
		return measured{}, err
	}
	return measured{elapsed: elapsed, used: used, outside: outside,
		details: used.String() + "\n  machine busy: " + busyLog + "\napiserver: " + countsSince(countsAfter, countsBefore)}, nil
}

// kindAndName reads the kind and name from an object's JSON without a full decode.
func kindAndName(doc []byte) (string, string) {
	var u struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(doc, &u)
	return u.Kind, u.Metadata.Name
}

type tugboatRun struct {
	ready        time.Duration
	peakRSS      int64         // bytes, the controller process's VmHWM
	peakAnonRSS  int64         // bytes, the highest RssAnon sampled every 100 ms
	requests     float64       // API requests the controller sent from start to all Ready
	idleRequests float64       // API requests it sent during the idle window
	cpu          time.Duration // CPU time (user+system) the controller used up to all Ready
	phases       string        // where the time went, per app, as percentiles
	byMethod     string        // requests up to all Ready by method
	reconciles   string        // Kustomization reconciles up to all Ready, by result
	idleByMethod string        // requests during the idle window by method
	used         processCPU    // CPU time by process from creation to all Ready
	outside      time.Duration // busy CPU time no process of the measure used
	processCPU   string        // used, the machine's busy samples and the apiserver's counters
}

// startInstalled starts a fresh cluster set up as `tugboat install` and `tugboat dev
// up` set one up: the CRDs and the admission policy that gives new Kustomizations
// their finalizer.
func startInstalled(ctx context.Context) (*cluster.Cluster, error) {
	env, err := cluster.Start(ctx, clusterOptions())
	if err != nil {
		return nil, err
	}
	if err := install.CRDs(ctx, env.RESTConfig); err != nil {
		env.Stop()
		return nil, err
	}
	if ok, err := install.Policies(ctx, env.RESTConfig); err != nil || !ok {
		env.Stop()
		return nil, fmt.Errorf("failed to install the admission policies (served: %v): %w", ok, err)
	}
	return env, nil
}

// measureTugboat runs `tugboat controller` as a process against a fresh cluster with
// a Git repository holding the podinfo app, creates N Kustomizations and times them to
// Ready. With idle > 0 it then counts the requests the controller sends in that window.
func measureTugboat(bin string, n int, interval, idle time.Duration) (*tugboatRun, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	env, err := startInstalled(ctx)
	if err != nil {
		return nil, err
	}
	defer env.Stop()
	root, err := os.MkdirTemp("", "tugboat-bench-git-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	git := gitserver.New(root)
	if _, err := git.Start(); err != nil {
		return nil, err
	}
	defer git.Close()
	if err := git.InitRepo("apps", "main"); err != nil {
		return nil, err
	}
	wd, err := git.Workdir("apps")
	if err != nil {
		return nil, err
	}
	defer wd.Close()
	if err := wd.WriteFiles(map[string]string{appPath: podinfo}); err != nil {
		return nil, err
	}
	if _, err := wd.CommitAndPush("podinfo"); err != nil {
		return nil, err
	}

	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	ctrlLog, err := os.Create(filepath.Join(env.Dir, "controller.log"))
	if err != nil {
		return nil, err
	}
	defer ctrlLog.Close()
	pprofAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	receiverAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	concurrent := strconv.Itoa(workers)
	if v := os.Getenv("TUGBOAT_BENCH_CONCURRENT"); v != "" {
		concurrent = v // to explore; published figures use Flux's 20
	}
	cmd := exec.Command(bin, "controller", "--kubeconfig", env.Kubeconfig,
		"--concurrent", concurrent, "--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", "0", "--pprof-bind-address", pprofAddr,
		// Flux's kustomize-controller has no query API; the webhook receiver stays on,
		// on a port of its own so that runs side by side do not collide.
		"--http-bind-address", "0", "--receiver-bind-address", receiverAddr,
		// One controller on a fresh cluster has nobody to elect against; the lease's
		// renewal (a PUT every 2 s) would count among the idle requests, and the Flux
		// figures beside ours (no PUT among them) were taken without it too.
		"--leader-elect=false")
	cmd.Stdout, cmd.Stderr = ctrlLog, ctrlLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// VmHWM counts the binary's text pages, shared with the page cache; the anonymous
	// peak (heap, stacks, cgo allocations) is what the controller itself allocated.
	// Linux keeps no high-water mark of it, so it is sampled.
	anon := sampleAnonRSS(ctx, cmd.Process.Pid)

	c, err := client.New(env.RESTConfig, client.Options{Scheme: kube.NewScheme()})
	if err != nil {
		return nil, err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: targetNS}}); err != nil {
		return nil, err
	}
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: metav1.NamespaceDefault},
		Spec: sourcev1.GitRepositorySpec{URL: git.RepoURL("apps"), Interval: metav1.Duration{Duration: 60 * time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	if err := c.Create(ctx, repo); err != nil {
		return nil, err
	}
	if err := poll(ctx, func() (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
			return false, "", err
		}
		return apimeta.IsStatusConditionTrue(repo.Status.Conditions, meta.ReadyCondition), "GitRepository not Ready", nil
	}); err != nil {
		return nil, fmt.Errorf("%w (controller log: %s)", err, ctrlLog.Name())
	}
	before, err := restRequests(metricsAddr)
	if err != nil {
		return nil, err
	}

	// TUGBOAT_BENCH_PROFILE=DIR keeps a CPU profile of the controller's first 60 s (or
	// TUGBOAT_BENCH_PROFILE_SECONDS) after the Kustomizations are created, and a heap
	// profile once all are Ready.
	profileDir := os.Getenv("TUGBOAT_BENCH_PROFILE")
	profiled := make(chan error, 1)
	if profileDir != "" {
		go func() {
			profiled <- saveProfile(pprofAddr, "profile?seconds="+profileSeconds("60"), filepath.Join(profileDir, fmt.Sprintf("cpu-%d.pprof", n)))
		}()
		go func() {
			_ = saveAPIServerProfile(ctx, env.RESTConfig, filepath.Join(profileDir, fmt.Sprintf("apiserver-tugboat-%d.pprof", n)))
		}()
		go func() {
			// Where the workers wait, half way through the CPU profile.
			time.Sleep(30 * time.Second)
			_ = saveProfile(pprofAddr, "goroutine?debug=1", filepath.Join(profileDir, fmt.Sprintf("goroutines-%d.txt", n)))
		}()
	}
	countsBefore, err := apiServerCounts(ctx, env.RESTConfig)
	if err != nil {
		return nil, err
	}
	cpuBefore := readProcessCPU()
	busy := sampleBusy(ctx)
	start := time.Now()
	if err := createKustomizations(ctx, c, n, interval); err != nil {
		return nil, err
	}
	err = waitAll(ctx, dynamic.NewForConfigOrDie(env.RESTConfig), kustomizev1.GroupVersion.WithResource("kustomizations"),
		metav1.NamespaceDefault, n, "Kustomizations Ready", kustomizationReady)
	run := &tugboatRun{ready: time.Since(start), used: readProcessCPU().since(cpuBefore)}
	busyLog, outside := busy(run.used)
	run.outside = outside
	run.processCPU = run.used.String() + "\n  machine busy: " + busyLog
	if err != nil {
		return nil, fmt.Errorf("%w (controller log: %s)", err, ctrlLog.Name())
	}
	countsAfter, err := apiServerCounts(ctx, env.RESTConfig)
	if err != nil {
		return nil, err
	}
	run.processCPU += "\napiserver: " + countsSince(countsAfter, countsBefore)
	if run.phases, err = phases(ctx, c, n); err != nil {
		return nil, err
	}
	after, err := restRequests(metricsAddr)
	if err != nil {
		return nil, err
	}
	run.requests = after.total() - before.total()
	run.byMethod = after.since(before)
	if run.reconciles, err = reconciles(metricsAddr); err != nil {
		return nil, err
	}
	if run.cpu, err = cpuTime(cmd.Process.Pid); err != nil {
		return nil, err
	}
	if profileDir != "" {
		if err := <-profiled; err != nil {
			return nil, err
		}
		if err := saveProfile(pprofAddr, "heap", filepath.Join(profileDir, fmt.Sprintf("heap-%d.pprof", n))); err != nil {
			return nil, err
		}
	}
	if idle > 0 {
		select {
		case <-time.After(idle):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		end, err := restRequests(metricsAddr)
		if err != nil {
			return nil, err
		}
		run.idleRequests = end.total() - after.total()
		run.idleByMethod = end.since(after)
	}
	run.peakRSS, err = peakRSS(cmd.Process.Pid)
	run.peakAnonRSS = anon()
	return run, err
}

// createKustomizations creates the N Kustomizations of the benchmark shape with 20
// workers, as a user's kubectl apply of N files would arrive.
func createKustomizations(ctx context.Context, c client.Client, n int, interval time.Duration) error {
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				k := &kustomizev1.Kustomization{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("podinfo-%d", i), Namespace: metav1.NamespaceDefault},
					Spec: kustomizev1.KustomizationSpec{
						SourceRef:       kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "apps"},
						Path:            "./apps/podinfo",
						Prune:           true,
						Wait:            true,
						Timeout:         &metav1.Duration{Duration: 5 * time.Minute},
						Interval:        metav1.Duration{Duration: interval},
						TargetNamespace: targetNS,
						PostBuild:       &kustomizev1.PostBuild{Substitute: vars(i)},
					},
				}
				if err := c.Create(ctx, k); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// clusterOptions are the local cluster's settings for both measures; with
// TUGBOAT_BENCH_PROFILE the apiserver serves /debug/pprof (off by default in
// internal/cluster; idle profiling costs nothing measurable).
func clusterOptions() cluster.Options {
	opts := cluster.Options{Workloads: true}
	if os.Getenv("TUGBOAT_BENCH_PROFILE") != "" {
		opts.ExtraAPIServerArgs = []string{"--profiling=true"}
	}
	return opts
}

func freeAddr() (string, error) {
	port, err := localport.Pick()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// waitAll watches the objects of one resource in namespace until n of them are ready,
// as `kubectl wait` does: a list, then a watch, so that the wait itself costs the
// apiserver little (a list of every object each 250 ms cost it CPU the measure then
// counted, more for the longer run).
func waitAll(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, namespace string, n int,
	what string, ready func(*unstructured.Unstructured) bool) error {
	res := dyn.Resource(gvr).Namespace(namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return res.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, o)
		},
	}
	done := map[string]bool{}
	note := func(u *unstructured.Unstructured, deleted bool) bool {
		if deleted || !ready(u) {
			delete(done, u.GetName())
		} else {
			done[u.GetName()] = true
		}
		return len(done) >= n
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{},
		func(store cache.Store) (bool, error) {
			all := false
			for _, o := range store.List() {
				all = note(o.(*unstructured.Unstructured), false)
			}
			return all, nil
		},
		func(e watch.Event) (bool, error) {
			u, ok := e.Object.(*unstructured.Unstructured)
			if !ok {
				return false, nil
			}
			return note(u, e.Type == watch.Deleted), nil
		})
	if err != nil {
		return fmt.Errorf("%d of %d %s: %w", len(done), n, what, err)
	}
	return nil
}

// poll checks every 250 ms until done, the same cadence for the floor and tugboat.
func poll(ctx context.Context, check func() (done bool, state string, err error)) error {
	for {
		done, state, err := check()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", state, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
