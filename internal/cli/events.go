package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// fluxGroups are the API groups of the kinds tugboat reconciles; `tugboat events`
// shows the events of their objects.
var fluxGroups = []string{"source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io"}

type eventsFlags struct {
	forObject     string
	allNamespaces bool
	watch         bool
}

func newEventsCommand(s streams) *cobra.Command {
	f := &eventsFlags{}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the events of sources, kustomizations and receivers",
		Long: `Lists the events.k8s.io events about tugboat's (Flux's) objects, oldest first, as
kubectl events does: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE. --for narrows them to one
object (Kind/NAME); --watch keeps printing new ones.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd.Context(), s)
		},
	}
	cmd.Flags().StringVar(&f.forObject, "for", "", "only the events of this object: Kind/NAME (e.g. Kustomization/podinfo)")
	cmd.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "events of every namespace")
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "after listing, print new events as they come")
	return cmd
}

func (f *eventsFlags) run(ctx context.Context, s streams) error {
	var forKind *kind
	var forName string
	if f.forObject != "" {
		k, n, ok := strings.Cut(f.forObject, "/")
		kd, known := kindByName(k)
		if !ok || n == "" || !known {
			return usageErrorf("--for %q must be Kind/NAME with a kind of %s", f.forObject, kindNames())
		}
		forKind, forName = kd, n
	}
	cfg, err := s.kube.restConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create a client for the cluster: %w", err)
	}
	ns := ""
	if !f.allNamespaces {
		if ns, err = s.kube.namespace(); err != nil {
			return err
		}
	}
	// Filtered here rather than with a field selector: which regarding.* fields the
	// apiserver can select on differs between versions, and the list is small.
	keep := func(e eventsv1.Event) bool {
		return isFluxEvent(e) && (forKind == nil || e.Regarding.Kind == forKind.Kind && e.Regarding.Name == forName)
	}
	opts := metav1.ListOptions{}
	list, err := cs.EventsV1().Events(ns).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("failed to list events: %w", err)
	}
	events := slices.DeleteFunc(list.Items, func(e eventsv1.Event) bool { return !keep(e) })
	sortEvents(events)
	t := newTable(s.out)
	if len(events) == 0 && !f.watch {
		fmt.Fprintf(s.errOut, "no events found in %s\n", namespaceText(ns, f.allNamespaces))
		return nil
	}
	printEventHeader(t, f.allNamespaces)
	now := time.Now()
	for _, e := range events {
		printEvent(t, e, f.allNamespaces, now)
	}
	if err := t.flush(); err != nil || !f.watch {
		return err
	}
	opts.ResourceVersion = list.ResourceVersion
	w, err := cs.EventsV1().Events(ns).Watch(ctx, opts)
	if err != nil {
		return fmt.Errorf("failed to watch events: %w", err)
	}
	defer w.Stop()
	return watchEvents(ctx, s.out, w, f.allNamespaces, keep)
}

func watchEvents(ctx context.Context, out io.Writer, w watch.Interface, allNamespaces bool, keep func(eventsv1.Event) bool) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			e, isEvent := ev.Object.(*eventsv1.Event)
			if !isEvent || ev.Type == watch.Deleted || !keep(*e) {
				continue
			}
			t := newTable(out)
			printEvent(t, *e, allNamespaces, time.Now())
			if err := t.flush(); err != nil {
				return err
			}
		}
	}
}

func isFluxEvent(e eventsv1.Event) bool {
	group, _, _ := strings.Cut(e.Regarding.APIVersion, "/")
	return slices.Contains(fluxGroups, group)
}

// lastSeen is when an event last happened: its series' last observation, its time, or
// the core/v1 timestamps of events written by older clients.
func lastSeen(e eventsv1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

func sortEvents(events []eventsv1.Event) {
	slices.SortStableFunc(events, func(a, b eventsv1.Event) int { return lastSeen(a).Compare(lastSeen(b)) })
}

func printEventHeader(t *tabwriterFlusher, allNamespaces bool) {
	if allNamespaces {
		t.row("NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
		return
	}
	t.row("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
}

func printEvent(t *tabwriterFlusher, e eventsv1.Event, allNamespaces bool, now time.Time) {
	row := []string{}
	if allNamespaces {
		row = append(row, e.Namespace)
	}
	seen := age(metav1.Time{Time: lastSeen(e)}, now)
	row = append(row, seen, e.Type, e.Reason, e.Regarding.Kind+"/"+e.Regarding.Name, oneLine(e.Note))
	t.row(row...)
}
