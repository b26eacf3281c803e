#!/usr/bin/env bash
# What the OCI conformance test (integration/tests/oci_validation.rs) needs beyond a
# minimal Debian, as root; quick and silent when it is there. Everything else the suite
# needs (Go, its libraries, the runtime-tools source) scripts/oci-validation.sh fetches
# privately into /var/cache/ocirt/oci-validation.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
# The runtime-tools source comes as a .tar.xz (dpkg unpacks .debs by itself, tar does not).
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-conf: installing ${need[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
