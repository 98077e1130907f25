package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

func newDevStatusCommand(s streams, f *devFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show whether the local cluster runs (exit code 3 when it does not)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			st := dev.Get(cmd.Context(), o)
			if err := printStatus(s.out, f.output, st); err != nil {
				return err
			}
			if !st.Running {
				return &exitError{code: ExitStopped, err: errors.New("")}
			}
			return nil
		},
	}
}
