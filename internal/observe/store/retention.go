package store

import (
	"context"
	"time"
)

// retentionLoop applies an engine's retention every interval until stop closes,
// then closes done; a negative interval disables it. Errors have nowhere better
// to go than the next attempt: the loop is best effort by nature, as a
// compaction would be.
func retentionLoop(interval time.Duration, apply func(context.Context) error, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if interval < 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_ = apply(context.Background())
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
