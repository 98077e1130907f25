package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	_ "time/tzdata" // CronJob time zones, as upstream's mains

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // kubectl's auth plugins, as upstream's main
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as upstream's mains
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream's mains
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as upstream's mains
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func runAPIServer(_ []string) int {
	return cli.Run(apiserver.NewAPIServerCommand())
}

func runControllerManager(_ []string) int {
	return cli.Run(controllermanager.NewControllerManagerCommand())
}

func runScheduler(_ []string) int {
	return cli.Run(scheduler.NewSchedulerCommand())
}

// runKubelet mirrors k8s.io/kubernetes/cmd/kubelet's main; the real node of the local
// cluster runs it against containerd.
func runKubelet(_ []string) int {
	return cli.Run(kubelet.NewKubeletCommand(context.Background()))
}

// runProxy mirrors k8s.io/kubernetes/cmd/kube-proxy's main; it gives the real node's
// pods and host ClusterIP Services.
func runProxy(_ []string) int {
	return cli.Run(proxy.NewProxyCommand())
}

// runKubectl mirrors k8s.io/kubernetes/cmd/kubectl's main. kubectl is here so that tests
// and users of `tugboat dev` have the kubectl of the cluster's own version.
func runKubectl(_ []string) int {
	pflag.CommandLine = pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)
	_, _ = logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args))
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		kubectlutil.CheckErr(err)
	}
	return 0
}

func runEtcd(_ []string) int {
	etcdmain.Main(os.Args)
	return 0
}

// runKwok mirrors sigs.k8s.io/kwok/cmd/kwok's main, which is not importable.
func runKwok(_ []string) int {
	// cobra merges pflag.CommandLine into every root command, and the Kubernetes
	// components linked beside kwok register a non-boolean --version there at init,
	// which breaks kwok's boolean one. kwok uses none of their global flags.
	pflag.CommandLine = pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := signals.SetupSignalContext()
	ctx, logger := log.InitFlags(ctx, flagset)
	ctx, err := config.InitFlags(ctx, flagset)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(flagset.FlagUsages()))
		logger.Error("Init config flags", "err", err)
		return 1
	}
	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		return 1
	}
	return 0
}

// printKwokStages prints kwok's own "fast" node and pod stages as one YAML stream, so
// that tugboat configures kwok with exactly the stages of the pinned kwok version
// instead of keeping a copy of them.
func printKwokStages(_ []string) int {
	docs := []string{
		nodefast.DefaultNodeInit,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}
	for _, d := range docs {
		fmt.Println("---")
		fmt.Println(strings.TrimSpace(d))
	}
	return 0
}
