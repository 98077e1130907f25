package dev

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/tugboatcd/tugboat/internal/app"
)

// serveEnv makes the test binary act as the supervisor that Up starts: the real Serve,
// without building the tugboat binary first.
const serveEnv = "TUGBOAT_DEV_TEST_SERVE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(serveEnv); dir != "" {
		// The data dir is in the environment and in the arguments (Up's caller passes
		// it), so supervisorPID finds it in the command line as with `tugboat dev serve`.
		// The controllers are the ones `tugboat dev serve` starts.
		o := Options{DataDir: dir, Binary: os.Getenv("TUGBOAT_DEV_TEST_BINARY"), Controllers: app.StartDevControllers}
		if err := Serve(context.Background(), o, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testOptions returns options whose supervisor is this test binary in serve mode.
func testOptions(t *testing.T, dataDir, binary string) Options {
	t.Helper()
	t.Setenv(serveEnv, dataDir)
	t.Setenv("TUGBOAT_DEV_TEST_BINARY", binary)
	return Options{
		DataDir:    dataDir,
		Binary:     binary,
		Executable: os.Args[0],
		ServeArgs:  []string{"-test.run=^$", "-data-dir-for-ps=" + dataDir},
	}
}
