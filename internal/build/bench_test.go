package build

import (
	"context"
	"os"
	"path/filepath"
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
