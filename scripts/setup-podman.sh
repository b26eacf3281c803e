#!/usr/bin/env bash
# What integration/tests/podman.rs needs (docs/operations.md, "podman"): podman, conmon,
# catatonit (podman --init), uidmap (newuidmap/newgidmap for rootless podman), and the
# user ocirt-rootless with subordinate id ranges. Idempotent; quick when all is there.
# System podman storage and config are never touched: the tests give podman its own
# --root/--runroot/--tmpdir and config files in their temp dirs.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for p in podman conmon catatonit uidmap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-podman: installing ${need[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# The rootless test user: a home of its own (podman's per-user config and state live there
# unless the test points them elsewhere) and 65536 subordinate uids and gids, in a range
# no other entry of /etc/subuid or /etc/subgid uses.
U=ocirt-rootless
if ! id -u "$U" >/dev/null 2>&1; then
  useradd --system --create-home --home-dir /var/lib/$U --shell /usr/sbin/nologin "$U"
fi
RANGE_START=300000
for f in /etc/subuid /etc/subgid; do
  [ -e "$f" ] || install -m 0644 /dev/null "$f"
  grep -q "^$U:" "$f" || echo "$U:$RANGE_START:65536" >> "$f"
done
