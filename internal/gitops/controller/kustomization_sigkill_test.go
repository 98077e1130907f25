package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// killEnv reads a positive integer from the environment, or returns def.
func killEnv(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q is not a non-negative integer", name, s)
	}
	return n
}

// The controller SIGKILLed at a random point of an apply of 500 objects, again and
// again: each round commits a revision that changes 475 objects and swaps 25 for 25
// others, kills the controller after a random number (0 to 500, from a seeded source)
// of the revision's objects have landed, restarts it, and asks that it converge on the
// revision: every object Git holds exists with Git's value (0 lost), the ones Git kept
// were never deleted (their UIDs are those of the first round: 0 pruned that Git still
// holds), those Git dropped are gone, and the ConfigMaps carrying the Kustomization's
// own labels that it never applied are untouched (same resourceVersion: 0 unowned
// objects touched).
//
// A round costs about 8-12 s on the 2-core test machine (a controller start, a fetch,
// a build and an apply of 500 objects, the restart's apply), so `make test` runs 6
// rounds (about a minute, a different seed each run); `make faults` (part of
// `make bench`) runs the 100 with TUGBOAT_KILL_ROUNDS=100.
// TUGBOAT_KILL_SEED replays a failed run: the seed is logged.
func TestAControllerSIGKILLedAtRandomPointsConvergesEveryTime(t *testing.T) {
	const (
		kept    = 475 // in every revision, changed by each
		swapped = 25  // in every other revision
		total   = kept + swapped
	)
	rounds := killEnv(t, "TUGBOAT_KILL_ROUNDS", 6)
	seed := killEnv(t, "TUGBOAT_KILL_SEED", int(time.Now().UnixNano()%1_000_000))
	t.Logf("%d rounds, TUGBOAT_KILL_SEED=%d", rounds, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	ctx := context.Background()
	ns := newNamespace(t)

	revision := func(r int) map[string]string {
		files := map[string]string{}
		for i := range kept {
			files[fmt.Sprintf("app/kept-%03d.yaml", i)] = configMap(fmt.Sprintf("kept-%03d", i), strconv.Itoa(r))
		}
		for i := range swapped {
			files[fmt.Sprintf("app/swap%d-%03d.yaml", r%2, i)] = configMap(fmt.Sprintf("swap%d-%03d", r%2, i), strconv.Itoa(r))
		}
		return files
	}
	wd, url := newRepo(t, ns, revision(0))
	commit, _ := wd.Head()

	// ConfigMaps with the labels tugboat puts on what this Kustomization applies, but
	// not applied by it: a controller that pruned or patched by label would touch them.
	unowned := map[string]string{}
	for i := range 3 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unowned-%d", i), Namespace: ns,
			Labels: map[string]string{"kustomize.toolkit.fluxcd.io/name": "app", "kustomize.toolkit.fluxcd.io/namespace": ns}},
			Data: map[string]string{"value": "mine"}}
		if err := k8s.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
		unowned[cm.Name] = cm.ResourceVersion
	}

	args := []string{"--watch-label-selector", shardLabel + "=sigkill"}
	proc := startController(t, args...)
	applyYAML(t, ns, sharded("sigkill", syncManifests(ns, url, "./app", true)))
	waitKustomization(t, ns, "app", "applied the first revision", readyAt(commit))
	uids := map[string]types.UID{}
	for _, cm := range listConfigMaps(t, ns).Items {
		uids[cm.Name] = cm.UID
	}

	clients := kubernetes.NewForConfigOrDie(env.RESTConfig)
	var killedAt []int
	for r := 1; r <= rounds; r++ {
		before := listConfigMaps(t, ns).ResourceVersion
		for i := range swapped {
			if err := wd.Remove(fmt.Sprintf("app/swap%d-%03d.yaml", (r+1)%2, i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := wd.WriteFiles(revision(r)); err != nil {
			t.Fatal(err)
		}
		var err error
		if commit, err = wd.CommitAndPush(fmt.Sprintf("round %d", r)); err != nil {
			t.Fatal(err)
		}
		value := strconv.Itoa(r)
		killAfter := rng.IntN(total + 1)
		w, err := clients.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: before})
		if err != nil {
			t.Fatal(err)
		}
		requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
		landed := 0
		timeout := time.After(90 * time.Second)
	watch:
		for landed < killAfter {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatalf("round %d: the watch closed after %d of %d objects landed", r, landed, killAfter)
				}
				if cm, ok := ev.Object.(*corev1.ConfigMap); ok && cm.Data["value"] == value && ev.Type != "DELETED" {
					landed++
				}
			case <-timeout:
				break watch
			}
		}
		w.Stop()
		proc.kill()
		killedAt = append(killedAt, landed)
		if landed < killAfter {
			t.Fatalf("round %d: only %d of the revision's objects landed in 90 s, want %d before the kill", r, landed, killAfter)
		}

		proc = startController(t, args...)
		k := waitKustomization(t, ns, "app", fmt.Sprintf("converged on round %d's revision after the kill", r), readyAt(commit))
		if n := len(k.Status.Inventory.Entries); n != total {
			t.Fatalf("round %d: the inventory has %d entries, want %d", r, n, total)
		}
		checkAfterKill(t, r, ns, revision(r), uids, unowned)
		if testing.Verbose() {
			t.Logf("round %d: killed after %d objects, converged", r, landed)
		}
	}
	t.Logf("killed after %v objects of each round's revision had landed", killedAt)
}

func listConfigMaps(t *testing.T, ns string) *corev1.ConfigMapList {
	t.Helper()
	var l corev1.ConfigMapList
	if err := k8s.List(context.Background(), &l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return &l
}

// checkAfterKill fails round r unless the namespace holds exactly Git's ConfigMaps
// with Git's values, the kept ones with their first UIDs, and the unowned ones as
// they were created.
func checkAfterKill(t *testing.T, r int, ns string, files map[string]string, uids map[string]types.UID, unowned map[string]string) {
	t.Helper()
	want := map[string]bool{}
	for f := range files {
		want[f[len("app/"):len(f)-len(".yaml")]] = true
	}
	got, seen := 0, map[string]bool{}
	for _, cm := range listConfigMaps(t, ns).Items {
		switch {
		case cm.Name == "kube-root-ca.crt":
		case unowned[cm.Name] != "":
			if cm.ResourceVersion != unowned[cm.Name] || cm.Data["value"] != "mine" {
				t.Errorf("round %d: unowned ConfigMap %s was touched (resourceVersion %s, was %s; data %v)", r, cm.Name, cm.ResourceVersion, unowned[cm.Name], cm.Data)
			}
			seen[cm.Name] = true
		case want[cm.Name]:
			got++
			if cm.Data["value"] != strconv.Itoa(r) {
				t.Errorf("round %d: ConfigMap %s has value %q", r, cm.Name, cm.Data["value"])
			}
			if uid, ok := uids[cm.Name]; ok && cm.Name[:4] == "kept" && uid != cm.UID {
				t.Errorf("round %d: ConfigMap %s, which Git always held, was deleted and re-created", r, cm.Name)
			}
		default:
			t.Errorf("round %d: ConfigMap %s, which Git dropped, was not pruned", r, cm.Name)
		}
	}
	if got != len(want) {
		t.Errorf("round %d: %d of Git's %d ConfigMaps exist: objects were lost", r, got, len(want))
	}
	for name := range unowned {
		if seen[name] {
			continue
		}
		t.Errorf("round %d: unowned ConfigMap %s was deleted", r, name)
	}
	if t.Failed() {
		t.FailNow()
	}
}
