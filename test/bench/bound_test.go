package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// BenchmarkGitOpsBound measures a minimal controller of the benchmark's shape beside
// the floor of the same run: a client in the harness that, for each Kustomization it
// sees created, only sends what the cluster must see from any controller that meets
// the GitOps issue — the app's 4 applies (rendered before the clock starts), one
// status write when the Deployment is Available, one event — and watches the applied
// kinds (drift is detected by watching). It builds nothing, keeps no inventory and
// judges no health but the Deployment's. Its gap to the floor is what the
// Kustomizations themselves cost the cluster; tugboat's gap to it, the controller's
// own share. It is not a strict lower bound of the time: it applies each app the
// moment its Kustomization appears, and that timing can make the controller-manager
// write every Service's Endpoints and EndpointSlice twice, costing the cluster more
// than tugboat's applies (docs/design/2026-11-26-gitops-cpu-budget.md).
//
// N is 1000 (TUGBOAT_BENCH_N to change it); pairs as BenchmarkGitOps.
func BenchmarkGitOpsBound(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("TUGBOAT_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	pairs := 5
	if v, err := strconv.Atoi(os.Getenv("TUGBOAT_BENCH_PAIRS")); err == nil && v > 0 {
		pairs = v
	}
	for b.Loop() {
		var floors, bounds, ratios, sameSpeeds []float64
		for p := range pairs {
			var floor, bound measured
			err := inTurn(p, func() (err error) {
				floor, err = measureFloor(n)
				return err
			}, func() (err error) {
				bound, err = measureBound(n)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			ratio := bound.elapsed.Seconds() / floor.elapsed.Seconds()
			same := sameSpeed(ratio, floor.used, bound.used)
			floors, bounds = append(floors, floor.elapsed.Seconds()), append(bounds, bound.elapsed.Seconds())
			ratios, sameSpeeds = append(ratios, ratio), append(sameSpeeds, same)
			pair := fmt.Sprintf("pair %d (%s first): bound %.1f s, floor %.1f s, %.3f× the floor (%.3f× at the floor's speed)", p+1,
				firstIn(p, "bound"), bound.elapsed.Seconds(), floor.elapsed.Seconds(), ratio, same)
			pair += disturbed(floor.outside, floor.used, "floor") + disturbed(bound.outside, bound.used, "bound")
			b.Log(pair)
			fmt.Fprintf(os.Stderr, "N=%d %s\n  CPU seconds by process, floor: %s\n  CPU seconds by process, bound: %s\n",
				n, pair, floor.details, bound.details)
		}
		b.ReportMetric(median(bounds), "s/bound")
		b.ReportMetric(median(floors), "s/floor")
		b.ReportMetric(median(ratios), "x-floor")
		b.ReportMetric(median(sameSpeeds), "x-floor-same-speed")
	}
}

// TestGitOpsBoundShape runs the bound's client on a small N, so that `make test`
// keeps it working.
func TestGitOpsBoundShape(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster; run without -short")
	}
	m, err := measureBound(3)
	if err != nil {
		t.Fatal(err)
	}
	// Every process of the measure is found and read; at N=3 the scheduler and kwok
	// may use less than one clock tick (10 ms) of CPU, so only the apiserver, which
	// served every request, must show some.
	for _, p := range []string{"kube-apiserver", "kube-scheduler", "kwok"} {
		if _, ok := m.used[p]; !ok {
			t.Errorf("CPU by process misses %s: %s", p, m.details)
		}
	}
	if m.used["kube-apiserver"] == 0 {
		t.Errorf("the apiserver used no CPU serving the measure: %s", m.details)
	}
}

// measureBound times creating n Kustomizations to all Ready with the bound's client
// (see BenchmarkGitOpsBound) as their controller, on a fresh cluster set up as for
// tugboat.
func measureBound(n int) (measured, error) {
	apps, err := renderApps(n)
	if err != nil {
		return measured{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	env, err := startInstalled(ctx)
	if err != nil {
		return measured{}, err
	}
	defer env.Stop()
	c, err := client.New(env.RESTConfig, client.Options{Scheme: kube.NewScheme()})
	if err != nil {
		return measured{}, err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: targetNS}}); err != nil {
		return measured{}, err
	}
	// A failure of the bound's client ends the wait at once.
	waitCtx, stopWait := context.WithCancelCause(ctx)
	defer stopWait(nil)
	bc, err := startBoundClient(ctx, env.RESTConfig, apps, stopWait)
	if err != nil {
		return measured{}, err
	}
	defer bc.stop()

	countsBefore, err := apiServerCounts(ctx, env.RESTConfig)
	if err != nil {
		return measured{}, err
	}
	cpuBefore := readProcessCPU()
	busy := sampleBusy(ctx)
	start := time.Now()
	if err := createKustomizations(ctx, c, n, time.Hour); err != nil {
		return measured{}, err
	}
	err = waitAll(waitCtx, dynamic.NewForConfigOrDie(env.RESTConfig), kustomizev1.GroupVersion.WithResource("kustomizations"),
		metav1.NamespaceDefault, n, "Kustomizations Ready", kustomizationReady)
	elapsed := time.Since(start)
	used := readProcessCPU().since(cpuBefore)
	busyLog, outside := busy(used)
	details := used.String() + "\n  machine busy: " + busyLog
	// Only the client cancels waitCtx while ctx lives (a timeout is ctx's own).
	if cause := context.Cause(waitCtx); cause != nil && ctx.Err() == nil {
		return measured{}, fmt.Errorf("the bound's client failed: %w", cause)
	}
	if err != nil {
		return measured{}, err
	}
	countsAfter, err := apiServerCounts(ctx, env.RESTConfig)
	if err != nil {
		return measured{}, err
	}
	return measured{elapsed: elapsed, used: used, outside: outside, details: details + "\napiserver: " + countsSince(countsAfter, countsBefore)}, nil
}

// kustomizationReady is the harness's verdict for a Kustomization: Ready=True with a
// lastAppliedRevision.
func kustomizationReady(u *unstructured.Unstructured) bool {
	var k kustomizev1.Kustomization
	if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &k) != nil {
		return false
	}
	return apimeta.IsStatusConditionTrue(k.Status.Conditions, meta.ReadyCondition) && k.Status.LastAppliedRevision != ""
}

// renderApps renders the n apps as renderApp does, each app's objects carrying the
// owner labels tugboat gives them.
func renderApps(n int) ([][][]byte, error) {
	apps := make([][][]byte, n)
	for i := range n {
		docs, err := renderApp(i)
		if err != nil {
			return nil, err
		}
		for j, d := range docs {
			var u unstructured.Unstructured
			if err := u.UnmarshalJSON(d); err != nil {
				return nil, err
			}
			labels := u.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			labels[meta.KustomizeNameLabel] = fmt.Sprintf("podinfo-%d", i)
			labels[meta.KustomizeNamespaceLabel] = metav1.NamespaceDefault
			u.SetLabels(labels)
			if docs[j], err = u.MarshalJSON(); err != nil {
				return nil, err
			}
		}
		apps[i] = docs
	}
	return apps, nil
}

// boundClient is the bound's controller: Kustomization i applies apps[i].
type boundClient struct {
	apps    [][][]byte
	meta    metadata.Interface
	events  kubernetes.Interface
	status  dynamic.NamespaceableResourceInterface
	deploys cache.SharedIndexInformer
	cancel  context.CancelFunc

	work chan string // Kustomizations to apply, by name
	done chan string // Kustomizations whose Deployment is Available

	mu      sync.Mutex
	waiting map[string]bool // applied, Deployment not yet Available
	fail    func(error)     // called with the client's first error
}

func startBoundClient(ctx context.Context, cfg *rest.Config, apps [][][]byte, fail func(error)) (*boundClient, error) {
	ctx, cancel := context.WithCancel(ctx)
	proto := rest.CopyConfig(cfg)
	proto.ContentType = runtime.ContentTypeProtobuf
	proto.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cs := kubernetes.NewForConfigOrDie(proto)
	dyn := dynamic.NewForConfigOrDie(cfg)
	bc := &boundClient{
		apps: apps, meta: metadata.NewForConfigOrDie(cfg), events: cs, cancel: cancel,
		status:  dyn.Resource(kustomizev1.GroupVersion.WithResource("kustomizations")),
		work:    make(chan string, len(apps)),
		done:    make(chan string, len(apps)),
		waiting: map[string]bool{},
		fail:    fail,
	}
	// The applied kinds are watched, as drift detection needs, in protobuf.
	applied := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(targetNS),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = meta.KustomizeNameLabel }))
	bc.deploys = applied.Apps().V1().Deployments().Informer()
	for _, inf := range []cache.SharedIndexInformer{bc.deploys, applied.Core().V1().ServiceAccounts().Informer(),
		applied.Core().V1().Services().Informer(), applied.Networking().V1().Ingresses().Informer()} {
		_ = inf.SetTransform(stripManagedFields)
	}
	if _, err := bc.deploys.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { bc.deploymentChanged(obj) },
		UpdateFunc: func(_, obj any) { bc.deploymentChanged(obj) },
	}); err != nil {
		cancel()
		return nil, err
	}
	kustomizations := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, metav1.NamespaceDefault, nil).
		ForResource(kustomizev1.GroupVersion.WithResource("kustomizations")).Informer()
	if _, err := kustomizations.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				bc.work <- u.GetName()
			}
		},
	}); err != nil {
		cancel()
		return nil, err
	}
	applied.Start(ctx.Done())
	go kustomizations.Run(ctx.Done())
	applied.WaitForCacheSync(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), kustomizations.HasSynced) {
		cancel()
		return nil, fmt.Errorf("the bound's client did not sync")
	}
	for range workers {
		go bc.run(ctx)
	}
	return bc, nil
}

func (bc *boundClient) stop() { bc.cancel() }

// stripManagedFields is the watches' transform: the cache keeps no managedFields, as
// tugboat's does not.
func stripManagedFields(obj any) (any, error) {
	if o, err := apimeta.Accessor(obj); err == nil {
		o.SetManagedFields(nil)
	}
	return obj, nil
}

func (bc *boundClient) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case name := <-bc.work:
			if err := bc.apply(ctx, name); err != nil {
				bc.fail(err)
			}
		case name := <-bc.done:
			if err := bc.ready(ctx, name); err != nil {
				bc.fail(err)
			}
		}
	}
}

// apply sends the app's objects as tugboat does (server-side apply, forced, the
// response as metadata in protobuf) and waits for its Deployment.
func (bc *boundClient) apply(ctx context.Context, name string) error {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "podinfo-"))
	if err != nil || i < 0 || i >= len(bc.apps) {
		return fmt.Errorf("no app for Kustomization %s", name)
	}
	force := true
	var deployment string
	for _, doc := range bc.apps[i] {
		kind, objName := kindAndName(doc)
		gvr, ok := floorResources[kind]
		if !ok {
			return fmt.Errorf("no resource for kind %s", kind)
		}
		if _, err := bc.meta.Resource(gvr).Namespace(targetNS).Patch(ctx, objName, types.ApplyPatchType, doc,
			metav1.PatchOptions{FieldManager: "tugboat", Force: &force}); err != nil {
			return fmt.Errorf("failed to apply %s/%s: %w", kind, objName, err)
		}
		if kind == "Deployment" {
			deployment = objName
		}
	}
	bc.mu.Lock()
	bc.waiting[name] = true
	bc.mu.Unlock()
	// The Deployment may have become Available before it was awaited.
	if obj, ok, _ := bc.deploys.GetStore().GetByKey(targetNS + "/" + deployment); ok {
		bc.deploymentChanged(obj)
	}
	return nil
}

func (bc *boundClient) deploymentChanged(obj any) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok || d.Spec.Replicas == nil || d.Status.ObservedGeneration < d.Generation || d.Status.AvailableReplicas != *d.Spec.Replicas {
		return
	}
	owner := d.Labels[meta.KustomizeNameLabel]
	bc.mu.Lock()
	waiting := bc.waiting[owner]
	delete(bc.waiting, owner)
	bc.mu.Unlock()
	if waiting {
		bc.done <- owner
	}
}

const boundRevision = "main@sha1:0123456789abcdef0123456789abcdef01234567"

// ready writes the Kustomization's status as tugboat's controller writes it on
// success (one merge patch of the status subresource) and sends the one event.
func (bc *boundClient) ready(ctx context.Context, name string) error {
	now := metav1.Now()
	i := strings.TrimPrefix(name, "podinfo-")
	entries := []kustomizev1.ResourceRef{
		{ID: fmt.Sprintf("%s_podinfo-%sapp__ServiceAccount", targetNS, i), Version: "v1"},
		{ID: fmt.Sprintf("%s_podinfo-%sapp__Service", targetNS, i), Version: "v1"},
		{ID: fmt.Sprintf("%s_podinfo-%sapp_apps_Deployment", targetNS, i), Version: "v1"},
		{ID: fmt.Sprintf("%s_podinfo-%sapp_networking.k8s.io_Ingress", targetNS, i), Version: "v1"},
	}
	message := "Applied revision: " + boundRevision
	status := kustomizev1.KustomizationStatus{
		ObservedGeneration:    1,
		LastAppliedRevision:   boundRevision,
		LastAttemptedRevision: boundRevision,
		Conditions: []metav1.Condition{
			{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: meta.ReconciliationSucceededReason, Message: message, LastTransitionTime: now, ObservedGeneration: 1},
			{Type: meta.HealthyCondition, Status: metav1.ConditionTrue, Reason: meta.SucceededReason, Message: "Health check passed", LastTransitionTime: now, ObservedGeneration: 1},
		},
		Inventory: &kustomizev1.ResourceInventory{Entries: entries},
		History: meta.History{{Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", FirstReconciled: now,
			LastReconciled: now, LastReconciledDuration: metav1.Duration{Duration: time.Second}, LastReconciledStatus: meta.ReconciliationSucceededReason,
			TotalReconciliations: 1, Metadata: map[string]string{"revision": boundRevision}}},
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	k, err := bc.status.Namespace(metav1.NamespaceDefault).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("failed to patch the status of %s: %w", name, err)
	}
	var note strings.Builder
	for _, e := range entries {
		note.WriteString(e.ID + " created\n")
	}
	note.WriteString("Health check passed")
	_, err = bc.events.EventsV1().Events(metav1.NamespaceDefault).Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", name, time.Now().UnixNano()), Namespace: metav1.NamespaceDefault,
			Annotations: map[string]string{"source.toolkit.fluxcd.io/revision": boundRevision}},
		EventTime:           metav1.NowMicro(),
		ReportingController: "tugboat-kustomize", ReportingInstance: "tugboat-kustomize-bound",
		Action: "Reconcile", Reason: meta.ReconciliationSucceededReason, Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{Kind: kustomizev1.KustomizationKind, APIVersion: kustomizev1.GroupVersion.String(),
			Namespace: metav1.NamespaceDefault, Name: name, UID: k.GetUID(), ResourceVersion: k.GetResourceVersion()},
		Note: note.String(),
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to send the event of %s: %w", name, err)
	}
	return nil
}
