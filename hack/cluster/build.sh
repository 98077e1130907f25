#!/usr/bin/env bash
# Builds the pinned Kubernetes components (one multi-call binary, see main.go) and the
# pod sandbox program (pause/, a static binary the cluster packs into an image) into the
# cache outside the repository, once per pin: a cold build takes ~20 minutes on 2 cores,
# a build whose inputs have not changed takes no time at all.
#
#   TUGBOAT_CLUSTER_CACHE  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/tugboat/cluster)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$here/go.mod")
root=${TUGBOAT_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tugboat/cluster}
out="$root/$version"
bin="$out/tugboat-k8s"

# The stamp covers every input of the build, so a changed pin or patch rebuilds.
stamp=$(cd "$here" && cat go.mod go.sum ./*.go pause/*.go build.sh | sha256sum | cut -d' ' -f1)
if [[ -x "$bin" && -x "$out/pause" && -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp" ]]; then
  echo "cluster components $version are up to date in $out"
  exit 0
fi

mkdir -p "$out"
echo "building Kubernetes $version components into $out (about 20 minutes the first time)..."
pkg=k8s.io/component-base/version
major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start=$(date +%s)
(cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" .)
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/pause.tmp" ./pause)
mv "$bin.tmp" "$bin"
mv "$out/pause.tmp" "$out/pause"
echo "$stamp" > "$out/stamp"
echo "built $bin in $(( $(date +%s) - start ))s"
