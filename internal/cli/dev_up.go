package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

func newDevUpCommand(s streams, f *devFlags) *cobra.Command {
	var nodes int
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the local cluster, or do nothing if it runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			o.Nodes = nodes
			o.ServeArgs = append(o.ServeArgs, "--nodes", strconv.Itoa(nodes))
			if f.output != "json" && interactive(s.out) {
				o.Progress = s.out
			}
			st, err := dev.Up(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printStatus(s.out, f.output, st)
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 1, "number of kwok fake nodes")
	return cmd
}
