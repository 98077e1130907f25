package cli

import (
	"context"
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/spf13/cobra"
	"github.com/xlab/treeprint"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

func newTreeCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tree",
		Short: "Show what a kustomization applied, as a tree",
		Args:  cobra.NoArgs,
		RunE:  unknownKind("tree", "kustomization"),
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "kustomization NAME",
		Aliases: []string{"ks"},
		Short:   "Show a Kustomization's inventory as a tree, nested Kustomizations expanded",
		Long: `Prints the objects a Kustomization applied (its status.inventory) as a tree, as
flux tree kustomization does; a Kustomization among them is expanded with its own
inventory, recursively.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(s, kustomizationKind),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := s.client()
			if err != nil {
				return err
			}
			ns, err := s.kube.namespace()
			if err != nil {
				return err
			}
			obj, err := getObject(cmd.Context(), c, kustomizationKind, ns, args[0])
			if err != nil {
				return err
			}
			ks := obj.(*kustomizev1.Kustomization)
			tree := treeprint.NewWithRoot(fmt.Sprintf("%s/%s/%s", kustomizev1.KustomizationKind, ks.Namespace, ks.Name))
			seen := map[string]bool{ks.Namespace + "/" + ks.Name: true}
			if err := addInventory(cmd.Context(), c, tree, ks, seen); err != nil {
				return err
			}
			fmt.Fprint(s.out, tree.String())
			return nil
		},
	})
	return cmd
}

// addInventory adds the inventory entries of ks under branch, expanding nested
// Kustomizations (seen guards against a Kustomization that lists an ancestor).
func addInventory(ctx context.Context, c client.Client, branch treeprint.Tree, ks *kustomizev1.Kustomization, seen map[string]bool) error {
	if ks.Status.Inventory == nil {
		return nil
	}
	for _, e := range ks.Status.Inventory.Entries {
		id, err := object.ParseObjMetadata(e.ID)
		if err != nil {
			return fmt.Errorf("bad inventory entry %q in Kustomization '%s/%s': %w", e.ID, ks.Namespace, ks.Name, err)
		}
		name := id.GroupKind.Kind + "/" + id.Name
		if id.Namespace != "" {
			name = id.GroupKind.Kind + "/" + id.Namespace + "/" + id.Name
		}
		if id.GroupKind != kustomizev1.GroupVersion.WithKind(kustomizev1.KustomizationKind).GroupKind() {
			branch.AddNode(name)
			continue
		}
		key := id.Namespace + "/" + id.Name
		if seen[key] {
			branch.AddNode(name + " (cycle)")
			continue
		}
		seen[key] = true
		sub := branch.AddBranch(name)
		nested := &kustomizev1.Kustomization{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: id.Namespace, Name: id.Name}, nested); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue // applied but gone since; the leaf alone says what was applied
			}
			return fmt.Errorf("failed to get Kustomization '%s': %w", key, err)
		}
		if err := addInventory(ctx, c, sub, nested, seen); err != nil {
			return err
		}
	}
	return nil
}
