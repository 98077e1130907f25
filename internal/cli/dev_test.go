package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

// These cases need no cluster: they cover what tugboat dev says when there is none and
// when it is called wrongly. The lifecycle itself is tested in internal/localdev/dev.
func TestDevCommandsWithoutACluster(t *testing.T) {
	cases := map[string]struct {
		args     []string
		code     int
		stdout   string
		stderr   string
		exactOut bool
	}{
		"status of a cluster that never ran exits 3": {
			args: []string{"dev", "status"}, code: ExitStopped,
			stdout: "dev cluster: not running (data: DATA)\n", exactOut: true,
		},
		"status as JSON says not running": {
			args: []string{"dev", "status", "-o", "json"}, code: ExitStopped,
			stdout: `"running": false`,
		},
		"kubeconfig before up names the command to run": {
			args: []string{"dev", "kubeconfig"}, code: ExitError,
			stderr: "no dev cluster in DATA: run `tugboat dev up` first",
		},
		"down when nothing runs succeeds": {
			args: []string{"dev", "down"}, code: ExitOK,
			stdout: "dev cluster was not running\n", exactOut: true,
		},
		"an unknown output format is a usage error": {
			args: []string{"dev", "status", "-o", "yaml"}, code: ExitUsage,
			stderr: `--output must be table or json, not "yaml"`,
		},
		"kwok-only and real-node together are a usage error": {
			args: []string{"dev", "up", "--kwok-only", "--real-node"}, code: ExitUsage,
			stderr: "--kwok-only and --real-node exclude each other",
		},
		"an unknown flag is a usage error": {
			args: []string{"dev", "up", "--nodez", "2"}, code: ExitUsage,
			stderr: "unknown flag: --nodez",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "dev")
			var out, errOut bytes.Buffer
			args := append(tc.args, "--data-dir", data)
			code := Execute(context.Background(), args, &out, &errOut)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errOut.String())
			}
			wantOut := strings.ReplaceAll(tc.stdout, "DATA", data)
			if tc.exactOut && out.String() != wantOut || !strings.Contains(out.String(), wantOut) {
				t.Errorf("stdout %q, want %q", out.String(), wantOut)
			}
			if want := strings.ReplaceAll(tc.stderr, "DATA", data); !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr %q, want it to contain %q", errOut.String(), want)
			}
		})
	}
}

// `dev status` says where the GitOps controllers run: the holder of their lease.
func TestDevStatusNamesWhereTheControllerRuns(t *testing.T) {
	const lease = "tugboat-system/tugboat-controller-leader"
	for name, tc := range map[string]struct {
		controller dev.ControllerStatus
		want       string
	}{
		"the supervisor holds the lease": {
			dev.ControllerStatus{Lease: lease, Holder: "devbox_4242_0a1b2c3d", InSupervisor: true},
			"  controller: in the supervisor (process 4242 on devbox, lease " + lease + ")\n",
		},
		"another process holds it": {
			dev.ControllerStatus{Lease: lease, Holder: "devbox_5151_0a1b2c3d"},
			"  controller: process 5151 on devbox holds the lease " + lease + "; the supervisor's controllers wait\n",
		},
		"its holder stopped renewing it": {
			dev.ControllerStatus{Lease: lease, Holder: "tugboat-controller-7d9f_1_0a1b2c3d", Expired: true},
			"  controller: process 1 on tugboat-controller-7d9f held the lease " + lease + " but stopped renewing it; the next controller takes it over\n",
		},
		"nobody holds it yet": {
			dev.ControllerStatus{Lease: lease},
			"  controller: starting in the supervisor (the lease " + lease + " is not taken yet)\n",
		},
		"the supervisor runs none and nobody holds it": {
			dev.ControllerStatus{Lease: lease, SupervisorRunsNone: true},
			"  controller: none: the supervisor runs none (--no-controller) and nobody holds the lease " + lease + "; run `tugboat install` or `tugboat controller`\n",
		},
		"the supervisor runs none and another process holds it": {
			dev.ControllerStatus{Lease: lease, Holder: "devbox_5151_0a1b2c3d", SupervisorRunsNone: true},
			"  controller: process 5151 on devbox (the lease " + lease + "; the supervisor runs none: --no-controller)\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			st := dev.Status{Running: true, Controller: &tc.controller}
			if err := printStatus(&out, "table", st); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("status does not say %q:\n%s", tc.want, out.String())
			}
		})
	}
}

// dev status names the dev store (the flags that query it, the OTLP endpoint) and the webhook server.
func TestDevStatusNamesTheStore(t *testing.T) {
	var out bytes.Buffer
	st := dev.Status{Running: true, Store: &dev.StoreEndpoints{Query: "http://127.0.0.1:4242", TokenFile: "/data/store/query-token", OTLP: "http://127.0.0.1:4343"},
		Webhooks: "http://127.0.0.1:4444"}
	if err := printStatus(&out, "table", st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  store:      tugboat query --server http://127.0.0.1:4242 --token-file /data/store/query-token\n",
		"  otlp:       http://127.0.0.1:4343 ",
		"  webhooks:   http://127.0.0.1:4444 ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status does not say %q:\n%s", want, out.String())
		}
	}
}
