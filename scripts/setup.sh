#!/usr/bin/env bash
# Installs what building, testing and the demo need on a fresh Debian machine (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || need+=(busybox-static)
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v file >/dev/null 2>&1 || need+=(file)
command -v jq >/dev/null 2>&1 || need+=(jq)
# packaging/layout/order.py: the link order of the shipped and benchmarked binary.
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
bash "$(dirname "$0")/setup-cri.sh"
bash "$(dirname "$0")/setup-conf.sh"
bash "$(dirname "$0")/setup-podman.sh"
