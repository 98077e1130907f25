package health

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestRolloutFollowsKubectlRules(t *testing.T) {
	cases := map[string]struct {
		obj      string
		done     bool
		wantErr  string
		contains string
	}{
		"a spec change the controller has not observed yet is waiting": {
			obj: `{kind: Deployment, apiVersion: apps/v1, metadata: {name: web, generation: 2},
				spec: {replicas: 3}, status: {observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3}}`,
			contains: "Waiting for deployment spec update to be observed",
		},
		"too few updated replicas is waiting": {
			obj: `{kind: Deployment, apiVersion: apps/v1, metadata: {name: web, generation: 2},
				spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 1}}`,
			contains: "1 out of 3 new replicas have been updated",
		},
		"old replicas still terminating is waiting": {
			obj: `{kind: Deployment, apiVersion: apps/v1, metadata: {name: web, generation: 2},
				spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3}}`,
			contains: "1 old replicas are pending termination",
		},
		"updated but unavailable replicas is waiting": {
			obj: `{kind: Deployment, apiVersion: apps/v1, metadata: {name: web, generation: 2},
				spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2}}`,
			contains: "2 of 3 updated replicas are available",
		},
		"all replicas updated and available is done": {
			obj: `{kind: Deployment, apiVersion: apps/v1, metadata: {name: web, generation: 2},
				spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}}`,
			done:     true,
			contains: `deployment "web" successfully rolled out`,
		},
		"an exceeded progress deadline fails": {
			obj: `{kind: Deployment, apiVersion: apps/v1, metadata: {name: web, generation: 2},
				spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 3, updatedReplicas: 1,
				conditions: [{type: Progressing, status: "False", reason: ProgressDeadlineExceeded}]}}`,
			wantErr: "exceeded its progress deadline",
		},
		"a kind without rollouts is an error": {
			obj:     `{kind: ConfigMap, apiVersion: v1, metadata: {name: c}}`,
			wantErr: "failed to judge rollout of ConfigMap c",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var obj unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(tc.obj), &obj.Object); err != nil {
				t.Fatal(err)
			}
			st, err := Rollout(&obj)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Done != tc.done || !strings.Contains(st.Message, tc.contains) {
				t.Errorf("got done=%v %q, want done=%v containing %q", st.Done, st.Message, tc.done, tc.contains)
			}
		})
	}
}
