package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/localdev/dev"
	"github.com/tugboatcd/tugboat/internal/observe/collect"
	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// The dev store's files, under the dev cluster's data directory.
const (
	devStoreDir       = "store"
	devQueryTokenFile = "query-token"
)

// Intervals of the dev store's collectors: shorter than the agent's defaults (30 s, 1
// min) so that a container started a moment ago has its CPU and memory in Perf by the
// time someone looks; one node's worth of rows is small either way.
const (
	devMetricsInterval   = 10 * time.Second
	devInventoryInterval = 30 * time.Second
)

// devStore is the dev cluster's store as the supervisor runs it.
type devStore struct {
	endpoints dev.StoreEndpoints
	// stopped receives the error of the store's parts once they have all stopped
	// and the store is closed.
	stopped <-chan error
}

// startDevStore runs what `tugboat agent` runs, in the supervisor, into a DuckDB file
// under the dev cluster's data directory: the collectors (in node mode on the real
// node, where the containers run: their log files, metrics and inventory, plus events
// and the delivery history; without one, events, delivery and kwok's inventory), the
// OTLP/HTTP receiver on loopback, and the HTTP query API over the same store, since
// DuckDB lets no other process open a file one holds. The query API admits one bearer
// token, written beside the cluster's admin kubeconfig and as readable: whoever may
// read one may read the other. Everything stops when ctx ends.
func startDevStore(ctx context.Context, env dev.Env) (*devStore, error) {
	dir := filepath.Join(env.DataDir, devStoreDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the dev store's directory: %w", err)
	}
	tokenFile := filepath.Join(dir, devQueryTokenFile)
	token, err := devQueryToken(tokenFile)
	if err != nil {
		return nil, err
	}
	co := collect.Options{StateDir: filepath.Join(dir, "agent"), Interval: devMetricsInterval, InventoryInterval: devInventoryInterval,
		Collect: []string{collect.CollectInventory, collect.CollectEvents, collect.CollectDelivery}, ClusterName: "tugboat-dev"}
	if env.RealNode != "" {
		co.Node, co.LogDir = env.RealNode, "/var/log/pods"
		co.Collect = append(co.Collect, collect.CollectLogs, collect.CollectMetrics)
	}
	if err := co.Validate(); err != nil {
		return nil, err
	}
	st, err := store.OpenDuckDB(ctx, dir, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("failed to open the dev store in %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	fail := func(err error) (*devStore, error) {
		cancel()
		return nil, errors.Join(err, st.Close())
	}
	log := klog.FromContext(ctx)
	// The receiver the agent runs (internal/observe/otlp), on loopback: the controllers
	// in this process and the apps of this machine send to it.
	r := otlp.New(st, otlp.Options{GRPCAddr: "-", HTTPAddr: "127.0.0.1:0", Log: log.WithName("otlp")})
	if err := r.Listen(); err != nil {
		return fail(err)
	}
	waitOTLP := serveOTLP(ctx, cancel, r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return fail(errors.Join(fmt.Errorf("failed to listen for the dev store's query API: %w", err), waitOTLP()))
	}
	api := &queryapi.Server{Store: st, Auth: queryapi.TokenAuth{Token: token}}
	queryDone := make(chan error, 1)
	go func() {
		err := api.Serve(ctx, ln)
		if err != nil {
			cancel()
		}
		queryDone <- err
	}()
	collectDone := make(chan error, 1)
	go func() {
		err := collect.Run(ctx, env.Config, st, co)
		if err != nil && ctx.Err() == nil {
			log.Error(err, "the dev store's collectors stopped")
			cancel()
		}
		collectDone <- err
	}()
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		err := errors.Join(<-collectDone, <-queryDone, waitOTLP())
		stopped <- errors.Join(err, st.Close())
	}()
	return &devStore{
		endpoints: dev.StoreEndpoints{Query: "http://" + ln.Addr().String(), TokenFile: tokenFile, OTLP: "http://" + r.HTTPAddr().String()},
		stopped:   stopped,
	}, nil
}

// devQueryToken returns the query API's token, kept in path (owner-only) across
// restarts so that a script holding the file keeps working; a new one is made
// when there is none.
func devQueryToken(path string) (string, error) {
	if data, err := os.ReadFile(path); err == nil && len(data) >= 32 {
		return string(data), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to make the dev store's query token: %w", err)
	}
	token := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		return "", fmt.Errorf("failed to write the dev store's query token: %w", err)
	}
	return token, nil
}
