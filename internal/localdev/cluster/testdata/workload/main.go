// Command workload is the real node's test and benchmark container that does what it
// is told: burn CPU, hold memory, write numbered lines at a rate, exit. A test then
// sees what the agent measures and tails, and what a rollout makes of a container
// that exits.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	burn := flag.Int("burn", 0, "goroutines that spin forever")
	holdMiB := flag.Int("hold-mib", 0, "MiB to allocate, touch and hold")
	lines := flag.Int("lines", 0, "numbered lines to write to stdout (-1: without end)")
	rate := flag.Int("rate", 0, "lines per second (0: as fast as stdout takes them)")
	lineBytes := flag.Int("line-bytes", 0, "pad each line to this many bytes")
	runsFile := flag.String("runs-file", "", "a file counting this container's runs (in a volume that outlives restarts); the lines carry the run's number")
	runs := flag.Int("runs", 0, "with -runs-file: after this many runs, write nothing and stay up")
	// The environment's default lets an image (tugboat image publish --env) be one
	// that exits at once, whatever the pod's arguments.
	exitDefault := -1
	if v, err := strconv.Atoi(os.Getenv("WORKLOAD_EXIT")); err == nil {
		exitDefault = v
	}
	exit := flag.Int("exit", exitDefault, "exit with this code once the lines are written (-1: stay up; default $WORKLOAD_EXIT)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	run, err := countRun(*runsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *runs > 0 && run > *runs {
		fmt.Fprintf(os.Stderr, "workload run %d: past %d runs, staying up\n", run, *runs)
		<-ctx.Done()
		return
	}
	// Memory first: under a CPU limit, spinning goroutines would slow the touching.
	held := hold(*holdMiB)
	for range *burn {
		go spin()
	}
	write(ctx, run, *lines, *rate, *lineBytes)
	if *exit >= 0 {
		fmt.Fprintf(os.Stderr, "workload run %d exits with %d\n", run, *exit)
		os.Exit(*exit)
	}
	<-ctx.Done()
	runtime.KeepAlive(held)
}

// countRun reads, increments and writes the run counter; 1 without a file.
func countRun(path string) (int, error) {
	if path == "" {
		return 1, nil
	}
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return 0, fmt.Errorf("failed to read the runs file: %w", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	n++
	if err := os.WriteFile(path, []byte(strconv.Itoa(n)), 0o600); err != nil {
		return 0, fmt.Errorf("failed to write the runs file: %w", err)
	}
	return n, nil
}

func spin() {
	x := 0
	for {
		x++
	}
}

// hold allocates mib MiB and writes every page, so that it is resident.
func hold(mib int) []byte {
	b := make([]byte, mib<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// write writes n numbered lines ("workload run R line I"), at rate lines per second
// in batches every 10 ms, each padded to lineBytes.
func write(ctx context.Context, run, n, rate, lineBytes int) {
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	line := func(i int) {
		s := fmt.Sprintf("workload run %d line %d", run, i)
		if pad := lineBytes - len(s) - 1; pad > 0 {
			s += " " + strings.Repeat("x", pad-1)
		}
		out.WriteString(s + "\n")
	}
	if rate <= 0 {
		for i := 1; n < 0 || i <= n; i++ {
			line(i)
		}
		return
	}
	const tick = 10 * time.Millisecond
	start := time.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	written := 0
	for n < 0 || written < n {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			// As many as the rate allows by now, so that a late tick catches up.
			due := int(now.Sub(start).Seconds() * float64(rate))
			for written < due && (n < 0 || written < n) {
				written++
				line(written)
			}
			out.Flush()
		}
	}
}
