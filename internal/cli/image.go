package cli

import "github.com/spf13/cobra"

func newImageCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build and push OCI images without a Docker daemon",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newImagePublishCommand(s))
	return cmd
}
