package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// The deploy-record contract. Collectors (delivery history, DORA) read records
// through ListRecords; the format is documented in docs/deploy.md and must not change
// without a new label or data key.
const (
	// RecordLabel marks a ConfigMap as a deploy record; its value is "true".
	RecordLabel = "deploy.tugboat.dev/record"
	// WorkloadLabel names the deployed workload as <kind>.<name>, kind in lower case.
	WorkloadLabel = "deploy.tugboat.dev/workload"
	// RecordKey is the ConfigMap data key holding the record's JSON.
	RecordKey = "record.json"
	// DefaultKeepRecords is how many records per workload are kept by default.
	DefaultKeepRecords = 10

	// fieldManager owns what tugboat deploy writes.
	fieldManager = "tugboat-deploy"
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

// Change is one container's image before and after a deploy.
type Change struct {
	Container   string `json:"container"`
	ImageBefore string `json:"imageBefore"`
	ImageAfter  string `json:"imageAfter"`
}

// Record is one deploy: who changed which images of which workload, from which
// commit, when, and how it ended. It is stored as JSON under RecordKey.
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

// RecordName returns a ConfigMap name for a record of a deploy of kind/name started
// at start. Names sort by start time within a workload and stay within the 253
// characters of a DNS subdomain.
func RecordName(kind, name string, start time.Time) string {
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
				RecordLabel:                    "true",
				WorkloadLabel:                  WorkloadLabelValue(r.Kind, r.Workload),
				"app.kubernetes.io/managed-by": "tugboat",
			},
		},
		Data: map[string]string{RecordKey: string(data)},
	}, nil
}

// RecordFromConfigMap reads the record a ConfigMap holds. It fails, naming the
// ConfigMap, when the ConfigMap is not a deploy record or its JSON does not parse.
func RecordFromConfigMap(cm *corev1.ConfigMap) (Record, error) {
	if cm.Labels[RecordLabel] != "true" {
		return Record{}, fmt.Errorf("ConfigMap %s/%s is not a deploy record: label %s is not \"true\"", cm.Namespace, cm.Name, RecordLabel)
	}
	raw, ok := cm.Data[RecordKey]
	if !ok {
		return Record{}, fmt.Errorf("deploy record %s/%s has no data key %s", cm.Namespace, cm.Name, RecordKey)
	}
	var r Record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return Record{}, fmt.Errorf("failed to parse deploy record %s/%s key %s: %w", cm.Namespace, cm.Name, RecordKey, err)
	}
	if r.Name == "" {
		r.Name = cm.Name
	}
	if r.Namespace == "" {
		r.Namespace = cm.Namespace
	}
	return r, nil
}

// ListRecords returns the deploy records in namespace ("" for all namespaces),
// oldest first. Records that parse are returned even when others do not; err then
// names each ConfigMap that failed.
func ListRecords(ctx context.Context, client kubernetes.Interface, namespace string) ([]Record, error) {
	return listRecords(ctx, client, namespace, labels.Set{RecordLabel: "true"})
}

func listRecords(ctx context.Context, client kubernetes.Interface, namespace string, selector labels.Set) ([]Record, error) {
	list, err := client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("failed to list deploy records in namespace %q: %w", namespace, err)
	}
	var (
		records []Record
		errs    []error
	)
	for i := range list.Items {
		r, err := RecordFromConfigMap(&list.Items[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		records = append(records, r)
	}
	sortRecords(records)
	return records, errors.Join(errs...)
}

// sortRecords orders records oldest first, by start time then name.
func sortRecords(records []Record) {
	sort.SliceStable(records, func(i, j int) bool {
		if !records[i].StartTime.Equal(records[j].StartTime) {
			return records[i].StartTime.Before(records[j].StartTime)
		}
		return records[i].Name < records[j].Name
	})
}

// WriteRecord stores r and then deletes the workload's oldest records beyond keep
// (keep <= 0 keeps them all).
func WriteRecord(ctx context.Context, client kubernetes.Interface, r Record, keep int) error {
	cm, err := r.ConfigMap()
	if err != nil {
		return err
	}
	if _, err := client.CoreV1().ConfigMaps(r.Namespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: fieldManager}); err != nil {
		return fmt.Errorf("failed to write deploy record %s/%s: %w", r.Namespace, r.Name, err)
	}
	if keep <= 0 {
		return nil
	}
	sel := labels.Set{RecordLabel: "true", WorkloadLabel: WorkloadLabelValue(r.Kind, r.Workload)}
	records, err := listRecords(ctx, client, r.Namespace, sel)
	if err != nil && len(records) == 0 {
		return fmt.Errorf("failed to prune deploy records of %s/%s: %w", r.Namespace, r.Workload, err)
	}
	// Several kinds may share a name; the label already tells them apart.
	for i := 0; i < len(records)-keep; i++ {
		err := client.CoreV1().ConfigMaps(r.Namespace).Delete(ctx, records[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to prune deploy record %s/%s: %w", r.Namespace, records[i].Name, err)
		}
	}
	return nil
}
