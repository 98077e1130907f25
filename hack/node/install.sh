#!/usr/bin/env bash
# Installs what the local cluster's real node needs of the host, from Debian's archive,
# when it is missing: containerd (1.6), runc, the CNI plugins (in /usr/lib/cni) and
# iptables. The packages' own services are not used: the cluster runs containerd as a
# process of its own, with its own configuration and directories. Idempotent.
set -euo pipefail

need=()
command -v containerd >/dev/null 2>&1 || need+=(containerd)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
for plugin in bridge host-local loopback; do
	if [ ! -x "/usr/lib/cni/$plugin" ]; then
		need+=(containernetworking-plugins)
		break
	fi
done
if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo="sudo"
fi
echo "installing ${need[*]} for the local cluster's real node..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package may start its own containerd where there is an init system; the real node
# does not use it, and a second containerd would hold /run/containerd/containerd.sock.
if command -v service >/dev/null 2>&1; then
	$sudo service containerd stop >/dev/null 2>&1 || true
fi
command -v containerd >/dev/null
