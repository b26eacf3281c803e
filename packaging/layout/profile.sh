#!/usr/bin/env bash
# Re-records the link order's profile (packaging/layout/README.md), as root:
#   bash packaging/layout/profile.sh [RUNTIME] [SPEC_GEN]
# RUNTIME: the static release build to profile (default: built here, as bench/prepare.sh
# does); SPEC_GEN: a spec-gen binary for the hardened bundle (default: target/*/spec-gen,
# else that case is skipped, and said). Needs gcc, python3 and busybox-static.
#
# Every function the runtime executes (its own, std's and glibc's alike) is recorded with
# packaging/layout/trace.c (one int3 per function entry, removed at its first hit) over the
# lifecycles the benchmark and a service manager drive: --version, `run` of /bin/true,
# create / start / state / delete, kill, the seccomp and the hardened bundles' `run`, `run` on a host with
# v1 controllers only (hybrid hosts: cgroup2 hidden in a mount namespace), `run -d` + exec +
# delete -f, a foreground `run` that waits (the memory release), spec, list. Then
# order.py turns the traces into packaging/layout/hot.txt (names without their hash).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
if [ "$(id -u)" != 0 ]; then
  echo "layout: run as root (containers)" >&2
  exit 1
fi
target=x86_64-unknown-linux-gnu
rt=${1:-}
if [ -z "$rt" ]; then
  echo "layout: cargo build --release -p runtime (static, unordered)" >&2
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --release -q -p runtime --target "$target"
  rt=$repo/target/$target/release/runtime
fi
sg=${2:-}
if [ -z "$sg" ]; then
  for c in target/release/spec-gen target/debug/spec-gen; do
    if [ -x "$c" ]; then sg=$repo/$c; break; fi
  done
fi
busybox=$(command -v busybox) || { echo "layout: busybox (busybox-static) is needed" >&2; exit 1; }

work=$(mktemp -d /tmp/ocirt-layout-XXXXXX)
root=$work/state
cleanup() {
  set +e
  # Every tracer has ended or is about to: wait for them, then remove what is left.
  if [ -e "$work/traces" ]; then
    for id in $(ls "$root" 2>/dev/null); do "$rt" --root "$root" delete -f "$id" >/dev/null 2>&1; done
  fi
  for l in "$work"/traces/*.lock; do [ -e "$l" ] && timeout 30 flock -x "$l" true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/traces"
gcc -O2 -Wall -Wextra -o "$work/trace" packaging/layout/trace.c
cp "$rt" "$work/runtime"
rt=$work/runtime
# Every function entry (FUNC and IFUNC symbols: glibc's resolvers run at start-up too).
readelf -sW "$rt" | awk '($4 == "FUNC" || $4 == "IFUNC" || $4 ~ /^<OS/) && $7 != "UND" && $2 !~ /^0+$/ {print $2}' \
  | sort -u >"$work/funcs.hex"

rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,proc,dev,sys,tmp,run,root,mnt/usr}
cp "$busybox" "$rootfs/bin/busybox"
for a in sh true sleep cat; do ln -s busybox "$rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
# The benchmark's hostnet shape: `spec`, terminal false, read-only root, no network namespace.
mkdir -p "$work/spec"
"$rt" spec -b "$work/spec"
bundle() { # NAME ARGS_JSON
  mkdir -p "$work/$1"
  python3 - "$work/spec/config.json" "$work/$1/config.json" "$rootfs" "$2" "$1" "$repo/seccomp-profiles/default.json" <<'PY'
import json, sys
src, dst, rootfs, args, name, seccomp = sys.argv[1:]
c = json.load(open(src))
c["process"]["terminal"] = False
c["process"]["args"] = json.loads(args)
c["root"] = {"path": rootfs, "readonly": True}
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
caps = c["process"].get("capabilities") or {}
if "ambient" in caps:
    caps["inheritable"] = list(caps["ambient"])
c["linux"]["cgroupsPath"] = "/ocirt-layout/" + name
# The benchmark's read-only bind of a host tree (and a service's data directories).
c["mounts"].append({"destination": "/mnt/usr", "type": "bind", "source": "/usr",
                    "options": ["bind", "ro", "nosuid", "nodev"]})
if name == "seccomp":
    c["linux"]["seccomp"] = json.load(open(seccomp))
json.dump(c, open(dst, "w"), indent=1)
PY
}
bundle true '["/bin/true"]'
bundle sleep '["/bin/sleep", "600"]'
bundle wait '["/bin/sleep", "1"]'
bundle seccomp '["/bin/true"]'
hardened=""
if [ -n "$sg" ]; then
  mkdir -p "$work/svc"
  cat >"$work/svc/service.toml" <<TOML
name = "layout-true"
rootfs = "$rootfs"

[process]
command = "/bin/true"
user = "root"
TOML
  if "$sg" bundle "$work/svc/service.toml" --output "$work/hardened" >"$work/sg.log" 2>&1; then
    hardened=$work/hardened
  else
    echo "layout: spec-gen failed; the hardened case is skipped:" >&2
    cat "$work/sg.log" >&2
  fi
else
  echo "layout: no spec-gen binary; the hardened case is skipped" >&2
fi

# TAG CMD...: one command under the tracer; its processes' hits go to traces/TAG.
t() {
  local tag=$1
  shift
  "$work/trace" "$work/traces/$tag" "$work/funcs.hex" "$rt" -- "$rt" --root "$root" "$@"
}
t version --version >/dev/null
t run run -b "$work/true" l-run
# A bundle path relative to the working directory, as a service manager may give it.
(cd "$work" && t create create -b true --pid-file "$work/c1.pid" l-c1)
t start start l-c1
flock -x "$work/traces/create.lock" true # the init's tracer, until its exec
t state state l-c1 >/dev/null
sleep 0.2
t delete delete l-c1
t create create -b "$work/sleep" l-c2
t start start l-c2
t state state l-c2 >/dev/null
t kill kill l-c2 KILL
for _ in $(seq 50); do
  "$rt" --root "$root" state l-c2 | grep -q '"stopped"' && break
  sleep 0.1
done
t delete delete l-c2
t run-seccomp run -b "$work/seccomp" l-sec
if [ -n "$hardened" ]; then
  t run-hardened run -b "$hardened" l-hard
fi
# A host whose runtimes see only the v1 controllers (how the benchmark runs crun, and hosts
# without cgroup2): the cgroup2 mount hidden in a mount namespace of this command only.
if mountpoint -q /sys/fs/cgroup/unified; then
  export -f t
  export work rt root
  unshare -m --propagation private bash -c \
    'umount /sys/fs/cgroup/unified && t run-v1 run -b "$work/true" l-v1'
fi
t run-d run -d -b "$work/sleep" --pid-file "$work/d.pid" l-d </dev/null >/dev/null 2>&1
t exec exec l-d /bin/true
t delete-f delete -f l-d
t run-wait run -b "$work/wait" l-wait
mkdir -p "$work/spec2"
t spec spec -b "$work/spec2"
t list list >/dev/null

for l in "$work"/traces/*.lock; do flock -x "$l" true; done
python3 packaging/layout/order.py profile "$rt" "$work/traces" packaging/layout/hot.txt
