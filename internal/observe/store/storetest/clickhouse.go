// Package storetest starts a real ClickHouse server for tests: Debian's
// clickhouse-server (18.16) as a plain process in a temporary directory, on
// free ports, stopped when the test binary ends.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tugboatcd/tugboat/internal/localdev/localport"
)

// Server is a running ClickHouse server.
type Server struct {
	Addr     string // host:port of the native protocol
	dir      string
	tcp      int
	http     int
	host     string
	networks []string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	dbs      atomic.Int64
}

var (
	mu      sync.Mutex
	running *Server
	failed  error
)

// Main runs a package's tests and stops the server afterwards, if one was
// started, then runs the after functions. Call it from TestMain.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	mu.Lock()
	if running != nil {
		running.stop()
	}
	mu.Unlock()
	os.Exit(code)
}

// ClickHouse returns the package's server, starting it on first use. The
// tests fail (never skip) when ClickHouse is not installed: CI runs `make
// test`, which installs it.
func ClickHouse(tb testing.TB) *Server {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if running != nil {
		return running
	}
	if failed != nil {
		tb.Fatal(failed)
	}
	s, err := start()
	for attempt := 2; errors.Is(err, errPortTaken) && attempt <= startAttempts; attempt++ {
		// Something took a picked port before ClickHouse bound it; pick again.
		s, err = start()
	}
	if err != nil {
		failed = err
		tb.Fatal(err)
	}
	running = s
	return s
}

// startAttempts bounds the starts tried when a picked port is taken before the
// server binds it.
const startAttempts = 3

// errPortTaken marks a server that exited because it could not bind its port.
var errPortTaken = errors.New("its port was taken")

// Binary finds the server binary.
func Binary() (string, []string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p, []string{"server"}, nil
	}
	return "", nil, fmt.Errorf("clickhouse-server is not installed: run `make test`, or hack/clickhouse/install.sh once, to install Debian's clickhouse-server")
}

// Reachable starts a server of the test's own that listens on host (an address
// of this machine) and lets clients from the networks (CIDRs, e.g. the local
// cluster's pod network) connect, for agents that run in pods; it stops when the
// test ends.
func Reachable(tb testing.TB, host string, networks ...string) *Server {
	tb.Helper()
	var s *Server
	err := errPortTaken
	for attempt := 1; errors.Is(err, errPortTaken) && attempt <= startAttempts; attempt++ {
		var tcp, httpPort int
		if tcp, err = localport.Pick(); err != nil {
			break
		}
		if httpPort, err = localport.Pick(); err != nil {
			break
		}
		s, err = startOn(tcp, httpPort, host, networks)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.stop)
	return s
}

// start starts a server on two freshly picked ports.
func start() (*Server, error) {
	tcp, err := localport.Pick()
	if err != nil {
		return nil, err
	}
	httpPort, err := localport.Pick()
	if err != nil {
		return nil, err
	}
	return startOn(tcp, httpPort, "127.0.0.1", nil)
}

// startOn starts a server that serves the native protocol on port tcp and HTTP on
// httpPort, on host, for clients on loopback and the networks.
func startOn(tcp, httpPort int, host string, networks []string) (*Server, error) {
	dir, err := os.MkdirTemp("", "tugboat-clickhouse-")
	if err != nil {
		return nil, fmt.Errorf("failed to create ClickHouse directory: %w", err)
	}
	s, err := startIn(dir, tcp, httpPort, host, networks)
	if err != nil {
		_ = os.RemoveAll(dir)
	}
	return s, err
}

// Own starts a server for one test, apart from the package's, so that the
// test may stop it (Halt) and start it again (Resume) with its data, as an
// outage of the store. It is stopped and removed when the test ends.
func Own(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	for attempt := 2; errors.Is(err, errPortTaken) && attempt <= startAttempts; attempt++ {
		s, err = start()
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.stop() })
	return s
}

// Halt stops the server and keeps its data: connections are refused until
// Resume.
func (s *Server) Halt(tb testing.TB) {
	tb.Helper()
	s.terminate()
}

// Resume starts a halted server again on the same ports and data.
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var again *Server
		if again, err = startIn(s.dir, s.tcp, s.http, s.host, s.networks); err == nil {
			s.cmd, s.exited = again.cmd, again.exited
			return
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
		time.Sleep(time.Second) // the old listener's port is not free yet
	}
	tb.Fatalf("failed to start ClickHouse again: %v", err)
}

// startIn starts a server with its files in dir.
func startIn(dir string, tcp, httpPort int, host string, networks []string) (*Server, error) {
	bin, args, err := Binary()
	if err != nil {
		return nil, err
	}
	config := strings.NewReplacer("DIR", dir, "TCP", fmt.Sprint(tcp), "HTTP", fmt.Sprint(httpPort), "HOST", host).Replace(configXML)
	var ips strings.Builder
	for _, n := range append([]string{"127.0.0.1", "::1"}, networks...) {
		fmt.Fprintf(&ips, "<ip>%s</ip>", n)
	}
	users := strings.Replace(usersXML, "NETWORKS", ips.String(), 1)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write ClickHouse config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write ClickHouse users: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("failed to create ClickHouse log: %w", err)
	}
	cmd := exec.Command(bin, append(args, "--config-file="+filepath.Join(dir, "config.xml"))...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %s: %w", bin, err)
	}
	s := &Server{Addr: net.JoinHostPort(host, fmt.Sprint(tcp)), dir: dir, tcp: tcp, http: httpPort, host: host, networks: networks,
		cmd: cmd, exited: make(chan struct{})}
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if err := s.ping(); err == nil {
			return s, nil
		}
		select {
		case err := <-exited:
			errLog, _ := os.ReadFile(filepath.Join(dir, "server.err.log"))
			if strings.Contains(string(errLog), "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return nil, fmt.Errorf("clickhouse-server exited (%w): %s", err, lastLines(string(errLog), 10))
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.terminate()
			return nil, fmt.Errorf("clickhouse-server did not answer on %s within 90s", s.Addr)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (s *Server) ping() error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr}, DialTimeout: time.Second})
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return conn.Ping(ctx)
}

func (s *Server) stop() {
	s.terminate()
	_ = os.RemoveAll(s.dir)
}

// terminate stops the process, keeping its files.
func (s *Server) terminate() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
}

// Database creates an empty database for one test, dropped when it ends,
// and returns its DSN.
func (s *Server) Database(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), s.dbs.Add(1))
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("failed to create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
		_ = conn.Close()
	})
	return fmt.Sprintf("clickhouse://%s/%s", s.Addr, name)
}

// configXML is a minimal server configuration whose paths all point into
// the test's directory; UTC so DateTime values read back as written.
const configXML = `<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>DIR/server.log</log><errorlog>DIR/server.err.log</errorlog><size>10M</size><count>1</count></logger>
    <tcp_port>TCP</tcp_port>
    <http_port>HTTP</http_port>
    <listen_host>HOST</listen_host>
    <path>DIR/data/</path>
    <tmp_path>DIR/tmp/</tmp_path>
    <user_files_path>DIR/user_files/</user_files_path>
    <format_schema_path>DIR/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <timezone>UTC</timezone>
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>NETWORKS</networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
        </default>
    </quotas>
</yandex>
`
