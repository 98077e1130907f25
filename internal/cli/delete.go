package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func newDeleteCommand(s streams) *cobra.Command {
	var silent bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a source, kustomization or receiver",
		Long: `Deletes an object after asking (unless --silent). Deleting a Kustomization with
spec.prune deletes what it applied, as Flux does; suspend it first to keep them.`,
		Args: cobra.NoArgs,
		RunE: unknownKind("delete", "source git, kustomization, receiver"),
	}
	cmd.PersistentFlags().BoolVar(&silent, "silent", false, "delete without asking")
	leaf := func(k *kind, use string, aliases ...string) *cobra.Command {
		return &cobra.Command{
			Use:               use,
			Aliases:           aliases,
			Short:             "Delete a " + k.Kind,
			Args:              cobra.ExactArgs(1),
			ValidArgsFunction: completeNames(s, k),
			RunE: func(cmd *cobra.Command, args []string) error {
				return deleteObject(cmd, s, k, args[0], silent)
			},
		}
	}
	source := &cobra.Command{Use: "source", Short: "Delete a source", Args: cobra.NoArgs, RunE: unknownKind("delete source", "git")}
	source.AddCommand(leaf(gitRepositoryKind, "git NAME"))
	cmd.AddCommand(source, leaf(kustomizationKind, "kustomization NAME", "ks"), leaf(receiverKind, "receiver NAME"))
	return cmd
}

func deleteObject(cmd *cobra.Command, s streams, k *kind, name string, silent bool) error {
	ctx := context.WithoutCancel(cmd.Context())
	c, ns, obj, err := namedObject(ctx, s, k, name)
	if err != nil {
		return err
	}
	if !silent && !confirm(cmd.InOrStdin(), s.errOut, fmt.Sprintf("Are you sure you want to delete %s '%s/%s'?", k.Kind, ns, name)) {
		return fmt.Errorf("deletion of %s '%s/%s' cancelled", k.Kind, ns, name)
	}
	p := newProgress(s, false)
	p.applying("deleting %s '%s/%s'", k.Kind, ns, name)
	if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete %s '%s/%s': %w", k.Kind, ns, name, err)
	}
	p.success("%s '%s/%s' deleted", k.Kind, ns, name)
	return nil
}
