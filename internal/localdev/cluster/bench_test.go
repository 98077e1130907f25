package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// BenchmarkStart measures the time from Start to a ready control plane (/readyz, plus
// Ready nodes with workloads, plus a Ready kubelet with the real node), for each option
// set.
func BenchmarkStart(b *testing.B) {
	cases := map[string]Options{
		"apiserver+etcd":   {},
		"with workloads":   {Workloads: true},
		"with a real node": {RealNode: true},
	}
	for name, opts := range cases {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				c, err := Start(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				c.Stop()
				b.StartTimer()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/ready")
		})
	}
}

// BenchmarkDeploymentsAvailable is the apiserver's own floor for the GitOps benchmark: N
// one-pod Deployments server-side applied by 20 workers from a plain client, timed until
// all are available. It also shows kwok keeps every pod Ready at that scale.
func BenchmarkDeploymentsAvailable(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				c, err := Start(context.Background(), Options{Workloads: true})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				applied, available, err := applyDeployments(c, n)
				b.StopTimer()
				c.Stop()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(applied.Seconds(), "s/applied")
				b.ReportMetric(available.Seconds(), "s/available")
				b.StartTimer()
			}
		})
	}
}

func applyDeployments(c *Cluster, n int) (applied, available time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	clients := kubernetes.NewForConfigOrDie(c.RESTConfig)
	start := time.Now()
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for i := range work {
				name := fmt.Sprintf("app-%d", i)
				labels := map[string]string{"app": name}
				d := appsv1ac.Deployment(name, metav1.NamespaceDefault).
					WithSpec(appsv1ac.DeploymentSpec().
						WithReplicas(1).
						WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
						WithTemplate(corev1ac.PodTemplateSpec().
							WithLabels(labels).
							WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("app").WithImage("app:1")))))
				if _, err := clients.AppsV1().Deployments(metav1.NamespaceDefault).Apply(ctx, d, metav1.ApplyOptions{FieldManager: "bench", Force: true}); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	applied = time.Since(start)
	for {
		list, err := clients.AppsV1().Deployments(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
		if err != nil {
			return applied, 0, err
		}
		ready := 0
		for _, d := range list.Items {
			if d.Status.AvailableReplicas == 1 {
				ready++
			}
		}
		if ready == n {
			return applied, time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return applied, 0, fmt.Errorf("%d of %d deployments available: %w", ready, n, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
