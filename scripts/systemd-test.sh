#!/usr/bin/env bash
# Runs spec-gen's units under a real systemd: a Debian rootfs (systemd, systemd-sysv, dbus;
# built once with mmdebstrap and cached under $OCIRT_CACHE/systemd-host/KEY) booted with
# systemd-nspawn, driven from outside with nsenter + systemctl. The built runtime and spec-gen
# are installed in it at /usr/local/bin, the busybox service at /srv/svc.
#
# Checks: a limit that needs a controller systemd did not delegate fails the unit with an
# error naming it; without limits the unit starts, its container lies inside the unit's
# cgroup (systemctl status lists its processes), its output is in the journal, reload sends
# the reload signal, systemctl kill reaches the container and the crash is followed by a
# restart without a stale container, stop ends clean and successful; a Type=notify service
# becomes active through the runtime's relay and cannot move the unit's MainPID; two
# instances of the template unit serve separate ports; `systemctl disable --now` leaves no
# state, cgroup or process. Everything (the machine, its cgroups, the work directory) is
# removed at the end, whatever happened.
#
# Usage: scripts/systemd-test.sh   (runtime and spec-gen from target/debug or $OCIRT_BIN_DIR; the
#        integration probe, for sd_notify, from target/*/build or $OCIRT_PROBE)
# integration/tests/systemd.rs runs it (OCIRT_E2E=1, or when the rootfs is cached).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${OCIRT_BIN_DIR:-$here/target/debug}
cache=${OCIRT_CACHE:-/var/cache/ocirt}
suite=bookworm
pkgs=systemd,systemd-sysv,dbus

say() { echo "systemd-test: $*"; }
die() {
  echo "systemd-test: FAIL: $*" >&2
  # The machine's last journal lines say why.
  [ -n "${leader:-}" ] && nsenter -t "$leader" -a journalctl -q --no-pager -n 25 -o short-monotonic >&2
  [ -n "${OCIRT_SD_PAUSE:-}" ] && { echo "paused: nsenter -t $leader -a ..." >&2; sleep "$OCIRT_SD_PAUSE"; }
  exit 1
}

for b in runtime spec-gen; do [ -x "$bin/$b" ] || die "$bin/$b missing: cargo build --workspace --bins"; done
command -v systemd-nspawn >/dev/null || die "systemd-nspawn missing: scripts/setup.sh installs systemd-container"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: scripts/setup.sh installs it"
busybox=$(command -v busybox) || die "busybox missing: scripts/setup.sh installs busybox-static"
probe=${OCIRT_PROBE:-$(ls -t "$here"/target/*/build/integration-*/out/probe 2>/dev/null | head -n1)} || true
[ -n "$probe" ] || die "the integration probe is not built: cargo build -p integration --tests"

# The booted system's rootfs, cached by what it is built from.
key=$(printf '%s %s minbase v1\n' "$suite" "$pkgs" | sha256sum | cut -c1-16)
base=$cache/systemd-host/$key
mkdir -p "$cache/systemd-host"
(
  flock 9
  if [ ! -e "$base/.complete" ]; then
    say "building the systemd rootfs with mmdebstrap (about a minute)"
    rm -rf "$base.tmp"
    mmdebstrap --quiet --variant=minbase --include="$pkgs" "$suite" "$base.tmp"
    touch "$base.tmp/.complete"
    mv "$base.tmp" "$base"
  fi
) 9>"$cache/systemd-host/.lock"

work=$(mktemp -d /var/tmp/ocirt-systemd.XXXXXX)
name=ocirt-sd-$$
cg=ocirt-systemd-test-$$
nspawn_pid=
cleanup() {
  set +e
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # SIGTERM: nspawn asks the booted systemd to power off.
    kill -TERM "$nspawn_pid"
    for _ in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$nspawn_pid" 2>/dev/null && kill -KILL "$nspawn_pid"
    wait "$nspawn_pid" 2>/dev/null
  fi
  for h in unified systemd; do
    d=/sys/fs/cgroup/$h/$cg
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    [ -d "$d" ] && echo "systemd-test: warning: $d left behind" >&2
  done
  rm -rf "$work"
}
trap cleanup EXIT

say "copying the rootfs into $work"
cp -a "$base" "$work/root"
root=$work/root
install -m 0755 "$bin/runtime" "$bin/spec-gen" "$busybox" "$root/usr/local/bin/"
mkdir -p "$root/srv/svc" "$root/var/lib/ocirt/bundles"
cp -a "$here/bundles/busybox/service.toml" "$here/bundles/busybox/www" "$root/srv/svc/"
"$bin/spec-gen" rootfs "$root/srv/svc/service.toml" --output "$root/srv/svc/rootfs" >/dev/null
install -m 0755 "$probe" "$root/srv/svc/rootfs/probe"

# nspawn runs in a cgroup of its own in the controller-less hierarchies (it makes its
# payload and supervisor cgroups there), so the booted system's tree is this test's alone.
for h in unified systemd; do mkdir "/sys/fs/cgroup/$h/$cg"; done
(
  for h in unified systemd; do echo "$BASHPID" >"/sys/fs/cgroup/$h/$cg/cgroup.procs"; done
  # nspawn's own syscall filter refuses what the runtime needs from a host (bpf, keyctl,
  # landlock_*): off, so that the booted system is like a host's, as far as the runtime sees.
  SYSTEMD_SECCOMP=0 exec systemd-nspawn --quiet -D "$root" --boot --register=no --keep-unit --capability=all \
    --private-network -M "$name" --console=pipe
) >"$work/boot.log" 2>&1 </dev/null &
nspawn_pid=$!
leader=
for _ in $(seq 200); do
  leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || { cat "$work/boot.log" >&2; die "the machine did not boot"; }
m() { nsenter -t "$leader" -a "$@"; }
for _ in $(seq 200); do m test -S /run/systemd/private 2>/dev/null && break; sleep 0.1; done
state=$(m systemctl is-system-running --wait || true)
say "booted: systemd $(m systemctl --version | head -n1 | cut -d' ' -f2), system $state"

# What systemd shows of a unit: one property.
prop() { m systemctl show -p "$2" --value "$1"; }
# The page on port $1 inside the machine (httpd may still be starting: a few tries).
fetch() {
  local out
  for _ in 1 2 3 4 5; do
    # bash's /dev/tcp: the host's static busybox wget crashes in the machine (NSS).
    out=$(m timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"'; printf "GET / HTTP/1.0\r\n\r\n" >&3; cat <&3' 2>&1) \
      && case $out in "HTTP/1."*" 200 "*) echo "$out"; return 0;; esac
    sleep 0.3
  done
  echo "$out"
  return 1
}
# Active, and still active a moment later (a Type=exec unit is active as soon as the
# runtime is executed, before it has made the container).
wait_active() {
  for _ in $(seq 100); do
    if [ "$(prop "$1" ActiveState)" = active ]; then
      sleep 0.5
      [ "$(prop "$1" ActiveState)" = active ] && return 0
    fi
    sleep 0.1
  done
  m systemctl status --no-pager "$1" >&2 || true
  die "$1 is not active"
}
# httpd's pids in the machine (its command line, not its name: every applet is "busybox").
httpd_pids() {
  m sh -c 'for p in /proc/[0-9]*; do c=$(tr "\0" " " <$p/cmdline 2>/dev/null); case $c in *"http""d -f"*) echo ${p#/proc/};; esac; done'
}
residue() {
  local left
  # The v1 hierarchies show the host's tree here (read-only): only the machine's own
  # cgroup2 and name=systemd trees are looked at. The template's slice is systemd's own.
  left=$(m sh -c 'ls -A /run/ocirt 2>/dev/null; find /sys/fs/cgroup/unified /sys/fs/cgroup/systemd -type d \( -path "*busybox*.service*" -o -name ocirt \) 2>/dev/null' || true)
  [ -z "$left" ] || die "left behind: $left"
}
cgdir=/sys/fs/cgroup/unified/system.slice/busybox-httpd.service

# 1. A limit whose controller is read-only here fails the unit, naming the controller.
m sh -c 'cd /srv/svc && spec-gen bundle service.toml --output /var/lib/ocirt/bundles/busybox-httpd >/dev/null'
m sh -c 'spec-gen unit /srv/svc/service.toml --bundle /var/lib/ocirt/bundles/busybox-httpd >/etc/systemd/system/busybox-httpd.service'
m systemctl daemon-reload
# Type=exec: the start itself succeeds (the runtime was executed); the runtime then fails.
m systemctl start busybox-httpd.service || true
msg=
for _ in $(seq 50); do
  msg=$(m journalctl -q -u busybox-httpd.service -o cat --no-pager | grep -m1 "cgroup controller" || true)
  [ -n "$msg" ] && break
  sleep 0.1
done
[ "$(prop busybox-httpd.service ActiveState)" != active ] || [ "$(prop busybox-httpd.service NRestarts)" -ge 1 ] || sleep 0.5
[ -n "$(httpd_pids)" ] && die "httpd runs although linux.resources.memory cannot be applied"
case $msg in
  *"linux.resources.memory needs the memory cgroup controller"*"read-only"*MemoryMax=*) say "limit refused: $msg" ;;
  *) die "no clear error for the read-only memory controller: '$msg'" ;;
esac
m systemctl stop busybox-httpd.service
m systemctl reset-failed busybox-httpd.service 2>/dev/null || true
residue

# 2. Without limits: the unit runs, its container inside it.
# The bundle as spec-gen wrote it, less linux.resources (this machine delegates no v1 controller).
jq 'del(.linux.resources)' "$root/var/lib/ocirt/bundles/busybox-httpd/config.json" >"$work/c.json" && cp "$work/c.json" "$root/var/lib/ocirt/bundles/busybox-httpd/config.json"
m systemctl enable --now busybox-httpd.service
wait_active busybox-httpd.service
status=$(m systemctl status --no-pager --lines=0 busybox-httpd.service || true)
echo "$status"
echo "$status" | grep -q "CGroup: /system.slice/busybox-httpd.service" || die "systemctl status shows no cgroup"
echo "$status" | grep -q "─busybox-httpd$" || die "systemctl status does not show the container's cgroup inside the unit"
echo "$status" | grep -q "busybox httpd" || die "systemctl status does not list httpd"
[ -n "$(m cat "$cgdir/busybox-httpd/cgroup.procs")" ] || die "no process in the container's cgroup below the unit"
main=$(prop busybox-httpd.service MainPID)
[ "$(m cat /proc/"$main"/comm)" = runtime ] || die "MainPID $main is not the runtime"
page=$(fetch 8080) || die "no answer on 8080: $page"
say "served: $(echo "$page" | head -c 60)"
sleep 0.3
m journalctl -q -u busybox-httpd.service -o cat --no-pager | grep -q "response:200" || die "httpd's request log is not in the journal"
say "journal has httpd's log"

# reload: the reload signal reaches the container, the service stays up.
m systemctl reload busybox-httpd.service || die "systemctl reload failed"
[ "$(prop busybox-httpd.service MainPID)" = "$main" ] || die "reload restarted the service"
fetch 8080 >/dev/null || die "no answer after reload"
say "reload: ok, same MainPID $main"

# pause/resume: the v1 freezer is read-only here; cgroup2's cgroup.freeze does it.
m /usr/local/bin/runtime pause busybox-httpd || die "runtime pause failed"
st=$(m /usr/local/bin/runtime state busybox-httpd | grep -o '"status": *"[a-z]*"')
case $st in *paused*) ;; *) die "after pause: $st";; esac
[ "$(m cat "$cgdir/busybox-httpd/cgroup.freeze")" = 1 ] || die "cgroup.freeze is not 1"
m /usr/local/bin/runtime resume busybox-httpd || die "runtime resume failed"
fetch 8080 >/dev/null || die "no answer after resume"
say "pause/resume: ok (cgroup2 freezer inside the unit)"
out=$(m /usr/local/bin/runtime exec busybox-httpd /bin/busybox cat /proc/self/cgroup) || die "runtime exec failed: $out"
# The container's cgroup, as seen from the host or (with a cgroup namespace) as its root.
echo "$out" | grep -qxE "0::(/system.slice/busybox-httpd.service/busybox-httpd|/)" || die "exec: not in the container's cgroup: $out"
say "exec: joins the container's cgroup inside the unit"

# crash: systemctl kill reaches the container; systemd restarts without a stale container.
httpd=$(httpd_pids | head -n1)
[ -n "$httpd" ] || die "no httpd process"
m systemctl kill -s SIGKILL busybox-httpd.service
for _ in $(seq 50); do m /usr/local/bin/busybox kill -0 "$httpd" 2>/dev/null || break; sleep 0.1; done
m /usr/local/bin/busybox kill -0 "$httpd" 2>/dev/null && die "systemctl kill did not reach httpd ($httpd) in the container"
for _ in $(seq 100); do [ "$(prop busybox-httpd.service NRestarts)" -ge 1 ] && [ "$(prop busybox-httpd.service ActiveState)" = active ] && break; sleep 0.1; done
wait_active busybox-httpd.service
[ "$(prop busybox-httpd.service MainPID)" != "$main" ] || die "not restarted"
fetch 8080 >/dev/null || die "no answer after the restart"
[ "$(m /usr/local/bin/runtime list -q)" = busybox-httpd ] || die "containers after the restart: $(m /usr/local/bin/runtime list -q)"
say "kill + crash: httpd killed, restarted (NRestarts=$(prop busybox-httpd.service NRestarts)), one container"

# stop: clean and successful.
m systemctl stop busybox-httpd.service
[ "$(prop busybox-httpd.service Result)" = success ] || die "stop: Result=$(prop busybox-httpd.service Result) ExecMainStatus=$(prop busybox-httpd.service ExecMainStatus)"
[ "$(prop busybox-httpd.service ActiveState)" = inactive ] || die "stop: $(prop busybox-httpd.service ActiveState)"
residue
say "stop: Result=success, ExecMainStatus=$(prop busybox-httpd.service ExecMainStatus), nothing left"

# disable --now leaves nothing.
m systemctl start busybox-httpd.service
wait_active busybox-httpd.service
m systemctl disable --now busybox-httpd.service
[ "$(prop busybox-httpd.service UnitFileState)" = disabled ] || die "still enabled"
residue
[ -n "$(httpd_pids)" ] && die "a busybox process outlived disable --now"
say "disable --now: nothing left"

# 3. Type=notify through the relay; MAINPID from the container is not taken.
# A shell as the service: it reports MAINPID=1 (to be dropped), then after a second
# STATUS + READY, runs httpd, and logs "reloaded" on SIGHUP (reload_signal, from service.toml).
args='args = ["-c", "trap \"echo reloaded\" HUP; /probe notify MAINPID=1; sleep 1; /probe notify \"STATUS=serving\nREADY=1\nMAINPID=1\"; /bin/busybox httpd -f -v -p 127.0.0.1:8090 -h /srv/www & while kill -0 $! 2>/dev/null; do wait $!; done"]'
A=$args awk '/^args = /{print ENVIRON["A"]; next} {print}' "$root/srv/svc/service.toml" |
  sed -e 's/^name = .*/name = "busybox-notify"/' \
    -e 's|^command = .*|command = "/bin/sh"|' \
    -e 's/^tcp_bind = .*/tcp_bind = [8090]/' \
    -e 's/^init = true/init = true\nnotify = true/' \
    -e '/^\[resources\]/,/^$/d' >"$root/srv/svc/notify.toml"
m sh -c 'cd /srv/svc && spec-gen bundle notify.toml --output /var/lib/ocirt/bundles/busybox-notify >/dev/null && spec-gen unit notify.toml --bundle /var/lib/ocirt/bundles/busybox-notify >/etc/systemd/system/busybox-notify.service'
jq 'del(.linux.resources)' "$root/var/lib/ocirt/bundles/busybox-notify/config.json" >"$work/c.json" && cp "$work/c.json" "$root/var/lib/ocirt/bundles/busybox-notify/config.json"
grep -q '^Type=notify' "$root/etc/systemd/system/busybox-notify.service" || die "no Type=notify in the unit"
m systemctl daemon-reload
t0=$(date +%s%N)
m systemctl start busybox-notify.service || { m journalctl -q -u busybox-notify.service --no-pager >&2; die "Type=notify unit did not start"; }
t1=$(date +%s%N)
[ "$(prop busybox-notify.service ActiveState)" = active ] || die "notify: not active"
[ "$(prop busybox-notify.service StatusText)" = serving ] || die "notify: StatusText='$(prop busybox-notify.service StatusText)'"
nmain=$(prop busybox-notify.service MainPID)
[ "$(m cat /proc/"$nmain"/comm)" = runtime ] || die "notify: MainPID $nmain is not the runtime (MAINPID=1 taken?)"
[ $(( (t1 - t0) / 1000000 )) -ge 900 ] || die "notify: start returned before READY=1 (after $(( (t1 - t0) / 1000000 )) ms)"
fetch 8090 >/dev/null || die "notify: no answer on 8090"
m systemctl reload busybox-notify.service || die "notify: reload failed"
for _ in $(seq 30); do m journalctl -q -u busybox-notify.service -o cat --no-pager | grep -qx reloaded && break; sleep 0.1; done
m journalctl -q -u busybox-notify.service -o cat --no-pager | grep -qx reloaded || die "notify: SIGHUP from systemctl reload did not reach the service"
say "Type=notify: active after READY=1 ($(( (t1 - t0) / 1000000 )) ms), StatusText=serving, MainPID=$nmain (the runtime); reload delivered SIGHUP"
m systemctl stop busybox-notify.service
[ "$(prop busybox-notify.service Result)" = success ] || die "notify stop: Result=$(prop busybox-notify.service Result)"
residue

# 4. Two instances of the template unit, on separate ports.
{
  sed -e 's/127.0.0.1:8080/127.0.0.1:{port}/' "$root/srv/svc/service.toml" | sed -e '/^\[resources\]/,/^$/d'
  for i in a:8081 b:8082; do
    printf '\n[instances.%s]\nargs = ["httpd", "-f", "-v", "-p", "127.0.0.1:%s", "-h", "/srv/www"]\ntcp_bind = [%s]\n' "${i%%:*}" "${i##*:}" "${i##*:}"
  done
} | grep -v '{port}' >"$root/srv/svc/tmpl.toml"
for i in a b; do
  m sh -c "cd /srv/svc && spec-gen bundle tmpl.toml --instance $i --output /var/lib/ocirt/bundles/busybox-httpd@$i >/dev/null"
  f=$root/var/lib/ocirt/bundles/busybox-httpd@$i/config.json
  jq 'del(.linux.resources)' "$f" >"$work/c.json" && cp "$work/c.json" "$f"
done
m sh -c 'spec-gen unit /srv/svc/tmpl.toml --template --bundle "/var/lib/ocirt/bundles/busybox-httpd@%i" >/etc/systemd/system/busybox-httpd@.service'
m systemctl daemon-reload
m systemctl start busybox-httpd@a.service busybox-httpd@b.service
wait_active busybox-httpd@a.service
wait_active busybox-httpd@b.service
fetch 8081 >/dev/null || die "instance a: no answer on 8081"
fetch 8082 >/dev/null || die "instance b: no answer on 8082"
for i in a b; do
  m systemctl status --no-pager "busybox-httpd@$i.service" | grep -q "─busybox-httpd@$i$" \
    || die "instance $i: container not inside its unit"
done
say "template: instances a (8081) and b (8082) serve, each container inside its own unit"
m systemctl stop busybox-httpd@a.service busybox-httpd@b.service
for i in a b; do [ "$(prop "busybox-httpd@$i.service" Result)" = success ] || die "instance $i stop: $(prop "busybox-httpd@$i.service" Result)"; done
residue
say "all checks passed"
