#!/usr/bin/env bash
# The benchmark in one command (as root):
#   bash bench/run.sh            full run: results into bench/results.json and docs/benchmarks.md
#   bash bench/run.sh --quick    smoke run: few iterations; JSON into bench/results-quick.json
# Any other option goes to bench/bench.py (`bash bench/run.sh --help` lists them).
# runc and crun run inside `unshare -m --propagation private` with the cgroup2
# hierarchy hidden in that namespace only (crun 1.8 refuses hybrid cgroups);
# our runtime runs where cgroup2 stays visible (its network guard needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/prepare.sh
args=(--helper "$HELPER" --runtime "$RT")
if [ -n "$SPEC_GEN" ]; then args+=(--spec-gen "$SPEC_GEN"); fi
if [ -n "$CRUN_SID" ]; then args+=(--crun-sid "$CRUN_SID"); fi
if [ -n "$RUNC_SID" ]; then args+=(--runc-sid "$RUNC_SID"); fi
# The benchmark checks that it runs in a namespace of its own, and looks for
# leftover mounts in the caller's namespace when it is done.
export OCIRT_BENCH_HOST_MNTNS="$(readlink /proc/self/ns/mnt)" OCIRT_BENCH_HOST_PID="$PPID"
exec unshare -m --propagation private "$PY" bench/bench.py "${args[@]}" "$@"
