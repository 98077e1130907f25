package gitserver

import (
	"fmt"
	"net/http"
	"time"
)

// Fault is how the server misbehaves, for tests of what its clients do when a Git
// forge fails. The zero Fault is a healthy server.
type Fault struct {
	// Delay holds every request this long before it is answered (a slow or hung
	// forge); a client that gives up first ends the wait.
	Delay time.Duration
	// Status, when set, answers every request with this status instead of serving
	// it: 500 for a broken forge, 503 for one in maintenance.
	Status int
	// AskCredentials answers every request with 401 and a WWW-Authenticate
	// challenge, as a forge does when a repository turns private or a token is
	// revoked, whatever credentials the request carries.
	AskCredentials bool
}

// SetFault makes the server misbehave as f says from the next request on; SetFault
// of the zero Fault heals it. To make the server down (connection refused), Close
// it; Start then listens again on the same address.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// faulted answers r as the current Fault says, and reports whether it did.
func (s *Server) faulted(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.fault
	s.mu.Unlock()
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case f.AskCredentials:
		s.rejected.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="gitserver"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return true
	case f.Status != 0:
		http.Error(w, fmt.Sprintf("gitserver fault: %d", f.Status), f.Status)
		return true
	}
	return false
}
