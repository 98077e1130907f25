package collect

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// Collectors `tugboat agent --collect` accepts.
const (
	CollectLogs      = "logs"
	CollectMetrics   = "metrics"
	CollectEvents    = "events"
	CollectInventory = "inventory"
	CollectDelivery  = "delivery"
)

// AllCollectors lists every collector, in the order of --collect's help.
var AllCollectors = []string{CollectLogs, CollectMetrics, CollectEvents, CollectInventory, CollectDelivery}

// Options configure the agent; the CLI resolves them from flags.
type Options struct {
	// Node selects node mode: logs from LogDir, metrics and inventory of this node only.
	// Empty runs out of cluster: logs through the API, every node.
	Node string
	// LogDir is the kubelet's pod log directory (node mode).
	LogDir string
	// StateDir holds the checkpoints (logs, events).
	StateDir string
	// Interval is the metrics scrape interval; InventoryInterval the snapshot interval.
	Interval, InventoryInterval time.Duration
	// Collect names the collectors to run.
	Collect []string
	// ClusterName fills the ClusterName columns.
	ClusterName string
	// EventTypes and EventReasons filter KubeEvents (empty: all).
	EventTypes, EventReasons []string
	// BufferBytes bounds, per table, the rows held while the store cannot
	// take them (default DefaultBufferBytes); past it the oldest are dropped
	// and counted. Node-mode logs are not held: the log files are their buffer.
	BufferBytes int64
	// AppendTimeout bounds one append to the store (default DefaultAppendTimeout).
	AppendTimeout time.Duration
	// MaxMessageBytes caps one log message (default DefaultMaxMessageBytes);
	// a longer one is stored cut and flagged.
	MaxMessageBytes int
	// Metrics, if set, receives the agent's own metrics (rows dropped, bytes held).
	Metrics prometheus.Registerer
	// Spool, if set, is called with the spool the collectors write through,
	// for progress (rows dropped).
	Spool func(*Spool)
}

// Bounds of the options an operator may set; past them a value is refused
// as a mistake rather than taken.
const (
	minBufferBytes   = 1 << 20
	maxBufferBytes   = 16 << 30
	maxAppendTimeout = time.Hour
	minMessageBytes  = 1 << 10
	maxMessageBytes  = 64 << 20
)

// Validate reports the first bad option.
func (o Options) Validate() error {
	if len(o.Collect) == 0 {
		return fmt.Errorf("--collect names no collector; choose from %s", strings.Join(AllCollectors, ","))
	}
	for _, c := range o.Collect {
		if !slices.Contains(AllCollectors, c) {
			return fmt.Errorf("unknown collector %q in --collect; choose from %s", c, strings.Join(AllCollectors, ","))
		}
	}
	if o.Interval <= 0 || o.InventoryInterval <= 0 {
		return fmt.Errorf("intervals must be positive (got --interval %s, --inventory-interval %s)", o.Interval, o.InventoryInterval)
	}
	if o.Node != "" && slices.Contains(o.Collect, CollectLogs) && o.LogDir == "" {
		return fmt.Errorf("node mode collects logs from --log-dir, which is empty")
	}
	if o.BufferBytes != 0 && (o.BufferBytes < minBufferBytes || o.BufferBytes > maxBufferBytes) {
		return fmt.Errorf("--buffer-bytes %d is out of range: give between %s and %s per table", o.BufferBytes, bytesText(minBufferBytes), bytesText(maxBufferBytes))
	}
	if o.AppendTimeout < 0 || o.AppendTimeout > maxAppendTimeout {
		return fmt.Errorf("--append-timeout %s is out of range: give a positive duration up to %s", o.AppendTimeout, maxAppendTimeout)
	}
	if o.MaxMessageBytes != 0 && (o.MaxMessageBytes < minMessageBytes || o.MaxMessageBytes > maxMessageBytes) {
		return fmt.Errorf("--max-message-bytes %d is out of range: give between %s and %s", o.MaxMessageBytes, bytesText(minMessageBytes), bytesText(maxMessageBytes))
	}
	return nil
}

// Run starts the chosen collectors and returns when ctx ends, after every collector
// has flushed what it buffered.
func Run(ctx context.Context, cfg *rest.Config, app store.Appender, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	clients, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	want := func(c string) bool { return slices.Contains(o.Collect, c) }
	clusterID := ClusterID(ctx, clients)
	reporter := o.Node
	if reporter == "" {
		reporter = "tugboat-agent"
	}
	// Every collector but the node's log tailer (whose files are its buffer, see
	// CRITailer.Run) writes through one spool: bounded, retried with backoff, and
	// what it drops is counted.
	raw := app
	spool := NewSpool(raw, SpoolOptions{MaxBytes: o.BufferBytes, AppendTimeout: o.AppendTimeout, Metrics: o.Metrics,
		Reporter: reporter, ClusterID: clusterID, ClusterName: o.ClusterName})
	if o.Spool != nil {
		o.Spool(spool)
	}
	app = spool

	factory := informers.NewSharedInformerFactory(clients, 0)
	podFactory := factory
	if o.Node != "" {
		podFactory = informers.NewSharedInformerFactoryWithOptions(clients, 0, informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", o.Node).String()
		}))
	}
	pods := podLister{l: podFactory.Core().V1().Pods().Lister()}
	nodes := nodeLister{l: factory.Core().V1().Nodes().Lister()}
	var services = factory.Core().V1().Services().Lister()

	factories := []informers.SharedInformerFactory{factory}
	if podFactory != factory {
		factories = append(factories, podFactory)
	}
	var runners []func(context.Context) error
	if want(CollectLogs) {
		if o.Node != "" {
			t := NewCRITailer(CRITailerOptions{Dir: o.LogDir, Node: o.Node, Checkpoint: o.state("logs.json"), Pods: pods,
				AppendTimeout: o.AppendTimeout, MaxMessageBytes: o.MaxMessageBytes}, raw)
			runners = append(runners, t.Run)
		} else {
			c := &APILogsCollector{Clients: clients, Pods: pods, Checkpoint: o.state("apilogs.json"), App: app, MaxMessageBytes: o.MaxMessageBytes}
			runners = append(runners, c.Run)
		}
	}
	if want(CollectMetrics) {
		m := &MetricsCollector{Clients: clients, ClusterID: clusterID, Node: o.Node, Interval: o.Interval, Pods: pods, Nodes: nodes, App: app}
		runners = append(runners, m.Run)
	}
	if want(CollectInventory) {
		inv := &InventoryCollector{ClusterID: clusterID, ClusterName: o.ClusterName, Node: o.Node, Interval: o.InventoryInterval,
			Pods: pods, Nodes: nodes, Services: services, App: app}
		runners = append(runners, inv.Run)
	}
	if want(CollectEvents) || want(CollectDelivery) {
		ev := &EventsCollector{ClusterID: clusterID, ClusterName: o.ClusterName, Types: o.EventTypes, Reasons: o.EventReasons,
			Checkpoint: o.state("events.json"), App: app}
		if !want(CollectEvents) {
			ev.App = discardAppender{}
		}
		if want(CollectDelivery) {
			d := &DeliveryCollector{App: app, Checkpoint: o.state("delivery.json")}
			if err := d.Load(); err != nil {
				return err
			}
			ev.Also = d.Observe
			records := informers.NewSharedInformerFactoryWithOptions(clients, 0, informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
				lo.LabelSelector = deployrecord.Label + "=true"
			}))
			if _, err := records.Core().V1().ConfigMaps().Informer().AddEventHandler(d.RecordHandler()); err != nil {
				return fmt.Errorf("failed to watch deploy records: %w", err)
			}
			factories = append(factories, records)
			runners = append(runners, d.Run)
		}
		if err := ev.Load(); err != nil {
			return err
		}
		if _, err := factory.Events().V1().Events().Informer().AddEventHandler(ev.Handler()); err != nil {
			return fmt.Errorf("failed to watch events: %w", err)
		}
		runners = append(runners, ev.Run)
	}
	// Touch the informers the collectors read so that the factories start them.
	podFactory.Core().V1().Pods().Informer()
	factory.Core().V1().Nodes().Informer()
	factory.Core().V1().Services().Informer()

	informerCtx, stopInformers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopInformers()
	for _, f := range factories {
		f.Start(informerCtx.Done())
	}
	for _, f := range factories {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return fmt.Errorf("failed to sync the %v cache: %w", typ, ctx.Err())
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range runners {
		g.Go(func() error { return r(gctx) })
	}
	err = g.Wait()
	// The collectors' last appends may have met the spool's backoff: try once more.
	return errors.Join(err, spool.Flush(context.WithoutCancel(ctx)))
}

func (o Options) state(name string) string {
	if o.StateDir == "" {
		return ""
	}
	return filepath.Join(o.StateDir, name)
}

// ClusterID identifies the cluster in ClusterId and InstanceName columns: the UID of
// the kube-system namespace, which lives as long as the cluster; empty when it cannot
// be read.
func ClusterID(ctx context.Context, clients kubernetes.Interface) string {
	ns, err := clients.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return string(ns.UID)
}

type discardAppender struct{}

func (discardAppender) Append(context.Context, string, [][]any) error { return nil }

// Counter wraps an Appender and counts the rows stored per table, for progress.
type Counter struct {
	store.Appender
	mu   sync.Mutex
	rows map[string]int
}

// Append appends and counts.
func (c *Counter) Append(ctx context.Context, table string, rows [][]any) error {
	if err := c.Appender.Append(ctx, table, rows); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows == nil {
		c.rows = map[string]int{}
	}
	c.rows[table] += len(rows)
	return nil
}

// Counts returns the rows stored so far per table.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.rows))
	for k, v := range c.rows {
		out[k] = v
	}
	return out
}
