package build

import (
	"errors"
	"strings"
	"testing"

	"github.com/tugboatcd/tugboat/api/meta"
)

// kyaml's reader expands aliases recursively with no cycle check: a manifest whose
// anchor holds an alias to itself overflowed the stack (a fatal error no recover
// catches) until the alias weighing of checkManifest ran before kustomize. This pins
// that the weighing refuses the cycle; FuzzBuildManifests found it.
func TestBuildRefusesAnAliasToItsOwnAnchor(t *testing.T) {
	tests := map[string]struct {
		manifest string
		refused  bool
	}{
		"an anchor that contains an alias to itself is refused, not a stack overflow": {
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: &d {x: *d}\n", refused: true,
		},
		"a list that contains itself is refused": {
			manifest: "a: &a [*a]\n", refused: true,
		},
		"ordinary aliases still build": {
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {app: a}, annotations: *l}\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Build(bytesOf(map[string]string{"app/objects.yaml": tc.manifest}), nil, Input{Path: "app"})
			if !tc.refused {
				if err != nil {
					t.Fatal(err)
				}
				if got := res.Objects[0].GetAnnotations()["app"]; got != "a" {
					t.Fatalf("the alias was not expanded: annotations %v", res.Objects[0].GetAnnotations())
				}
				return
			}
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("Build = %v, want an *Error", err)
			}
			if be.Reason != meta.LimitExceededReason || !strings.Contains(be.Message, "app/objects.yaml") || !strings.Contains(be.Message, "aliases") {
				t.Fatalf("Build failed with %s: %s\nwant %s naming app/objects.yaml and its aliases", be.Reason, be.Message, meta.LimitExceededReason)
			}
		})
	}
}
