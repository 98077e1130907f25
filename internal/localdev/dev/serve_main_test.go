package dev_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/tugboatcd/tugboat/internal/app"
	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(dev.ServeEnv); dir != "" {
		// The data dir is in the environment and in the arguments (Up's caller passes
		// it), so supervisorPID finds it in the command line as with `tugboat dev serve`.
		// The services are the ones `tugboat dev serve` starts; the real node is not
		// (RealNodeServeArg is not read here), so that these tests leave it to others.
		o := dev.Options{DataDir: dir, Binary: os.Getenv("TUGBOAT_DEV_TEST_BINARY"), Controllers: app.StartDevControllers}
		if err := dev.Serve(context.Background(), o, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
