#!/usr/bin/env bash
# Fails, printing a diff, when the committed deepcopy functions or CRDs differ
# from what the Go types in api/ generate. It regenerates into a temporary copy
# of api/ and config/crd/, so the work tree is never touched.
#
# Usage: api/hack/verify-generated.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/config"
cp -a "$root/api" "$tmp/api"
if [ -d "$root/config/crd" ]; then
	cp -a "$root/config/crd" "$tmp/config/crd"
fi

"$tmp/api/hack/generate.sh" "$tmp"

status=0
diff -ru "$root/api" "$tmp/api" || status=1
diff -ruN "$root/config/crd" "$tmp/config/crd" || status=1
if [ "$status" -ne 0 ]; then
	echo "generated files are out of date: run api/hack/generate.sh and commit the result" >&2
	exit 1
fi
echo "generated files are up to date"
