package cli

import (
	"net/url"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

type createSourceGitFlags struct {
	url, branch, tag, semver, commit, secretRef string
	interval                                    time.Duration
}

func newCreateSourceGitCommand(s streams, cf *createFlags) *cobra.Command {
	f := &createSourceGitFlags{}
	cmd := &cobra.Command{
		Use:   "git NAME",
		Short: "Create or update a GitRepository",
		Long: `Creates or updates a GitRepository and waits until it has fetched its first revision.
One of --branch, --tag, --semver or --commit selects what to fetch (default: branch master,
as in Flux). Credentials are a Secret named by --secret-ref (username/password, bearerToken
or identity for SSH).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			obj, err := f.object(s, args[0])
			if err != nil {
				return err
			}
			last, err := createObject(cmd.Context(), s, cf, gitRepositoryKind, obj)
			if err != nil || last == nil {
				return err
			}
			newProgress(s, false).success("fetched revision: %s", gitRepositoryKind.revision(last))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "Git address: http(s)://, ssh:// or git@host:path")
	fl.StringVar(&f.branch, "branch", "", "branch to follow")
	fl.StringVar(&f.tag, "tag", "", "tag to fetch")
	fl.StringVar(&f.semver, "semver", "", "semver range; the highest matching tag is fetched")
	fl.StringVar(&f.commit, "commit", "", "commit SHA to fetch")
	fl.StringVar(&f.secretRef, "secret-ref", "", "name of the Secret holding the Git credentials")
	fl.DurationVar(&f.interval, "interval", time.Minute, "how often to look for new commits")
	return cmd
}

// object validates the flags and returns the GitRepository they describe.
func (f *createSourceGitFlags) object(s streams, name string) (*sourcev1.GitRepository, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if f.url == "" {
		return nil, usageErrorf("--url is required")
	}
	if u, err := url.Parse(f.url); err == nil && u.Scheme != "" {
		switch u.Scheme {
		case "http", "https", "ssh":
		default:
			return nil, usageErrorf("--url %q: the scheme must be http, https or ssh, not %q", f.url, u.Scheme)
		}
	} else if !scpLike(f.url) {
		return nil, usageErrorf("--url %q is not a Git address (http(s)://, ssh:// or git@host:path)", f.url)
	}
	if f.interval <= 0 {
		return nil, usageErrorf("--interval must be positive, not %s", f.interval)
	}
	ref := &sourcev1.GitRepositoryRef{Branch: f.branch, Tag: f.tag, SemVer: f.semver, Commit: f.commit}
	set := 0
	for _, v := range []string{f.branch, f.tag, f.semver, f.commit} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return nil, usageErrorf("only one of --branch, --tag, --semver and --commit may be set")
	}
	if set == 0 {
		ref.Branch = sourcev1.DefaultBranch
	}
	if f.semver != "" {
		if _, err := semver.NewConstraint(f.semver); err != nil {
			return nil, usageErrorf("--semver %q is not a semver range: %v", f.semver, err)
		}
	}
	ns, err := s.kube.namespace()
	if err != nil {
		return nil, err
	}
	obj := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{
			URL:       f.url,
			Interval:  metav1.Duration{Duration: f.interval},
			Reference: ref,
		},
	}
	if f.secretRef != "" {
		obj.Spec.SecretRef = &meta.LocalObjectReference{Name: f.secretRef}
	}
	return obj, nil
}

// scpLike accepts git's scp-like SSH syntax, user@host:path.
func scpLike(s string) bool {
	at, colon := -1, -1
	for i, r := range s {
		switch {
		case r == '@' && at < 0:
			at = i
		case r == ':' && colon < 0:
			colon = i
		}
	}
	return at > 0 && colon > at+1 && colon < len(s)-1
}
