package cli

import (
	"context"
	"strings"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// TestBadInputIsNamedAndChangesNothing: every refused command says what is wrong,
// exits 2 for a usage error or 1 for a missing object, and creates nothing.
func TestBadInputIsNamedAndChangesNothing(t *testing.T) {
	ns := newNamespace(t)
	cases := map[string]struct {
		args   []string
		code   int
		stderr string
	}{
		"get of an unknown kind": {
			args: []string{"get", "helmreleases"}, code: ExitUsage, stderr: `unknown command "helmreleases" for "tugboat get"`,
		},
		"get without a kind": {
			args: []string{"get"}, code: ExitUsage, stderr: "`tugboat get` needs a kind: one of sources git, kustomizations, receivers, all",
		},
		"get of an unknown source kind": {
			args: []string{"get", "sources", "oci"}, code: ExitUsage, stderr: `unknown command "oci" for "tugboat get sources"`,
		},
		"get with an unknown output format": {
			args: []string{"get", "kustomizations", "-o", "xml"}, code: ExitUsage, stderr: `--output must be table, yaml, json, not "xml"`,
		},
		"get of a missing object": {
			args: []string{"get", "kustomizations", "nope"}, code: ExitError, stderr: "Kustomization '" + ns + "/nope' not found",
		},
		"reconcile of a missing object": {
			args: []string{"reconcile", "source", "git", "nope"}, code: ExitError, stderr: "GitRepository '" + ns + "/nope' not found",
		},
		"suspend of a missing object": {
			args: []string{"suspend", "kustomization", "nope"}, code: ExitError, stderr: "Kustomization '" + ns + "/nope' not found",
		},
		"delete of a missing object": {
			args: []string{"delete", "receiver", "nope", "--silent"}, code: ExitError, stderr: "Receiver '" + ns + "/nope' not found",
		},
		"tree of a missing object": {
			args: []string{"tree", "kustomization", "nope"}, code: ExitError, stderr: "Kustomization '" + ns + "/nope' not found",
		},
		"reconcile without a name": {
			args: []string{"reconcile", "kustomization"}, code: ExitUsage, stderr: "accepts 1 arg(s), received 0",
		},
		"create source git with an ftp URL": {
			args: []string{"create", "source", "git", "x", "--url", "ftp://example.com/repo"}, code: ExitUsage,
			stderr: `--url "ftp://example.com/repo": the scheme must be http, https or ssh, not "ftp"`,
		},
		"create source git without a URL": {
			args: []string{"create", "source", "git", "x"}, code: ExitUsage, stderr: "--url is required",
		},
		"create source git with two refs": {
			args: []string{"create", "source", "git", "x", "--url", "https://example.com/r", "--branch", "main", "--tag", "v1"}, code: ExitUsage,
			stderr: "only one of --branch, --tag, --semver and --commit may be set",
		},
		"create source git with a bad semver range": {
			args: []string{"create", "source", "git", "x", "--url", "https://example.com/r", "--semver", ">=x.y"}, code: ExitUsage,
			stderr: `--semver ">=x.y" is not a semver range`,
		},
		"create source git with a bad interval": {
			args: []string{"create", "source", "git", "x", "--url", "https://example.com/r", "--interval", "soon"}, code: ExitUsage,
			stderr: `invalid argument "soon" for "--interval" flag`,
		},
		"create source git with an invalid name": {
			args: []string{"create", "source", "git", "Bad_Name", "--url", "https://example.com/r"}, code: ExitUsage,
			stderr: `invalid name "Bad_Name"`,
		},
		"create kustomization from a source kind tugboat does not serve": {
			args: []string{"create", "kustomization", "x", "--source", "OCIRepository/y"}, code: ExitUsage,
			stderr: `--source "OCIRepository/y": the kind must be GitRepository, not "OCIRepository"`,
		},
		"create kustomization with a path leaving the source": {
			args: []string{"create", "kustomization", "x", "--source", "y", "--path", "../etc"}, code: ExitUsage,
			stderr: `--path "../etc" must not leave the source`,
		},
		"create kustomization without a source": {
			args: []string{"create", "kustomization", "x"}, code: ExitUsage, stderr: "--source is required",
		},
		"create receiver of an unknown type": {
			args: []string{"create", "receiver", "x", "--type", "svn", "--secret-ref", "s", "--resource", "GitRepository/y"}, code: ExitUsage,
			stderr: `--type must be one of generic, generic-hmac, github`,
		},
		"create receiver for an unknown kind": {
			args: []string{"create", "receiver", "x", "--type", "github", "--secret-ref", "s", "--resource", "HelmRelease/y"}, code: ExitUsage,
			stderr: `--resource "HelmRelease/y": the kind must be GitRepository or Kustomization, not "HelmRelease"`,
		},
		"events for an unknown kind": {
			args: []string{"events", "--for", "Pod/x"}, code: ExitUsage, stderr: `--for "Pod/x" must be Kind/NAME with a kind of GitRepository, Kustomization, Receiver`,
		},
		"version with yaml output": {
			args: []string{"version", "-o", "yaml"}, code: ExitUsage, stderr: `--output must be table, json, not "yaml"`,
		},
		"delete without --silent and no answer": {
			args: []string{"delete", "kustomization", "nope"}, code: ExitError, stderr: "not found",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := tugboat(t, ns, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q, want it to contain %q", r.stderr, tc.stderr)
			}
		})
	}
	ctx := context.Background()
	for _, list := range []client.ObjectList{&sourcev1.GitRepositoryList{}, &kustomizev1.KustomizationList{}, &notificationv1.ReceiverList{}} {
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if items := apimeta.LenList(list); items != 0 {
			t.Errorf("bad input created %d %T objects", items, list)
		}
	}
}
