package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/config"
)

type uninstallFlags struct {
	silent, keepNamespace, dryRun bool
}

func newUninstallCommand(s streams) *cobra.Command {
	f := &uninstallFlags{}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove tugboat's controller and CRDs from a cluster",
		Long: `Removes what tugboat install applied, as flux uninstall does: the finalizers of every
Kustomization are removed first, so that the workloads they applied stay in the cluster;
then the controller, its RBAC, the agents and the store of install --observe, the CRDs
(and with them every GitRepository, Kustomization and Receiver) and the tugboat-system
namespace (kept with --keep-namespace; the store's PersistentVolumeClaim goes with it).
Asks first unless --silent; --dry-run only lists what would be deleted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !f.silent && !f.dryRun && !confirm(cmd.InOrStdin(), s.errOut, "Are you sure you want to delete tugboat and its custom resource definitions?") {
				return fmt.Errorf("uninstall cancelled")
			}
			return f.run(context.WithoutCancel(cmd.Context()), s)
		},
	}
	cmd.Flags().BoolVar(&f.silent, "silent", false, "uninstall without asking")
	cmd.Flags().BoolVar(&f.keepNamespace, "keep-namespace", false, "keep the tugboat-system namespace")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "only print what would be deleted")
	return cmd
}

func (f *uninstallFlags) run(ctx context.Context, s streams) error {
	// config/observe holds config/default: what either install applied goes.
	objs, err := installManifests(installPodSpec{}, true)
	if err != nil {
		return err
	}
	cfg, err := s.kube.restConfig()
	if err != nil {
		return err
	}
	k, err := newDynamic(cfg)
	if err != nil {
		return err
	}
	p := newProgress(s, false)
	suffix := ""
	if f.dryRun {
		suffix = " (dry run)"
	}
	// Finalizers first: with the controller gone nothing would remove them, and the
	// CRDs' deletion would hang on every Kustomization.
	c, err := s.client()
	if err != nil {
		return err
	}
	var list kustomizev1.KustomizationList
	if err := c.List(ctx, &list); err != nil && !isNoMatch(err) {
		return fmt.Errorf("failed to list Kustomizations: %w", err)
	}
	for i := range list.Items {
		ks := &list.Items[i]
		if len(ks.Finalizers) == 0 {
			continue
		}
		if !f.dryRun {
			before := ks.DeepCopy()
			ks.Finalizers = nil
			if err := c.Patch(ctx, ks, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("failed to remove the finalizers of Kustomization '%s/%s': %w", ks.Namespace, ks.Name, err)
			}
		}
		p.success("Kustomization/%s/%s finalizers removed%s", ks.Namespace, ks.Name, suffix)
	}
	slices.Reverse(objs)
	for _, o := range objs {
		if f.keepNamespace && o.GetKind() == "Namespace" {
			continue
		}
		if o.GetAnnotations()[config.OptionalAnnotation] == "true" && !k.Serves(o) {
			continue
		}
		ri, err := k.Resource(o)
		if err != nil {
			return err
		}
		opts := metav1.DeleteOptions{}
		if f.dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if err := ri.Delete(ctx, o.GetName(), opts); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return fmt.Errorf("failed to delete %s: %w", subjectOf(o), err)
		}
		p.success("%s deleted%s", subjectOf(o), suffix)
	}
	p.success("uninstall finished%s", suffix)
	return nil
}
