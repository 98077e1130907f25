package controller

import (
	"context"
	"fmt"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// A controller killed (SIGKILL: no deferred code, no status patch) while it applies a
// new revision of hundreds of objects, then started again, converges on that revision:
// every object exists as Git says, the inventory lists exactly them, and the objects
// the old revision shared with the new one were never deleted (their UIDs are the ones
// they had before the kill), while those Git dropped are pruned.
func TestAControllerKilledMidApplyConvergesAfterRestart(t *testing.T) {
	const (
		dropped = 50  // in the first revision only
		kept    = 250 // in both, changed by the second
		added   = 250 // in the second only
	)
	ctx := context.Background()
	ns := newNamespace(t)
	files := map[string]string{}
	for i := range dropped + kept {
		files[fmt.Sprintf("app/old-%03d.yaml", i)] = configMap(fmt.Sprintf("old-%03d", i), "1")
	}
	wd, url := newRepo(t, ns, files)
	first, _ := wd.Head()
	args := []string{"--watch-label-selector", shardLabel + "=restart"}
	proc := startController(t, args...)
	applyYAML(t, ns, sharded("restart", syncManifests(ns, url, "./app", true)))
	waitKustomization(t, ns, "app", "applied the first revision", readyAt(first))

	// The UIDs of the objects both revisions hold: a delete and re-create would change them.
	uids := map[string]types.UID{}
	var before corev1.ConfigMapList
	if err := k8s.List(ctx, &before, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, cm := range before.Items {
		uids[cm.Name] = cm.UID
	}

	for i := range dropped {
		if err := wd.Remove(fmt.Sprintf("app/old-%03d.yaml", i)); err != nil {
			t.Fatal(err)
		}
	}
	second := map[string]string{}
	for i := dropped; i < dropped+kept; i++ {
		second[fmt.Sprintf("app/old-%03d.yaml", i)] = configMap(fmt.Sprintf("old-%03d", i), "2")
	}
	for i := range added {
		second[fmt.Sprintf("app/new-%03d.yaml", i)] = configMap(fmt.Sprintf("new-%03d", i), "2")
	}
	if err := wd.WriteFiles(second); err != nil {
		t.Fatal(err)
	}
	commit, err := wd.CommitAndPush("drop 50, change 250, add 250")
	if err != nil {
		t.Fatal(err)
	}

	// Kill the controller as soon as the first object of the new revision lands.
	clients := kubernetes.NewForConfigOrDie(env.RESTConfig)
	w, err := clients.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: before.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
	for ev := range w.ResultChan() {
		if cm, ok := ev.Object.(*corev1.ConfigMap); ok && cm.Data["value"] == "2" {
			proc.kill()
			break
		}
	}
	w.Stop()

	var mid corev1.ConfigMapList
	if err := k8s.List(ctx, &mid, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	landed := 0
	for _, cm := range mid.Items {
		if cm.Data["value"] == "2" {
			landed++
		}
	}
	if landed >= kept+added {
		t.Fatalf("the controller applied all %d objects before it was killed: the kill was not mid-apply", landed)
	}
	t.Logf("killed after %d of %d objects of the new revision were applied", landed, kept+added)
	k := &kustomizev1.Kustomization{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, k); err != nil {
		t.Fatal(err)
	}
	if !readyAt(first)(k) || len(k.Status.Inventory.Entries) != dropped+kept {
		t.Fatalf("the killed controller left status %s with %d inventory entries, want the first revision's", statusString(k), len(k.Status.Inventory.Entries))
	}

	startController(t, args...)
	k = waitKustomization(t, ns, "app", "converged on the second revision after the restart", readyAt(commit))

	var after corev1.ConfigMapList
	if err := k8s.List(ctx, &after, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cm := range after.Items {
		if cm.Name == "kube-root-ca.crt" {
			continue
		}
		got = append(got, cm.Name)
		if cm.Data["value"] != "2" {
			t.Errorf("ConfigMap %s has value %q, want 2", cm.Name, cm.Data["value"])
		}
		if uid, ok := uids[cm.Name]; ok && uid != cm.UID {
			t.Errorf("ConfigMap %s, in both revisions, was deleted and re-created", cm.Name)
		}
	}
	var want, wantInventory []string
	for i := dropped; i < dropped+kept; i++ {
		want = append(want, fmt.Sprintf("old-%03d", i))
	}
	for i := range added {
		want = append(want, fmt.Sprintf("new-%03d", i))
	}
	sort.Strings(want)
	sort.Strings(got)
	for _, name := range want {
		wantInventory = append(wantInventory, ns+"_"+name+"__ConfigMap")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ConfigMaps after the restart:\n%v\nwant (the second revision, the dropped ones pruned):\n%v", got, want)
	}
	var inventory []string
	for _, e := range k.Status.Inventory.Entries {
		inventory = append(inventory, e.ID)
	}
	sort.Strings(inventory)
	sort.Strings(wantInventory)
	if fmt.Sprint(inventory) != fmt.Sprint(wantInventory) {
		t.Errorf("inventory after the restart has %d entries, want the %d of the second revision", len(inventory), len(wantInventory))
	}
}
