#!/usr/bin/env bash
# Runs every test as root: unit tests of each crate and the integration suite, which drives
# the built binaries against busybox-static containers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --bins
# Formatting (rustfmt.toml) and lints are errors (every unsafe block documented, among the rest).
cargo fmt --all --check
cargo clippy --workspace --all-targets -q -- -D warnings
# The Debian package (release build, man pages, completions); tests/package.rs installs it,
# runs a container from it and removes it.
OCIRT_DEB=$(bash packaging/build-deb.sh | tail -n1)
export OCIRT_DEB
# The MediaWiki and nginx end-to-end tests build Debian rootfs (cached under /var/cache/ocirt);
# OCIRT_E2E=0 skips them.
export OCIRT_E2E="${OCIRT_E2E:-1}"
# A test that cannot run on this machine fails instead of passing silently.
export OCIRT_REQUIRE_ALL=1
cargo test --workspace --no-fail-fast -- --test-threads=2
