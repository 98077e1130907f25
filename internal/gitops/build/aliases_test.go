package build

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tugboatcd/tugboat/api/meta"
)

// laughs is a "billion laughs" document: ten levels of ten aliases each, 10^10 nodes
// once expanded, in a few hundred bytes.
func laughs() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nl0: &l0 [lol]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 10), ","))
	}
	return b.String()
}

func TestBuildRefusesHostileAliases(t *testing.T) {
	tests := map[string]struct {
		manifest string
		wantErr  string // "" builds
	}{
		"an anchor that contains an alias to itself is refused, not a stack overflow": {
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: &d {x: *d}\n",
			wantErr:  "failed to read YAML file 'app/objects.yaml': the YAML alias at line 4 refers to an anchor that contains it",
		},
		"a billion laughs is refused before it is expanded": {
			manifest: laughs(),
			wantErr:  "failed to read YAML file 'app/objects.yaml': YAML aliases expand to more than 1048576 nodes",
		},
		"ordinary aliases still build": {
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {app: a}, annotations: *l}\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Build(bytesOf(map[string]string{"app/objects.yaml": tc.manifest}), nil, Input{Path: "app"})
			if tc.wantErr == "" {
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
			if be.Reason != meta.BuildFailedReason || !strings.Contains(be.Message, tc.wantErr) {
				t.Fatalf("Build failed with %s: %s\nwant %s containing %q", be.Reason, be.Message, meta.BuildFailedReason, tc.wantErr)
			}
		})
	}
}
