#!/usr/bin/env bash
# Stages the root filesystem of tugboat's ClickHouse image in DIR from the
# clickhouse-server this machine has installed (Debian's 18.16, `make clickhouse`):
# the server binary, every shared library ldd names and the loader, the UTC zone
# file, a minimal config (config.xml, users.xml) and the user clickhouse (101).
# No shell, no package manager, no other program. `tugboat image publish
# --from-dir DIR` then makes the image (`make clickhouse-image`); see
# docs/design/2026-12-06-store.md.
#
#   hack/clickhouse/rootfs.sh DIR     # DIR must not exist or be empty
set -euo pipefail

dir=${1:?usage: rootfs.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(command -v clickhouse-server || true)
if [[ -z "$bin" ]]; then
  echo "clickhouse-server is not installed: run make clickhouse first" >&2
  exit 1
fi
bin=$(readlink -f "$bin")
if [[ -e "$dir" && -n "$(ls -A "$dir")" ]]; then
  echo "$dir is not empty" >&2
  exit 1
fi
mkdir -p "$dir"

# copy FILE: FILE at the same path under DIR (symbolic links resolved: the image
# holds the file under the name the loader asks for).
copy() {
  local dest="$dir$1"
  mkdir -p "$(dirname "$dest")"
  cp -L --preserve=mode "$1" "$dest"
}

copy "$bin"
# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the loader.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
if ldd "$bin" | grep -q "not found"; then
  echo "$bin misses libraries:" >&2
  ldd "$bin" | grep "not found" >&2
  exit 1
fi
for lib in $libs; do
  copy "$lib"
done
# DateTime('UTC') columns and <timezone>UTC</timezone> read the zone file.
copy /usr/share/zoneinfo/UTC
copy /usr/share/zoneinfo/Etc/UTC

mkdir -p "$dir/etc/clickhouse-server" "$dir/var/lib/clickhouse"
cp "$here/image/config.xml" "$here/image/users.xml" "$dir/etc/clickhouse-server/"
# A passwd and group for the numeric user, so that names print in errors; the
# pod runs as 101:101 regardless.
printf 'clickhouse:x:101:101:ClickHouse:/var/lib/clickhouse:/nonexistent\n' > "$dir/etc/passwd"
printf 'clickhouse:x:101:\n' > "$dir/etc/group"
printf 'hosts: files dns\n' > "$dir/etc/nsswitch.conf"
chmod 0755 "$dir/var/lib/clickhouse"
chmod 0644 "$dir/etc/passwd" "$dir/etc/group" "$dir/etc/nsswitch.conf" "$dir"/etc/clickhouse-server/*.xml
echo "staged $(du -sh "$dir" | cut -f1) in $dir: $bin and $(wc -w <<<"$libs") libraries"
