// Package deployrecord is the deploy-record format: the contract between push deploys,
// which write a record when a deploy ends, and the delivery tables, which read it. A
// record is a labelled ConfigMap holding JSON; this package converts between the two
// and does no I/O, so a reader does not link the deploy machinery. It is a leaf: it
// imports no wing. The format is documented in docs/deploy.md.
package deployrecord

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The deploy-record contract. It must not change without a new label or data key.
const (
	// Label marks a ConfigMap as a deploy record; its value is "true".
	Label = "deploy.tugboat.dev/record"
	// WorkloadLabel names the deployed workload as <kind>.<name>, kind in lower case.
	WorkloadLabel = "deploy.tugboat.dev/workload"
	// Key is the ConfigMap data key holding the record's JSON.
	Key = "record.json"
	// FieldManager is the only field manager of a record: `tugboat deploy` writes it
	// once, and a reader refuses a record anyone else wrote to.
	FieldManager = "tugboat-deploy"
)

// Result is how a deploy ended.
type Result string

// The results a record can carry.
const (
	// ResultSucceeded: the images changed and the rollout completed (or was not
	// waited for, with --wait=false).
	ResultSucceeded Result = "Succeeded"
	// ResultFailed: the rollout failed (progress deadline exceeded, the workload was
	// deleted, ...) and was left as it is.
	ResultFailed Result = "Failed"
	// ResultRolledBack: the rollout failed or timed out and was undone to the revision
	// before the deploy.
	ResultRolledBack Result = "RolledBack"
	// ResultTimedOut: the rollout did not complete within the timeout and was left as it is.
	ResultTimedOut Result = "TimedOut"
	// ResultUnchanged: every container already ran the requested image; nothing was patched.
	ResultUnchanged Result = "Unchanged"
)

// Results lists every result a record may carry.
var Results = []Result{ResultSucceeded, ResultFailed, ResultRolledBack, ResultTimedOut, ResultUnchanged}

// Change is one container's image before and after a deploy.
type Change struct {
	Container   string `json:"container"`
	ImageBefore string `json:"imageBefore"`
	ImageAfter  string `json:"imageAfter"`
}

// Record is one deploy: who changed which images of which workload, from which
// commit, when, and how it ended. It is stored as JSON under Key.
type Record struct {
	// Name is the record's ConfigMap name.
	Name string `json:"name"`
	// Namespace is the namespace of the workload and of the record.
	Namespace string `json:"namespace"`
	// Kind is the workload's kind as the API spells it: Deployment, StatefulSet or DaemonSet.
	Kind string `json:"kind"`
	// Workload is the workload's name.
	Workload string `json:"workload"`
	// Changes lists every container whose image the deploy set, init containers included.
	Changes []Change `json:"changes"`
	// Commit is the source commit the images were built from, when known.
	Commit string `json:"commit"`
	// Actor is who deployed: --actor, the CI's user, else the cluster user.
	Actor string `json:"actor"`
	// Revision is the workload's rollout revision after the deploy (after the
	// rollback for RolledBack); 0 when unknown.
	Revision int64 `json:"revision"`
	// Result is how the deploy ended.
	Result Result `json:"result"`
	// Message says why, in kubectl's words where the rollout judged it.
	Message string `json:"message"`
	// StartTime and EndTime bound the deploy, from before the patch to the end of the
	// wait (and rollback).
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
}

// WorkloadLabelValue is the WorkloadLabel value for a workload: "deployment.web".
// A label value holds at most 63 characters, so a longer one keeps its first 54 and
// ends with 8 hex digits of the full value's SHA-256; the record's JSON always has
// the full name.
func WorkloadLabelValue(kind, name string) string {
	v := strings.ToLower(kind) + "." + name
	if len(v) <= validation.LabelValueMaxLength {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return strings.TrimRight(v[:54], "-._") + "-" + hex.EncodeToString(sum[:4])
}

// Name returns a ConfigMap name for a record of a deploy of kind/name started
// at start. Names sort by start time within a workload and stay within the 253
// characters of a DNS subdomain.
func Name(kind, name string, start time.Time) string {
	suffix := start.UTC().Format("20060102-150405.000000000")
	suffix = strings.Replace(suffix, ".", "-", 1)
	prefix := "deploy-" + strings.ToLower(kind) + "-" + name
	if max := 253 - len(suffix) - 1; len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], "-.")
	}
	return prefix + "-" + suffix
}

// ConfigMap returns the record as the ConfigMap that stores it.
func (r Record) ConfigMap() (*corev1.ConfigMap, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("failed to encode deploy record %s: %w", r.Name, err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      r.Name,
			Namespace: r.Namespace,
			Labels: map[string]string{
				Label:                          "true",
				WorkloadLabel:                  WorkloadLabelValue(r.Kind, r.Workload),
				"app.kubernetes.io/managed-by": "tugboat",
			},
		},
		Data: map[string]string{Key: string(data)},
	}, nil
}

// FromConfigMap reads the record a ConfigMap holds. It fails, naming the
// ConfigMap, when the ConfigMap is not a deploy record or its JSON does not parse.
func FromConfigMap(cm *corev1.ConfigMap) (Record, error) {
	if cm.Labels[Label] != "true" {
		return Record{}, fmt.Errorf("ConfigMap %s/%s is not a deploy record: label %s is not \"true\"", cm.Namespace, cm.Name, Label)
	}
	raw, ok := cm.Data[Key]
	if !ok {
		return Record{}, fmt.Errorf("deploy record %s/%s has no data key %s", cm.Namespace, cm.Name, Key)
	}
	var r Record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return Record{}, fmt.Errorf("failed to parse deploy record %s/%s key %s: %w", cm.Namespace, cm.Name, Key, err)
	}
	if r.Name == "" {
		r.Name = cm.Name
	}
	if r.Namespace == "" {
		r.Namespace = cm.Namespace
	}
	return r, nil
}
