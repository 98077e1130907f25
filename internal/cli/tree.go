package cli

import (
	"context"
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/spf13/cobra"
	"github.com/xlab/treeprint"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// treeNode is one object of the tree in Flux's `flux tree -o json` shape.
type treeNode struct {
	Resource  object.ObjMetadata `json:"resource"`
	Resources []*treeNode        `json:"resources,omitempty"`
	// cycle marks a Kustomization already shown higher up, not expanded again.
	cycle bool
}

var kustomizationGroupKind = schema.GroupKind{Group: kustomizev1.GroupVersion.Group, Kind: kustomizev1.KustomizationKind}

func newTreeCommand(s streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "tree",
		Short: "Show what a kustomization applied, as a tree",
		Args:  cobra.NoArgs,
		RunE:  unknownKind("tree", "kustomization"),
	}
	cmd.PersistentFlags().StringVarP(&output, "output", "o", outputTable, "output format: table (a tree), yaml or json")
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
			if err := checkOutput(output, outputTable, outputYAML, outputJSON); err != nil {
				return err
			}
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
			root := &treeNode{Resource: object.ObjMetadata{Name: ks.Name, Namespace: ks.Namespace, GroupKind: kustomizationGroupKind}}
			seen := map[string]bool{ks.Namespace + "/" + ks.Name: true}
			if err := addInventory(cmd.Context(), c, root, ks, seen); err != nil {
				return err
			}
			if output != outputTable {
				return writeDoc(s.out, output, root)
			}
			tree := treeprint.NewWithRoot(subjectOfID(root.Resource))
			printTree(tree, root)
			fmt.Fprint(s.out, tree.String())
			return nil
		},
	})
	return cmd
}

// addInventory adds the inventory entries of ks under node, expanding nested
// Kustomizations (seen guards against a Kustomization that lists an ancestor).
func addInventory(ctx context.Context, c client.Client, node *treeNode, ks *kustomizev1.Kustomization, seen map[string]bool) error {
	if ks.Status.Inventory == nil {
		return nil
	}
	for _, e := range ks.Status.Inventory.Entries {
		id, err := object.ParseObjMetadata(e.ID)
		if err != nil {
			return fmt.Errorf("bad inventory entry %q in Kustomization '%s/%s': %w", e.ID, ks.Namespace, ks.Name, err)
		}
		child := &treeNode{Resource: id}
		node.Resources = append(node.Resources, child)
		if id.GroupKind != kustomizationGroupKind {
			continue
		}
		key := id.Namespace + "/" + id.Name
		if seen[key] {
			child.cycle = true
			continue
		}
		seen[key] = true
		nested := &kustomizev1.Kustomization{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: id.Namespace, Name: id.Name}, nested); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue // applied but gone since; the leaf alone says what was applied
			}
			return fmt.Errorf("failed to get Kustomization '%s': %w", key, err)
		}
		if err := addInventory(ctx, c, child, nested, seen); err != nil {
			return err
		}
	}
	return nil
}

// printTree renders the children of node under branch, Flux's way.
func printTree(branch treeprint.Tree, node *treeNode) {
	for _, child := range node.Resources {
		name := subjectOfID(child.Resource)
		switch {
		case child.cycle:
			branch.AddNode(name + " (cycle)")
		case len(child.Resources) > 0:
			printTree(branch.AddBranch(name), child)
		default:
			branch.AddNode(name)
		}
	}
}

// subjectOfID names an inventory entry Kind/namespace/name, or Kind/name.
func subjectOfID(id object.ObjMetadata) string {
	if id.Namespace == "" {
		return id.GroupKind.Kind + "/" + id.Name
	}
	return id.GroupKind.Kind + "/" + id.Namespace + "/" + id.Name
}
