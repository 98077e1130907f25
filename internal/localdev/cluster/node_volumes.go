package cluster

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The real node's storage: a few pre-made local PersistentVolumes under the
// cluster's directory and a default StorageClass for them, so that a
// StatefulSet's PersistentVolumeClaims (tugboat's ClickHouse) bind. Local
// volumes rather than the controller-manager's hostPath provisioner: the kubelet
// gives a local volume to the pod's fsGroup, a hostPath one stays root's, and a
// store that runs as a non-root user could not write to it.

const (
	// StorageClassName is the real node's default StorageClass.
	StorageClassName = "tugboat-local"
	// localVolumes is how many volumes the node offers; each claim takes one.
	localVolumes = 4
	// localVolumeSize is each volume's nominal capacity: a local volume is a
	// directory and takes what the disk has; a claim asking more does not bind.
	localVolumeSize = "10Gi"
)

// ensureLocalVolumes creates the StorageClass and the volumes, and makes a
// volume released by a deleted claim (an uninstall) empty and available again,
// as a dynamic provisioner would give a new one.
func ensureLocalVolumes(ctx context.Context, clients kubernetes.Interface, l nodeLayout) error {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &mode,
	}
	if _, err := clients.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create StorageClass %s: %w", sc.Name, err)
	}
	for i := 1; i <= localVolumes; i++ {
		name := fmt.Sprintf("tugboat-node-volume-%d", i)
		dir := l.path("volumes", name)
		pv, err := clients.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("failed to create volume directory %s: %w", dir, err)
			}
			if _, err := clients.CoreV1().PersistentVolumes().Create(ctx, localVolume(name, dir), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("failed to create PersistentVolume %s: %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("failed to read PersistentVolume %s: %w", name, err)
		case pv.Status.Phase == corev1.VolumeReleased:
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("failed to empty released volume %s: %w", dir, err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("failed to create volume directory %s: %w", dir, err)
			}
			pv.Spec.ClaimRef = nil
			if _, err := clients.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("failed to make released PersistentVolume %s available: %w", name, err)
			}
		default:
			// A restarted cluster keeps its volumes and their data.
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("failed to create volume directory %s: %w", dir, err)
			}
		}
	}
	return nil
}

func localVolume(name, dir string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "tugboat-local-cluster"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(localVolumeSize)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              StorageClassName,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: RealNodeLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"true"}}},
			}}}},
		},
	}
}
