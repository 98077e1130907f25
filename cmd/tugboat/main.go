// Command tugboat is continuous delivery for Kubernetes: see `tugboat --help`.
package main

import (
	"context"
	"os"

	// Go's root certificates, used only where the system has none: tugboat's image
	// has no /etc/ssl (no base image, docs/design/2026-12-06-images.md), and the
	// controller still reaches Git hosts over HTTPS.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/tugboatcd/tugboat/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
