package app

import (
	"context"
	"errors"

	"k8s.io/client-go/rest"

	"github.com/tugboatcd/tugboat/internal/observe/collect"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// AgentOptions configure the agent process (`tugboat agent`).
type AgentOptions struct {
	// Collect chooses and configures the collectors.
	Collect collect.Options
	// DataDir holds the embedded DuckDB store, unless ClickHouseDSN names a server.
	DataDir       string
	ClickHouseDSN string
}

// Agent is the agent process: the collectors and the store they fill.
type Agent struct {
	Options AgentOptions
	counter collect.Counter
}

// Run opens the store, runs the collectors into it until ctx ends and closes the
// store. Closing flushes its batches: what the collectors flushed on their way out is
// stored when Run returns.
func (a *Agent) Run(ctx context.Context, cfg *rest.Config) error {
	if err := a.Options.Collect.Validate(); err != nil {
		return err
	}
	st, err := openAgentStore(ctx, a.Options)
	if err != nil {
		return err
	}
	a.counter.Appender = st
	runErr := collect.Run(ctx, cfg, &a.counter, a.Options.Collect)
	return errors.Join(runErr, st.Close())
}

// Counts returns the rows stored so far per table, for progress.
func (a *Agent) Counts() map[string]int { return a.counter.Counts() }

// agentStore is what the agent writes to and closes.
type agentStore interface {
	store.Appender
	Close() error
}

func openAgentStore(ctx context.Context, o AgentOptions) (agentStore, error) {
	if o.ClickHouseDSN != "" {
		return store.OpenClickHouse(ctx, o.ClickHouseDSN, store.Options{})
	}
	return store.OpenDuckDB(ctx, o.DataDir, store.Options{})
}
