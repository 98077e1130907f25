package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/tugboatcd/tugboat/internal/deploy"
	"github.com/tugboatcd/tugboat/internal/health"
)

// rolloutProgress shows a rollout as it goes. On a terminal one live line on stderr is
// rewritten in place (updated/ready/available of desired, elapsed); otherwise each new
// kubectl rollout-status message is one plain line on stdout, as `kubectl rollout
// status` prints them; with -o json nothing but warnings.
type rolloutProgress struct {
	tty, quiet  bool
	out, errOut io.Writer
	live        bool   // a live line is on the terminal
	last        string // the last plain line printed
}

func newRolloutProgress(s streams, quiet bool) *rolloutProgress {
	return &rolloutProgress{tty: interactive(s.errOut) && interactive(s.out) && !quiet, quiet: quiet, out: s.out, errOut: s.errOut}
}

// event shows one deploy event.
func (p *rolloutProgress) event(w deploy.Workload, e deploy.Event) {
	switch e.Phase {
	case deploy.PhaseWarning:
		p.clear()
		fmt.Fprintf(p.errOut, "warning: %s\n", e.Message)
	case deploy.PhaseUpdated:
		if !p.quiet {
			fmt.Fprintln(p.out, e.Message)
			for _, c := range e.Changes {
				fmt.Fprintf(p.out, "  %s: %s -> %s\n", c.Container, c.ImageBefore, c.ImageAfter)
			}
		}
	case deploy.PhaseRollout, deploy.PhaseRollback:
		if e.Status.Message == "" {
			// The start of a rollback says why, on stderr.
			if !p.quiet {
				p.clear()
				fmt.Fprintf(p.errOut, "%s\n", e.Message)
			}
			return
		}
		p.status(w, e.Phase, e.Status, e.Elapsed)
	}
}

// status shows one reading of the rollout.
func (p *rolloutProgress) status(w deploy.Workload, phase deploy.Phase, st health.RolloutStatus, elapsed time.Duration) {
	switch {
	case p.quiet:
	case p.tty:
		verb := "rolling out"
		if phase == deploy.PhaseRollback {
			verb = "rolling back"
		}
		fmt.Fprintf(p.errOut, "\r\033[K%s %s: updated %d/%d, ready %d/%d, available %d/%d (%s)",
			w, verb, st.Updated, st.Desired, st.Ready, st.Desired, st.Available, st.Desired, elapsed.Round(time.Second))
		p.live = true
		if st.Done {
			p.clear()
			if phase == deploy.PhaseRollback {
				fmt.Fprintln(p.out, "rollback: "+st.Message)
				return
			}
			fmt.Fprintln(p.out, st.Message)
		}
	case st.Message != p.last:
		p.last = st.Message
		if phase == deploy.PhaseRollback {
			fmt.Fprintln(p.out, "rollback: "+st.Message)
			return
		}
		fmt.Fprintln(p.out, st.Message)
	}
}

// clear ends the live line so that the next output starts on a line of its own.
func (p *rolloutProgress) clear() {
	if p.live {
		fmt.Fprint(p.errOut, "\r\033[K")
		p.live = false
	}
}

// finish leaves the terminal clean after the wait.
func (p *rolloutProgress) finish() { p.clear() }
