package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/build"
	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/gitops/diff"
	"github.com/tugboatcd/tugboat/internal/kube"
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
	k, err := kube.NewDynamic(cfg)
	if err != nil {
		return err
	}
	color := interactive(s.out)
	changed, err := diff.Kustomization(ctx, k, ks, res.Objects, func(c diff.Change) {
		fmt.Fprintf(s.out, "► %s %s\n%s", c.Subject, c.Action, colorize(c.Diff, color))
	})
	if err != nil {
		return err
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
