package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

func newDevKubeconfigCommand(s streams, f *devFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the path of the local cluster's kubeconfig",
		Long:  "Prints the kubeconfig path, so that KUBECONFIG=$(tugboat dev kubeconfig) kubectl get nodes works.",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path := dev.KubeconfigPath(f.dataDir)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("no dev cluster in %s: run `tugboat dev up` first", f.dataDir)
			}
			fmt.Fprintln(s.out, path)
			return nil
		},
	}
}
