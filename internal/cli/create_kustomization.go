package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

type createKustomizationFlags struct {
	source, path, targetNamespace string
	prune, wait                   bool
	interval                      time.Duration
	dependsOn                     []string
}

func newCreateKustomizationCommand(s streams, cf *createFlags) *cobra.Command {
	f := &createKustomizationFlags{}
	cmd := &cobra.Command{
		Use:     "kustomization NAME",
		Aliases: []string{"ks"},
		Short:   "Create or update a Kustomization",
		Long: `Creates or updates a Kustomization that applies a path of a GitRepository, and waits
until it has applied it. --source is GitRepository/NAME, GitRepository/NAME.NAMESPACE or
just NAME; --depends-on takes NAME or NAMESPACE/NAME and may repeat.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			obj, err := f.object(s, args[0])
			if err != nil {
				return err
			}
			last, err := createObject(cmd.Context(), s, cf, kustomizationKind, obj)
			if err != nil || last == nil {
				return err
			}
			newProgress(s, false).success("applied revision: %s", kustomizationKind.revision(last))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "the source: GitRepository/NAME[.NAMESPACE]")
	fl.StringVar(&f.path, "path", "./", "path of the directory to build, in the source")
	fl.BoolVar(&f.prune, "prune", false, "delete objects that left the source")
	fl.BoolVar(&f.wait, "wait", false, "wait for every applied object to be ready (health checks)")
	fl.StringVar(&f.targetNamespace, "target-namespace", "", "put every namespaced object in this namespace")
	fl.DurationVar(&f.interval, "interval", time.Minute, "how often to reconcile")
	fl.StringSliceVar(&f.dependsOn, "depends-on", nil, "Kustomizations that must be ready first: NAME or NAMESPACE/NAME")
	return cmd
}

func (f *createKustomizationFlags) object(s streams, name string) (*kustomizev1.Kustomization, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if f.source == "" {
		return nil, usageErrorf("--source is required (GitRepository/NAME)")
	}
	ref, err := parseSourceRef(f.source)
	if err != nil {
		return nil, err
	}
	if f.interval <= 0 {
		return nil, usageErrorf("--interval must be positive, not %s", f.interval)
	}
	if strings.Contains("/"+strings.ReplaceAll(f.path, "\\", "/")+"/", "/../") {
		return nil, usageErrorf("--path %q must not leave the source with '..'", f.path)
	}
	if f.targetNamespace != "" {
		if err := checkName(f.targetNamespace); err != nil {
			return nil, usageErrorf("--target-namespace: %v", err)
		}
	}
	ns, err := s.kube.namespace()
	if err != nil {
		return nil, err
	}
	obj := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			SourceRef:       ref,
			Path:            f.path,
			Prune:           f.prune,
			Wait:            f.wait,
			Interval:        metav1.Duration{Duration: f.interval},
			TargetNamespace: f.targetNamespace,
		},
	}
	for _, d := range f.dependsOn {
		dep := kustomizev1.DependencyReference{Name: d}
		if dns, dname, ok := strings.Cut(d, "/"); ok {
			dep = kustomizev1.DependencyReference{Namespace: dns, Name: dname}
		}
		if dep.Name == "" || strings.Contains(dep.Name, "/") {
			return nil, usageErrorf("--depends-on %q must be NAME or NAMESPACE/NAME", d)
		}
		obj.Spec.DependsOn = append(obj.Spec.DependsOn, dep)
	}
	return obj, nil
}

// parseSourceRef reads --source as Flux does: [Kind/]NAME[.NAMESPACE]; the kind
// defaults to GitRepository, the only source kind tugboat serves.
func parseSourceRef(v string) (kustomizev1.CrossNamespaceSourceReference, error) {
	kind, name := sourcev1.GitRepositoryKind, v
	if k, n, ok := strings.Cut(v, "/"); ok {
		kind, name = k, n
	}
	if !strings.EqualFold(kind, sourcev1.GitRepositoryKind) {
		return kustomizev1.CrossNamespaceSourceReference{}, usageErrorf("--source %q: the kind must be GitRepository, not %q", v, kind)
	}
	ref := kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: name}
	if n, ns, ok := strings.Cut(name, "."); ok {
		ref.Name, ref.Namespace = n, ns
	}
	if ref.Name == "" {
		return ref, usageErrorf("--source %q names no object", v)
	}
	return ref, nil
}
