package cli

import (
	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/app"
	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

// newDevServeCommand is the supervisor that `tugboat dev up` starts in the background.
// It is hidden: run in a terminal, it is a foreground dev cluster stopped by Ctrl-C.
func newDevServeCommand(s streams, f *devFlags) *cobra.Command {
	var nodes int
	var realNode, noController bool
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run the local cluster in the foreground (what `dev up` starts)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			o.Nodes = nodes
			o.RealNode = dev.RealNodeOff
			if realNode {
				o.RealNode = dev.RealNodeRequired
			}
			o.Controllers = app.StartDevControllers
			if noController {
				o.Controllers = app.PrepareDevCluster
			}
			return dev.Serve(cmd.Context(), o, s.out)
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 1, "number of kwok fake nodes")
	cmd.Flags().BoolVar(&realNode, "real-node", false, "add the real node (containerd and a kubelet)")
	cmd.Flags().BoolVar(&noController, dev.NoControllerArg[2:], false, "run no GitOps controllers in this process")
	return cmd
}
