#!/usr/bin/env bash
# "Where the time goes": raw data for one `run` of /bin/true (as root).
#   bash bench/profile.sh [--quick]
# Writes into bench/profile/: strace -c -f (syscall counts and times of the
# runtime and everything it starts), strace -f -tt -T (one run's timeline) and
# perf stat (instructions where the machine has hardware counters, else
# software events) for ours (hostnet, seccomp, hardened), crun (hostnet,
# seccomp) and runc (hostnet); bench/profile/index.json sums them up, and the
# raw-data section of docs/benchmarks.md is rewritten from it (not with --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/prepare.sh
args=(--helper "$HELPER" --runtime "$RT" --profile "$PWD/bench/profile")
if [ -n "$SPEC_GEN" ]; then args+=(--spec-gen "$SPEC_GEN"); fi
if [ -n "$CRUN_SID" ]; then args+=(--crun-sid "$CRUN_SID"); fi
if [ -n "$RUNC_SID" ]; then args+=(--runc-sid "$RUNC_SID"); fi
# The benchmark checks that it runs in a namespace of its own, and looks for
# leftover mounts in the caller's namespace when it is done.
export OCIRT_BENCH_HOST_MNTNS="$(readlink /proc/self/ns/mnt)" OCIRT_BENCH_HOST_PID="$PPID"
exec unshare -m --propagation private "$PY" bench/bench.py "${args[@]}" "$@"
