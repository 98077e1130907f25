package apply

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const benchObjects = 1000

func benchConfigMaps(ns string) []*unstructured.Unstructured {
	objs := make([]*unstructured.Unstructured, benchObjects)
	for i := range objs {
		objs[i] = configMap(ns, fmt.Sprintf("cm-%04d", i), map[string]string{"key": "value", "index": fmt.Sprint(i)})
	}
	return objs
}

// BenchmarkApply applies 1000 ConfigMaps: first into an empty namespace, then
// again unchanged. BenchmarkPlainServerSideApply is the bar the first apply is
// measured against.
func BenchmarkApply(b *testing.B) {
	c := newClient(b)
	ctx := context.Background()
	owner := Owner{Name: "bench", Namespace: "flux-system"}

	b.Run("first", func(b *testing.B) {
		m := NewManager(c, "tugboat")
		for b.Loop() {
			b.StopTimer()
			objs := benchConfigMaps(testNamespace(b, c))
			b.StartTimer()
			if _, err := m.Apply(ctx, owner, objs, Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(m.Stats().Requests())/float64(b.N), "requests/op")
	})

	b.Run("unchanged", func(b *testing.B) {
		m := NewManager(c, "tugboat")
		objs := benchConfigMaps(testNamespace(b, c))
		if _, err := m.Apply(ctx, owner, objs, Options{}); err != nil {
			b.Fatal(err)
		}
		before := m.Stats().Requests()
		for b.Loop() {
			if _, err := m.Apply(ctx, owner, objs, Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(m.Stats().Requests()-before)/float64(b.N), "requests/op")
	})
}

// BenchmarkPlainServerSideApply sends the same 1000 ConfigMaps as one server-side
// apply each, with as many in flight as a Manager: the least any apply can do.
func BenchmarkPlainServerSideApply(b *testing.B) {
	c := newClient(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		objs := benchConfigMaps(testNamespace(b, c))
		b.StartTimer()
		sem := make(chan struct{}, DefaultConcurrency)
		var wg sync.WaitGroup
		errs := make([]error, len(objs))
		for i, o := range objs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				errs[i] = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.ForceOwnership, client.FieldOwner("plain"))
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
