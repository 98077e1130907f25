#!/usr/bin/env bash
# Regenerates, from scratch, everything derived from the Go types in api/:
# the deepcopy functions (api/**/zz_generated.deepcopy.go) and the CRDs with
# their kustomization.yaml (config/crd/). Runs offline once `go mod download`
# has run in api/.
#
# Usage: api/hack/generate.sh [ROOT]
#   ROOT is the repository root to write into; it defaults to the repository
#   this script lives in. verify-generated.sh passes a temporary copy.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
api=$root/api
crd=$root/config/crd

# From scratch: a file that no Go type produces any more must disappear.
find "$api" -name zz_generated.deepcopy.go -delete
rm -rf "$crd/bases" "$crd/kustomization.yaml"

cd "$api"
go tool controller-gen object paths=./...

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
go tool controller-gen crd paths=./... output:crd:dir="$raw"
go run ./hack/crdversions -in "$raw" -out "$crd"
