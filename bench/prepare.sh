# Sourced by bench/run.sh and bench/profile.sh (as root, from the repository
# root): installs what the benchmark needs from Debian's archive, builds the
# runtime, spec-gen and bench-helper, and sets RT, SPEC_GEN, HELPER, PY.
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  echo "bench: run as root (containers, cgroups and mount namespaces need it)" >&2
  exit 1
fi
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
for p in runc crun strace linux-perf busybox-static gcc libc6-dev util-linux python3 apache2-utils curl mmdebstrap; do
  have_pkg "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# The runtime as it is meant to be deployed: a static, non-PIE binary (no dynamic loader,
# no relocations at start; see docs/operations.md). OCIRT_BENCH_DYNAMIC=1 measures the
# ordinary dynamic build instead.
if [ "${OCIRT_BENCH_DYNAMIC:-0}" = 1 ]; then
  echo "bench: cargo build --release -p runtime (dynamic)" >&2
  cargo build --release -q -p runtime
  RT="$PWD/target/release/runtime"
else
  echo "bench: cargo build --release -p runtime (static)" >&2
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --release -q -p runtime --target x86_64-unknown-linux-gnu
  # As shipped: linked in the profiled order (packaging/layout/README.md; fail-safe).
  # OCIRT_BENCH_UNORDERED=1 measures the plain link instead.
  if [ "${OCIRT_BENCH_UNORDERED:-0}" != 1 ]; then
    RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
      bash packaging/layout/link.sh x86_64-unknown-linux-gnu
  fi
  RT="$PWD/target/x86_64-unknown-linux-gnu/release/runtime"
fi
# spec-gen gives the hardened configuration; without it the benchmark
# reproduces spec-gen's documented defaults by hand (and says so).
SPEC_GEN=""
if cargo build --release -q -p spec-gen; then
  SPEC_GEN="$PWD/target/release/spec-gen"
else
  echo "bench: WARNING: spec-gen does not build; the hardened case is built by hand" >&2
fi
mkdir -p target/bench
# scripts/mediawiki.sh (the MediaWiki row) wants runtime and spec-gen in one directory.
if [ -n "$SPEC_GEN" ]; then
  mkdir -p target/bench/bin
  cp -f "$RT" target/bench/bin/runtime
  cp -f "$SPEC_GEN" target/bench/bin/spec-gen
  RT="$PWD/target/bench/bin/runtime"
  SPEC_GEN="$PWD/target/bench/bin/spec-gen"
fi
HELPER="$PWD/target/bench/bench-helper"
gcc -static -O2 -Wall -Wextra -o "$HELPER" bench/helper.c
PY=/usr/bin/python3
# The newest anchors: Debian sid's crun and runc, unpacked privately (bench/sid.sh).
# OCIRT_BENCH_NO_SID=1 skips them (no network, or to compare with the stable ones only).
CRUN_SID="" RUNC_SID=""
if [ "${OCIRT_BENCH_NO_SID:-0}" != 1 ]; then
  source bench/sid.sh
  sid_prepare "$PWD/target/bench/sid" || echo "bench: WARNING: Debian sid's crun/runc unavailable; comparing with the stable ones only" >&2
fi
