package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fluxcd/cli-utils/pkg/object"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/apply"
	"github.com/tugboatcd/tugboat/internal/gitops/build"
	"github.com/tugboatcd/tugboat/internal/gitops/controller"
)

// errDifferences ends a diff that found differences: exit code 1 and, as in Flux and
// kubectl, no error line, since the diff itself is the message.
var errDifferences = errors.New("")

type diffFlags struct {
	path string
}

func newDiffCommand(s streams) *cobra.Command {
	f := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what applying local files would change in the cluster",
		Args:  cobra.NoArgs,
		RunE:  unknownKind("diff", "kustomization"),
	}
	ks := &cobra.Command{
		Use:     "kustomization NAME --path DIR",
		Aliases: []string{"ks"},
		Short:   "Diff a local directory against what a Kustomization applied",
		Long: `Builds DIR as the Kustomization's controller would (its spec's targetNamespace,
patches, images and postBuild substitution, with variables read from the cluster), asks
the apiserver for a server-side dry-run apply of every object with the controller's field
manager, and prints a unified diff of what would change (coloured on a terminal; Secret
values masked). Objects that left DIR are listed as deleted when the Kustomization prunes.

DIR is read, never written. When it is inside a Git work tree, the whole tree is read so
that the build may reach files outside DIR (../base), as in the repository.

Exit codes: 0 no differences, 1 differences (or an error, printed on stderr), 2 usage.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(s, kustomizationKind),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd.Context(), s, args[0])
		},
	}
	ks.Flags().StringVar(&f.path, "path", "", "local directory to build (required)")
	cmd.AddCommand(ks)
	return cmd
}

func (f *diffFlags) run(ctx context.Context, s streams, name string) error {
	if f.path == "" {
		return usageErrorf("--path is required: the local directory to build")
	}
	if st, err := os.Stat(f.path); err != nil || !st.IsDir() {
		return usageErrorf("--path %q is not a directory", f.path)
	}
	c, _, obj, err := namedObject(ctx, s, kustomizationKind, name)
	if err != nil {
		return err
	}
	ks := obj.(*kustomizev1.Kustomization)
	root, rel, err := buildRoot(f.path)
	if err != nil {
		return err
	}
	files, links, err := readTree(root)
	if err != nil {
		return err
	}
	vars, err := controller.PostBuildVars(ctx, c, ks)
	if err != nil {
		return err
	}
	res, err := build.Build(files, links, build.Input{Path: rel, Spec: ks.Spec, Vars: vars, Name: ks.Name, Namespace: ks.Namespace})
	if err != nil {
		return fmt.Errorf("failed to build %s: %w", f.path, err)
	}
	cfg, err := s.kube.restConfig()
	if err != nil {
		return err
	}
	dyn, err := newDynamic(cfg)
	if err != nil {
		return err
	}
	d := &differ{dyn: dyn, owner: apply.Owner{Name: ks.Name, Namespace: ks.Namespace}, color: interactive(s.out)}
	changed := false
	built := map[string]bool{}
	for _, o := range res.Objects {
		if o.GetNamespace() == "" && d.namespaced(o) {
			o.SetNamespace(ks.Namespace)
		}
		built[apply.IDOf(o)] = true
		text, err := d.diff(ctx, o)
		if err != nil {
			return err
		}
		if text != "" {
			changed = true
			fmt.Fprint(s.out, text)
		}
	}
	if ks.Spec.Prune && ks.Status.Inventory != nil {
		for _, e := range ks.Status.Inventory.Entries {
			if built[e.ID] {
				continue
			}
			id, err := object.ParseObjMetadata(e.ID)
			if err != nil {
				continue
			}
			changed = true
			subject := id.GroupKind.Kind + "/" + id.Name
			if id.Namespace != "" {
				subject = id.GroupKind.Kind + "/" + id.Namespace + "/" + id.Name
			}
			fmt.Fprintf(s.out, "► %s deleted\n", subject)
		}
	}
	if changed {
		return &exitError{code: ExitError, err: errDifferences}
	}
	if interactive(s.out) {
		fmt.Fprintln(s.errOut, "✔ no changes")
	}
	return nil
}

// buildRoot returns the directory the build reads from and DIR's path inside it: the Git
// work tree around DIR when there is one, else DIR itself.
func buildRoot(dir string) (root, rel string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("failed to resolve --path %q: %w", dir, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			r, err := filepath.Rel(d, abs)
			if err != nil {
				return "", "", err
			}
			return d, "./" + filepath.ToSlash(r), nil
		}
		if filepath.Dir(d) == d {
			return abs, "./", nil
		}
	}
}

// readTree reads every file and symbolic link under root (not .git) into the maps
// internal/gitops/build takes, the shape of a Git snapshot.
func readTree(root string) (files map[string][]byte, links map[string]string, err error) {
	files, links = map[string][]byte{}, map[string]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			links[rel] = filepath.ToSlash(target)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read %s: %w", root, err)
	}
	return files, links, nil
}

// differ compares one built object with the cluster.
type differ struct {
	dyn   *dynamicClient
	owner apply.Owner
	color bool
}

func (d *differ) namespaced(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	m, err := d.dyn.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err == nil && m.Scope.Name() == "namespace"
}

// diff returns the text for one object: nothing when the cluster already has it as
// built, "► … created" when it does not exist, else "► … drifted" and a unified diff
// between the live object and the server's dry-run apply of the built one.
func (d *differ) diff(ctx context.Context, desired *unstructured.Unstructured) (string, error) {
	// Exactly what the controller would send: owner labels, Secret stringData as data,
	// defaulted protocols, no status.
	u, err := apply.Prepare(desired, d.owner)
	if err != nil {
		return "", fmt.Errorf("%s: %w", subjectOf(desired), err)
	}
	subject := subjectOf(u)
	ri, err := d.dyn.resource(u)
	if err != nil {
		// A kind whose CRD is in the same build is not served yet: it would be created.
		return fmt.Sprintf("► %s created\n", subject), nil //nolint:nilerr // reported as a change
	}
	live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("► %s created\n", subject), nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to get %s: %w", subject, err)
	}
	merged, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: controller.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return "", fmt.Errorf("server-side dry-run apply of %s failed: %w", subject, err)
	}
	before, after := comparable(live), comparable(merged)
	if u.GetKind() == "Secret" && u.GroupVersionKind().Group == "" {
		maskSecrets(before, after)
	}
	text, err := unifiedDiff(before, after, subject)
	if err != nil || text == "" {
		return "", err
	}
	return fmt.Sprintf("► %s drifted\n%s", subject, colorize(text, d.color)), nil
}

// comparable drops what the server changes on every write, so that only content
// differences remain.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	if md, ok := c["metadata"].(map[string]any); ok {
		for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
			delete(md, f)
		}
	}
	delete(c, "status")
	return c
}
