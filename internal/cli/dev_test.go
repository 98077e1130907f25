package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
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
