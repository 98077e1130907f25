package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tugboatcd/tugboat/internal/health"
	"github.com/tugboatcd/tugboat/internal/push/deploy"
)

// rolloutProgress shows a rollout as it goes. On a terminal one live line on stderr is
// rewritten in place (desired, updated, ready, available, elapsed), also every second
// between events so that a stuck rollout visibly waits; otherwise each new kubectl
// rollout-status message is one plain line on stdout, as `kubectl rollout status`
// prints them; with -o json nothing but warnings.
type rolloutProgress struct {
	tty, quiet  bool
	out, errOut io.Writer

	mu      sync.Mutex
	live    bool   // a live line is on the terminal
	last    string // the last plain line printed
	line    func(elapsed time.Duration) string
	started time.Time
	stop    chan struct{}
}

func newRolloutProgress(s streams, quiet bool) *rolloutProgress {
	p := &rolloutProgress{tty: interactive(s.errOut) && interactive(s.out) && !quiet, quiet: quiet, out: s.out, errOut: s.errOut}
	if p.tty {
		p.started = time.Now()
		p.stop = make(chan struct{})
		go p.tick()
	}
	return p
}

// tick redraws the live line every second until finish.
func (p *rolloutProgress) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.live && p.line != nil {
				fmt.Fprint(p.errOut, "\r\033[K"+p.line(time.Since(p.started)))
			}
			p.mu.Unlock()
		}
	}
}

// event shows one deploy event.
func (p *rolloutProgress) event(w deploy.Workload, e deploy.Event) {
	switch e.Phase {
	case deploy.PhaseWarning:
		p.mu.Lock()
		p.clear()
		fmt.Fprintf(p.errOut, "warning: %s\n", e.Message)
		p.mu.Unlock()
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
				p.mu.Lock()
				p.clear()
				fmt.Fprintf(p.errOut, "%s\n", e.Message)
				p.mu.Unlock()
			}
			return
		}
		p.status(w, e.Phase, e.Status, e.Elapsed)
	}
}

// status shows one reading of the rollout.
func (p *rolloutProgress) status(w deploy.Workload, phase deploy.Phase, st health.RolloutStatus, elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prefix := ""
	if phase == deploy.PhaseRollback {
		prefix = "rollback: "
	}
	switch {
	case p.quiet:
	case p.tty:
		verb := "rolling out"
		if phase == deploy.PhaseRollback {
			verb = "rolling back"
		}
		p.line = func(elapsed time.Duration) string {
			return fmt.Sprintf("%s %s: %d desired, %d updated, %d ready, %d available (%s)",
				w, verb, st.Desired, st.Updated, st.Ready, st.Available, elapsed.Round(time.Second))
		}
		fmt.Fprint(p.errOut, "\r\033[K"+p.line(elapsed))
		p.live = true
		if st.Done {
			p.clear()
			fmt.Fprintln(p.out, prefix+st.Message)
		}
	case st.Message != p.last:
		p.last = st.Message
		fmt.Fprintln(p.out, prefix+st.Message)
	}
}

// clear ends the live line so that the next output starts on a line of its own; the
// caller holds mu.
func (p *rolloutProgress) clear() {
	if p.live {
		fmt.Fprint(p.errOut, "\r\033[K")
		p.live = false
	}
}

// finish stops the ticker and leaves the terminal clean after the wait.
func (p *rolloutProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.clear()
}
