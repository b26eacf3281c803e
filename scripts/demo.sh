#!/usr/bin/env bash
# The main job: build the runtime and run a busybox-static container by hand, step by step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p runtime
RT="$PWD/target/release/runtime"
work=$(mktemp -d /tmp/ocirt-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/"
for a in sh echo cat id hostname ls sleep; do ln -s busybox "$work/bundle/rootfs/bin/$a"; done
cd "$work/bundle"
"$RT" spec
# A script-friendly process: no terminal, a short program.
python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "echo hello from $(hostname): $(id); ls /"]
json.dump(c, open("config.json", "w"), indent=2)
PY
echo "== runtime run (foreground)"
"$RT" --root "$work/state" run demo
echo "== create / start / state / delete"
"$RT" --root "$work/state" create demo2
"$RT" --root "$work/state" state demo2
"$RT" --root "$work/state" start demo2
sleep 0.2
"$RT" --root "$work/state" state demo2
"$RT" --root "$work/state" delete demo2
echo "== done"
