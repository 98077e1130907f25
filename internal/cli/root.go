package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitUsage   = 2
	ExitStopped = 3 // `tugboat dev status`: the dev cluster is not running
)

// exitError carries an exit code other than ExitError through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// streams are a command's standard output and error, and the root's kubectl
// connection flags for the verbs that talk to a cluster.
type streams struct {
	out, errOut io.Writer
	kube        *kubeFlags
}

// interactive reports whether w is a terminal, where progress is shown.
func interactive(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// NewRootCommand returns the tugboat command tree.
func NewRootCommand(out, errOut io.Writer) *cobra.Command {
	s := streams{out: out, errOut: errOut}
	root := &cobra.Command{
		Use:           "tugboat",
		Short:         "Continuous delivery for Kubernetes: GitOps pull, CI push, and what happened",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	s.kube = addKubeFlags(root)
	root.AddCommand(newDevCommand(s), newControllerCommand(s), newVersionCommand(s))
	root.AddCommand(newAgentCommand(s))
	root.AddCommand(newQueryCommand(s), newTraceCommand(s))
	root.AddCommand(newImageCommand(s))
	root.AddCommand(newDeployCommand(s), newRolloutCommand(s))
	root.AddCommand(newInstallCommand(s), newUninstallCommand(s), newGetCommand(s), newCreateCommand(s),
		newReconcileCommand(s), newSuspendCommand(s), newResumeCommand(s), newDeleteCommand(s),
		newDiffCommand(s), newTreeCommand(s), newEventsCommand(s))
	return root
}

// Execute runs the command tree and returns the process exit code.
func Execute(ctx context.Context, args []string, out, errOut io.Writer) int {
	root := NewRootCommand(out, errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(errOut, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(errOut, "Error:", err)
	if isUsageError(err) {
		return ExitUsage
	}
	return ExitError
}
