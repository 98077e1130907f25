package apply

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestDrifted(t *testing.T) {
	cases := map[string]struct {
		desired, live string
		wantPath      string // "" when live holds desired
	}{
		"an identical object has not drifted": {
			desired: `{kind: ConfigMap, metadata: {name: a, namespace: n}, data: {k: v}}`,
			live:    `{kind: ConfigMap, metadata: {name: a, namespace: n}, data: {k: v}}`,
		},
		"server metadata, status and defaults are no drift": {
			desired: `{kind: Deployment, metadata: {name: a, namespace: n, labels: {app: a}}, spec: {replicas: 2}}`,
			live: `{kind: Deployment, metadata: {name: a, namespace: n, uid: x, resourceVersion: "9", labels: {app: a, extra: y}, annotations: {deployment.kubernetes.io/revision: "1"}},
                    spec: {replicas: 2, revisionHistoryLimit: 10}, status: {replicas: 2}}`,
		},
		"a changed value drifts at its path": {
			desired:  `{kind: ConfigMap, metadata: {name: a}, data: {k: v}}`,
			live:     `{kind: ConfigMap, metadata: {name: a}, data: {k: edited}}`,
			wantPath: "data.k",
		},
		"a removed field drifts": {
			desired:  `{kind: ConfigMap, metadata: {name: a}, data: {k: v, j: w}}`,
			live:     `{kind: ConfigMap, metadata: {name: a}, data: {k: v}}`,
			wantPath: "data.j",
		},
		"a removed label drifts": {
			desired:  `{kind: ConfigMap, metadata: {name: a, labels: {app: a}}}`,
			live:     `{kind: ConfigMap, metadata: {name: a}}`,
			wantPath: "metadata.labels",
		},
		"an edited annotation drifts": {
			desired:  `{kind: ConfigMap, metadata: {name: a, annotations: {note: x}}}`,
			live:     `{kind: ConfigMap, metadata: {name: a, annotations: {note: y}}}`,
			wantPath: "metadata.annotations.note",
		},
		"quantities that normalise equal are no drift": {
			desired: `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, resources: {limits: {cpu: 500m, memory: 1024Mi}, requests: {cpu: 1}}}]}}`,
			live:    `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: i, resources: {limits: {cpu: "0.5", memory: 1Gi}, requests: {cpu: "1"}}}]}}`,
		},
		"a changed quantity drifts": {
			desired:  `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, resources: {limits: {cpu: 500m}}}]}}`,
			live:     `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, resources: {limits: {cpu: "1"}}}]}}`,
			wantPath: "spec.containers[0].resources.limits.cpu",
		},
		"integers and floats of one value are no drift": {
			desired: `{kind: X, metadata: {name: a}, spec: {n: 3}}`,
			live:    `{kind: X, metadata: {name: a}, spec: {n: 3.0}}`,
		},
		"a changed list item drifts at its index": {
			desired:  `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: a, image: x}, {name: b, image: y}]}}`,
			live:     `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: a, image: x}, {name: b, image: z}]}}`,
			wantPath: "spec.containers[1].image",
		},
		"another manager's item in a keyed list is no drift": {
			desired: `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: app}]}}`,
			live:    `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: sidecar}, {name: app}]}}`,
		},
		"a removed item of a keyed list drifts": {
			desired:  `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: app}, {name: log}]}}`,
			live:     `{kind: Pod, metadata: {name: a}, spec: {containers: [{name: app}]}}`,
			wantPath: "spec.containers[1]",
		},
		"an extra item in a list of scalars drifts": {
			desired:  `{kind: Pod, metadata: {name: a}, spec: {args: [a, b]}}`,
			live:     `{kind: Pod, metadata: {name: a}, spec: {args: [a, x, b]}}`,
			wantPath: "spec.args[0]",
		},
		"a null desired value asks for nothing": {
			desired: `{kind: X, metadata: {name: a}, spec: {n: null}}`,
			live:    `{kind: X, metadata: {name: a}, spec: {}}`,
		},
		"a value whose type changed drifts": {
			desired:  `{kind: X, metadata: {name: a}, spec: {port: 80}}`,
			live:     `{kind: X, metadata: {name: a}, spec: {port: http}}`,
			wantPath: "spec.port",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			drifted, path := Drifted(obj(t, tc.desired), obj(t, tc.live))
			if drifted != (tc.wantPath != "") || path != tc.wantPath {
				t.Errorf("Drifted = %v, %q; want %v, %q", drifted, path, tc.wantPath != "", tc.wantPath)
			}
		})
	}
}

func obj(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}
