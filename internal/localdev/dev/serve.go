package dev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// Serve runs the dev cluster in the foreground until SIGTERM or SIGINT, or until a
// component dies. It is the supervisor that Up starts; progress lines go to out.
func Serve(ctx context.Context, o Options, out io.Writer) error {
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("failed to create data directory: %w", err)
	}
	// One supervisor per data directory: a second would fight over etcd's data.
	lock, err := os.OpenFile(o.path(lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", o.path(lockFile), err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another tugboat dev supervisor runs on %s: %w", o.DataDir, err)
	}
	// A pid left in the file is a supervisor that did not stop cleanly (this one holds
	// the lock, so it is gone); it may still hold the controllers' lease.
	previous := 0
	if data, err := os.ReadFile(o.path(pidFile)); err == nil {
		previous, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	if err := os.WriteFile(o.path(pidFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("failed to write pid file: %w", err)
	}
	defer os.Remove(o.path(pidFile))

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fmt.Fprintf(out, "%s supervisor %d starting the dev cluster in %s\n", time.Now().Format(time.RFC3339), os.Getpid(), o.DataDir)
	c, err := cluster.Start(ctx, cluster.Options{
		Binary:       o.Binary,
		Dir:          o.path(stateDir),
		Workloads:    true,
		Nodes:        o.Nodes,
		RealNode:     o.RealNode == RealNodeRequired,
		StartTimeout: o.timeout(),
		Progress:     out,
	})
	if err != nil {
		return err
	}
	defer c.Stop()
	// The GitOps controllers run in this process, beside the control plane, unless the
	// supervisor was told to leave them out: kwok runs no containers, and the real node
	// (where there is one) has no image of tugboat yet.
	var services Services
	if o.Controllers != nil {
		if err := releaseAbandonedLease(ctx, c.RESTConfig, previous, out); err != nil {
			return err
		}
		fmt.Fprintf(out, "installing CRDs\n")
		env := Env{Config: c.RESTConfig, DataDir: o.DataDir, Log: out}
		if o.RealNode == RealNodeRequired {
			env.RealNode = cluster.RealNodeName
		}
		if services, err = o.Controllers(ctx, env); err != nil {
			return err
		}
	}
	controllers := services.Stopped
	data, err := json.Marshal(ready{PID: os.Getpid(), Server: c.Server, Registry: c.Registry(), Store: services.Store, Webhooks: services.Webhooks})
	if err != nil {
		return fmt.Errorf("failed to encode ready file: %w", err)
	}
	if err := os.WriteFile(o.path(readyFile), data, 0o644); err != nil {
		return fmt.Errorf("failed to write ready file: %w", err)
	}
	defer os.Remove(o.path(readyFile))

	select {
	case <-ctx.Done():
		fmt.Fprintf(out, "%s stopping the dev cluster\n", time.Now().Format(time.RFC3339))
		waitControllers(controllers, out)
		return nil
	case err := <-c.Failed():
		return fmt.Errorf("a component of the dev cluster died: %w", err)
	case err := <-controllers:
		if ctx.Err() != nil || err == nil {
			return nil
		}
		return fmt.Errorf("the GitOps controllers or the store stopped: %w", err)
	}
}

// controllersStopTimeout bounds the wait for the controllers to stop before the
// control plane does.
const controllersStopTimeout = 15 * time.Second

// waitControllers waits until the controllers, whose context has ended, stopped: they
// release their leader lease on the way out, which needs the apiserver, so that the
// next `dev up` (or a `tugboat controller` waiting on the lease) takes it at once
// instead of after the lease's 15 s.
func waitControllers(stopped <-chan error, out io.Writer) {
	if stopped == nil {
		return
	}
	select {
	case err := <-stopped:
		if err != nil {
			fmt.Fprintf(out, "the GitOps controllers stopped with an error: %v\n", err)
		}
	case <-time.After(controllersStopTimeout):
		fmt.Fprintf(out, "the GitOps controllers did not stop within %s; stopping the cluster anyway\n", controllersStopTimeout)
	}
}

// logFollower copies complete new lines of a log file to out.
type logFollower struct {
	path   string
	offset int64
	out    io.Writer
}

func (f *logFollower) flush() {
	if f.out == nil {
		return
	}
	file, err := os.Open(f.path)
	if err != nil {
		return
	}
	defer file.Close()
	if _, err := file.Seek(f.offset, io.SeekStart); err != nil {
		return
	}
	data, err := io.ReadAll(file)
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	if i := lastNewline(data); i >= 0 {
		_, _ = f.out.Write(data[:i+1])
		f.offset += int64(i + 1)
	}
}

func lastNewline(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return i
		}
	}
	return -1
}

// tailFile returns the last n lines written to path after offset.
func tailFile(path string, offset int64, n int) string {
	data, err := os.ReadFile(path)
	if err != nil || offset > int64(len(data)) {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data[offset:]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ") + "\n"
}
