package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
)

// greetingTemplate is a manifest whose value is filled in by postBuild substitution.
const greetingTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
data:
  value: "${greeting:=hello} ${target:=world}"
`

func TestPostBuildSubstitutesFromConfigMapsAndSecrets(t *testing.T) {
	configMapVars := func(data map[string]string) client.Object {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vars"}, Data: data}
	}
	secretVars := func(data map[string]string) client.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret-vars"}, StringData: data}
	}
	cases := map[string]struct {
		objects   []client.Object
		postBuild string
		want      string   // the substituted value, when the build succeeds
		fragments []string // else the Ready message names these
	}{
		"a ConfigMap's keys are substituted": {
			objects:   []client.Object{configMapVars(map[string]string{"greeting": "hi"})},
			postBuild: "    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n",
			want:      "hi world",
		},
		"a Secret's keys are substituted": {
			objects:   []client.Object{secretVars(map[string]string{"target": "moon"})},
			postBuild: "    substituteFrom:\n      - kind: Secret\n        name: secret-vars\n",
			want:      "hello moon",
		},
		"later sources win and substitute wins over all": {
			objects: []client.Object{
				configMapVars(map[string]string{"greeting": "hi", "target": "there"}),
				secretVars(map[string]string{"greeting": "hey"}),
			},
			postBuild: "    substitute:\n      target: you\n    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n      - kind: Secret\n        name: secret-vars\n",
			want:      "hey you",
		},
		"a missing optional source is skipped": {
			objects:   []client.Object{secretVars(map[string]string{"target": "moon"})},
			postBuild: "    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n        optional: true\n      - kind: Secret\n        name: secret-vars\n",
			want:      "hello moon",
		},
		// Flux substitutes nothing, not even defaults, when no variable is set at all.
		"only a missing optional source substitutes nothing": {
			postBuild: "    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n        optional: true\n",
			want:      "${greeting:=hello} ${target:=world}",
		},
		"a missing source that is not optional is named": {
			postBuild: "    substituteFrom:\n      - kind: Secret\n        name: secret-vars\n",
			fragments: []string{"Secret/secret-vars", "not found"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			for _, o := range tc.objects {
				o.SetNamespace(ns)
				if err := k8s.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			wd, url := newRepo(t, ns, map[string]string{"app/greeting.yaml": greetingTemplate})
			commit, _ := wd.Head()
			applyYAML(t, ns, gitRepository(url)+"---"+kustomization(ns, "app", "./app", "  postBuild:\n"+tc.postBuild))
			var cm corev1.ConfigMap
			if tc.fragments != nil {
				waitKustomization(t, ns, "app", "named the missing source", notReadyWith(meta.BuildFailedReason, tc.fragments...))
				if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm); !apierrors.IsNotFound(err) {
					t.Errorf("a build that failed applied its object (err %v)", err)
				}
				return
			}
			waitKustomization(t, ns, "app", "applied the substituted object", readyAt(commit))
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm); err != nil {
				t.Fatal(err)
			}
			if cm.Data["value"] != tc.want {
				t.Errorf("value %q, want %q", cm.Data["value"], tc.want)
			}
		})
	}
}
