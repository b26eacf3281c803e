#!/usr/bin/env bash
# The long-run soak (as root): `runtime run` of /bin/true N times in a row (default 10,000)
# against one busybox bundle, then a report per window of 1,000 runs: median and p99 wall
# time, the runtime's peak RSS as wait4 reports it (the kernel carries the spawning Python's
# high-water mark across the vfork+exec, so only its flatness means something; bench/run.sh
# measures the real figure with a tiny static parent), and what is left on the machine (state
# entries, cgroup directories, mounts, open fds of the driver). Flat numbers and zero residue
# are the pass.
#   bash bench/soak.sh [N] [RUNTIME]      results also in bench/soak.txt
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
rt=${2:-$PWD/target/release/runtime}
[ "$(id -u)" = 0 ] || { echo "soak: run as root" >&2; exit 1; }
[ -x "$rt" ] || cargo build --release -q -p runtime
command -v busybox >/dev/null || { echo "soak: needs busybox-static (scripts/setup.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/ocirt-soak.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs/bin"
cp "$(command -v busybox)" "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && "$rt" spec)
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["path"] = "rootfs"
c["linux"]["cgroupsPath"] = "/ocirt-soak/c"
json.dump(c, open(p, "w"))
PY
state=$work/state
residue() {
  local cg=0 h
  for h in /sys/fs/cgroup/*/ocirt-soak /sys/fs/cgroup/ocirt-soak; do [ -e "$h" ] && cg=$((cg + 1)); done
  printf 'state=%s cgroups=%s mounts=%s fds=%s' \
    "$(find "$state" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" "$cg" \
    "$(grep -c "$work" /proc/self/mountinfo || true)" "$(ls /proc/$$/fd | wc -l)"
}
out=bench/soak.txt
{
  echo "# bench/soak.sh: $n sequential runs of /bin/true, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1 /proc/loadavg)"
  echo "# runtime: $("$rt" --version)"
  echo "# window  median_ms  p99_ms  max_rss_kib  residue_after_window"
} | tee "$out"
python3 - "$rt" "$state" "$work" "$n" "$out" <<'PY'
import os, statistics, subprocess, sys, time
rt, state, work, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def residue():
    cg = sum(os.path.exists(h) for h in [f"/sys/fs/cgroup/{d}/ocirt-soak" for d in os.listdir("/sys/fs/cgroup")] + ["/sys/fs/cgroup/ocirt-soak"])
    st = len(os.listdir(state)) if os.path.isdir(state) else 0
    mounts = sum(work in l for l in open("/proc/self/mountinfo"))
    return f"state={st} cgroups={cg} mounts={mounts} fds={len(os.listdir('/proc/self/fd'))}"
i = 0
with open(out, "a") as log:
    while i < n:
        wall, rss, first = [], 0, i
        for _ in range(min(1000, n - i)):
            t = time.perf_counter()
            pid = os.posix_spawn(rt, [rt, "--root", state, "run", "--bundle", f"{work}/bundle", f"soak-{i}"], os.environ,
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
            _, status, ru = os.wait4(pid, 0)
            wall.append((time.perf_counter() - t) * 1000)
            rss = max(rss, ru.ru_maxrss)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"soak: run {i} exited {os.waitstatus_to_exitcode(status)}")
            i += 1
        wall.sort()
        line = f"{first:>5}-{i - 1:<5}  {statistics.median(wall):9.2f}  {wall[max(0, int(len(wall) * 0.99) - 1)]:6.2f}  {rss:11d}  {residue()}"
        print(line, flush=True)
        log.write(line + "\n")
PY
echo "# residue at the end: $(residue)" | tee -a "$out"
