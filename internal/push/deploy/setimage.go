package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/kubectl/pkg/cmd/set"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/kubectl/pkg/scheme"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/health"
)

// ChangeCauseAnnotation is kubectl's change-cause annotation, shown by `rollout history`.
const ChangeCauseAnnotation = "kubernetes.io/change-cause"

// ErrManagedByKustomization refuses a push onto a workload a Kustomization applies.
var ErrManagedByKustomization = errors.New("workload is managed by a Kustomization")

// Options are one `tugboat deploy set-image`.
type Options struct {
	Namespace string
	Workload  Workload
	Images    []ImageSpec
	// Wait watches the rollout to its end; Timeout bounds each wait (the rollout's,
	// then the rollback's).
	Wait    bool
	Timeout time.Duration
	// RollbackOnFailure undoes to the revision before the deploy when the rollout
	// fails or times out, and waits for that rollback.
	RollbackOnFailure bool
	// Force pushes onto a workload that a Kustomization manages.
	Force bool
	// Actor and Commit go into the record and the change-cause annotation.
	Actor, Commit string
	// KeepRecords is how many records of this workload to keep (<= 0: all).
	KeepRecords int
	// Events, when set, receives what happens as it happens (warnings, progress).
	Events func(Event)
}

// Phase says which wait an Event belongs to.
type Phase string

// The phases of a deploy.
const (
	PhaseWarning  Phase = "Warning"
	PhaseUpdated  Phase = "Updated"
	PhaseRollout  Phase = "Rollout"
	PhaseRollback Phase = "Rollback"
)

// Event is something a deploy reports while it runs.
type Event struct {
	Phase   Phase
	Message string
	// Status is the rollout reading for PhaseRollout and PhaseRollback; a rollback's
	// first event has none and says why it rolls back.
	Status health.RolloutStatus
	// Changes are the images set, for PhaseUpdated.
	Changes []deployrecord.Change
	Elapsed time.Duration
}

// SetImage is `tugboat deploy set-image`: it sets images like `kubectl set image`,
// waits like `kubectl rollout status`, optionally undoes like `kubectl rollout undo`,
// and records the deploy. Bad input (unknown workload or container, a workload a
// Kustomization manages without Force) returns an error before anything changes and
// writes no record. Once the workload is patched, how the rollout ended is the
// record's Result and the error is nil unless the record could not be written.
func SetImage(ctx context.Context, c Clients, o Options) (deployrecord.Record, error) {
	start := time.Now()
	emit := func(e Event) {
		if o.Events != nil {
			e.Elapsed = time.Since(start)
			o.Events(e)
		}
	}
	w := o.Workload
	obj, objMeta, err := c.get(ctx, o.Namespace, w)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return deployrecord.Record{}, fmt.Errorf("%s not found in namespace %q", w, o.Namespace)
		}
		return deployrecord.Record{}, fmt.Errorf("failed to get %s in namespace %q: %w", w, o.Namespace, err)
	}
	if msg, managed := kustomizationOwner(objMeta); managed {
		if !o.Force {
			return deployrecord.Record{}, fmt.Errorf("%w: %s %s; the next reconcile will revert the image. Change the image in Git, or pass --force to push anyway",
				ErrManagedByKustomization, w, msg)
		}
		emit(Event{Phase: PhaseWarning, Message: fmt.Sprintf("%s is managed by %s; the next reconcile will revert this image", w, msg)})
	}
	rec := deployrecord.Record{
		Name: deployrecord.Name(w.Kind, w.Name, start), Namespace: o.Namespace, Kind: w.Kind, Workload: w.Name,
		Commit: o.Commit, Actor: o.Actor, StartTime: start,
	}
	updated := obj.DeepCopyObject()
	rec.Changes, err = applyImages(updated, o.Images)
	if err != nil {
		return deployrecord.Record{}, fmt.Errorf("%s: %w", w, err)
	}
	before, err := Revision(ctx, c, o.Namespace, w)
	if err != nil {
		return deployrecord.Record{}, err
	}
	changed := len(rec.Changes) > 0
	if changed {
		if err := patchImages(ctx, c, o, obj, rec.Changes); err != nil {
			return deployrecord.Record{}, err
		}
		emit(Event{Phase: PhaseUpdated, Message: fmt.Sprintf("%s image updated", w), Changes: rec.Changes})
	} else {
		emit(Event{Phase: PhaseUpdated, Message: fmt.Sprintf("%s image unchanged", w)})
	}

	rec.Result, rec.Message = deployrecord.ResultUnchanged, "every container already runs the requested image"
	if changed {
		rec.Result, rec.Message = deployrecord.ResultSucceeded, fmt.Sprintf("%s images updated", w)
	}
	if !o.Wait && changed {
		// Not waiting for the rollout, but for the controller to number the new
		// revision, so that the record names it; a few milliseconds.
		bound := 30 * time.Second
		if o.Timeout > 0 && o.Timeout < bound {
			bound = o.Timeout
		}
		wctx, cancel := context.WithTimeout(ctx, bound)
		_, _ = WaitRollout(wctx, c, o.Namespace, w, WaitOptions{UntilObserved: true})
		cancel()
	}
	if o.Wait {
		st, err := waitPhase(ctx, c, o, PhaseRollout, emit)
		if err != nil && changed {
			// The workload's verdict names no cause; its new pods do.
			if why := podProblems(ctx, c, o.Namespace, obj, rec.Changes); why != "" {
				err = fmt.Errorf("%w; %s", err, why)
			}
		}
		switch {
		case err == nil:
			if changed {
				rec.Message = st.Message
			}
		case !changed:
			// Nothing of ours to undo: report the workload's own state.
			rec.Result, rec.Message = deployrecord.ResultFailed, fmt.Sprintf("images unchanged, but %s", errorText(err))
			if errors.Is(err, ErrTimeout) {
				rec.Result = deployrecord.ResultTimedOut
			}
		case o.RollbackOnFailure:
			rec.Result, rec.Message = rollback(ctx, c, o, before, err, emit)
		case errors.Is(err, ErrTimeout):
			rec.Result, rec.Message = deployrecord.ResultTimedOut, errorText(err)
		default:
			rec.Result, rec.Message = deployrecord.ResultFailed, errorText(err)
		}
	}
	rec.Revision, _ = Revision(context.WithoutCancel(ctx), c, o.Namespace, w)
	rec.EndTime = time.Now()
	if err := WriteRecord(context.WithoutCancel(ctx), c.Kube, rec, o.KeepRecords); err != nil {
		return rec, err
	}
	return rec, nil
}

// waitPhase runs one bounded rollout watch, reporting progress as phase.
func waitPhase(ctx context.Context, c Clients, o Options, phase Phase, emit func(Event)) (health.RolloutStatus, error) {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	return WaitRollout(ctx, c, o.Namespace, o.Workload, WaitOptions{
		Watch:    true,
		Progress: func(st health.RolloutStatus) { emit(Event{Phase: phase, Status: st, Message: st.Message}) },
	})
}

// rollback undoes a failed rollout to the revision before the deploy and waits for it.
func rollback(ctx context.Context, c Clients, o Options, before int64, cause error, emit func(Event)) (deployrecord.Result, string) {
	why := errorText(cause)
	// The rollback must run even when the caller's context has just timed out.
	ctx = context.WithoutCancel(ctx)
	emit(Event{Phase: PhaseRollback, Message: fmt.Sprintf("%s; rolling back to revision %d", why, before)})
	if _, err := Undo(ctx, c, o.Namespace, o.Workload, before); err != nil {
		return deployrecord.ResultFailed, fmt.Sprintf("%s; rollback failed: %s", why, errorText(err))
	}
	if _, err := waitPhase(ctx, c, o, PhaseRollback, emit); err != nil {
		return deployrecord.ResultFailed, fmt.Sprintf("%s; rolled back to revision %d, but the rollback did not complete: %s", why, before, errorText(err))
	}
	return deployrecord.ResultRolledBack, fmt.Sprintf("%s; rolled back to revision %d", why, before)
}

// errorText is an error's message without the sentinel prefixes.
func errorText(err error) string {
	return strings.TrimPrefix(err.Error(), ErrRolloutFailed.Error()+": ")
}

// kustomizationOwner reports the Kustomization whose labels the object carries.
func kustomizationOwner(obj metav1.Object) (string, bool) {
	l := obj.GetLabels()
	name, ns := l[meta.KustomizeNameLabel], l[meta.KustomizeNamespaceLabel]
	if name == "" {
		return "", false
	}
	return fmt.Sprintf("Kustomization %s/%s", ns, name), true
}

// applyImages sets images on obj's pod template as `kubectl set image` does (init
// containers too; `*` for all) and returns the containers whose image changed.
func applyImages(obj runtime.Object, specs []ImageSpec) ([]deployrecord.Change, error) {
	var (
		changes []deployrecord.Change
		missing []string
		names   []string
	)
	_, err := polymorphichelpers.UpdatePodSpecForObjectFn(obj, func(spec *corev1.PodSpec) error {
		for _, s := range specs {
			found := false
			// kubectl's setImage is unexported; this is its loop, plus noting what changed.
			for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
				for i := range list {
					if s.Container != "*" && list[i].Name != s.Container {
						continue
					}
					found = true
					if list[i].Image != s.Image {
						changes = append(changes, deployrecord.Change{Container: list[i].Name, ImageBefore: list[i].Image, ImageAfter: s.Image})
						list[i].Image = s.Image
					}
				}
			}
			if !found {
				missing = append(missing, s.Container)
			}
		}
		for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
			for _, ctr := range list {
				names = append(names, ctr.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to set images: %w", err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("unable to find container named %q (containers: %s)", missing[0], strings.Join(names, ", "))
	}
	return changes, nil
}

// patchImages sends kubectl set image's strategic-merge patch, computed by kubectl's
// own CalculatePatch, plus the change-cause annotation `rollout history` shows.
func patchImages(ctx context.Context, c Clients, o Options, obj runtime.Object, changes []deployrecord.Change) error {
	cause := changeCause(o, changes)
	p := &set.Patch{Info: &resource.Info{Object: obj}}
	set.CalculatePatch(p, scheme.DefaultJSONEncoder(), func(obj runtime.Object) ([]byte, error) {
		if _, err := applyImages(obj, o.Images); err != nil {
			return nil, err
		}
		m, err := metaAccessor(obj)
		if err != nil {
			return nil, err
		}
		ann := m.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[ChangeCauseAnnotation] = cause
		m.SetAnnotations(ann)
		return runtime.Encode(scheme.DefaultJSONEncoder(), obj)
	})
	if p.Err != nil {
		return fmt.Errorf("failed to compute the image patch for %s: %w", o.Workload, p.Err)
	}
	apps := c.Kube.AppsV1()
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	var err error
	switch o.Workload.Kind {
	case "Deployment":
		_, err = apps.Deployments(o.Namespace).Patch(ctx, o.Workload.Name, types.StrategicMergePatchType, p.Patch, opts)
	case "StatefulSet":
		_, err = apps.StatefulSets(o.Namespace).Patch(ctx, o.Workload.Name, types.StrategicMergePatchType, p.Patch, opts)
	case "DaemonSet":
		_, err = apps.DaemonSets(o.Namespace).Patch(ctx, o.Workload.Name, types.StrategicMergePatchType, p.Patch, opts)
	}
	if err != nil {
		return fmt.Errorf("failed to patch the images of %s: %w", o.Workload, err)
	}
	return nil
}

func metaAccessor(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// changeCause is the kubernetes.io/change-cause text of a deploy.
func changeCause(o Options, changes []deployrecord.Change) string {
	parts := make([]string, 0, len(changes))
	for _, ch := range changes {
		parts = append(parts, ch.Container+"="+ch.ImageAfter)
	}
	s := "tugboat deploy set-image " + strings.Join(parts, " ")
	var by []string
	if o.Commit != "" {
		by = append(by, "commit "+o.Commit)
	}
	if o.Actor != "" {
		by = append(by, "by "+o.Actor)
	}
	if len(by) > 0 {
		s += " (" + strings.Join(by, ", ") + ")"
	}
	return s
}
