package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
)

const (
	// DefaultKeepRecords is how many records per workload are kept by default.
	DefaultKeepRecords = 10

	// fieldManager owns what tugboat deploy writes; the delivery tables accept only
	// records it wrote.
	fieldManager = deployrecord.FieldManager
)

// ListRecords returns the deploy records in namespace ("" for all namespaces),
// oldest first. Records that parse are returned even when others do not; err then
// names each ConfigMap that failed.
func ListRecords(ctx context.Context, client kubernetes.Interface, namespace string) ([]deployrecord.Record, error) {
	return listRecords(ctx, client, namespace, labels.Set{deployrecord.Label: "true"})
}

func listRecords(ctx context.Context, client kubernetes.Interface, namespace string, selector labels.Set) ([]deployrecord.Record, error) {
	list, err := client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("failed to list deploy records in namespace %q: %w", namespace, err)
	}
	var (
		records []deployrecord.Record
		errs    []error
	)
	for i := range list.Items {
		r, err := deployrecord.FromConfigMap(&list.Items[i])
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
func sortRecords(records []deployrecord.Record) {
	sort.SliceStable(records, func(i, j int) bool {
		if !records[i].StartTime.Equal(records[j].StartTime) {
			return records[i].StartTime.Before(records[j].StartTime)
		}
		return records[i].Name < records[j].Name
	})
}

// WriteRecord stores r and then deletes the workload's oldest records beyond keep
// (keep <= 0 keeps them all).
func WriteRecord(ctx context.Context, client kubernetes.Interface, r deployrecord.Record, keep int) error {
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
	sel := labels.Set{deployrecord.Label: "true", deployrecord.WorkloadLabel: deployrecord.WorkloadLabelValue(r.Kind, r.Workload)}
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
