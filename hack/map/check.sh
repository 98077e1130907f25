#!/usr/bin/env bash
# Checks that CONTRIBUTING.md's map names every Go package folder of the root module and
# of api/ (third_party/ is upstream code and has its own map, OFFLINE.md), and that every
# folder the map names exists. `make lint` runs it, so the map cannot drift from the tree.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
status=0

dirs=$( (go list -f '{{.Dir}}' ./... && cd api && go list -f '{{.Dir}}' ./...) | sed "s|^$root/||" | grep -v '^third_party/' | sort -u)
for d in $dirs; do
  if ! grep -q -F "\`$d/\`" CONTRIBUTING.md; then
    echo "CONTRIBUTING.md: the map has no line for $d/ (add one: | \`$d/\` | what it holds |)" >&2
    status=1
  fi
done

# Every room the map's table names must be a folder.
for d in $(grep -o -E '^\| `[a-z0-9_./-]+/`' CONTRIBUTING.md | sed -E 's/^\| `(.*)`/\1/'); do
  if [[ ! -d "$d" ]]; then
    echo "CONTRIBUTING.md: the map names $d, which is not a folder" >&2
    status=1
  fi
done
exit $status
