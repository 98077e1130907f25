package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGetReference(t *testing.T) {
	cases := map[string]struct {
		branch string
		ref    *GitRepositoryRef
		want   GitRepositoryRef
	}{
		"nothing set checks out the default branch": {
			want: GitRepositoryRef{Branch: DefaultBranch},
		},
		"the deprecated spec.branch is read as ref.branch": {
			branch: "main",
			want:   GitRepositoryRef{Branch: "main"},
		},
		"ref.branch wins over spec.branch": {
			branch: "main", ref: &GitRepositoryRef{Branch: "dev"},
			want: GitRepositoryRef{Branch: "dev"},
		},
		"spec.branch fills in the branch beside a commit, for a shallow clone": {
			branch: "main", ref: &GitRepositoryRef{Commit: "abc"},
			want: GitRepositoryRef{Branch: "main", Commit: "abc"},
		},
		"a tag alone does not get the default branch": {
			ref:  &GitRepositoryRef{Tag: "v1.0.0"},
			want: GitRepositoryRef{Tag: "v1.0.0"},
		},
		"an empty ref object still gets the default branch": {
			ref:  &GitRepositoryRef{},
			want: GitRepositoryRef{Branch: DefaultBranch},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			repo := &GitRepository{Spec: GitRepositorySpec{Branch: c.branch, Reference: c.ref}}
			got := repo.GetReference()
			if *got != c.want {
				t.Errorf("got %+v, want %+v", *got, c.want)
			}
			if c.ref != nil && got == c.ref {
				t.Error("GetReference must return a copy, not spec.ref itself")
			}
		})
	}
}

func TestGitRepositoryDefaults(t *testing.T) {
	repo := &GitRepository{}
	if got := repo.GetTimeout(); got != 60*time.Second {
		t.Errorf("timeout: got %v, want 60s", got)
	}
	if got := repo.GetProvider(); got != GitProviderGeneric {
		t.Errorf("provider: got %q, want %q", got, GitProviderGeneric)
	}
	repo.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Minute}
	repo.Spec.Provider = GitProviderGitHub
	if got := repo.GetTimeout(); got != 2*time.Minute {
		t.Errorf("timeout: got %v, want 2m", got)
	}
	if got := repo.GetProvider(); got != GitProviderGitHub {
		t.Errorf("provider: got %q, want %q", got, GitProviderGitHub)
	}
}
