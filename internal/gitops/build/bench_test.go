package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

var benchVars = map[string]string{"INDEX": "1app", "PODS": "1", "MCPU": "1m"}

func benchInput() Input {
	return Input{Path: "apps/podinfo", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}, Vars: benchVars}
}

// BenchmarkBuild builds the benchmark's podinfo app (4 objects, generated
// kustomization, postBuild) one build at a time.
func BenchmarkBuild(b *testing.B) {
	tree := bytesOf(podinfoTree(b))
	in := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(tree, nil, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "builds/s")
}

// BenchmarkBuildParallel is BenchmarkBuild on every core at once, which
// Flux's global build mutex rules out.
func BenchmarkBuildParallel(b *testing.B) {
	tree := bytesOf(podinfoTree(b))
	in := benchInput()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Build(tree, nil, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "builds/s")
}

// BenchmarkFluxBuild is the same build the way kustomize-controller does it,
// with fluxcd/pkg/kustomize: files written to a directory (standing in for
// the untarred artifact, whose download is not counted), the kustomization
// generated on disk, SecureBuild under the global mutex, then postBuild.
func BenchmarkFluxBuild(b *testing.B) {
	data, err := os.ReadFile("testdata/podinfo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ks := unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"postBuild": map[string]any{"substitute": map[string]any{"INDEX": "1app", "PODS": "1", "MCPU": "1m"}}}}}
	b.ReportAllocs()
	for b.Loop() {
		root := b.TempDir()
		dir := filepath.Join(root, "apps", "podinfo")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "podinfo.yaml"), data, 0o644); err != nil {
			b.Fatal(err)
		}
		if _, err := fluxkustomize.NewGenerator(root, ks).WriteFile(dir); err != nil {
			b.Fatal(err)
		}
		m, err := fluxkustomize.SecureBuild(root, dir, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range m.Resources() {
			if _, err := fluxkustomize.SubstituteVariables(context.Background(), nil, ks, r,
				fluxkustomize.SubstituteWithDryRun(true)); err != nil {
				b.Fatal(err)
			}
			if _, err := m.Replace(r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := m.AsYaml(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "builds/s")
}

// fleetVars are the variables of the GitOps benchmark's Kustomizations:
// one app, a thousand sets of variables.
func fleetVars() []map[string]string {
	vars := make([]map[string]string, 1000)
	for i := range vars {
		vars[i] = map[string]string{"INDEX": fmt.Sprintf("%dapp", i), "PODS": fmt.Sprint(i%3 + 1), "MCPU": fmt.Sprintf("%dm", i%10+1)}
	}
	return vars
}

// BenchmarkFleet builds the podinfo app for 1000 Kustomizations that differ
// in their variables, one build per op: the way Build did it before the
// cache (Flux's SubstituteVariables and round trips, kept in
// reference_test.go), Build now, and through a Cache, where kustomize ran
// once for the first and every other build is a hit.
func BenchmarkFleet(b *testing.B) {
	tree := bytesOf(podinfoTree(b))
	vars := fleetVars()
	cache := NewCache(0)
	builders := map[string]func(in Input) (*Result, error){
		"reference": func(in Input) (*Result, error) { return referenceBuild(tree, nil, in) },
		"uncached":  func(in Input) (*Result, error) { return Build(tree, nil, in) },
		"cached":    func(in Input) (*Result, error) { return cache.Build("tree", tree, nil, in) },
	}
	for _, name := range []string{"reference", "uncached", "cached"} {
		build := builders[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				in := Input{Path: "./apps/podinfo", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}, Vars: vars[i%len(vars)]}
				if _, err := build(in); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "builds/s")
		})
	}
}

// BenchmarkFleetParallel is the cached BenchmarkFleet on every core, as the
// controller's workers run it.
func BenchmarkFleetParallel(b *testing.B) {
	tree := bytesOf(podinfoTree(b))
	vars := fleetVars()
	cache := NewCache(0)
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in := Input{Path: "./apps/podinfo", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}},
				Vars: vars[next.Add(1)%int64(len(vars))]}
			if _, err := cache.Build("tree", tree, nil, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "builds/s")
}

// BenchmarkCacheEntry adds one entry of the podinfo app per op, each for
// another tree, and reports what an entry holds on the heap: kustomize's
// text and the objects decoded from it.
func BenchmarkCacheEntry(b *testing.B) {
	tree := bytesOf(podinfoTree(b))
	cache := NewCache(1 << 40) // keeps every entry, to weigh them
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	i := 0
	for b.Loop() {
		if _, err := cache.Build(fmt.Sprint(i), tree, nil, Input{Path: "apps/podinfo"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(cache.Len()), "B/entry")
	runtime.KeepAlive(cache)
}
