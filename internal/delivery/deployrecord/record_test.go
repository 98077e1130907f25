package deployrecord

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestRecordRoundTripsThroughItsConfigMap(t *testing.T) {
	start := time.Date(2026, 11, 26, 1, 2, 3, 4000, time.UTC)
	r := Record{
		Name: Name("Deployment", "web", start), Namespace: "shop", Kind: "Deployment", Workload: "web",
		Changes: []Change{{Container: "web", ImageBefore: "reg/web:1", ImageAfter: "reg/web:2"}},
		Commit:  "abc123", Actor: "alice", Revision: 4, Result: ResultRolledBack, Message: "rolled back",
		StartTime: start, EndTime: start.Add(time.Minute),
	}
	cm, err := r.ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[Label] != "true" || cm.Labels[WorkloadLabel] != "deployment.web" {
		t.Errorf("labels = %v", cm.Labels)
	}
	if cm.Name != "deploy-deployment-web-20261126-010203-000004000" || cm.Namespace != "shop" {
		t.Errorf("ConfigMap %s/%s", cm.Namespace, cm.Name)
	}
	for _, key := range []string{`"name"`, `"namespace"`, `"kind"`, `"workload"`, `"changes"`, `"container"`, `"imageBefore"`,
		`"imageAfter"`, `"commit"`, `"actor"`, `"revision"`, `"result": "RolledBack"`, `"message"`, `"startTime"`, `"endTime"`} {
		if !strings.Contains(cm.Data[Key], key) {
			t.Errorf("record.json lacks %s:\n%s", key, cm.Data[Key])
		}
	}
	got, err := FromConfigMap(cm)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != r.Name || got.Result != r.Result || !got.StartTime.Equal(r.StartTime) || len(got.Changes) != 1 || got.Changes[0] != r.Changes[0] {
		t.Errorf("round trip = %+v, want %+v", got, r)
	}
}

func TestRecordFromConfigMapRejectsWhatIsNotARecord(t *testing.T) {
	cases := map[string]struct {
		cm      corev1.ConfigMap
		wantErr string
	}{
		"a ConfigMap without the record label is refused": {
			cm:      corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "n"}, Data: map[string]string{Key: "{}"}},
			wantErr: "ConfigMap n/c is not a deploy record",
		},
		"a record without record.json names the key": {
			cm:      corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "n", Labels: map[string]string{Label: "true"}}},
			wantErr: "deploy record n/c has no data key record.json",
		},
		"bad JSON names the record": {
			cm: corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "n", Labels: map[string]string{Label: "true"}},
				Data: map[string]string{Key: "{"}},
			wantErr: "failed to parse deploy record n/c key record.json",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := FromConfigMap(&tc.cm)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRecordNamesAndLabelsStayValid(t *testing.T) {
	long := strings.Repeat("a", 240)
	start := time.Now()
	if n := Name("StatefulSet", long, start); len(n) > 253 || len(validation.IsDNS1123Subdomain(n)) > 0 {
		t.Errorf("record name %q (%d) is not a DNS subdomain: %v", n, len(n), validation.IsDNS1123Subdomain(n))
	}
	v := WorkloadLabelValue("StatefulSet", long)
	if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
		t.Errorf("label value %q is invalid: %v", v, errs)
	}
	if v == WorkloadLabelValue("StatefulSet", long+"b") {
		t.Errorf("two long names share the label value %q", v)
	}
	if a, b := Name("Deployment", "web", start), Name("Deployment", "web", start.Add(time.Second)); a >= b {
		t.Errorf("names do not sort by time: %q >= %q", a, b)
	}
}
