package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// appInsights runs the Application Insights half of the demo (issue 22) as processes
// on this machine: the shop's three services (hack/demo/shop) sending their traces
// over OTLP, and some traffic, one /api/orders call in five failing. It then shows
// what landed, with tugboat query and tugboat trace of one failed request. With store
// (the full demo) the traces go to the dev cluster's store, beside the controllers'
// own; without (-only app, no cluster) to a tugboat agent started here.
func appInsights(ctx context.Context, tugboat string, requests int, store *storeRef) error {
	dir, err := os.MkdirTemp("", "tugboat-demo-traces-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sh, cleanup, err := newShell(tugboat, "")
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Println("\n== Application Insights: a traced three-service shop (hack/demo/shop) on this machine")
	shop := filepath.Join(dir, "shop")
	fmt.Println("building the demo shop (hack/demo/shop)")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", shop, "./hack/demo/shop").CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build the shop: %w\n%s", err, out)
	}
	var endpoint, where string
	var agent *proc
	if store != nil {
		endpoint, where = store.OTLP, "$S"
		sh.env = append(sh.env, "S="+store.flags())
		fmt.Printf("its services send their traces to the dev cluster's store (OTEL_EXPORTER_OTLP_ENDPOINT=%s)\n", endpoint)
	} else {
		otlpAddr, err := freeAddr()
		if err != nil {
			return err
		}
		data := filepath.Join(dir, "data")
		endpoint, where = "http://"+otlpAddr, "--data-dir "+quote(data)
		fmt.Printf("\n$ tugboat agent --collect none --data-dir %s --otlp-grpc-addr off --otlp-http-addr %s &\n", quote(data), otlpAddr)
		agent, err = start(ctx, "agent", tugboat, nil, "agent", "--collect", "none", "--data-dir", data,
			"--otlp-grpc-addr", "off", "--otlp-http-addr", otlpAddr)
		if err != nil {
			return err
		}
		defer agent.stop()
		if err := waitListening(ctx, otlpAddr); err != nil {
			return fmt.Errorf("the agent's OTLP receiver did not start: %w", err)
		}
	}
	env := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint, "OTEL_BSP_SCHEDULE_DELAY=200"}
	var services []*proc
	defer func() {
		for _, p := range services {
			p.stop()
		}
	}()
	base := map[string]string{}
	for _, role := range []string{"store", "backend", "frontend"} {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		args := []string{"-role", role, "-addr", addr, "-store", "http://" + base["store"], "-backend", "http://" + base["backend"]}
		p, err := start(ctx, role, shop, env, args...)
		if err != nil {
			return err
		}
		services = append(services, p)
		if err := waitListening(ctx, addr); err != nil {
			return fmt.Errorf("the shop's %s did not start: %w", role, err)
		}
		base[role] = addr
	}
	started := time.Now().UTC()
	failed := 0
	for range requests {
		resp, err := http.Get("http://" + base["frontend"] + "/")
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed++
		}
	}
	fmt.Printf("sent %d requests to the frontend, %d failed\n", requests, failed)
	// Stopping the services flushes their spans (the receiver answers once they are
	// stored); stopping the agent closes its store so tugboat query can open it.
	for i := len(services) - 1; i >= 0; i-- {
		services[i].stop()
	}
	services = nil
	if agent != nil {
		agent.stop()
	}

	// This run's rows only: the dev store keeps earlier runs'.
	since := fmt.Sprintf("where TimeGenerated >= datetime(%s)", started.Add(-time.Second).Format(time.RFC3339))
	for _, q := range []string{
		`AppRequests | ` + since + ` | summarize Requests = count(), P95Ms = percentile(DurationMs, 95) by AppRoleName, Name | sort by AppRoleName asc`,
		`AppExceptions | ` + since + ` | summarize count() by AppRoleName, ExceptionType, OuterMessage | top 3 by count_`,
	} {
		if err := sh.run(ctx, "tugboat query "+where+" "+quote(q)); err != nil {
			return err
		}
	}
	recs, err := sh.rows(ctx, "tugboat query "+where+" -o json "+quote(`AppRequests | `+since+` | where Success == false and AppRoleName == "shop-frontend" | top 1 by TimeGenerated desc | project OperationId`))
	if err != nil {
		return fmt.Errorf("failed to find a failed request: %w", err)
	}
	if len(recs) == 0 {
		if failed > 0 {
			return fmt.Errorf("%d requests failed, but AppRequests holds no failed request of shop-frontend", failed)
		}
		fmt.Println("\nno request failed this time (one in five /api/orders calls fails, at random)")
		return nil
	}
	id, _ := recs[0]["OperationId"].(string)
	return sh.run(ctx, "tugboat trace "+where+" "+id)
}

// proc is a child process whose output is prefixed with its name.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

func start(ctx context.Context, name, bin string, env []string, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); !strings.Contains(line, "\"level\":\"debug\"") {
				fmt.Printf("  [%s] %s\n", name, line)
			}
		}
		p.done <- cmd.Wait()
	}()
	return p, nil
}

// stop asks the process to end (SIGTERM: it flushes) and waits for it, once.
func (p *proc) stop() {
	if p.cmd.ProcessState != nil || p.done == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		err = <-p.done
	}
	if err != nil {
		fmt.Printf("  [%s] stopped: %v\n", p.name, err)
	}
	p.done = nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
