package receiver_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/kube"
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
	start := time.Now()
	create(b, gitRepository(ns, "app", url, nil))
	for i := range benchKustomizations {
		create(b, kustomization(ns, fmt.Sprintf("app-%04d", i), fmt.Sprintf("./apps/app-%04d", i), "app"))
	}
	const token = "bench-token"
	create(b, tokenSecret(ns, "webhook-token", token),
		receiverObj(ns, "github", "github", "webhook-token", []string{"push"}, gitRepoRef))
	path := waitReceiverReady(b, ns, "github")

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
	b.Logf("%d Kustomizations created and Ready in %s", benchKustomizations, time.Since(start).Round(time.Millisecond))

	seen := watchStages(b, ns)
	var latencies, pushes, hooks, fetches []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for c := range benchCommits {
			app := fmt.Sprintf("app-%04d", (c*37+n*101)%benchKustomizations)
			value := fmt.Sprintf("n%d-c%d", n, c)
			arrived := seen.expect("cm/" + app + "=" + value)
			t0 := time.Now()
			if err := wd.WriteFiles(map[string]string{"apps/" + app + "/config.yaml": configMapFile(app, value)}); err != nil {
				b.Fatal(err)
			}
			commit, err := wd.CommitAndPush(value)
			if err != nil {
				b.Fatal(err)
			}
			pushed := time.Since(t0)
			fetched := seen.expect("git/" + commit)
			body := fmt.Appendf(nil, `{"ref":"refs/heads/main","after":%q}`, commit)
			if code, msg := post(b, http.MethodPost, path, githubPush(token, body), body); code != http.StatusOK {
				b.Fatalf("webhook: %d %s", code, msg)
			}
			hooked := time.Since(t0)
			select {
			case at := <-arrived:
				latencies = append(latencies, at.Sub(t0))
				pushes = append(pushes, pushed)
				hooks = append(hooks, hooked)
			case <-time.After(2 * time.Minute):
				b.Fatalf("ConfigMap %s never showed %q", app, value)
			}
			// When the source had the commit, for finding where the time goes.
			select {
			case at := <-fetched:
				fetches = append(fetches, at.Sub(t0))
			case <-time.After(10 * time.Second):
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(quantile(latencies, 0.50).Seconds(), "p50-s")
	b.ReportMetric(quantile(latencies, 0.99).Seconds(), "p99-s")
	b.ReportMetric(quantile(latencies, 1).Seconds(), "max-s")
	b.ReportMetric(quantile(pushes, 0.50).Seconds(), "pushed-p50-s")
	b.ReportMetric(quantile(hooks, 0.50).Seconds(), "hooked-p50-s")
	b.ReportMetric(quantile(fetches, 0.50).Seconds(), "fetched-p50-s")
	b.ReportMetric(0, "ns/op")
}

// quantile returns the q-quantile of durations (nearest rank).
func quantile(durations []time.Duration, q float64) time.Duration {
	if len(durations) == 0 {
		return 0
	}
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// stages stamps when the cluster first shows each stage of a commit: the GitRepository's
// artifact at the commit ("git/<sha>") and a ConfigMap's new value ("cm/<name>=<value>").
// It reads watches, so the measurement adds no polling delay and little load (the
// Kustomizations are not watched: 1000 status events per commit would load the
// apiserver and this process, which also runs the controller).
type stages struct {
	mu   sync.Mutex
	want map[string]chan<- time.Time
}

func (s *stages) expect(key string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	s.mu.Lock()
	s.want[key] = ch
	s.mu.Unlock()
	return ch
}

func (s *stages) seen(key string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.want[key]; ok {
		ch <- at
		delete(s.want, key)
	}
}

func watchStages(b *testing.B, ns string) *stages {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	c, err := client.NewWithWatch(env.RESTConfig, client.Options{Scheme: kube.NewScheme()})
	if err != nil {
		b.Fatal(err)
	}
	s := &stages{want: map[string]chan<- time.Time{}}
	for _, list := range []client.ObjectList{&corev1.ConfigMapList{}, &sourcev1.GitRepositoryList{}} {
		w, err := c.Watch(ctx, list, client.InNamespace(ns))
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				now := time.Now()
				switch o := ev.Object.(type) {
				case *corev1.ConfigMap:
					s.seen("cm/"+o.Name+"="+o.Data["value"], now)
				case *sourcev1.GitRepository:
					if o.Status.Artifact != nil {
						_, sha, _ := strings.Cut(o.Status.Artifact.Revision, "sha1:")
						s.seen("git/"+sha, now)
					}
				}
			}
		}()
	}
	return s
}
