package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

func newDevDownCommand(s streams, f *devFlags) *cobra.Command {
	var purge bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local cluster, keeping its state unless --purge",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			wasRunning, err := dev.Down(cmd.Context(), o, purge)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return json.NewEncoder(s.out).Encode(map[string]any{"stopped": wasRunning, "purged": purge, "dataDir": o.DataDir})
			}
			switch {
			case wasRunning:
				fmt.Fprintln(s.out, "dev cluster stopped")
			default:
				fmt.Fprintln(s.out, "dev cluster was not running")
			}
			if purge {
				fmt.Fprintf(s.out, "removed %s\n", o.DataDir)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "also delete the cluster's state (etcd data, certificates)")
	return cmd
}
