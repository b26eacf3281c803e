#!/usr/bin/env bash
# Runs every test as root: unit tests of each crate and the integration suite, which drives
# the built binaries against busybox-static containers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --bins
cargo test --workspace --no-fail-fast -- --test-threads=2
