package collect

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// outageStore is a real ClickHouse server of the test's own, which the test
// stops and starts again, and the store over it.
func outageStore(t *testing.T) (*storetest.Server, *store.ClickHouse) {
	t.Helper()
	srv := storetest.Own(t)
	st, err := store.OpenClickHouse(context.Background(), srv.Database(t), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return srv, st
}

func logRow(msg string) []any {
	return store.Row(store.ContainerLogV2Row{TimeGenerated: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), Computer: "node-1",
		ContainerName: "app", PodName: "web", PodNamespace: "ns", LogMessage: msg, LogSource: "stdout"})
}

// storedMessages returns how many times each message is in ContainerLogV2.
func storedMessages(t *testing.T, st store.Store) map[string]int64 {
	t.Helper()
	res, err := st.Query(context.Background(), `ContainerLogV2 | summarize n = count() by LogMessage = tostring(LogMessage)`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range res.Rows {
		out[r[0].(string)] = r[1].(int64)
	}
	return out
}

// drain appends nothing until the spool has stored its backlog.
func drain(t *testing.T, s *Spool, table string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := s.Append(context.Background(), table, nil)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrStoreUnavailable) || time.Now().After(deadline) {
			t.Fatalf("the backlog of %s was not stored: %v", table, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The store stops while rows arrive from four collectors at once: what fits
// the bound waits in memory and is stored exactly once when the store is back.
func TestTheSpoolStoresEveryRowOfAnOutageExactlyOnce(t *testing.T) {
	srv, st := outageStore(t)
	s := NewSpool(st, SpoolOptions{MaxBytes: 8 << 20, AppendTimeout: 5 * time.Second, MinRetry: 50 * time.Millisecond, MaxRetry: 200 * time.Millisecond})
	ctx := context.Background()
	var mu sync.Mutex
	var sent []string
	// send appends n rows from 4 goroutines, one row an append, and returns
	// how many appends said the rows were kept for later.
	send := func(phase string, n int) (failed int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n / 4 {
					msg := fmt.Sprintf("%s-%d-%d", phase, w, i)
					err := s.Append(ctx, store.ContainerLogV2, [][]any{logRow(msg)})
					mu.Lock()
					sent = append(sent, msg)
					if err != nil {
						if !errors.Is(err, ErrStoreUnavailable) {
							t.Errorf("append %s: %v", msg, err)
						}
						failed++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return failed
	}
	send("before", 100) // concurrent appends may find a batch in flight: kept, not failed
	drain(t, s, store.ContainerLogV2)
	srv.Halt(t)
	if failed := send("during", 500); failed != 500 {
		t.Fatalf("%d of 500 appends failed while the store was down, want all", failed)
	}
	if n := s.Buffered()[store.ContainerLogV2]; n != 500 {
		t.Fatalf("%d rows held during the outage, want 500", n)
	}
	srv.Resume(t)
	drain(t, s, store.ContainerLogV2)
	send("after", 100)
	drain(t, s, store.ContainerLogV2)
	got := storedMessages(t, st)
	for _, m := range sent {
		if got[m] != 1 {
			t.Errorf("%s stored %d times, want once", m, got[m])
		}
	}
	if len(got) != len(sent) {
		t.Errorf("%d distinct messages stored, want %d", len(got), len(sent))
	}
	if d := s.DroppedTotal(); len(d) != 0 {
		t.Errorf("dropped %v within the bound", d)
	}
}

// An outage longer than the bound: memory stays at the bound, the oldest
// rows are dropped and counted, the newest are stored, and a KubeEvents row
// says how many were dropped once the store is back.
func TestALongOutageDropsTheOldestRowsCountedAndBounded(t *testing.T) {
	srv, st := outageStore(t)
	const bound = 64 << 10
	s := NewSpool(st, SpoolOptions{MaxBytes: bound, AppendTimeout: 5 * time.Second, MinRetry: 50 * time.Millisecond, MaxRetry: 200 * time.Millisecond,
		Reporter: "node-1", ClusterName: "test"})
	ctx := context.Background()
	srv.Halt(t)
	const n = 5000
	peak := int64(0)
	for i := range n {
		err := s.Append(ctx, store.ContainerLogV2, [][]any{logRow(fmt.Sprintf("long-%05d-%s", i, "........................................"))})
		if !errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("append %d: %v, want ErrStoreUnavailable", i, err)
		}
		peak = max(peak, s.BufferedBytes())
	}
	if peak > bound {
		t.Errorf("held %d bytes, over the bound of %d", peak, bound)
	}
	dropped := s.DroppedTotal()[store.ContainerLogV2]
	t.Logf("%d rows sent during the outage, %d dropped, at most %d bytes held (bound %d)", n, dropped, peak, bound)
	if dropped == 0 || dropped >= n {
		t.Fatalf("dropped %d of %d rows, want some but not all", dropped, n)
	}
	srv.Resume(t)
	drain(t, s, store.ContainerLogV2)
	got := storedMessages(t, st)
	if int64(len(got))+dropped != n {
		t.Errorf("%d stored + %d dropped, want %d sent", len(got), dropped, n)
	}
	for i := range n {
		msg := fmt.Sprintf("long-%05d-%s", i, "........................................")
		if want := int64(i) >= dropped; (got[msg] == 1) != want || got[msg] > 1 {
			t.Fatalf("%s stored %d times; the oldest %d should be dropped, the rest stored once", msg, got[msg], dropped)
		}
	}
	res, err := st.Query(ctx, fmt.Sprintf(`KubeEvents | where Reason == %q | project Count, Computer, ObjectKind`, ReasonRowsDropped))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint([][]any{{float64(dropped), "node-1", "Agent"}}); fmt.Sprint(res.Rows) != want {
		t.Errorf("the loss is reported as %v, want %s", res.Rows, want)
	}
	if left := s.Dropped(); len(left) != 0 {
		t.Errorf("unreported drops left after the report: %v", left)
	}
}

// The node's log tailer keeps no rows in memory through an outage: it reads
// the files again from its checkpoint once the store is back, so every line
// written meanwhile is stored exactly once.
func TestTheLogTailerLosesNoLineThroughAStoreOutage(t *testing.T) {
	srv, st := outageStore(t)
	dir := t.TempDir()
	w := openCRI(t, filepath.Join(dir, "ns_web_uid", "app", "0.log"))
	tailer := NewCRITailer(CRITailerOptions{Dir: dir, Node: "node-1", Checkpoint: filepath.Join(t.TempDir(), "logs.json"),
		Poll: 50 * time.Millisecond, AppendTimeout: 5 * time.Second, BatchRows: 100}, st)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tailer.Run(ctx) }()
	waitStored := func(n int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			got := storedMessages(t, st)
			total := 0
			for _, c := range got {
				total += int(c)
			}
			if total >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d lines stored", total, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	w.write("before", 200)
	waitStored(200)
	srv.Halt(t)
	for range 5 {
		w.write("during", 300)
		time.Sleep(500 * time.Millisecond)
	}
	srv.Resume(t)
	w.write("after", 100)
	waitStored(len(w.want))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := storedMessages(t, st)
	for _, m := range w.want {
		if got[m] != 1 {
			t.Errorf("%s stored %d times, want once", m, got[m])
		}
	}
	if len(got) != len(w.want) {
		t.Errorf("%d distinct lines stored, want %d", len(got), len(w.want))
	}
}

// The agent as the DaemonSet runs it, its ClickHouse stopped for a while and
// started again: every log line written meanwhile is stored exactly once, and
// the inventory snapshots taken during the outage are stored too, once each.
func TestAgentNodeModeSurvivesAStoreOutage(t *testing.T) {
	startCluster(t)
	srv, ch := outageStore(t)
	createNamespace(t, "outage")
	pod := createDeployment(t, "outage", "api", 1, nil)[0]
	logDir := t.TempDir()
	w := openCRI(t, filepath.Join(logDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), "app", "0.log"))
	rec := newRecorder()
	rec.also = ch
	stop := runAgent(t, rec, Options{
		Node: pod.Spec.NodeName, LogDir: logDir, StateDir: t.TempDir(),
		Interval: 2 * time.Second, InventoryInterval: 2 * time.Second,
		Collect:       []string{CollectLogs, CollectMetrics, CollectInventory},
		AppendTimeout: 5 * time.Second,
	})
	w.write("before", 100)
	waitRows(t, rec, store.ContainerLogV2, "before the outage", func(r []any) bool {
		return col(r, store.ContainerLogV2, "LogMessage") == "before-99"
	})
	srv.Halt(t)
	haltedAt := time.Now().UTC()
	for range 8 {
		w.write("during", 100)
		time.Sleep(time.Second)
	}
	resumedAt := time.Now().UTC()
	srv.Resume(t)
	w.write("after", 100)
	waitRows(t, rec, store.ContainerLogV2, "after the outage", func(r []any) bool {
		return col(r, store.ContainerLogV2, "LogMessage") == "after-999"
	})
	waitRows(t, rec, store.KubePodInventory, "taken after the outage", func(r []any) bool {
		return col(r, store.KubePodInventory, "TimeGenerated").(time.Time).After(resumedAt.Add(2 * time.Second))
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := storedMessages(t, ch)
	for _, m := range w.want {
		if got[m] != 1 {
			t.Errorf("%s stored %d times, want once", m, got[m])
		}
	}
	if len(got) != len(w.want) {
		t.Errorf("%d distinct lines stored, want %d", len(got), len(w.want))
	}
	res, err := ch.Query(context.Background(), fmt.Sprintf(`KubePodInventory | where PodUid == %q
		| summarize n = count() by TimeGenerated, ContainerName
		| summarize snapshots = countif(TimeGenerated > datetime(%s) and TimeGenerated < datetime(%s)), repeated = countif(n > 1)`,
		string(pod.UID), haltedAt.Add(time.Second).Format(time.RFC3339), resumedAt.Format(time.RFC3339)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0].(int64) < 2 || res.Rows[0][1].(int64) != 0 {
		t.Errorf("inventory snapshots of the outage stored / repeated: %v, want at least 2 and none repeated", res.Rows)
	}
}

// Between retries the spool waits out its backoff, however many appends come;
// on the way out Flush tries once more regardless, so a store that came back
// during a long backoff still gets the rows.
func TestTheSpoolWaitsOutItsBackoffButFlushesOnTheWayOut(t *testing.T) {
	srv, st := outageStore(t)
	s := NewSpool(st, SpoolOptions{AppendTimeout: 5 * time.Second, MinRetry: time.Hour, MaxRetry: time.Hour})
	ctx := context.Background()
	srv.Halt(t)
	for i := range 10 {
		if err := s.Append(ctx, store.ContainerLogV2, [][]any{logRow(fmt.Sprintf("held-%d", i))}); !errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("append %d: %v, want ErrStoreUnavailable", i, err)
		}
	}
	srv.Resume(t)
	if err := s.Append(ctx, store.ContainerLogV2, nil); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("an append during the backoff: %v, want ErrStoreUnavailable without trying", err)
	}
	if got := storedMessages(t, st); len(got) != 0 {
		t.Fatalf("stored %v during the backoff", got)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedMessages(t, st); len(got) != 10 {
		t.Errorf("Flush stored %d of 10 held rows", len(got))
	}
}
