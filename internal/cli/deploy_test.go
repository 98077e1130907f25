package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/health"
	"github.com/tugboatcd/tugboat/internal/push/deploy"
)

// brokenTag is an image tag whose pods an admission policy of these tests refuses, so
// a rollout to it never gets a Ready pod and runs into its progress deadline (kwok
// makes every pod that exists Ready).
const brokenTag = ":broken"

var (
	kubeOnce   sync.Once
	kubeClient kubernetes.Interface
	kubeErr    error
)

// clientset returns a clientset for the suite's cluster, with the broken-image policy in force.
func clientset(t *testing.T) kubernetes.Interface {
	t.Helper()
	kubeOnce.Do(func() {
		kubeClient, kubeErr = kubernetes.NewForConfig(env.RESTConfig)
		if kubeErr == nil {
			kubeErr = refuseBrokenImages(context.Background(), kubeClient)
		}
	})
	if kubeErr != nil {
		t.Fatal(kubeErr)
	}
	return kubeClient
}

func refuseBrokenImages(ctx context.Context, c kubernetes.Interface) error {
	const name = "tugboat-cli-test-broken-images"
	adm := c.AdmissionregistrationV1()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("!object.spec.containers.exists(c, c.image.endsWith(%q))", brokenTag),
				Message:    "test policy: images tagged " + brokenTag + " never start",
			}},
		},
	}
	if _, err := adm.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the test admission policy: %w", err)
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: name, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	if _, err := adm.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to bind the test admission policy: %w", err)
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: metav1.NamespaceDefault},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.com/probe" + brokenTag}}},
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Pods(metav1.NamespaceDefault).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "never start"), nil
	})
}

// newWebDeployment creates Deployment "web" (2 replicas, container "app" running
// image, progress deadline in seconds) with labels and waits for its rollout.
func newWebDeployment(t *testing.T, ns, image string, deadline int32, labels map[string]string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To[int32](2),
			ProgressDeadlineSeconds: ptr.To(deadline),
			Selector:                &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
	d, err := clientset(t).AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, ExitOK, ns, "rollout", "status", "deployment/web", "--timeout", "2m")
	return d
}

func webImage(t *testing.T, ns string) (string, int64) {
	t.Helper()
	d, err := clientset(t).AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image, d.Generation
}

var (
	recordNameRe = regexp.MustCompile(`deploy-deployment-web-\d{8}-\d{6}-\d{9}`)
	timeRe       = regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)"`)
	afterRe      = regexp.MustCompile(`after \d+s;`)
	hashRe       = regexp.MustCompile(`pod-template-hash=[0-9a-z]+`)
)

// deployOutput normalises a deploy's output for a golden file: the namespace, the
// record's name and times, and the rollout's intermediate "Waiting for" lines, whose
// number depends on timing.
func deployOutput(s, ns string) string {
	s = recordNameRe.ReplaceAllString(s, "deploy-deployment-web-TIME")
	s = timeRe.ReplaceAllString(s, `"TIME"`)
	s = afterRe.ReplaceAllString(s, "after Ns;")
	s = hashRe.ReplaceAllString(s, "pod-template-hash=HASH")
	s = strings.ReplaceAll(s, ns, "NS")
	var keep []string
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(strings.TrimPrefix(line, "rollback: "), "Waiting for ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// noCIEnv clears the CI variables a deploy reads, so a test sees only its own.
func noCIEnv(t *testing.T) {
	for _, v := range append(append([]string{}, actorVars...), commitVars...) {
		t.Setenv(v, "")
	}
}

func TestDeploySetImageOutput(t *testing.T) {
	cases := map[string]struct {
		image    string
		deadline int32
		args     []string
		code     int
		final    string
	}{
		"a rollout that completes": {
			image: "registry.example/web:2", deadline: 600, code: ExitOK, final: "registry.example/web:2",
		},
		"the same image again is unchanged": {
			image: "registry.example/web:1", deadline: 600, code: ExitOK, final: "registry.example/web:1",
		},
		"a failing rollout is rolled back with exit code 4": {
			image: "registry.example/web" + brokenTag, deadline: 2, args: []string{"--rollback-on-failure"},
			code: ExitRolledBack, final: "registry.example/web:1",
		},
		"a failing rollout without rollback exits 1 and stays": {
			image: "registry.example/web" + brokenTag, deadline: 2, code: ExitError, final: "registry.example/web" + brokenTag,
		},
		"a timeout is rolled back with exit code 4": {
			image: "registry.example/web" + brokenTag, deadline: 600, args: []string{"--timeout", "3s", "--rollback-on-failure"},
			code: ExitRolledBack, final: "registry.example/web:1",
		},
		"not waiting returns once the images are set": {
			image: "registry.example/web:2", deadline: 600, args: []string{"--wait=false"}, code: ExitOK, final: "registry.example/web:2",
		},
		"json prints only the record": {
			image: "registry.example/web:2", deadline: 600, args: []string{"-o", "json"}, code: ExitOK, final: "registry.example/web:2",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			noCIEnv(t)
			ns := newNamespace(t)
			newWebDeployment(t, ns, "registry.example/web:1", tc.deadline, nil)
			args := append([]string{"deploy", "set-image", "deployment/web", "app=" + tc.image, "--actor", "alice", "--commit", "c0ffee"}, tc.args...)
			r := mustRun(t, tc.code, ns, args...)
			golden(t, "deploy", strings.ReplaceAll(name, " ", "-"),
				"stdout:\n"+deployOutput(r.stdout, ns)+"stderr:\n"+deployOutput(r.stderr, ns))
			if img, _ := webImage(t, ns); img != tc.final {
				t.Errorf("image after the deploy: %s, want %s", img, tc.final)
			}
			recs, err := deploy.ListRecords(context.Background(), clientset(t), ns)
			if err != nil || len(recs) != 1 || recs[0].Actor != "alice" || recs[0].Commit != "c0ffee" {
				t.Errorf("records = %+v, %v; want one by alice from c0ffee", recs, err)
			}
		})
	}
}

func TestDeploySetImageJSONIsTheRecord(t *testing.T) {
	noCIEnv(t)
	ns := newNamespace(t)
	newWebDeployment(t, ns, "registry.example/web:1", 600, nil)
	r := mustRun(t, ExitOK, ns, "deploy", "set-image", "deploy/web", "app=registry.example/web:2", "-o", "json")
	var rec deployrecord.Record
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("stdout is not a record: %v\n%s", err, r.stdout)
	}
	recs, err := deploy.ListRecords(context.Background(), clientset(t), ns)
	if err != nil || len(recs) != 1 || recs[0].Name != rec.Name || rec.Result != deployrecord.ResultSucceeded {
		t.Errorf("printed %+v, stored %+v (%v)", rec, recs, err)
	}
	if r.stderr != "" {
		t.Errorf("-o json printed on stderr: %q", r.stderr)
	}
}

func TestDeployActorAndCommitComeFromCIElseTheCluster(t *testing.T) {
	cases := map[string]struct {
		env         map[string]string
		actor       string
		commit      string
		clusterUser bool
	}{
		"GitHub Actions": {
			env:   map[string]string{"GITHUB_ACTOR": "octocat", "GITHUB_SHA": "1111111"},
			actor: "octocat", commit: "1111111",
		},
		"Azure Pipelines": {
			env:   map[string]string{"BUILD_REQUESTEDFOR": "Ada Lovelace", "BUILD_SOURCEVERSION": "2222222"},
			actor: "Ada Lovelace", commit: "2222222",
		},
		"GitLab's commit": {
			env:    map[string]string{"CI_COMMIT_SHA": "3333333"},
			commit: "3333333", clusterUser: true,
		},
		"no CI: the cluster user and no commit": {clusterUser: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			noCIEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ns := newNamespace(t)
			newWebDeployment(t, ns, "registry.example/web:1", 600, nil)
			mustRun(t, ExitOK, ns, "deploy", "set-image", "deployment/web", "app=registry.example/web:2")
			recs, err := deploy.ListRecords(context.Background(), clientset(t), ns)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records %+v %v", recs, err)
			}
			got := recs[0]
			if tc.clusterUser {
				review, err := clientset(t).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				tc.actor = review.Status.UserInfo.Username
			}
			if got.Actor != tc.actor || got.Commit != tc.commit || got.Actor == "" {
				t.Errorf("actor %q commit %q, want %q %q", got.Actor, got.Commit, tc.actor, tc.commit)
			}
		})
	}
}

func TestDeployBadInputChangesNothing(t *testing.T) {
	noCIEnv(t)
	ns := newNamespace(t)
	newWebDeployment(t, ns, "registry.example/web:1", 600, map[string]string{"team": "a"})
	managed := newNamespace(t)
	newWebDeployment(t, managed, "registry.example/web:1", 600, map[string]string{
		meta.KustomizeNameLabel: "apps", meta.KustomizeNamespaceLabel: "flux-system",
	})
	cases := map[string]struct {
		ns     string
		args   []string
		code   int
		stderr string
	}{
		"an unknown container": {
			args: []string{"deployment/web", "nope=registry.example/web:2"}, code: ExitError,
			stderr: `Error: deployment.apps/web: unable to find container named "nope" (containers: app)`,
		},
		"a workload reference without a kind": {
			args: []string{"web", "app=registry.example/web:2"}, code: ExitUsage,
			stderr: `Error: invalid workload "web": want KIND/NAME, e.g. deployment/myapp`,
		},
		"a kind that has no rollout": {
			args: []string{"cronjob/web", "app=registry.example/web:2"}, code: ExitUsage,
			stderr: `kind "cronjob" is not one of deployment, statefulset, daemonset`,
		},
		"a missing workload": {
			args: []string{"deployment/nope", "app=registry.example/web:2"}, code: ExitError,
			stderr: `Error: deployment.apps/nope not found in namespace "NS"`,
		},
		"a bad image reference": {
			args: []string{"deployment/web", "app=registry.example/WEB:2"}, code: ExitUsage,
			stderr: `Error: invalid image for container "app": "registry.example/WEB:2" is not an image reference`,
		},
		"no image at all": {
			args: []string{"deployment/web"}, code: ExitUsage,
			stderr: "Error: requires at least 2 arg(s)",
		},
		"a workload a Kustomization manages": {
			ns: managed, args: []string{"deployment/web", "app=registry.example/web:2"}, code: ExitError,
			stderr: "Error: workload is managed by a Kustomization: deployment.apps/web Kustomization flux-system/apps; " +
				"the next reconcile will revert the image. Change the image in Git, or pass --force to push anyway",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			target := ns
			if tc.ns != "" {
				target = tc.ns
			}
			r := mustRun(t, tc.code, target, append([]string{"deploy", "set-image"}, tc.args...)...)
			if got := strings.ReplaceAll(r.stderr, target, "NS"); !strings.Contains(got, tc.stderr) {
				t.Errorf("stderr %q, want %q", got, tc.stderr)
			}
		})
	}
	for _, n := range []string{ns, managed} {
		if img, gen := webImage(t, n); img != "registry.example/web:1" || gen != 1 {
			t.Errorf("Deployment in %s changed: %s, generation %d", n, img, gen)
		}
		if recs, err := deploy.ListRecords(context.Background(), clientset(t), n); err != nil || len(recs) != 0 {
			t.Errorf("records in %s: %+v %v", n, recs, err)
		}
	}
	// --force goes ahead, with the warning.
	r := mustRun(t, ExitOK, managed, "deploy", "set-image", "deployment/web", "app=registry.example/web:2", "--force")
	if !strings.Contains(r.stderr, "warning: deployment.apps/web is managed by Kustomization flux-system/apps; the next reconcile will revert this image") {
		t.Errorf("no warning with --force: %q", r.stderr)
	}
}

func TestRolloutProgressOnATerminalIsOneLiveLine(t *testing.T) {
	var out, errOut bytes.Buffer
	p := &rolloutProgress{tty: true, out: &out, errOut: &errOut}
	w := deploy.Workload{Kind: "Deployment", Name: "web"}
	for _, st := range []struct {
		updated, ready, available int64
		done                      bool
		msg                       string
	}{{1, 0, 0, false, "waiting"}, {2, 2, 1, false, "waiting"}, {2, 2, 2, true, `deployment "web" successfully rolled out`}} {
		p.event(w, deploy.Event{Phase: deploy.PhaseRollout, Elapsed: 1500 * time.Millisecond, Status: healthStatus(st.updated, st.ready, st.available, st.done, st.msg)})
	}
	p.finish()
	wantErr := "\r\033[Kdeployment.apps/web rolling out: 2 desired, 1 updated, 0 ready, 0 available (2s)" +
		"\r\033[Kdeployment.apps/web rolling out: 2 desired, 2 updated, 2 ready, 1 available (2s)" +
		"\r\033[Kdeployment.apps/web rolling out: 2 desired, 2 updated, 2 ready, 2 available (2s)\r\033[K"
	if errOut.String() != wantErr {
		t.Errorf("terminal line %q, want %q", errOut.String(), wantErr)
	}
	if out.String() != "deployment \"web\" successfully rolled out\n" {
		t.Errorf("stdout %q", out.String())
	}
}

func healthStatus(updated, ready, available int64, done bool, msg string) health.RolloutStatus {
	return health.RolloutStatus{Desired: 2, Updated: updated, Ready: ready, Available: available, Done: done, Message: msg}
}
