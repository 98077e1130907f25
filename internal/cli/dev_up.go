package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

func newDevUpCommand(s streams, f *devFlags) *cobra.Command {
	var nodes int
	var kwokOnly, realNode, noController bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the local cluster, or do nothing if it runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			if kwokOnly && realNode {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--kwok-only and --real-node exclude each other")}
			}
			switch {
			case kwokOnly:
				o.RealNode = dev.RealNodeOff
			case realNode:
				o.RealNode = dev.RealNodeRequired
			}
			o.Nodes = nodes
			o.ServeArgs = append(o.ServeArgs, "--nodes", strconv.Itoa(nodes))
			if noController {
				o.ServeArgs = append(o.ServeArgs, dev.NoControllerArg)
			}
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
	cmd.Flags().BoolVar(&kwokOnly, "kwok-only", false, "no real node: pods run on kwok's fake nodes only (by default a real node is added where this machine allows it)")
	cmd.Flags().BoolVar(&noController, "no-controller", false,
		"run no GitOps controller in the supervisor (it still installs the CRDs): leave the cluster to the controller of `tugboat install` or `tugboat controller`")
	cmd.Flags().BoolVar(&realNode, "real-node", false, "fail, saying what is missing, unless the real node (containerd and a kubelet) can run here")
	return cmd
}
