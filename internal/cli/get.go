package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/internal/kube"
)

// getFlags are shared by every `tugboat get` kind.
type getFlags struct {
	allNamespaces bool
	output        string
}

func newGetCommand(s streams) *cobra.Command {
	f := &getFlags{}
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Show the status of sources, kustomizations and receivers",
		Long: `Lists tugboat's (Flux's) objects with their readiness, like flux get:
NAME, REVISION, SUSPENDED, READY, AGE and the Ready condition's MESSAGE.

  tugboat get sources git
  tugboat get kustomizations -A
  tugboat get all -o yaml`,
		Args: cobra.NoArgs,
		RunE: unknownKind("get", "sources git, kustomizations, receivers, all"),
	}
	cmd.PersistentFlags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "list objects of every namespace")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", outputTable, "output format: table, yaml or json")

	sources := &cobra.Command{
		Use:     "sources",
		Aliases: []string{"source"},
		Short:   "Show the status of sources",
		Args:    cobra.NoArgs,
		RunE:    unknownKind("get sources", "git, all"),
	}
	sourcesAll := newGetKindCommand(s, f, gitRepositoryKind, "all", "Show the status of every source (GitRepositories: the only source kind tugboat serves)")
	sourcesAll.Args = cobra.NoArgs
	sources.AddCommand(newGetKindCommand(s, f, gitRepositoryKind, "git [NAME]", "Show the status of GitRepositories"), sourcesAll)
	cmd.AddCommand(sources,
		newGetKindCommand(s, f, kustomizationKind, "kustomizations [NAME]", "Show the status of Kustomizations", "kustomization", "ks"),
		newGetKindCommand(s, f, receiverKind, "receivers [NAME]", "Show the status of Receivers", "receiver"),
		newGetAllCommand(s, f))
	return cmd
}

// unknownKind is the RunE of a command that only groups kinds: called with an argument
// that is no kind, it is a usage error naming what exists.
func unknownKind(verb, kinds string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return usageErrorf("`tugboat %s` needs a kind: one of %s", verb, kinds)
	}
}

func newGetKindCommand(s streams, f *getFlags, k *kind, use, short string, aliases ...string) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Aliases:           aliases,
		Short:             short,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeNames(s, k),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, outputTable, outputYAML, outputJSON); err != nil {
				return err
			}
			c, err := s.client()
			if err != nil {
				return err
			}
			ns, err := s.kube.namespace()
			if err != nil {
				return err
			}
			var objs []fluxObject
			if len(args) == 1 {
				obj, err := getObject(cmd.Context(), c, k, ns, args[0])
				if err != nil {
					return err
				}
				objs = []fluxObject{obj}
			} else if objs, err = listObjects(cmd.Context(), c, k, ns, f.allNamespaces); err != nil {
				return err
			}
			if f.output != outputTable {
				return printObjects(s.out, f.output, kube.NewScheme(), runtimeObjects(objs))
			}
			if len(objs) == 0 {
				fmt.Fprintf(s.errOut, "no %s objects found in %s\n", k.Kind, namespaceText(ns, f.allNamespaces))
				return nil
			}
			return printStatusTable(s.out, k, objs, f.allNamespaces, false, time.Now())
		},
	}
}

func newGetAllCommand(s streams, f *getFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "all",
		Short: "Show the status of every source, kustomization and receiver",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(f.output, outputTable, outputYAML, outputJSON); err != nil {
				return err
			}
			c, err := s.client()
			if err != nil {
				return err
			}
			ns, err := s.kube.namespace()
			if err != nil {
				return err
			}
			var all []runtime.Object
			printed := false
			for _, k := range []*kind{gitRepositoryKind, kustomizationKind, receiverKind} {
				objs, err := listObjects(cmd.Context(), c, k, ns, f.allNamespaces)
				if err != nil {
					// A cluster without the Receiver CRD (an older install) still lists the rest.
					if apimeta.IsNoMatchError(err) {
						continue
					}
					return err
				}
				if f.output != outputTable {
					all = append(all, runtimeObjects(objs)...)
					continue
				}
				if len(objs) == 0 {
					continue
				}
				if printed {
					fmt.Fprintln(s.out)
				}
				printed = true
				if err := printStatusTable(s.out, k, objs, f.allNamespaces, true, time.Now()); err != nil {
					return err
				}
			}
			if f.output != outputTable {
				return printObjects(s.out, f.output, kube.NewScheme(), all)
			}
			if !printed {
				fmt.Fprintf(s.errOut, "no objects found in %s\n", namespaceText(ns, f.allNamespaces))
			}
			return nil
		},
	}
}

func namespaceText(ns string, all bool) string {
	if all {
		return "any namespace"
	}
	return ns + " namespace"
}

// listObjects lists the objects of a kind in ns, or in every namespace, sorted.
func listObjects(ctx context.Context, c client.Client, k *kind, ns string, all bool) ([]fluxObject, error) {
	list := k.newList()
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		if apimeta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the cluster does not serve %s (run `tugboat install` first): %w", k.Kind, err)
		}
		return nil, fmt.Errorf("failed to list %s objects: %w", k.Kind, err)
	}
	objs := k.items(list)
	sortObjects(objs)
	return objs, nil
}

func runtimeObjects(objs []fluxObject) []runtime.Object {
	out := make([]runtime.Object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

// printStatusTable prints Flux's status columns. withKind prefixes names with the
// kind, as `get all` does; kinds without a revision (Receiver) have no REVISION column.
func printStatusTable(w io.Writer, k *kind, objs []fluxObject, allNamespaces, withKind bool, now time.Time) error {
	t := newTable(w)
	header := []string{}
	if allNamespaces {
		header = append(header, "NAMESPACE")
	}
	header = append(header, "NAME")
	if k.revision != nil {
		header = append(header, "REVISION")
	}
	t.row(append(header, "SUSPENDED", "READY", "AGE", "MESSAGE")...)
	for _, o := range objs {
		row := []string{}
		if allNamespaces {
			row = append(row, o.GetNamespace())
		}
		name := o.GetName()
		if withKind {
			name = strings.ToLower(k.Kind) + "/" + name
		}
		row = append(row, name)
		if k.revision != nil {
			row = append(row, orDash(k.revision(o)))
		}
		status, message := readyStatus(o)
		row = append(row, fmt.Sprint(k.suspended(o)), status, age(o.GetCreationTimestamp(), now), oneLine(message))
		t.row(row...)
	}
	return t.flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a multi-line condition message on its row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
