package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// process is one running component. Its output goes to a log file so that a failure can
// quote the component's own last words.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once the process has been reaped
	err     error         // Wait's result, valid after exited is closed
	// restarted is set before RestartControlPlane stops the process on purpose.
	restarted atomic.Bool
}

// startProcess starts binary as component name (the multi-call binary dispatches on its
// first argument) with its output appended to logDir/name.log.
func startProcess(binary, name, logDir string, args []string) (*process, error) {
	return startCommand(binary, append([]string{name}, args...), name, logDir)
}

// startCommand starts path with args as component name, its output appended to
// logDir/name.log.
func startCommand(path string, args []string, name, logDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open log of %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = componentEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a Ctrl-C meant for the owner does not race the owner's
		// orderly shutdown, and Stop can signal the component and anything it forks.
		Setpgid: true,
		// The kernel kills the component when its owner dies for any reason, including
		// SIGKILL or a panic that skips every deferred Stop.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("failed to start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// componentEnv keeps the environment a component needs and drops what would make it
// read the user's own configuration (a kwok config in $HOME, a KUBECONFIG).
func componentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop asks the component's process group to terminate and kills it after grace.
func (p *process) stop(grace time.Duration) {
	if !p.running() {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.exited
	}
	// Reap stragglers of the group that ignored SIGTERM after the leader exited.
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
}

// exitError describes how the process ended, with the tail of its log.
func (p *process) exitError() error {
	cause := p.err
	if cause == nil {
		cause = errors.New("exit status 0")
	}
	last := tail(p.logPath, 20)
	if strings.Contains(last, "address already in use") {
		cause = fmt.Errorf("%w: %w", errPortTaken, cause)
	}
	return fmt.Errorf("%s exited (%w); last lines of %s:\n%s", p.name, cause, p.logPath, last)
}

// errPortTaken marks the exit of a component that could not bind its port.
var errPortTaken = errors.New("its port was taken")

// tail returns the last n lines of a file, or a note saying why it cannot.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	const window = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		_, _ = f.Seek(-window, io.SeekEnd)
	}
	data, err := io.ReadAll(f)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + string(bytes.Join(lines, []byte("\n  ")))
}
