package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// cliFieldManager owns the fields the CLI sets (create, suspend, resume, reconcile),
// apart from the controller's "tugboat".
const cliFieldManager = "tugboat-cli"

// createFlags are shared by every `tugboat create` kind.
type createFlags struct {
	export  bool
	timeout time.Duration
}

func newCreateCommand(s streams) *cobra.Command {
	f := &createFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create or update sources, kustomizations and receivers",
		Long: `Creates (or updates) an object, then waits until the controller reports it Ready,
like flux create. With --export it prints the object's YAML instead and touches nothing.

  tugboat create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=master
  tugboat create kustomization podinfo --source=GitRepository/podinfo --path=./kustomize --prune
  tugboat create source git podinfo --url=... --export > podinfo.yaml`,
		Args: cobra.NoArgs,
		RunE: unknownKind("create", "source git, kustomization, receiver"),
	}
	cmd.PersistentFlags().BoolVar(&f.export, "export", false, "print the object as YAML instead of creating it")
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for the object to be ready")
	source := &cobra.Command{
		Use:   "source",
		Short: "Create or update sources",
		Args:  cobra.NoArgs,
		RunE:  unknownKind("create source", "git"),
	}
	source.AddCommand(newCreateSourceGitCommand(s, f))
	cmd.AddCommand(source, newCreateKustomizationCommand(s, f), newCreateReceiverCommand(s, f))
	return cmd
}

// checkName validates an object name as the apiserver would, before anything is sent.
func checkName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return usageErrorf("invalid name %q: %s", name, errs[0])
	}
	return nil
}

// exportable returns the object as Flux's --export prints it: apiVersion, kind,
// metadata (name, namespace, labels) and spec, without status or server fields.
func exportable(obj fluxObject) (map[string]any, error) {
	m, err := toMap(kube.NewScheme(), obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return m, nil
}

// createObject prints the object (--export) or applies it and waits until Ready,
// showing progress. It returns the object as last read.
func createObject(ctx context.Context, s streams, f *createFlags, k *kind, obj fluxObject) (fluxObject, error) {
	m, err := exportable(obj)
	if err != nil {
		return nil, err
	}
	if f.export {
		fmt.Fprintln(s.out, "---")
		return nil, writeDoc(s.out, outputYAML, m)
	}
	p := newProgress(s, false)
	p.generating("generating %s", k.Kind)
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	// The request token makes the wait end on the controller's first attempt at this
	// spec, success or failure, instead of waiting out a failure it retries.
	token := requestToken()
	md, _ := m["metadata"].(map[string]any)
	md["annotations"] = map[string]any{meta.ReconcileRequestAnnotation: token}
	p.applying("applying %s", k.Kind)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(&unstructured.Unstructured{Object: m}),
		client.FieldOwner(cliFieldManager), client.ForceOwnership); err != nil {
		if isNoMatch(err) {
			return nil, fmt.Errorf("the cluster does not serve %s (run `tugboat install` first): %w", k.Kind, err)
		}
		return nil, fmt.Errorf("failed to apply %s '%s/%s': %w", k.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	p.success("%s '%s/%s' applied", k.Kind, obj.GetNamespace(), obj.GetName())
	p.waiting("waiting for %s reconciliation", k.Kind)
	last, err := waitObject(ctx, c, k, obj.GetNamespace(), obj.GetName(), f.timeout, handled(k, token))
	if err != nil {
		return last, err
	}
	p.success("%s '%s/%s' is ready", k.Kind, obj.GetNamespace(), obj.GetName())
	return last, nil
}
