#!/usr/bin/env bash
# Runs every test as root: unit tests of each crate and the integration suite, which drives
# the built binaries against busybox-static containers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --bins
# The MediaWiki and nginx end-to-end tests build Debian rootfs (cached under /var/cache/ocirt);
# OCIRT_E2E=0 skips them.
export OCIRT_E2E="${OCIRT_E2E:-1}"
cargo test --workspace --no-fail-fast -- --test-threads=2
