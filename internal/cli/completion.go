package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

// completeNames completes the NAME argument of a verb with the names of the objects of
// kind k in the namespace the kubectl flags select; cobra's own `completion` command
// generates the shell scripts that call it.
func completeNames(s streams, k *kind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := s.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ns, err := s.kube.namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		objs, err := listObjects(ctx, c, k, ns, false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []cobra.Completion
		for _, o := range objs {
			names = append(names, o.GetName())
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
