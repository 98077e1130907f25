package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Version is set at link time by the Makefile (-X).
var Version = "dev"

// versions is what `tugboat version` reports; -o json prints it as is.
type versions struct {
	Client     string `json:"client"`
	Controller string `json:"controller,omitempty"`
	Cluster    string `json:"cluster,omitempty"`
}

func clientVersion() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	return v
}

func newVersionCommand(s streams) *cobra.Command {
	var output string
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the versions of tugboat, its controller in the cluster, and the cluster",
		Long: `Prints the client's version, the installed controller's (the image tag of the
tugboat-controller Deployment in tugboat-system, "not installed" without one) and the
cluster's Kubernetes version. --client prints only the first and needs no cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, outputTable, outputJSON); err != nil {
				return err
			}
			v := versions{Client: clientVersion()}
			var err error
			if !clientOnly {
				err = clusterVersions(cmd.Context(), s, &v)
			}
			if output == outputJSON {
				if werr := writeDoc(s.out, outputJSON, v); werr != nil {
					return werr
				}
				return err
			}
			fmt.Fprintf(s.out, "client: %s\n", v.Client)
			if v.Controller != "" {
				fmt.Fprintf(s.out, "controller: %s\n", v.Controller)
			}
			if v.Cluster != "" {
				fmt.Fprintf(s.out, "cluster: %s\n", v.Cluster)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table or json")
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only the client's version")
	return cmd
}

// clusterVersions fills in the controller's and the cluster's versions.
func clusterVersions(ctx context.Context, s streams, v *versions) error {
	cfg, err := s.kube.restConfig()
	if err != nil {
		return err
	}
	cfg.Timeout = 15 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create a client for the cluster: %w", err)
	}
	sv, err := cs.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("failed to read the cluster's version: %w", err)
	}
	v.Cluster = sv.GitVersion
	d, err := cs.AppsV1().Deployments(controllerNamespace).Get(ctx, controllerDeployment, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		v.Controller = "not installed"
	case err != nil:
		return fmt.Errorf("failed to read the controller Deployment: %w", err)
	default:
		v.Controller = imageTag(d)
	}
	return nil
}

// imageTag is the tag (or digest) of the controller container's image.
func imageTag(d *appsv1.Deployment) string {
	if containers := d.Spec.Template.Spec.Containers; len(containers) > 0 {
		img := containers[0].Image
		if i := strings.LastIndex(img, "@"); i >= 0 {
			return img[i+1:]
		}
		if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
			return img[i+1:]
		}
		return "latest"
	}
	return "unknown"
}
