#!/usr/bin/env bash
# Signal soak (as root): 300 foreground `runtime run`s, each sent SIGTERM or SIGINT after a
# random 0-40 ms. Every trial must end with 128+N or the container's own status and leave
# no state dir, cgroup, mount or live process (integration/tests/reliability.rs checks).
#   bash bench/signal-soak.sh              delays counted from the runtime's first instruction
#   bash bench/signal-soak.sh --from-spawn delays counted from the spawn: also measures the
#                                          exec window, where no program can catch a signal
# Figures: bench/signal-soak.txt (appended). SOAK_TRIALS and SOAK_SEED override.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_TRIALS="${SOAK_TRIALS:-300}"
if [ "${1:-}" = "--from-spawn" ]; then export SOAK_FROM_SPAWN=1; fi
cargo build -q -p runtime
out="$(cargo test -q -p integration --test reliability -- --exact signal_during_run_leaves_nothing --nocapture 2>&1)" || { echo "$out"; exit 1; }
line="$(grep -E '^sigsoak: ' <<<"$out" | head -1)"
echo "$(date -u +%FT%TZ) ${1:-from-first-instruction} $line" | tee -a bench/signal-soak.txt
