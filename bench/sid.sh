#!/usr/bin/env bash
# The newest anchors: Debian sid's crun and runc, unpacked into a private directory and
# made to load their own libraries, with no change to the system (private apt state and
# cache, no dpkg database entry). Sourced by bench/prepare.sh; usable alone:
#   bash bench/sid.sh [DIR]     (default target/bench/sid)
# Sets CRUN_SID and RUNC_SID (empty when the archive cannot be reached).
# runc re-executes /proc/self/exe, so a wrapper script around ld.so would not work: the
# copies get their interpreter and library path rewritten with patchelf instead.
sid_prepare() {
  local dir="${1:-$PWD/target/bench/sid}"
  CRUN_SID="" RUNC_SID=""
  if [ -x "$dir/bin/crun" ] && [ -x "$dir/bin/runc" ]; then
    CRUN_SID="$dir/bin/crun" RUNC_SID="$dir/bin/runc"
    return 0
  fi
  command -v patchelf >/dev/null || apt-get install -y -q --no-install-recommends patchelf >&2 || return 1
  local mirror
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  mirror=${mirror:-http://deb.debian.org/debian}
  local apt="$dir/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$dir/root" "$dir/bin"
  : > "$apt/status"
  cat > "$apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main
SRC
  local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o Dir::State="$apt" -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status"
              -o Dir::Cache="$apt/cache" -o Debug::NoLocking=1 -o APT::Architecture=amd64
              -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" -q update >&2 || return 1
  (cd "$apt/debs" && apt-get "${opts[@]}" -q download crun runc libc6 libseccomp2 libcap2 libjson-c5 libsystemd0 libblake3-0 >&2) || return 1
  local d
  for d in "$apt"/debs/*.deb; do dpkg -x "$d" "$dir/root"; done
  local lib="$dir/root/usr/lib/x86_64-linux-gnu"
  for b in crun runc; do
    cp -f "$dir/root/usr/bin/$b" "$dir/bin/$b.tmp" 2>/dev/null || cp -f "$dir/root/usr/sbin/$b" "$dir/bin/$b.tmp" || return 1
    patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" "$dir/bin/$b.tmp" || return 1
    mv -f "$dir/bin/$b.tmp" "$dir/bin/$b"
  done
  CRUN_SID="$dir/bin/crun" RUNC_SID="$dir/bin/runc"
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  sid_prepare "${1:-}"
  "$CRUN_SID" --version | head -1
  "$RUNC_SID" --version | head -1
fi
