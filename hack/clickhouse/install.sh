#!/usr/bin/env bash
# Installs Debian's clickhouse-server (18.16, the only packaged release here)
# when the clickhouse binary is missing, so that the store's and the KQL
# engine's tests can start a real server. The package's own service is not
# used: tests start clickhouse as a plain process in a temporary directory.
set -euo pipefail

if command -v clickhouse-server >/dev/null 2>&1 || command -v clickhouse >/dev/null 2>&1; then
	exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends clickhouse-server clickhouse-client >/dev/null
# The package starts nothing we need; make sure no service keeps its ports.
if command -v service >/dev/null 2>&1; then
	$sudo service clickhouse-server stop >/dev/null 2>&1 || true
fi
command -v clickhouse-server >/dev/null
