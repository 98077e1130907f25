package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(apiVersion, kind string, status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": "x", "generation": int64(1)}}}
	if status != nil {
		u.Object["status"] = status
	}
	return u
}

func TestReadyChecks(t *testing.T) {
	established := map[string]any{"conditions": []any{map[string]any{"type": "NamesAccepted", "status": "True"}, map[string]any{"type": "Established", "status": "True"}}}
	for name, tc := range map[string]struct {
		ready Ready
		obj   *unstructured.Unstructured
		want  bool
	}{
		"a CRD with Established=True is established": {
			ready: Established, obj: obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", established), want: true,
		},
		"a CRD with Established=False is not": {
			ready: Established, obj: obj("apiextensions.k8s.io/v1", "CustomResourceDefinition",
				map[string]any{"conditions": []any{map[string]any{"type": "Established", "status": "False"}}}),
		},
		"a CRD without status is not": {
			ready: Established, obj: obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", nil),
		},
		"an Active namespace is active": {
			ready: Active, obj: obj("v1", "Namespace", map[string]any{"phase": "Active"}), want: true,
		},
		"a Terminating namespace is not": {
			ready: Active, obj: obj("v1", "Namespace", map[string]any{"phase": "Terminating"}),
		},
		"an established CRD is Current": {
			ready: Current, obj: obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", established), want: true,
		},
		"a Deployment not rolled out is not Current": {
			ready: Current, obj: obj("apps/v1", "Deployment", map[string]any{"observedGeneration": int64(1), "replicas": int64(1),
				"updatedReplicas": int64(0), "availableReplicas": int64(0), "readyReplicas": int64(0)}),
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.ready(tc.obj)
			if err != nil || got != tc.want {
				t.Errorf("ready = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestWaitFor(t *testing.T) {
	notYet := obj("v1", "Namespace", map[string]any{"phase": "Pending"})
	active := obj("v1", "Namespace", map[string]any{"phase": "Active"})
	boom := errors.New("boom")
	for name, tc := range map[string]struct {
		start   *unstructured.Unstructured
		reads   []*unstructured.Unstructured // what each get returns; nil is "not there yet"
		readErr error                        // returned once reads run out
		want    *unstructured.Unstructured
		wantErr string
		gets    int // how many reads; -1: as many as fit in the timeout
	}{
		"a ready apply response sends no request": {
			start: active, want: active,
		},
		"reads until ready, skipping 'not there yet'": {
			start: notYet, reads: []*unstructured.Unstructured{nil, notYet, active}, want: active, gets: 3,
		},
		"a read error ends the wait": {
			reads: []*unstructured.Unstructured{notYet}, readErr: boom, want: notYet, wantErr: "boom", gets: 2,
		},
		"never ready times out, returning the last read": {
			reads: []*unstructured.Unstructured{notYet, notYet, notYet, notYet, notYet, notYet, notYet, notYet, notYet, notYet},
			want:  notYet, wantErr: "timed out after 100ms", gets: -1,
		},
	} {
		t.Run(name, func(t *testing.T) {
			gets := 0
			get := func(context.Context) (*unstructured.Unstructured, error) {
				gets++
				if gets > len(tc.reads) {
					if tc.readErr != nil {
						return nil, tc.readErr
					}
					return notYet, nil
				}
				return tc.reads[gets-1], nil
			}
			got, err := WaitFor(context.Background(), 100*time.Millisecond, tc.start, get, Active)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("last read = %v, want %v", got, tc.want)
			}
			if tc.gets >= 0 && gets != tc.gets {
				t.Errorf("%d reads, want %d", gets, tc.gets)
			}
		})
	}
}
