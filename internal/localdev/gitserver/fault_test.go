package gitserver

import (
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestServerFaults(t *testing.T) {
	s, base := newServer(t, nil)
	if err := s.InitRepo("app.git", "main"); err != nil {
		t.Fatal(err)
	}
	refs := base + "/app.git/info/refs?service=git-upload-pack"
	get := func(timeout time.Duration) (*http.Response, error) {
		c := &http.Client{Timeout: timeout}
		resp, err := c.Get(refs)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	tests := map[string]struct {
		fault      Fault
		wantStatus int
		wantErr    bool
	}{
		"a healthy server serves the refs":                 {wantStatus: http.StatusOK},
		"a broken server answers 500":                      {fault: Fault{Status: 500}, wantStatus: 500},
		"a server asking for credentials answers 401":      {fault: Fault{AskCredentials: true}, wantStatus: 401},
		"a slow server outlasts a client's timeout":        {fault: Fault{Delay: time.Minute}, wantErr: true},
		"a slow server still answers a patient client":     {fault: Fault{Delay: 50 * time.Millisecond}, wantStatus: http.StatusOK},
		"a slow broken server answers 500 after its delay": {fault: Fault{Delay: 50 * time.Millisecond, Status: 500}, wantStatus: 500},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s.SetFault(tc.fault)
			defer s.SetFault(Fault{})
			resp, err := get(2 * time.Second)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("GET info/refs answered %s, want a client timeout", resp.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("GET info/refs answered %s, want %d", resp.Status, tc.wantStatus)
			}
			if tc.fault.AskCredentials && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without a WWW-Authenticate challenge")
			}
		})
	}

	t.Run("a closed server refuses connections and comes back at the same address", func(t *testing.T) {
		s.Close()
		if _, err := get(2 * time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("GET on a closed server: %v, want connection refused", err)
		}
		again, err := s.Start()
		if err != nil {
			t.Fatal(err)
		}
		if again != base {
			t.Fatalf("Start after Close listens at %s, want %s", again, base)
		}
		if resp, err := get(2 * time.Second); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET after Start: %v %v", resp, err)
		}
	})
}
