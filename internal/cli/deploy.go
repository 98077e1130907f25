package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/push/deploy"
)

// ExitRolledBack is the exit code of a deploy whose rollout failed or timed out and was
// rolled back to the previous revision (documented in docs/cli.md).
const ExitRolledBack = 4

// The CI variables a deploy reads its actor and commit from, in order, when the
// flags are not given: GitHub Actions, Azure Pipelines, GitLab CI.
var (
	actorVars  = []string{"GITHUB_ACTOR", "BUILD_REQUESTEDFOR", "GITLAB_USER_LOGIN"}
	commitVars = []string{"GITHUB_SHA", "BUILD_SOURCEVERSION", "CI_COMMIT_SHA"}
)

func newDeployCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Push delivery: set images on a workload, watch the rollout, roll back on failure",
	}
	cmd.AddCommand(newDeploySetImageCommand(s))
	return cmd
}

type setImageFlags struct {
	wait, rollback, force bool
	timeout               time.Duration
	actor, commit, output string
	keep                  int
}

func newDeploySetImageCommand(s streams) *cobra.Command {
	f := &setImageFlags{}
	cmd := &cobra.Command{
		Use:   "set-image KIND/NAME CONTAINER=IMAGE [CONTAINER=IMAGE...]",
		Short: "Set container images like kubectl set image, wait for the rollout, record the deploy",
		Long: `Set container images on a Deployment, StatefulSet or DaemonSet as 'kubectl set image'
does (init containers too; '*=IMAGE' sets every container), then wait for the rollout
by 'kubectl rollout status' rules. Every deploy is recorded in the workload's namespace
(see docs/deploy.md). Setting the images a workload already runs changes nothing.

Exit codes: 0 rolled out (or unchanged), 1 failed or timed out, 4 failed and rolled
back (--rollback-on-failure).`,
		Example: `  tugboat deploy set-image deployment/myapp myapp=registry.example/app:1.2.3
  tugboat deploy set-image sts/db '*=registry.example/db:2' --rollback-on-failure --timeout 10m`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSetImage(cmd.Context(), s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.wait, "wait", true, "wait for the rollout to finish")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for the rollout (and again for a rollback)")
	fl.BoolVar(&f.rollback, "rollback-on-failure", false, "undo to the previous revision when the rollout fails or times out")
	fl.BoolVar(&f.force, "force", false, "deploy onto a workload that a Kustomization manages (its next reconcile reverts the image)")
	fl.StringVar(&f.actor, "actor", "", "who deploys (default: $GITHUB_ACTOR, $BUILD_REQUESTEDFOR, $GITLAB_USER_LOGIN, else the cluster user)")
	fl.StringVar(&f.commit, "commit", "", "the commit the images were built from (default: $GITHUB_SHA, $BUILD_SOURCEVERSION, $CI_COMMIT_SHA)")
	fl.IntVar(&f.keep, "keep-records", deploy.DefaultKeepRecords, "deploy records to keep per workload (0 keeps all)")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json (json prints only the deploy record)")
	return cmd
}

func runSetImage(ctx context.Context, s streams, f *setImageFlags, args []string) error {
	if f.output != "table" && f.output != "json" {
		return &exitError{code: ExitUsage, err: fmt.Errorf("--output must be table or json, not %q", f.output)}
	}
	if f.keep < 0 {
		return &exitError{code: ExitUsage, err: fmt.Errorf("--keep-records must be 0 or more, not %d", f.keep)}
	}
	w, err := deploy.ParseWorkload(args[0])
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	images, err := deploy.ParseImages(args[1:])
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	ns, clients, err := deployClients(s)
	if err != nil {
		return err
	}
	actor := f.actor
	if actor == "" {
		actor = firstEnv(actorVars)
	}
	if actor == "" {
		actor = clusterUser(ctx, s, clients)
	}
	commit := f.commit
	if commit == "" {
		commit = firstEnv(commitVars)
	}
	p := newRolloutProgress(s, f.output == "json")
	rec, err := deploy.SetImage(ctx, clients, deploy.Options{
		Namespace: ns, Workload: w, Images: images,
		Wait: f.wait, Timeout: f.timeout, RollbackOnFailure: f.rollback, Force: f.force,
		Actor: actor, Commit: commit, KeepRecords: f.keep,
		Events: func(e deploy.Event) {
			p.event(w, e)
		},
	})
	p.finish()
	if err != nil && rec.Name == "" {
		return err
	}
	if f.output == "json" {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "    ")
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("failed to print the deploy record: %w", err)
		}
	} else {
		printDeploySummary(s, rec)
	}
	if err != nil {
		return err
	}
	switch rec.Result {
	case deployrecord.ResultRolledBack:
		return &exitError{code: ExitRolledBack, err: fmt.Errorf("the rollout of %s failed: %s", w, rec.Message)}
	case deployrecord.ResultFailed, deployrecord.ResultTimedOut:
		return fmt.Errorf("the rollout of %s failed: %s", w, rec.Message)
	}
	return nil
}

// printDeploySummary says where the record is.
func printDeploySummary(s streams, rec deployrecord.Record) {
	fmt.Fprintf(s.out, "deploy %s at revision %d, recorded in configmap/%s\n", rec.Result, rec.Revision, rec.Name)
}

// deployClients returns the namespace and clients the root's kube flags select.
func deployClients(s streams) (string, deploy.Clients, error) {
	ns, err := s.kube.namespace()
	if err != nil {
		return "", deploy.Clients{}, err
	}
	cfg, err := s.kube.restConfig()
	if err != nil {
		return "", deploy.Clients{}, err
	}
	c, err := deploy.NewClients(cfg)
	return ns, c, err
}

func firstEnv(names []string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// clusterUser is who the apiserver says we are (a SelfSubjectReview), else the
// kubeconfig context's user name.
func clusterUser(ctx context.Context, s streams, c deploy.Clients) string {
	review, err := c.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil && review.Status.UserInfo.Username != "" {
		return review.Status.UserInfo.Username
	}
	raw, err := s.kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	ctxName := raw.CurrentContext
	if s.kube.Context != nil && *s.kube.Context != "" {
		ctxName = *s.kube.Context
	}
	if kc, ok := raw.Contexts[ctxName]; ok {
		return kc.AuthInfo
	}
	return ""
}
