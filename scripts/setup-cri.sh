#!/usr/bin/env bash
# What integration/tests/cri.rs needs (docs/operations.md, "containerd and Kubernetes"), as
# root, idempotent and quick when already done:
# - containerd 1.6 (ctr, containerd-shim-runc-v2) and runc, the control, from Debian. The
#   tests never use the system's containerd: each runs a private instance in its temp dir.
#   (On a host booted with systemd the package enables and starts containerd.service; that
#   instance is left alone.)
# - the CRI client's Python packages (integration/cri/requirements.txt, from PyPI) in a venv
#   under /var/cache/ocirt/cri/venv-<hash of requirements.txt and the Python version>, with
#   a copy of the requirements it was made from (the test looks for the one matching its
#   own) and `.complete` once it is whole.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=()
for t in containerd ctr containerd-shim-runc-v2; do command -v "$t" >/dev/null 2>&1 || need+=(containerd); done
command -v runc >/dev/null 2>&1 || need+=(runc)
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "setup-cri: installing ${need[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

req=integration/cri/requirements.txt
key=$( (cat "$req"; /usr/bin/python3 -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
cache=${OCIRT_CACHE:-/var/cache/ocirt}/cri
venv=$cache/venv-$key
if [ ! -e "$venv/.complete" ]; then
  echo "setup-cri: making the CRI client's venv in $venv"
  mkdir -p "$cache"
  rm -rf "$venv"
  # Made under its final path (a venv's scripts name it), marked complete only when whole.
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-input -r "$req"
  cp "$req" "$venv/requirements.txt"
  touch "$venv/.complete"
fi
# Venvs of older requirements go.
for d in "$cache"/venv-*; do
  [ "$d" = "$venv" ] || [ ! -d "$d" ] || rm -rf "$d"
done
