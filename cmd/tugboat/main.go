// Command tugboat is continuous delivery for Kubernetes: see `tugboat --help`.
package main

import (
	"context"
	"os"

	"github.com/tugboatcd/tugboat/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
