package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// shell runs the demo's commands as a user types them: each is printed after "$ " and
// run by bash exactly as printed, with tugboat and the cluster's kubectl on the PATH
// (a directory of two links made here) and KUBECONFIG pointing at the dev cluster.
type shell struct {
	bin string   // the directory holding tugboat and kubectl
	env []string // the commands' environment
	tty bool     // progress lines only on a terminal
}

// newShell puts tugboat (the binary at path) and kubectl (the dev cluster's own, the
// component binary's) on the commands' PATH.
func newShell(tugboat, kubeconfig string) (*shell, func(), error) {
	abs, err := filepath.Abs(tugboat)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, nil, fmt.Errorf("no tugboat binary at %s (make build): %w", tugboat, err)
	}
	dir, err := os.MkdirTemp("", "tugboat-demo-bin-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	kubectl := fmt.Sprintf("#!/bin/sh\nexec %q kubectl \"$@\"\n", cluster.DefaultBinaryPath())
	if err := os.Symlink(abs, filepath.Join(dir, "tugboat")); err != nil {
		cleanup()
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(kubectl), 0o755); err != nil {
		cleanup()
		return nil, nil, err
	}
	env := append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if kubeconfig != "" {
		env = append(env, "KUBECONFIG="+kubeconfig)
	}
	return &shell{bin: dir, env: env, tty: term.IsTerminal(int(os.Stdout.Fd()))}, cleanup, nil
}

// run prints the command and runs it with this terminal as its output, so that
// tugboat shows its progress where there is a terminal and only its results where
// there is none.
func (s *shell) run(ctx context.Context, command string) error {
	fmt.Printf("\n$ %s\n", command)
	cmd := s.command(ctx, command)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", firstWords(command), err)
	}
	return nil
}

// output prints the command, runs it and returns its standard output, which it
// also shows.
func (s *shell) output(ctx context.Context, command string) (string, error) {
	fmt.Printf("\n$ %s\n", command)
	cmd := s.command(ctx, command)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, os.Stdout), os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w", firstWords(command), err)
	}
	return strings.TrimSpace(out.String()), nil
}

// quiet runs a command without showing it (the demo's checks), returning its
// standard output and, on failure, its standard error in the error.
func (s *shell) quiet(ctx context.Context, command string) ([]byte, error) {
	cmd := s.command(ctx, command)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", firstWords(command), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func (s *shell) command(ctx context.Context, command string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command)
	cmd.Env = s.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// waitFor runs check every second until it says done, showing what it waits for on a
// terminal only; on timeout the error holds what check last said.
func (s *shell) waitFor(ctx context.Context, what string, check func(context.Context) (bool, string)) error {
	start, last := time.Now(), ""
	defer func() {
		if s.tty {
			fmt.Print("\r\033[K")
		}
	}()
	for {
		ok, msg := check(ctx)
		if ok {
			return nil
		}
		last = msg
		if s.tty {
			fmt.Printf("\r\033[K  waiting for %s (%ds)", what, int(time.Since(start).Seconds()))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never happened: %w (last: %s)", what, ctx.Err(), last)
		case <-time.After(time.Second):
		}
	}
}

// rows runs a tugboat query with -o json and returns its rows as records.
func (s *shell) rows(ctx context.Context, command string) ([]map[string]any, error) {
	out, err := s.quiet(ctx, command)
	if err != nil {
		return nil, err
	}
	return records(out)
}

// records reads tugboat query's JSON: an array of records, or columns and rows.
func records(out []byte) ([]map[string]any, error) {
	var recs []map[string]any
	if err := json.Unmarshal(out, &recs); err == nil {
		return recs, nil
	}
	var res struct {
		Columns []struct {
			Name string `json:"name"`
		} `json:"columns"`
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, errors.Join(errors.New("tugboat query -o json gave no rows"), err)
	}
	for _, r := range res.Rows {
		rec := map[string]any{}
		for i, c := range res.Columns {
			if i < len(r) {
				rec[c.Name] = r[i]
			}
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// firstWords names a command in an error: its first two words.
func firstWords(command string) string {
	f := strings.Fields(command)
	if len(f) > 2 {
		f = f[:2]
	}
	return strings.Join(f, " ")
}

// quote quotes a word for bash when it needs it.
func quote(s string) string {
	plain := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+%", r)
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !plain(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
