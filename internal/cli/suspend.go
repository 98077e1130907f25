package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
)

// newSuspendCommand and newResumeCommand set and clear spec.suspend, as flux suspend and
// flux resume do. Resume then waits until the object is Ready again.
func newSuspendCommand(s streams) *cobra.Command {
	return newSuspendResumeCommand(s, true)
}

func newResumeCommand(s streams) *cobra.Command {
	return newSuspendResumeCommand(s, false)
}

func newSuspendResumeCommand(s streams, suspend bool) *cobra.Command {
	verb, short := "resume", "Resume a suspended source, kustomization or receiver and wait until it is ready"
	if suspend {
		verb, short = "suspend", "Stop reconciling a source, kustomization or receiver until it is resumed"
	}
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  unknownKind(verb, "source git, kustomization, receiver"),
	}
	if !suspend {
		cmd.PersistentFlags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the object to be ready")
	}
	leaf := func(k *kind, use string, aliases ...string) *cobra.Command {
		return &cobra.Command{
			Use:               use,
			Aliases:           aliases,
			Short:             fmt.Sprintf("%s a %s", strings.ToUpper(verb[:1])+verb[1:], k.Kind),
			Args:              cobra.ExactArgs(1),
			ValidArgsFunction: completeNames(s, k),
			RunE: func(cmd *cobra.Command, args []string) error {
				return setSuspended(cmd.Context(), s, k, args[0], suspend, timeout)
			},
		}
	}
	source := &cobra.Command{Use: "source", Short: strings.ToUpper(verb[:1]) + verb[1:] + " a source", Args: cobra.NoArgs, RunE: unknownKind(verb+" source", "git")}
	source.AddCommand(leaf(gitRepositoryKind, "git NAME"))
	cmd.AddCommand(source, leaf(kustomizationKind, "kustomization NAME", "ks"), leaf(receiverKind, "receiver NAME"))
	return cmd
}

func setSuspended(ctx context.Context, s streams, k *kind, name string, suspend bool, timeout time.Duration) error {
	c, ns, obj, err := namedObject(ctx, s, k, name)
	if err != nil {
		return err
	}
	p := newProgress(s, false)
	verb, doing, done := "resume", "resuming", "resumed"
	if suspend {
		verb, doing, done = "suspend", "suspending", "suspended"
	}
	p.applying("%s %s '%s/%s'", doing, k.Kind, ns, name)
	before := obj.DeepCopyObject().(fluxObject)
	k.setSuspended(obj, suspend)
	// Resume asks for a reconcile too, as flux resume does, and waits for its outcome.
	token := requestToken()
	if !suspend {
		annotations := obj.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[meta.ReconcileRequestAnnotation] = token
		obj.SetAnnotations(annotations)
	}
	if err := c.Patch(ctx, obj, client.MergeFrom(before), client.FieldOwner(cliFieldManager)); err != nil {
		return fmt.Errorf("failed to %s %s '%s/%s': %w", verb, k.Kind, ns, name, err)
	}
	p.success("%s '%s/%s' %s", k.Kind, ns, name, done)
	if suspend {
		return nil
	}
	p.waiting("waiting for %s reconciliation", k.Kind)
	last, err := waitObject(ctx, c, k, ns, name, timeout, handled(k, token))
	if err != nil {
		return err
	}
	if k.revision != nil {
		p.success("%s '%s/%s' reconciled: revision %s", k.Kind, ns, name, orDash(k.revision(last)))
	} else {
		p.success("%s '%s/%s' is ready", k.Kind, ns, name)
	}
	return nil
}
