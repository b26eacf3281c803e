#!/usr/bin/env bash
# The OCI runtime-tools validation suite (docs/operations.md, "OCI conformance").
#
#   scripts/oci-validation.sh build            fetch and build it under $OCI_VALIDATION_DIR
#   scripts/oci-validation.sh run RUNTIME [PROGRAM...]
#                                              run every program (or those named) against
#                                              RUNTIME; logs and a summary in the dir
#
# Everything comes from Debian's archive through apt with a private sources list, state and
# cache (nothing on the system changes): the runtime-tools source package (trixie; it holds
# validation/ and cmd/runtimetest), Go 1.22 from bookworm-backports, and the Go libraries
# as Debian packages, built in GOPATH mode. Root is needed to run the programs.
set -euo pipefail
DIR=${OCI_VALIDATION_DIR:-/var/tmp/ocirt-oci-validation}
SRCPKG=golang-github-opencontainers-runtime-tools
DEBS="golang-1.22-go golang-1.22-src golang-github-blang-semver-dev golang-github-google-uuid-dev
 golang-github-hashicorp-go-multierror-dev golang-github-hashicorp-errwrap-dev
 golang-github-mrunalp-fileutils-dev golang-github-opencontainers-specs-dev
 golang-github-opencontainers-selinux-dev golang-github-sirupsen-logrus-dev golang-gocapability-dev
 golang-github-urfave-cli-dev golang-github-xeipuuv-gojsonschema-dev
 golang-github-xeipuuv-gojsonpointer-dev golang-github-xeipuuv-gojsonreference-dev golang-golang-x-sys-dev"

goenv() {
  export GOROOT=$DIR/root/usr/lib/go-1.22 GOPATH=$DIR/gopath GO111MODULE=off GOCACHE=$DIR/gocache GOTOOLCHAIN=local GOFLAGS=
  export PATH=$GOROOT/bin:$PATH
}
TOOLS() { echo "$DIR/gopath/src/github.com/opencontainers/runtime-tools"; }

build() {
  mkdir -p "$DIR"/{apt/state/lists/partial,apt/cache/archives/partial,apt/etc,debs,src,root}
  cat > "$DIR/apt/etc/sources.list" <<EOF
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-backports main
deb-src http://deb.debian.org/debian trixie main
EOF
  local A=(-o "Dir::Etc::sourcelist=$DIR/apt/etc/sources.list" -o Dir::Etc::sourceparts=/nonexistent
           -o "Dir::State=$DIR/apt/state" -o "Dir::Cache=$DIR/apt/cache" -o Dir::State::status=/var/lib/dpkg/status)
  apt-get "${A[@]}" update -qq
  (cd "$DIR/debs" && apt-get "${A[@]}" download $DEBS -qq)
  for d in "$DIR"/debs/*.deb; do dpkg -x "$d" "$DIR/root"; done
  # Only the upstream tarball is needed (validation/ is not in the -dev binary package).
  (cd "$DIR/src" && apt-get "${A[@]}" source --download-only "$SRCPKG" -qq 2>/dev/null || true)
  local orig; orig=$(ls "$DIR"/src/${SRCPKG}_*.orig.tar.* | tail -1)
  tar -xf "$orig" -C "$DIR/src"
  local g=$DIR/gopath/src; mkdir -p "$g/github.com/opencontainers" "$g/github.com/mndrix/tap-go"
  ln -sfn "$DIR/root/usr/share/gocode/src/golang.org" "$g/golang.org"
  for d in "$DIR"/root/usr/share/gocode/src/github.com/*; do
    [ "$(basename "$d")" = opencontainers ] || ln -sfn "$d" "$g/github.com/$(basename "$d")"
  done
  for d in "$DIR"/root/usr/share/gocode/src/github.com/opencontainers/*; do ln -sfn "$(readlink -f "$d")" "$g/github.com/opencontainers/$(basename "$d")"; done
  ln -sfn "$(ls -d "$DIR"/src/${SRCPKG}-*/ | tail -1)" "$g/github.com/opencontainers/runtime-tools"
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
  go build -o bin/runtimetest -tags "netgo osusergo urfave_cli_no_docs" -ldflags "-extldflags -static" ./cmd/runtimetest
  for d in validation/*/; do
    n=$(basename "$d"); [ "$n" = util ] && continue
    go build -tags urfave_cli_no_docs -o "bin/$n.t" "./$d"
  done
  echo "built $(ls bin/*.t | wc -l) programs in $(TOOLS)/bin"
}

run() {
  local rt; rt=$(readlink -f "$1"); shift
  local T; T=$(TOOLS)
  local out=$DIR/results/$(basename "$rt")-$$ root=/run/ocirt-oci-validation-$$
  mkdir -p "$out/work" "$root"
  printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$rt" "$root" > "$out/rt"; chmod +x "$out/rt"
  cp "$T/bin/runtimetest" "$T/rootfs-amd64.tar.gz" "$out/work/"
  local tests=("$@"); [ ${#tests[@]} -eq 0 ] && mapfile -t tests < <(cd "$T/bin" && ls *.t | sed 's/\.t$//')
  local pass=0 fail=0 r rc
  for t in "${tests[@]}"; do
    rc=0; (cd "$out/work" && RUNTIME=$out/rt timeout 120 "$T/bin/$t.t" > "$out/$t.log" 2>&1) || rc=$?
    if [ $rc -eq 0 ] && ! grep -E '^not ok' "$out/$t.log" | grep -vq '# TODO'; then r=PASS; pass=$((pass+1)); else r=FAIL; fail=$((fail+1)); fi
    echo "$r $t" | tee -a "$out/summary"
  done
  # What the runtime under test left behind (the programs' cgroups are /testdir/...; state in
  # its private root): reported, so a comparison also shows which runtime leaks, then removed
  # (cgroups only if empty) so that one runtime's leftovers do not fail the next one's run.
  local left; left=$(ls -d /sys/fs/cgroup/*/testdir /sys/fs/cgroup/testdir "$root"/* 2>/dev/null || true)
  if [ -n "$left" ]; then
    echo "residue left by $(basename "$rt"):" | tee -a "$out/summary"
    echo "$left" | sed 's/^/  /' | tee -a "$out/summary"
    find /sys/fs/cgroup/*/testdir /sys/fs/cgroup/testdir -depth -type d -exec rmdir {} \; 2>/dev/null || true
  fi
  rmdir "$root" 2>/dev/null || true
  echo "$pass passed, $fail failed (logs: $out)"
}

case "${1:-}" in
  build) build ;;
  run) shift; [ $# -ge 1 ] || { echo "usage: $0 run RUNTIME [PROGRAM...]" >&2; exit 2; }; run "$@" ;;
  *) echo "usage: $0 build | run RUNTIME [PROGRAM...]" >&2; exit 2 ;;
esac
