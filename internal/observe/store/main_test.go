package store_test

import (
	"os"
	"testing"

	"github.com/tugboatcd/tugboat/internal/observe/store/storetest"
)

// benchDirs are removed when the test binary ends: the benchmark data is
// shared by every sub-benchmark.
var benchDirs []string

func tempDir() (string, error) {
	d, err := os.MkdirTemp("", "tugboat-store-bench-")
	if err == nil {
		benchDirs = append(benchDirs, d)
	}
	return d, err
}

func TestMain(m *testing.M) {
	storetest.Main(m, func() {
		if benchStore != nil {
			_ = benchStore.Close()
		}
		for _, d := range benchDirs {
			_ = os.RemoveAll(d)
		}
	})
}
