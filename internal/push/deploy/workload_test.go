package deploy

import (
	"strings"
	"testing"
)

func TestParseWorkloadAcceptsKubectlNames(t *testing.T) {
	cases := map[string]struct {
		ref     string
		want    Workload
		wantErr string
	}{
		"deployment/NAME":            {ref: "deployment/web", want: Workload{"Deployment", "web"}},
		"the short name deploy":      {ref: "deploy/web", want: Workload{"Deployment", "web"}},
		"a StatefulSet by sts":       {ref: "sts/db", want: Workload{"StatefulSet", "db"}},
		"a DaemonSet with its group": {ref: "daemonset.apps/agent", want: Workload{"DaemonSet", "agent"}},
		"kinds are case-insensitive": {ref: "Deployment/web", want: Workload{"Deployment", "web"}},
		"a name alone is refused":    {ref: "web", wantErr: `invalid workload "web": want KIND/NAME`},
		"an empty name is refused":   {ref: "deployment/", wantErr: `want KIND/NAME`},
		"another kind is refused":    {ref: "cronjob/x", wantErr: `kind "cronjob" is not one of deployment, statefulset, daemonset`},
		"a nested path is refused":   {ref: "deployment/a/b", wantErr: `want KIND/NAME`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseWorkload(tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseImagesFollowsKubectlSetImage(t *testing.T) {
	cases := map[string]struct {
		args    []string
		want    string
		wantErr string
	}{
		"pairs are sorted by container":       {args: []string{"b=reg/b:1", "a=reg/a:1"}, want: "a=reg/a:1 b=reg/b:1"},
		"a digest reference is accepted":      {args: []string{"a=reg.example:5000/a@sha256:" + strings.Repeat("ab", 32)}, want: "a=reg.example:5000/a@sha256:" + strings.Repeat("ab", 32)},
		"an untagged image means latest":      {args: []string{"*=nginx"}, want: "*=nginx"},
		"nothing to set is refused":           {args: nil, wantErr: "no image given"},
		"a pair without = is refused":         {args: []string{"nginx"}, wantErr: `invalid image argument "nginx": want CONTAINER=IMAGE`},
		"an empty image is refused":           {args: []string{"a="}, wantErr: `invalid image for container "a": image is empty`},
		"a bad reference is refused":          {args: []string{"a=Reg/UPPER:tag"}, wantErr: `invalid image for container "a": "Reg/UPPER:tag" is not an image reference`},
		"a bad tag is refused":                {args: []string{"a=reg/a:bad tag"}, wantErr: `is not an image reference`},
		"* with another pair is refused":      {args: []string{"*=reg/a:1", "b=reg/b:1"}, wantErr: "all containers are already specified by *"},
		"the same container twice is refused": {args: []string{"a=reg/a:1", "a=reg/a:2"}, wantErr: `container "a" is given more than once`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseImages(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, s := range got {
				parts = append(parts, s.Container+"="+s.Image)
			}
			if strings.Join(parts, " ") != tc.want {
				t.Errorf("got %v, want %s", parts, tc.want)
			}
		})
	}
}
