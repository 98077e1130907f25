package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

type reconcileFlags struct {
	timeout    time.Duration
	withSource bool
}

func newReconcileCommand(s streams) *cobra.Command {
	f := &reconcileFlags{}
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Reconcile a source, kustomization or receiver now and show the outcome",
		Long: `Asks the controller to reconcile an object now (the reconcile.fluxcd.io/requestedAt
annotation, as flux reconcile and webhooks set it), waits until the controller has handled
that request, and prints the revision, or the failure with exit code 1.`,
		Args: cobra.NoArgs,
		RunE: unknownKind("reconcile", "source git, kustomization, receiver"),
	}
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for the outcome")
	source := &cobra.Command{Use: "source", Short: "Reconcile a source", Args: cobra.NoArgs, RunE: unknownKind("reconcile source", "git")}
	source.AddCommand(&cobra.Command{
		Use:               "git NAME",
		Short:             "Fetch a GitRepository now",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(s, gitRepositoryKind),
		RunE: func(cmd *cobra.Command, args []string) error {
			return reconcileNamed(cmd.Context(), s, f, gitRepositoryKind, args[0])
		},
	})
	ks := &cobra.Command{
		Use:               "kustomization NAME",
		Aliases:           []string{"ks"},
		Short:             "Apply a Kustomization now (--with-source fetches its source first)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(s, kustomizationKind),
		RunE: func(cmd *cobra.Command, args []string) error {
			return reconcileNamed(cmd.Context(), s, f, kustomizationKind, args[0])
		},
	}
	ks.Flags().BoolVar(&f.withSource, "with-source", false, "reconcile the source first")
	receiver := &cobra.Command{
		Use:               "receiver NAME",
		Short:             "Reconcile a Receiver now",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(s, receiverKind),
		RunE: func(cmd *cobra.Command, args []string) error {
			return reconcileNamed(cmd.Context(), s, f, receiverKind, args[0])
		},
	}
	cmd.AddCommand(source, ks, receiver)
	return cmd
}

func reconcileNamed(ctx context.Context, s streams, f *reconcileFlags, k *kind, name string) error {
	c, ns, obj, err := namedObject(ctx, s, k, name)
	if err != nil {
		return err
	}
	if f.withSource && k == kustomizationKind {
		ref := obj.(*kustomizev1.Kustomization).Spec.SourceRef
		sk, ok := kindByName(ref.Kind)
		if !ok || sk != gitRepositoryKind {
			return fmt.Errorf("%s '%s/%s': cannot reconcile its source of kind %q", k.Kind, ns, name, ref.Kind)
		}
		sns := ref.Namespace
		if sns == "" {
			sns = ns
		}
		if _, err := reconcileObject(ctx, s, c, f, sk, sns, ref.Name); err != nil {
			return err
		}
	}
	_, err = reconcileObject(ctx, s, c, f, k, ns, name)
	return err
}

// reconcileObject requests a reconcile of one object and waits for its outcome.
func reconcileObject(ctx context.Context, s streams, c client.Client, f *reconcileFlags, k *kind, ns, name string) (fluxObject, error) {
	obj, err := getObject(ctx, c, k, ns, name)
	if err != nil {
		return nil, err
	}
	if k.suspended(obj) {
		return nil, fmt.Errorf("%s '%s/%s' is suspended: run `tugboat resume` first", k.Kind, ns, name)
	}
	p := newProgress(s, false)
	p.applying("annotating %s '%s/%s' in %s namespace", k.Kind, name, ns, ns)
	token := requestToken()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, token)
	if err := c.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", []byte(patch)), client.FieldOwner(cliFieldManager)); err != nil {
		return nil, fmt.Errorf("failed to annotate %s '%s/%s': %w", k.Kind, ns, name, err)
	}
	p.success("%s '%s/%s' annotated", k.Kind, ns, name)
	p.waiting("waiting for %s reconciliation", k.Kind)
	last, err := waitObject(ctx, c, k, ns, name, f.timeout, handled(k, token))
	if err != nil {
		return last, err
	}
	switch k {
	case gitRepositoryKind:
		p.success("%s '%s/%s' reconciled: fetched revision %s", k.Kind, ns, name, orDash(k.revision(last)))
	case kustomizationKind:
		p.success("%s '%s/%s' reconciled: applied revision %s", k.Kind, ns, name, orDash(k.revision(last)))
	default:
		p.success("%s '%s/%s' reconciled", k.Kind, ns, name)
	}
	return last, nil
}
