#!/usr/bin/env bash
# The OCI runtime-tools validation suite (docs/operations.md, "OCI conformance").
#
#   scripts/oci-validation.sh build            build it once into the cache (a no-op when cached)
#   scripts/oci-validation.sh cached           exit 0 if it is built and cached
#   scripts/oci-validation.sh dir              print the cache directory
#   scripts/oci-validation.sh run RUNTIME [PROGRAM...]
#                                              run every program (or those named) against
#                                              RUNTIME, one run at a time on the host
#
# Everything comes from Debian's archive through apt with a private sources list, state and
# cache (nothing on the system changes): the runtime-tools source package (trixie; it holds
# validation/ and cmd/runtimetest), Go 1.22 from bookworm-backports, and the Go libraries
# as Debian packages, built in GOPATH mode in a scratch directory that is removed after.
# Only what a run needs is kept: $OCIRT_CACHE/oci-validation/KEY/{bin,rootfs-amd64.tar.gz},
# KEY = the first 16 hex digits of this script's SHA-256 (a changed build is a new key).
# Root is needed to run the programs.
#
# `run` prints one line per program, `PASS name` or `FAIL name` (PASS: exit 0 and no
# `not ok` but TODOs; some programs print no check at all and pass on their status), then
# what the runtime under test left behind, one `RESIDUE what` line each (state in its
# private --root, OUT/state; cgroups of the containers it made or of the programs' /testdir
# and /cgrouptest; live container inits; mounts in the run's bundles); it removes that
# residue and prints `STILL what` for anything the removal could not take.
# Exit status: 0, or 4 if there was residue. OUT: $OCI_VALIDATION_OUT (default
# /var/tmp/ocirt-oci-validation-results/RUNTIME-PID): PROGRAM.log for each, and `summary`.
set -euo pipefail
SELF=$(readlink -f "$0")
CACHE=${OCIRT_CACHE:-/var/cache/ocirt}
KEY=$(sha256sum "$SELF" | cut -c1-16)
DIR=${OCI_VALIDATION_DIR:-$CACHE/oci-validation/$KEY}
SRCPKG=golang-github-opencontainers-runtime-tools
# Pinned: integration/oci-validation.expected holds the outcomes of this version's programs.
# When trixie drops it, the build fails; take the new one here and re-check that file.
SRCVER=0.9.0.109.ge931285-1
DEBS="golang-1.22-go golang-1.22-src golang-github-blang-semver-dev golang-github-google-uuid-dev
 golang-github-hashicorp-go-multierror-dev golang-github-hashicorp-errwrap-dev
 golang-github-mrunalp-fileutils-dev golang-github-opencontainers-specs-dev
 golang-github-opencontainers-selinux-dev golang-github-sirupsen-logrus-dev golang-gocapability-dev
 golang-github-urfave-cli-dev golang-github-xeipuuv-gojsonschema-dev
 golang-github-xeipuuv-gojsonpointer-dev golang-github-xeipuuv-gojsonreference-dev golang-golang-x-sys-dev"
# The programs share fixed cgroup paths (/testdir/..., /cgrouptest): two runs at once would
# see each other's.
RUN_LOCK=$CACHE/oci-validation/run.lock

die() { echo "oci-validation: $*" >&2; exit 1; }

goenv() {
  export GOROOT=$W/root/usr/lib/go-1.22 GOPATH=$W/gopath GO111MODULE=off GOCACHE=$W/gocache GOTOOLCHAIN=local GOFLAGS=
  export PATH=$GOROOT/bin:$PATH
}
TOOLS() { echo "$W/gopath/src/github.com/opencontainers/runtime-tools"; }

compile() {
  mkdir -p "$W"/{apt/state/lists/partial,apt/cache/archives/partial,apt/etc,debs,src,root}
  cat > "$W/apt/etc/sources.list" <<EOF
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-backports main
deb-src http://deb.debian.org/debian trixie main
EOF
  local A=(-o "Dir::Etc::sourcelist=$W/apt/etc/sources.list" -o Dir::Etc::sourceparts=/nonexistent
           -o "Dir::State=$W/apt/state" -o "Dir::Cache=$W/apt/cache" -o Dir::State::status=/var/lib/dpkg/status
           -o APT::Sandbox::User=root)
  # Exit status 3: the archive cannot be reached (the integration test may skip on that
  # alone); anything else is a broken build.
  apt-get "${A[@]}" -o APT::Update::Error-Mode=any update -qq ||
    { echo "oci-validation: cannot reach deb.debian.org (apt-get update failed)" >&2; exit 3; }
  (cd "$W/debs" && apt-get "${A[@]}" download $DEBS -qq) ||
    { echo "oci-validation: cannot download Go 1.22 and the Go libraries from deb.debian.org" >&2; exit 3; }
  for d in "$W"/debs/*.deb; do dpkg -x "$d" "$W/root"; done
  # Only the upstream tarball is needed (validation/ is not in the -dev binary package), and
  # apt-get source wants dpkg-source to unpack the rest: its failure after the download is
  # expected, a missing tarball is not.
  (cd "$W/src" && apt-get "${A[@]}" source --download-only "$SRCPKG=$SRCVER" -qq 2>/dev/null || true)
  local orig; orig=$(ls "$W"/src/${SRCPKG}_*.orig.tar.* 2>/dev/null | tail -1)
  if [ -z "$orig" ]; then
    if apt-get "${A[@]}" source --print-uris "$SRCPKG" 2>/dev/null | grep -q "${SRCPKG}_"; then
      echo "oci-validation: $SRCPKG $SRCVER is gone from trixie: set SRCVER in $SELF to the version there and re-check integration/oci-validation.expected" >&2
      exit 1
    fi
    echo "oci-validation: cannot download the source of $SRCPKG (trixie)" >&2
    exit 3
  fi
  tar -xf "$orig" -C "$W/src"
  local g=$W/gopath/src; mkdir -p "$g/github.com/opencontainers" "$g/github.com/mndrix/tap-go"
  ln -sfn "$W/root/usr/share/gocode/src/golang.org" "$g/golang.org"
  for d in "$W"/root/usr/share/gocode/src/github.com/*; do
    [ "$(basename "$d")" = opencontainers ] || ln -sfn "$d" "$g/github.com/$(basename "$d")"
  done
  for d in "$W"/root/usr/share/gocode/src/github.com/opencontainers/*; do ln -sfn "$(readlink -f "$d")" "$g/github.com/opencontainers/$(basename "$d")"; done
  ln -sfn "$(ls -d "$W"/src/${SRCPKG}-*/ | tail -1)" "$g/github.com/opencontainers/runtime-tools"
  # Debian does not package github.com/mndrix/tap-go: a small TAP writer with the calls the
  # programs make (New, Header, Ok, Pass, Fail, Skip, Todo, AutoPlan, Diagnostic[f], YAML).
  cat > "$g/github.com/mndrix/tap-go/tap.go" <<'EOF'
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

type T struct {
	n      int
	todo   bool
	Writer io.Writer
}

func New() *T { return &T{Writer: os.Stdout} }
func (t *T) w() io.Writer {
	if t.Writer == nil {
		return os.Stdout
	}
	return t.Writer
}
func (t *T) Header(count int) {
	fmt.Fprintln(t.w(), "TAP version 13")
	if count > 0 {
		fmt.Fprintf(t.w(), "1..%d\n", count)
	}
}
func (t *T) Ok(ok bool, desc string) {
	t.n++
	s, d := "ok", ""
	if !ok {
		s = "not ok"
	}
	if t.todo {
		d = " # TODO"
	}
	fmt.Fprintf(t.w(), "%s %d - %s%s\n", s, t.n, desc, d)
}
func (t *T) Pass(desc string) { t.Ok(true, desc) }
func (t *T) Fail(desc string) { t.Ok(false, desc) }
func (t *T) Skip(count int, desc string) {
	for i := 0; i < count; i++ {
		t.n++
		fmt.Fprintf(t.w(), "ok %d # SKIP %s\n", t.n, desc)
	}
}
func (t *T) Todo() *T     { c := *t; c.todo = true; return &c }
func (t *T) Count() int   { return t.n }
func (t *T) AutoPlan()    { fmt.Fprintf(t.w(), "1..%d\n", t.n) }
func (t *T) Diagnostic(m string) {
	fmt.Fprintf(t.w(), "# %s\n", strings.ReplaceAll(m, "\n", "\n# "))
}
func (t *T) Diagnosticf(f string, a ...interface{}) { t.Diagnostic(fmt.Sprintf(f, a...)) }
func (t *T) YAML(m interface{}) error {
	b, err := json.MarshalIndent(m, "    ", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(t.w(), "  ---\n    %s\n  ...\n", b)
	return nil
}
EOF
  goenv
  cd "$(TOOLS)"
  mkdir -p bin
  # -s -w: no symbol tables (58 programs of 3.4 MB each otherwise; nothing reads them).
  go build -o bin/runtimetest -tags "netgo osusergo urfave_cli_no_docs" -ldflags "-s -w -extldflags -static" ./cmd/runtimetest
  for d in validation/*/; do
    n=$(basename "$d"); [ "$n" = util ] && continue
    go build -tags urfave_cli_no_docs -ldflags "-s -w" -o "bin/$n.t" "./$d"
  done
}

cached() { [ -f "$DIR/.complete" ]; }

# Builds into a scratch directory and keeps only bin/ and the rootfs tarball in $DIR; one
# build per key at a time (a concurrent caller waits and then finds it cached).
build() {
  mkdir -p "$(dirname "$DIR")"
  exec 8>"$DIR.lock"
  flock 8
  if cached; then
    echo "cached: $DIR"
    return 0
  fi
  W=$(mktemp -d "${TMPDIR:-/var/tmp}/ocirt-oci-validation-build.XXXXXX")
  trap 'rm -rf "$W"' EXIT
  trap 'exit 143' TERM INT
  compile
  rm -rf "$DIR"
  mkdir -p "$DIR/bin"
  cp "$(TOOLS)"/bin/* "$DIR/bin/"
  cp "$(TOOLS)/rootfs-amd64.tar.gz" "$DIR/"
  basename "$(ls -d "$W"/src/${SRCPKG}-*/ | tail -1)" > "$DIR/VERSION"
  "$GOROOT/bin/go" version >> "$DIR/VERSION"
  touch "$DIR/.complete"
  # Builds of earlier versions of this script that no run has used for a week (in the
  # cache only: a directory given by OCI_VALIDATION_DIR may have any siblings).
  if [ -z "${OCI_VALIDATION_DIR:-}" ]; then
    find "$CACHE/oci-validation" -mindepth 1 -maxdepth 1 ! -name "$KEY" ! -name "$KEY.lock" ! -name run.lock -mtime +7 -exec rm -rf {} + 2>/dev/null || true
  fi
  echo "built $(ls "$DIR"/bin/*.t | wc -l) programs in $DIR"
}

# Field 22 of /proc/PID/stat (after the command name, which may hold spaces): with the pid,
# it names one process for good. Nothing for a zombie: it is dead, only not yet reaped (the
# inits' parent here is PID 1 once the runtime is gone, and it reaps when it gets to it).
start_time() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '$1 != "Z" { print $20 }'; }

# What the runtime under test left, one line each: its private --root's entries, cgroups
# named after a container it created (ids in $out/ids) or the programs' fixed ones, the
# inits of its containers that are still alive ($out/inits: pid and start time), and host
# mounts in the run's bundles (all under $out).
residue() {
  local out=$1 root=$2 p r
  ls -d "$root"/* 2>/dev/null | sed 's/^/state: /' || true
  ls -d /sys/fs/cgroup/*/testdir /sys/fs/cgroup/*/cgrouptest /sys/fs/cgroup/testdir /sys/fs/cgroup/cgrouptest 2>/dev/null | sed 's/^/cgroup: /' || true
  if [ -s "$out/ids" ]; then
    find /sys/fs/cgroup -maxdepth 6 -mindepth 2 -type d -printf '%f\t%p\n' 2>/dev/null |
      awk -F '\t' 'NR == FNR { ids[$1]; next } ($1 in ids) { print "cgroup: " $2 }' "$out/ids" - || true
  fi
  if [ -s "$out/inits" ]; then
    while read -r p r; do
      if [ "$(start_time "$p")" = "$r" ]; then echo "process: $p (a container's init)"; fi
    done < "$out/inits"
  fi
  awk -v o="$out/" 'index($5, o) == 1 { print "mount: " $5 }' /proc/self/mountinfo
}

# Removes what residue() listed: containers through the runtime (delete --force), then
# processes (they are in this run's bundles), mounts, and cgroup directories (empty ones
# only: rmdir, children first).
clean_residue() {
  local out=$1 root=$2 kind what
  for what in "$root"/*; do
    [ -e "$what" ] || continue
    OCI_VALIDATION_CLEANUP=1 timeout 30 "$out/rt" delete --force "$(basename "$what")" >/dev/null 2>&1 || true
  done
  residue "$out" "$root" | while read -r kind what _; do
    case "$kind" in
      process:) kill -KILL "$what" 2>/dev/null || true ;;
      mount:) umount -l "$what" 2>/dev/null || true ;;
    esac
  done
  sleep 0.2
  residue "$out" "$root" | while read -r kind what _; do
    if [ "$kind" = cgroup: ]; then find "$what" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done
}

# One program, its output in OUT/NAME.log, `PASS NAME` or `FAIL NAME` in OUT/NAME.result.
run_one() {
  local out=$1 t=$2 rc=0 r=FAIL
  (cd "$out/work" && TMPDIR=$out/work/tmp RUNTIME=$out/rt timeout 120 "$DIR/bin/$t.t" > "$out/$t.log" 2>&1) || rc=$?
  if [ $rc -eq 0 ] && ! awk '/^not ok/ && !/# TODO/ { bad = 1 } END { exit !bad }' "$out/$t.log"; then r=PASS; fi
  echo "$r $t" > "$out/$t.result"
}

run() {
  local rt; rt=$(readlink -f "$1"); shift
  [ -x "$rt" ] || die "$rt is not an executable runtime"
  cached || die "the suite is not built in $DIR: run $0 build"
  touch "$DIR"
  local out=${OCI_VALIDATION_OUT:-/var/tmp/ocirt-oci-validation-results/$(basename "$rt")-$$}
  mkdir -p "$out/work/tmp"
  chmod 755 "$out" "$out/work" "$out/work/tmp"
  out=$(readlink -f "$out")
  local root=$out/state
  rm -f "$out/ids" "$out/inits" "$out/summary"
  mkdir "$root" || die "$root exists: give a new OCI_VALIDATION_OUT"
  mkdir -p "$(dirname "$RUN_LOCK")"
  exec 9>"$RUN_LOCK"
  flock 9
  # Every create's id (the last argument) is noted, so that its cgroups can be looked for,
  # and so is its init (pid and start time), so that it can be found alive after the run.
  cat > "$out/rt" <<EOF
#!/bin/sh
[ "\$1" = create ] || exec "$rt" --root "$root" "\$@"
for a; do last=\$a; done
echo "\$last" >> "$out/ids"
"$rt" --root "$root" "\$@" || exit
pid=\$("$rt" --root "$root" state "\$last" 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n 1)
[ -z "\$pid" ] || echo "\$pid \$(sed 's/.*) //' /proc/\$pid/stat 2>/dev/null | cut -d' ' -f20)" >> "$out/inits"
EOF
  chmod +x "$out/rt"
  cp "$DIR/bin/runtimetest" "$DIR/rootfs-amd64.tar.gz" "$out/work/"
  local tests=("$@"); [ ${#tests[@]} -eq 0 ] && mapfile -t tests < <(cd "$DIR/bin" && ls *.t | sed 's/\.t$//')
  local t shared=() others=()
  for t in "${tests[@]}"; do
    [ -x "$DIR/bin/$t.t" ] || die "no program $t in $DIR/bin"
    rm -f "$out/$t.result"
    case "$t" in
      linux_cgroups_*|delete_resources|delete_only_create_resources) shared+=("$t") ;;
      *) others+=("$t") ;;
    esac
  done
  # The programs mostly wait (they poll the state once a second): those that use the fixed
  # cgroups /testdir and /cgrouptest run one after the other, the rest beside them,
  # $OCI_VALIDATION_JOBS at a time in all.
  local jobs=${OCI_VALIDATION_JOBS:-4}
  (for t in "${shared[@]}"; do run_one "$out" "$t"; done) &
  for t in "${others[@]}"; do
    while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_one "$out" "$t" &
  done
  wait
  local pass=0 fail=0 r
  for t in "${tests[@]}"; do
    r=$(cat "$out/$t.result" 2>/dev/null || echo "FAIL $t")
    case "$r" in PASS*) pass=$((pass+1)) ;; *) fail=$((fail+1)) ;; esac
    echo "$r" | tee -a "$out/summary"
  done
  # Reported, so that a comparison also shows which runtime leaks, then removed so that one
  # runtime's leftovers do not fail the next one's run.
  local left; left=$(residue "$out" "$root")
  local status=0
  if [ -n "$left" ]; then
    status=4
    echo "$left" | sed 's/^/RESIDUE /' | tee -a "$out/summary"
    clean_residue "$out" "$root"
    residue "$out" "$root" | sed 's/^/STILL /' | tee -a "$out/summary"
  fi
  rmdir "$root" 2>/dev/null || echo "STILL state: $root" | tee -a "$out/summary"
  echo "$pass passed, $fail failed (runtime $rt, logs: $out)"
  return $status
}

case "${1:-}" in
  build) build ;;
  cached) cached ;;
  dir) echo "$DIR" ;;
  run) shift; [ $# -ge 1 ] || { echo "usage: $0 run RUNTIME [PROGRAM...]" >&2; exit 2; }; run "$@" ;;
  *) echo "usage: $0 build | cached | dir | run RUNTIME [PROGRAM...]" >&2; exit 2 ;;
esac
