package store_test

import (
	"testing"

	"github.com/tugboatcd/tugboat/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
