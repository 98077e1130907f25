package storetest

import (
	"errors"
	"net"
	"testing"

	"github.com/tugboatcd/tugboat/internal/localdev/localport"
)

// The retry in ClickHouse depends on recognising this exit: a server whose port was
// taken must say so, not fail in some other way.
func TestStartOnATakenPortSaysThePortWasTaken(t *testing.T) {
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	httpPort, err := localport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	s, err := startOn(squatter.Addr().(*net.TCPAddr).Port, httpPort, "127.0.0.1", nil)
	if err == nil {
		s.stop()
		t.Fatal("ClickHouse started on a port another listener holds")
	}
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("the error does not say the port was taken: %v", err)
	}
}
