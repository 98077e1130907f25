package main

import (
	"bufio"
	"context"
	"encoding/json"
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
// on this machine: a tugboat agent receiving OTLP into its own store, the shop's three
// services (hack/demo/shop) sending their traces to it, and some traffic, one
// /api/orders call in five failing. It then shows what landed, with tugboat query and
// tugboat trace of one failed request.
func appInsights(ctx context.Context, tugboat string, requests int) error {
	dir, err := os.MkdirTemp("", "tugboat-demo-traces-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	shop := filepath.Join(dir, "shop")
	fmt.Println("building the demo shop (hack/demo/shop)")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", shop, "./hack/demo/shop").CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build the shop: %w\n%s", err, out)
	}
	otlpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	agent, err := start(ctx, "agent", tugboat, nil, "agent", "--collect", "none", "--data-dir", data,
		"--otlp-grpc-addr", "off", "--otlp-http-addr", otlpAddr)
	if err != nil {
		return err
	}
	defer agent.stop()
	if err := waitListening(ctx, otlpAddr); err != nil {
		return fmt.Errorf("the agent's OTLP receiver did not start: %w", err)
	}
	env := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + otlpAddr, "OTEL_BSP_SCHEDULE_DELAY=200"}
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
	// Stopping the services flushes their spans; stopping the agent closes its store
	// so tugboat query can open it.
	for i := len(services) - 1; i >= 0; i-- {
		services[i].stop()
	}
	services = nil
	agent.stop()

	query := func(q string) (string, error) {
		out, err := exec.CommandContext(ctx, tugboat, "query", "--data-dir", data, q).CombinedOutput()
		return string(out), err
	}
	for _, q := range []string{
		`AppRequests | summarize Requests = count(), P95Ms = percentile(DurationMs, 95) by AppRoleName, Name | sort by AppRoleName asc`,
		`AppExceptions | summarize count() by AppRoleName, ExceptionType, OuterMessage | top 3 by count_`,
	} {
		out, err := query(q)
		fmt.Printf("\n$ tugboat query '%s'\n%s", q, out)
		if err != nil {
			return fmt.Errorf("tugboat query failed: %w", err)
		}
	}
	out, err := exec.CommandContext(ctx, tugboat, "query", "--data-dir", data, "-o", "json",
		`AppRequests | where Success == false and AppRoleName == "shop-frontend" | top 1 by TimeGenerated desc | project OperationId`).Output()
	if err != nil {
		return fmt.Errorf("failed to find a failed request: %w", err)
	}
	id := firstString(out)
	if id == "" {
		fmt.Println("\nno request failed this time (one in five /api/orders calls fails, at random)")
		return nil
	}
	trace, err := exec.CommandContext(ctx, tugboat, "trace", "--data-dir", data, id).CombinedOutput()
	fmt.Printf("\n$ tugboat trace %s\n%s", id, trace)
	if err != nil {
		return fmt.Errorf("tugboat trace failed: %w", err)
	}
	return nil
}

// firstString returns the first string value in tugboat query's JSON rows.
func firstString(out []byte) string {
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		var res struct {
			Rows [][]any `json:"rows"`
		}
		if json.Unmarshal(out, &res) != nil || len(res.Rows) == 0 || len(res.Rows[0]) == 0 {
			return ""
		}
		s, _ := res.Rows[0][0].(string)
		return s
	}
	for _, r := range rows {
		for _, v := range r {
			if s, ok := v.(string); ok {
				return s
			}
		}
	}
	return ""
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
