package dev

import (
	"os"
	"testing"
)

// serveEnv makes the test binary act as the supervisor that Up starts (see
// TestMain in serve_main_test.go): the real Serve, without building the tugboat
// binary first.
const serveEnv = "TUGBOAT_DEV_TEST_SERVE_DIR"

// ServeEnv is serveEnv for the external test package, which holds TestMain: it
// imports internal/app (the services `tugboat dev serve` starts), which imports
// this package.
const ServeEnv = serveEnv

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
