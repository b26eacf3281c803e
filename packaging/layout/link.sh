#!/usr/bin/env bash
# Relinks target/TARGET/release/runtime with the functions of packaging/layout/hot.txt first
# (packaging/layout/README.md). Run it right after `cargo build --release -p runtime --target
# TARGET`, with the same environment (RUSTFLAGS, OCIRT_COMMIT): only the runtime's bin crate
# and its link are redone. Usage: bash packaging/layout/link.sh TARGET
#
# Fail-safe: whatever goes wrong, the unordered binary stays (or is put back) where it was,
# the reason goes to stderr, and the exit status is 0. The order costs memory, never a build.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
target=${1:?usage: link.sh TARGET}
release=$repo/target/$target/release
bin=$release/runtime
order=$release/runtime.link-order
keep=$release/runtime.unordered

skip() {
  echo "layout: $*; the runtime stays unordered (packaging/layout/README.md)" >&2
  exit 0
}
[ -x "$bin" ] || skip "no $bin"
command -v python3 >/dev/null || skip "python3 is missing"
python3 "$repo/packaging/layout/order.py" symbols "$repo/packaging/layout/hot.txt" "$bin" "$order" \
  || skip "no order for this build"
cp -f "$bin" "$keep" || skip "cannot keep a copy of $bin"
restore() {
  mv -f "$keep" "$bin"
  skip "$*"
}
echo "layout: relinking the runtime in the profiled order" >&2
(cd "$repo" && cargo rustc --release -q -p runtime --bin runtime --target "$target" -- \
  -C link-arg=-Wl,--symbol-ordering-file="$order" -C link-arg=-Wl,--no-warn-symbol-ordering \
  -C link-arg=-Wl,-T,"$repo/packaging/layout/sections.ld") \
  || restore "the ordered link failed"
python3 "$repo/packaging/layout/order.py" check "$order" "$keep" "$bin" || restore "the ordered binary failed its check"
"$bin" --version >/dev/null || restore "the ordered binary does not run"
rm -f "$keep"
