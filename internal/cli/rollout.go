package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/health"
	"github.com/tugboatcd/tugboat/internal/push/deploy"
)

// newRolloutCommand is `kubectl rollout status|history|undo` for Deployments,
// StatefulSets and DaemonSets, with kubectl's semantics and messages.
func newRolloutCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Watch, list and undo workload rollouts, as kubectl rollout does",
	}
	cmd.AddCommand(newRolloutStatusCommand(s), newRolloutHistoryCommand(s), newRolloutUndoCommand(s))
	return cmd
}

// workloadArg parses the one KIND/NAME argument of a rollout verb.
func workloadArg(args []string) (deploy.Workload, error) {
	w, err := deploy.ParseWorkload(args[0])
	if err != nil {
		return w, &exitError{code: ExitUsage, err: err}
	}
	return w, nil
}

func newRolloutStatusCommand(s streams) *cobra.Command {
	var (
		watch   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status KIND/NAME",
		Short: "Wait for a rollout to finish, judged by kubectl's rollout-status rules",
		Long: `Watch the rollout of a Deployment, StatefulSet or DaemonSet until it completes,
as 'kubectl rollout status' does. Exits 1 when the rollout fails (a Deployment past its
progress deadline) or --timeout passes.`,
		Example: `  tugboat rollout status deployment/myapp --timeout 5m`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := workloadArg(args)
			if err != nil {
				return err
			}
			ns, clients, err := deployClients(s)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			p := newRolloutProgress(s, false)
			start := time.Now()
			_, err = deploy.WaitRollout(ctx, clients, ns, w, deploy.WaitOptions{
				Watch:    watch,
				Progress: func(st health.RolloutStatus) { p.status(w, deploy.PhaseRollout, st, time.Since(start)) },
			})
			p.finish()
			if err != nil {
				return errors.New(strings.TrimPrefix(err.Error(), deploy.ErrRolloutFailed.Error()+": "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "watch until the rollout ends; false prints the current status once")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait before giving up (0: forever, as kubectl)")
	return cmd
}

func newRolloutHistoryCommand(s streams) *cobra.Command {
	var revision int64
	cmd := &cobra.Command{
		Use:     "history KIND/NAME",
		Short:   "List a workload's revisions, or show one with --revision",
		Example: `  tugboat rollout history deployment/myapp --revision 3`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := workloadArg(args)
			if err != nil {
				return err
			}
			if revision < 0 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--revision must be 0 or more, not %d", revision)}
			}
			ns, clients, err := deployClients(s)
			if err != nil {
				return err
			}
			text, err := deploy.ViewHistory(cmd.Context(), clients, ns, w, revision)
			if err != nil {
				return err
			}
			withRevision := ""
			if revision > 0 {
				withRevision = fmt.Sprintf("with revision #%d", revision)
			}
			// Byte for byte what kubectl's name printer makes of the same text.
			fmt.Fprintf(s.out, "%s %s\n%s\n", w, withRevision, text)
			return nil
		},
	}
	cmd.Flags().Int64Var(&revision, "revision", 0, "show the pod template of this revision")
	return cmd
}

func newRolloutUndoCommand(s streams) *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:   "undo KIND/NAME",
		Short: "Roll a workload back to the previous revision, or to --to-revision",
		Long: `Roll back as 'kubectl rollout undo' does, with kubectl's own rollback code: the
workload's pod template is replaced by the one of the revision. It does not wait; follow
with 'tugboat rollout status'.`,
		Example: `  tugboat rollout undo deployment/myapp --to-revision 2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := workloadArg(args)
			if err != nil {
				return err
			}
			if toRevision < 0 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--to-revision must be 0 or more, not %d", toRevision)}
			}
			ns, clients, err := deployClients(s)
			if err != nil {
				return err
			}
			msg, err := deploy.Undo(cmd.Context(), clients, ns, w, toRevision)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%s %s\n", w, msg)
			return nil
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "the revision to roll back to (0: the previous one)")
	return cmd
}
