package cli

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/push/deploy"
	"github.com/tugboatcd/tugboat/internal/push/image/imagetest"
)

// ciStep is one step of a CI template that runs tugboat: its shell script and the
// environment the CI system would give it.
type ciStep struct {
	name, script string
	env          map[string]string
}

// githubSteps reads the deploy job of a GitHub Actions workflow: the job's env and
// every step whose script runs `tugboat image` or `tugboat deploy`.
func githubSteps(t *testing.T, path string) (map[string]string, []ciStep) {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Env   map[string]string `json:"env"`
			Steps []struct {
				ID   string            `json:"id"`
				Name string            `json:"name"`
				Run  string            `json:"run"`
				Env  map[string]string `json:"env"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	readYAML(t, path, &wf)
	job, ok := wf.Jobs["deploy"]
	if !ok {
		t.Fatalf("%s has no job deploy", path)
	}
	var steps []ciStep
	for _, s := range job.Steps {
		if runsTugboat(s.Run) {
			steps = append(steps, ciStep{name: s.ID + " " + s.Name, script: s.Run, env: s.Env})
		}
	}
	return job.Env, steps
}

// azureSteps reads an Azure Pipelines file: its variables and every script step that
// runs `tugboat image` or `tugboat deploy`.
func azureSteps(t *testing.T, path string) (map[string]string, []ciStep) {
	t.Helper()
	var p struct {
		Variables map[string]string `json:"variables"`
		Steps     []struct {
			Script      string            `json:"script"`
			Name        string            `json:"name"`
			DisplayName string            `json:"displayName"`
			Env         map[string]string `json:"env"`
		} `json:"steps"`
	}
	readYAML(t, path, &p)
	var steps []ciStep
	for _, s := range p.Steps {
		if runsTugboat(s.Script) {
			steps = append(steps, ciStep{name: s.Name + " " + s.DisplayName, script: s.Script, env: s.Env})
		}
	}
	return p.Variables, steps
}

func runsTugboat(script string) bool {
	return strings.Contains(script, "tugboat image ") || strings.Contains(script, "tugboat deploy ")
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("failed to parse %s: %v", path, err)
	}
}

var (
	githubExprRe = regexp.MustCompile(`\$\{\{\s*steps\.([a-z0-9_-]+)\.outputs\.([a-z0-9_-]+)\s*\}\}`)
	azureMacroRe = regexp.MustCompile(`\$\(([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\)`)
	azureSetRe   = regexp.MustCompile(`^##vso\[task\.setvariable variable=([A-Za-z0-9_]+);isOutput=true\](.*)$`)
	anyExprRe    = regexp.MustCompile(`\$\{\{|\$\(`)
)

// buildTugboat builds this module's tugboat command into a directory and returns it,
// for scripts that call `tugboat` as a CI job does.
func buildTugboat(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(bin, "tugboat"), "github.com/tugboatcd/tugboat/cmd/tugboat")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to build tugboat: %v\n%s", err, out)
	}
	return bin
}

// appSource writes a Go module with the main package ./cmd/myapp, what the templates
// publish, and returns its directory.
func appSource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":            "module example.com/myapp\n\ngo 1.26\n",
		"cmd/myapp/main.go": "package main\n\nfunc main() { println(\"myapp\") }\n",
	}
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCITemplatesDeploy runs the tugboat steps of the CI templates under docs/examples
// as their CI would: the same scripts, in order, with the job's variables, against a
// local registry (IMAGE_REPO, and a scratch BASE_IMAGE as there is no network) and the
// suite's cluster (KUBECONFIG, NAMESPACE). The Deployment must end up running the
// published image by digest, with a record naming the CI's actor and commit.
func TestCITemplatesDeploy(t *testing.T) {
	bin := buildTugboat(t)
	imagetest.NoDockerConfig(t)
	registry := imagetest.NewRegistry(t, nil)
	templates := map[string]struct {
		path   string
		read   func(*testing.T, string) (map[string]string, []ciStep)
		ciEnv  map[string]string
		actor  string
		commit string
	}{
		"GitHub Actions": {
			path: "../../docs/examples/github-actions/deploy.yml", read: githubSteps,
			ciEnv: map[string]string{"GITHUB_SHA": "1a2b3c4d5e6f", "GITHUB_ACTOR": "octocat"},
			actor: "octocat", commit: "1a2b3c4d5e6f",
		},
		"Azure Pipelines": {
			path: "../../docs/examples/azure-pipelines/azure-pipelines.yml", read: azureSteps,
			ciEnv: map[string]string{"BUILD_SOURCEVERSION": "6f5e4d3c2b1a", "BUILD_REQUESTEDFOR": "Ada Lovelace"},
			actor: "Ada Lovelace", commit: "6f5e4d3c2b1a",
		},
	}
	kubeconfig := env.Kubeconfig
	for name, tc := range templates {
		t.Run(name, func(t *testing.T) {
			noCIEnv(t)
			vars, steps := tc.read(t, tc.path)
			if len(steps) != 2 {
				t.Fatalf("%s: %d steps run tugboat, want publish and deploy", tc.path, len(steps))
			}
			ns := newNamespace(t)
			newAppDeployment(t, ns)
			src := appSource(t)
			outputFile := filepath.Join(t.TempDir(), "github_output")

			jobEnv := map[string]string{}
			for k, v := range vars {
				jobEnv[k] = v
			}
			for k, v := range tc.ciEnv {
				jobEnv[k] = v
			}
			jobEnv["IMAGE_REPO"] = registry + "/myapp"
			jobEnv["BASE_IMAGE"] = "scratch"
			jobEnv["NAMESPACE"] = ns
			jobEnv["KUBECONFIG"] = kubeconfig
			jobEnv["GITHUB_OUTPUT"] = outputFile
			outputs := map[string]map[string]string{}

			for _, step := range steps {
				stepEnv := map[string]string{}
				for k, v := range jobEnv {
					stepEnv[k] = v
				}
				for k, v := range step.env {
					v = githubExprRe.ReplaceAllStringFunc(v, func(m string) string {
						g := githubExprRe.FindStringSubmatch(m)
						return outputs[g[1]][g[2]]
					})
					v = azureMacroRe.ReplaceAllStringFunc(v, func(m string) string {
						g := azureMacroRe.FindStringSubmatch(m)
						return outputs[g[1]][g[2]]
					})
					if anyExprRe.MatchString(v) {
						t.Fatalf("step %q: env %s=%s uses an expression this test does not know", step.name, k, v)
					}
					stepEnv[k] = v
				}
				stdout := runScript(t, step, bin, src, stepEnv)
				id := strings.Fields(step.name + " x")[0]
				outputs[id] = readOutputs(t, outputFile, stdout)
			}

			// The Deployment runs the image the publish step printed, by digest.
			ref := outputs["publish"]["ref"]
			if !strings.HasPrefix(ref, registry+"/myapp@sha256:") {
				t.Fatalf("publish output ref = %q, want %s/myapp@sha256:...", ref, registry)
			}
			d, err := clientset(t).AppsV1().Deployments(ns).Get(context.Background(), "myapp", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Spec.Template.Spec.Containers[0].Image; got != ref {
				t.Errorf("Deployment runs %s, want %s", got, ref)
			}
			recs, err := deploy.ListRecords(context.Background(), clientset(t), ns)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records %+v %v", recs, err)
			}
			if r := recs[0]; r.Result != deployrecord.ResultSucceeded || r.Actor != tc.actor || r.Commit != tc.commit || r.Changes[0].ImageAfter != ref {
				t.Errorf("record = %+v", r)
			}
		})
	}
}

// runScript runs one step's script with bash as the CI runners do (-e, pipefail) in
// the app's checkout, tugboat on the PATH, and returns its stdout.
func runScript(t *testing.T, step ciStep, bin, dir string, env map[string]string) string {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0", "DOCKER_CONFIG=" + os.Getenv("DOCKER_CONFIG")}
	for _, k := range []string{"GOCACHE", "GOPATH", "GOROOT", "TMPDIR"} {
		if v := os.Getenv(k); v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("step %q failed: %v\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", step.name, err, step.script, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// readOutputs collects a step's outputs: GitHub's name=value lines in $GITHUB_OUTPUT
// (the file is then emptied for the next step) and Azure's ##vso setvariable lines.
func readOutputs(t *testing.T, githubOutput, stdout string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if data, err := os.ReadFile(githubOutput); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				out[k] = v
			}
		}
		if err := os.Remove(githubOutput); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		if g := azureSetRe.FindStringSubmatch(sc.Text()); g != nil {
			out[g[1]] = g[2]
		}
	}
	return out
}

// newAppDeployment creates Deployment "myapp" (container "myapp"), what the templates
// deploy, and waits for its rollout.
func newAppDeployment(t *testing.T, ns string) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "myapp", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "myapp"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "myapp"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "myapp", Image: "registry.example/myapp:0"}}},
			},
		},
	}
	if _, err := clientset(t).AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, ExitOK, ns, "rollout", "status", "deployment/myapp", "--timeout", "2m")
}
