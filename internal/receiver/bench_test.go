package receiver_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

// Sizes of the webhook benchmark (issue 4): 1000 Kustomizations present, 100 commits.
// TUGBOAT_BENCH_KUSTOMIZATIONS and TUGBOAT_BENCH_COMMITS shrink it for a quick look.
var (
	benchKustomizations = envInt("TUGBOAT_BENCH_KUSTOMIZATIONS", 1000)
	benchCommits        = envInt("TUGBOAT_BENCH_COMMITS", 100)
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkWebhook measures commit → object changed in the cluster through the webhook:
// one repository holds one small directory (a ConfigMap) per Kustomization, all
// Kustomizations read it through one GitRepository, every interval is 1h. Each commit
// changes one directory's ConfigMap, is pushed, and a signed GitHub push is sent to the
// Receiver; the latency runs from just before `git commit` until a watch on the
// ConfigMaps sees the new value. p50 and p99 are reported over all commits.
func BenchmarkWebhook(b *testing.B) {
	ns := newNamespace(b)
	files := map[string]string{}
	for i := range benchKustomizations {
		files[fmt.Sprintf("apps/app-%04d/config.yaml", i)] = configMapFile(fmt.Sprintf("app-%04d", i), "0")
	}
	wd, url := newRepo(b, ns, files)
	create(b, gitRepository(ns, "app", url, nil))
	for i := range benchKustomizations {
		create(b, kustomization(ns, fmt.Sprintf("app-%04d", i), fmt.Sprintf("./apps/app-%04d", i), "app"))
	}
	const token = "bench-token"
	create(b, tokenSecret(ns, "webhook-token", token),
		receiverObj(ns, "github", "github", "webhook-token", []string{"push"}, gitRepoRef))
	path := waitReceiverReady(b, ns, "github")

	start := time.Now()
	poll(b, "every Kustomization Ready", func(ctx context.Context) (bool, string) {
		var list kustomizev1.KustomizationList
		if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		ready := 0
		for i := range list.Items {
			if meta.IsReady(&list.Items[i]) {
				ready++
			}
		}
		return ready == benchKustomizations, fmt.Sprintf("%d of %d Ready", ready, benchKustomizations)
	})
	b.Logf("%d Kustomizations Ready in %s", benchKustomizations, time.Since(start).Round(time.Millisecond))

	seen := watchConfigMaps(b, ns)
	var latencies, pushes []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for c := range benchCommits {
			app := fmt.Sprintf("app-%04d", (c*37+n*101)%benchKustomizations)
			value := fmt.Sprintf("n%d-c%d", n, c)
			arrived := seen.expect(app, value)
			t0 := time.Now()
			if err := wd.WriteFiles(map[string]string{"apps/" + app + "/config.yaml": configMapFile(app, value)}); err != nil {
				b.Fatal(err)
			}
			commit, err := wd.CommitAndPush(value)
			if err != nil {
				b.Fatal(err)
			}
			pushed := time.Since(t0)
			body := fmt.Appendf(nil, `{"ref":"refs/heads/main","after":%q}`, commit)
			if code, msg := post(b, http.MethodPost, path, githubPush(token, body), body); code != http.StatusOK {
				b.Fatalf("webhook: %d %s", code, msg)
			}
			select {
			case at := <-arrived:
				latencies = append(latencies, at.Sub(t0))
				pushes = append(pushes, pushed)
			case <-time.After(2 * time.Minute):
				b.Fatalf("ConfigMap %s never showed %q", app, value)
			}
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	slices.Sort(pushes)
	b.ReportMetric(quantile(latencies, 0.50).Seconds(), "p50-s")
	b.ReportMetric(quantile(latencies, 0.99).Seconds(), "p99-s")
	b.ReportMetric(quantile(latencies, 1).Seconds(), "max-s")
	b.ReportMetric(quantile(pushes, 0.50).Seconds(), "push-p50-s")
	b.ReportMetric(0, "ns/op")
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// configMapWatch reports when a ConfigMap first shows an expected value, from one watch
// on the namespace, so the measurement adds no polling delay and no load.
type configMapWatch struct {
	mu   sync.Mutex
	want map[string]chan<- time.Time // "name=value" → waiter
}

func (w *configMapWatch) expect(name, value string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	w.want[name+"="+value] = ch
	w.mu.Unlock()
	return ch
}

func watchConfigMaps(b *testing.B, ns string) *configMapWatch {
	cs := kubernetes.NewForConfigOrDie(env.RESTConfig)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	list, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	wi, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		b.Fatal(err)
	}
	w := &configMapWatch{want: map[string]chan<- time.Time{}}
	go func() {
		defer wi.Stop()
		for ev := range wi.ResultChan() {
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok || ev.Type != watch.Modified {
				continue
			}
			now := time.Now()
			key := cm.Name + "=" + cm.Data["value"]
			w.mu.Lock()
			if ch, ok := w.want[key]; ok {
				ch <- now
				delete(w.want, key)
			}
			w.mu.Unlock()
		}
	}()
	return w
}
