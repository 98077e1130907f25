package api_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// seedFile is a verbatim copy of shared/examples/seed-gitops.yaml, the
// manifests that tugboat must accept unchanged (apart from the URL).
const seedFile = "testdata/seed-gitops.yaml"

// TestSeedCopyIsCurrent keeps testdata in step with the shared original when
// the shared folder sits beside the repository, as it does for developers
// and CI.
func TestSeedCopyIsCurrent(t *testing.T) {
	shared, err := os.ReadFile("../../shared/examples/seed-gitops.yaml")
	if os.IsNotExist(err) {
		t.Skip("shared/examples/seed-gitops.yaml is not beside the repository")
	}
	if err != nil {
		t.Fatalf("failed to read the shared seed: %v", err)
	}
	copied, err := os.ReadFile(seedFile)
	if err != nil {
		t.Fatalf("failed to read the seed copy: %v", err)
	}
	if !bytes.Equal(shared, copied) {
		t.Fatalf("%s differs from shared/examples/seed-gitops.yaml: copy it again", seedFile)
	}
}

// TestSeedDecodesIntoGoTypes decodes each seed document strictly, so that a
// field the Go types lack (such as the v1beta1 spec.branch) fails the test
// instead of being dropped silently.
func TestSeedDecodesIntoGoTypes(t *testing.T) {
	docs := readDocs(t, seedFile)
	if len(docs) != 2 {
		t.Fatalf("want 2 documents in the seed, got %d", len(docs))
	}

	var repo sourcev1.GitRepository
	if err := yaml.UnmarshalStrict(docs[0], &repo); err != nil {
		t.Fatalf("failed to decode the GitRepository: %v", err)
	}
	var ks kustomizev1.Kustomization
	if err := yaml.UnmarshalStrict(docs[1], &ks); err != nil {
		t.Fatalf("failed to decode the Kustomization: %v", err)
	}

	checks := map[string]struct {
		got, want any
	}{
		"the GitRepository keeps its v1beta1 apiVersion":  {repo.APIVersion, "source.toolkit.fluxcd.io/v1beta1"},
		"the GitRepository is named":                      {repo.Name, "aks-config"},
		"the GitRepository interval is one minute":        {repo.Spec.Interval.Duration, time.Minute},
		"the GitRepository URL lands":                     {repo.Spec.URL, "https://github.com/contoso/aks-config"},
		"the deprecated spec.branch lands":                {repo.Spec.Branch, "main"},
		"spec.ref stays unset":                            {repo.Spec.Reference == nil, true},
		"spec.branch resolves as the branch to check out": {*repo.GetReference(), sourcev1.GitRepositoryRef{Branch: "main"}},
		"the Kustomization keeps its v1beta1 apiVersion":  {ks.APIVersion, "kustomize.toolkit.fluxcd.io/v1beta1"},
		"the Kustomization is named":                      {ks.Name, "apps"},
		"the Kustomization path lands":                    {ks.Spec.Path, "./apps/prod"},
		"prune lands":                                     {ks.Spec.Prune, true},
		"the source kind lands":                           {ks.Spec.SourceRef.Kind, sourcev1.GitRepositoryKind},
		"the source name lands":                           {ks.Spec.SourceRef.Name, "aks-config"},
		"the missing interval stays unset in Go":          {ks.Spec.Interval.Duration, time.Duration(0)},
		"the missing interval reads as the default":       {ks.GetInterval(), 10 * time.Minute},
	}
	for name, c := range checks {
		t.Run(name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}
