#!/usr/bin/env bash
# The main command: MediaWiki (Debian's 1.39, Apache + mod_php, SQLite) served by `runtime`
# from a bundle that spec-gen generates from bundles/mediawiki/service.toml.
#
# On a fresh machine (as root) it
#   1. installs what it needs (apt-get) and builds the binaries (cargo build --release),
#   2. builds the rootfs with `spec-gen rootfs`, cached outside the repository in
#      $OCIRT_CACHE/mediawiki-rootfs/KEY (KEY hashes the [rootfs_build] table), so a second
#      invocation reuses it,
#   3. makes the site directory (default /var/lib/ocirt/mediawiki): the host directory that
#      holds everything that is the wiki's own (SQLite database, uploads, LocalSettings.php,
#      logs), bind-mounted into the otherwise read-only, replaceable rootfs,
#   4. installs MediaWiki once, non-interactively: maintenance/install.php runs *inside a
#      container* (bundles/mediawiki/install.toml: same rootfs, as www-data, no network, no
#      capabilities), never in a chroot,
#   5. generates the bundle with `spec-gen bundle`, registers it in the bundle store
#      (/var/lib/ocirt/bundles/mediawiki-bundle and .../mediawiki, so that
#      `runtime run mediawiki-bundle` starts it by hand later), and runs it with `runtime run`,
#      in the foreground unless --detach, and prints the URL once Main_Page answers.
# `runtime` and `spec-gen` are installed into $OCIRT_PREFIX/bin (default /usr/local/bin).
#
# Usage: scripts/mediawiki.sh [--port N] [--site DIR] [--detach] [--source DIR]
#                             [--instance NAME] [--state DIR] [--prepare-only]
#        scripts/mediawiki.sh stop [--instance NAME] [--state DIR]       (SIGTERM, wait, delete)
#        scripts/mediawiki.sh rootfs SERVICE.toml [--instance NAME]   (print the cached rootfs, building it if needed)
#        scripts/mediawiki.sh cached [SERVICE.toml]                    (exit 0 if that rootfs is cached)
#        scripts/mediawiki.sh --help
#
# Environment: OCIRT_CACHE (default /var/cache/ocirt); OCIRT_BIN_DIR: take `runtime` and
# `spec-gen` from there and skip the apt/cargo step (the integration test uses it).
# docs/mediawiki.md explains the layout, the options and the move from a schroot.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bundle_src="$repo/bundles/mediawiki"
cache=${OCIRT_CACHE:-/var/cache/ocirt}

port=${MW_PORT:-8080}
site=/var/lib/ocirt/mediawiki
detach=0
source_tree=
instance=
state_root=
prepare_only=0

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'mediawiki.sh: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# ---------------------------------------------------------------------------------------
# Binaries and host packages.

setup() {
  if [ -n "${OCIRT_BIN_DIR:-}" ]; then
    rt="$OCIRT_BIN_DIR/runtime"
    sg="$OCIRT_BIN_DIR/spec-gen"
  else
    [ "$(id -u)" = 0 ] || die "run it as root (it installs packages, mounts and makes cgroups)"
    local need=()
    command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
    command -v curl >/dev/null 2>&1 || need+=(curl)
    command -v flock >/dev/null 2>&1 || need+=(util-linux)
    command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
    if [ ${#need[@]} -gt 0 ]; then
      say "installing ${need[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo is missing: install a Rust toolchain (rustup or Debian's cargo)"
    say "building runtime and spec-gen (cargo build --release; a few minutes the first time)"
    (cd "$repo" && cargo build --release -p runtime -p spec-gen)
    local prefix=${OCIRT_PREFIX:-/usr/local}
    install -d "$prefix/bin"
    install -m 0755 "$repo/target/release/runtime" "$repo/target/release/spec-gen" "$prefix/bin/"
    note "installed runtime and spec-gen into $prefix/bin"
    rt="$prefix/bin/runtime"
    sg="$prefix/bin/spec-gen"
  fi
  [ -x "$rt" ] || die "$rt is missing"
  [ -x "$sg" ] || die "$sg is missing"
  if [ -n "$state_root" ]; then
    rtc=("$rt" --root "$state_root")
  else
    rtc=("$rt")
  fi
}

# ---------------------------------------------------------------------------------------
# The rootfs cache: $cache/NAME-rootfs/KEY, KEY = the first 16 hex digits of the SHA-256
# of the description's [rootfs_build] table (package list, suite, directories, users).

toml_name() { sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$1" | head -n1; }

rootfs_key() {
  # From the [rootfs_build] header to the next table header or the end of the file.
  local table
  table=$(awk '/^\[rootfs_build\]/{on=1; print; next} on && /^\[/{on=0} on' "$1")
  [ -n "$table" ] || die "$1 has no [rootfs_build] table"
  printf '%s\n' "$table" | sha256sum | cut -c1-16
}

rootfs_dir() { echo "$cache/$(toml_name "$1")-rootfs/$(rootfs_key "$1")"; }

# Prints the cached rootfs of description $1, building it first if needed. $2: an instance
# name for descriptions that use {instance} (the mount points are the same for all).
rootfs_for() {
  local svc=$1 inst=${2:-} dir parent
  dir=$(rootfs_dir "$svc")
  parent=$(dirname "$dir")
  if [ -d "$dir" ] && [ -f "$dir.lock" ]; then
    note "rootfs cached: $dir"
    echo "$dir"
    return
  fi
  mkdir -p "$parent"
  # One build per cache directory at a time; a concurrent caller waits and reuses it.
  exec 9>"$parent/.build.lock"
  flock 9
  if ! { [ -d "$dir" ] && [ -f "$dir.lock" ]; }; then
    rm -rf "$dir" "$dir.lock"
    say "building the rootfs of $(toml_name "$svc") with spec-gen rootfs (mmdebstrap; downloads packages, about a minute)"
    local t0=$SECONDS args=(rootfs "$svc" --output "$dir" --lock "$dir.lock")
    [ -n "$inst" ] && args+=(--instance "$inst")
    "$sg" "${args[@]}" >&2 || { rm -rf "$dir" "$dir.lock"; die "spec-gen rootfs failed"; }
    note "rootfs built in $((SECONDS - t0)) s: $dir ($(du -sh "$dir" | cut -f1))"
    local old
    old=$(find "$parent" -mindepth 1 -maxdepth 1 -type d ! -path "$dir" ! -name '.*' | wc -l)
    [ "$old" = 0 ] || note "$old older rootfs(es) in $parent are no longer used by this description; remove them when nothing runs from them"
  fi
  flock -u 9
  exec 9>&-
  echo "$dir"
}

# ---------------------------------------------------------------------------------------
# The site directory.

# The wiki's own files, owned as the container expects: www-data (33) writes the database,
# uploads and MediaWiki's logs; Apache's parent (root) writes its logs; LocalSettings.php is
# root's and only readable by www-data, so a compromised worker cannot rewrite its config.
make_site() {
  mkdir -p "$site"
  chmod 0755 "$site"
  install -d -o 33 -g 33 -m 0750 "$site/data"
  install -d -o 33 -g 33 -m 0755 "$site/images"
  install -d -o 0 -g 0 -m 0755 "$site/log"
  install -d -o 0 -g 0 -m 0750 "$site/log/apache2"
  install -d -o 33 -g 33 -m 0750 "$site/log/mediawiki"
  # The configuration that spec-gen and the container read: a copy of the repository's,
  # refreshed on every run, with the port written in.
  mkdir -p "$site/conf"
  cp -r "$bundle_src/conf/." "$site/conf/"
  chmod -R go-w "$site/conf"
  if [ -e "$site/rootfs" ] && [ ! -L "$site/rootfs" ]; then
    die "$site/rootfs is not a link to the cached rootfs: move it away"
  fi
  ln -sfn "$rootfs" "$site/rootfs"
  render "$bundle_src/service.toml" "$site/service.toml"
  render "$bundle_src/install.toml" "$site/install.toml"
  if [ -n "$source_tree" ]; then
    cat >>"$site/service.toml" <<EOF

# Added by scripts/mediawiki.sh --source: the MediaWiki tree comes from a host checkout,
# read-only; edits on the host show up on the next request.
[[bind]]
source = "$source_tree"
target = "/usr/share/mediawiki"
mode = "ro"
exec = false
EOF
  fi
}

# Copies a description into the site with the port substituted. The repository's files
# carry the default port 8080 in exactly the places that must change together: the
# Landlock bind list and the MW_PORT variable that Apache's Listen and $wgServer read.
render() {
  local in=$1 out=$2
  sed -e "s/^tcp_bind = \[8080\]/tcp_bind = [$port]/" \
      -e "s/MW_PORT = \"8080\"/MW_PORT = \"$port\"/" \
      -e "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" "$in" >"$out.tmp"
  if grep -q '^tcp_bind = \[8080\]' "$in"; then
    grep -q "^tcp_bind = \[$port\]" "$out.tmp" || die "could not set the port in $out"
  fi
  mv "$out.tmp" "$out"
}

# maintenance/install.php, once, inside a container (install.toml).
install_wiki() {
  if [ -f "$site/LocalSettings.php" ]; then
    note "MediaWiki already installed in $site (LocalSettings.php exists)"
    return
  fi
  if [ -n "$(ls -A "$site/data")" ]; then
    die "$site/data is not empty but $site/LocalSettings.php is missing: restore LocalSettings.php, or move $site/data away to install afresh"
  fi
  say "installing MediaWiki into $site (maintenance/install.php inside a container, SQLite)"
  local pass t0=$SECONDS
  pass=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  umask 077
  printf '%s\n' "$pass" >"$site/admin-password"
  umask 022
  install -o 33 -g 33 -m 0400 "$site/admin-password" "$site/data/.admin-password"
  local out id="mediawiki-install${instance:+@$instance}"
  out=$("$sg" bundle "$site/install.toml" --output "$site/install-bundle" ${instance:+--instance "$instance"} 2>&1) \
    || { printf '%s\n' "$out" >&2; die "spec-gen bundle failed for install.toml"; }
  # Left over from an interrupted install: it is not running (run waits for it), clear it.
  "${rtc[@]}" delete --force "$id" >/dev/null 2>&1 || true
  if ! "${rtc[@]}" run --bundle "$site/install-bundle" "$id" </dev/null >"$site/log/install.log" 2>&1; then
    rm -f "$site/data/.admin-password"
    cat "$site/log/install.log" >&2
    die "install.php failed (log: $site/log/install.log)"
  fi
  rm -f "$site/data/.admin-password"
  [ -f "$site/data/LocalSettings.php" ] || die "install.php wrote no LocalSettings.php (log: $site/log/install.log)"
  {
    cat "$site/data/LocalSettings.php"
    cat <<'EOF'

## Added by scripts/mediawiki.sh (ocirt). The port comes from the container's environment
## (MW_PORT, from service.toml), so moving the wiki to another port needs no edit here.
$wgServer = 'http://127.0.0.1:' . ( getenv( 'MW_PORT' ) ?: '8080' );
## Uploads land in the site's images/ directory (bind-mounted read-write, noexec; Apache
## runs no PHP there).
$wgEnableUploads = true;
EOF
  } >"$site/LocalSettings.php.new"
  rm -f "$site/data/LocalSettings.php"
  chown 0:33 "$site/LocalSettings.php.new"
  chmod 0640 "$site/LocalSettings.php.new"
  mv "$site/LocalSettings.php.new" "$site/LocalSettings.php"
  note "installed in $((SECONDS - t0)) s; user Admin, password in $site/admin-password"
}

# ---------------------------------------------------------------------------------------
# Running.

url() { echo "http://127.0.0.1:${1:-$port}/mediawiki/index.php/Main_Page"; }

# The port a container of ours listens on: MW_PORT in its bundle's config.json.
port_of() {
  local bundle
  bundle=$("${rtc[@]}" state "$1" 2>/dev/null | sed -n 's/^ *"bundle": *"\(.*\)",\{0,1\}$/\1/p')
  [ -n "$bundle" ] && [ -f "$bundle/config.json" ] || return 0
  grep -o '"MW_PORT=[0-9]*"' "$bundle/config.json" | head -n1 | tr -dc 0-9
}

# The bundle store that `runtime run NAME` looks in: the names people type by hand.
register_bundle() {
  local store=/var/lib/ocirt/bundles name
  mkdir -p "$store"
  for name in "mediawiki-bundle${instance:+@$instance}" "mediawiki${instance:+@$instance}"; do
    if [ -e "$store/$name" ] && [ ! -L "$store/$name" ]; then
      note "$store/$name exists and is not a link: left alone"
      continue
    fi
    ln -sfn "$site/bundle" "$store/$name"
  done
  note "registered: runtime run mediawiki-bundle${instance:+@$instance} starts this bundle"
}

# Stops a running wiki: SIGTERM, up to 15 s for Apache to finish, then delete (which
# SIGKILLs anything left and removes the state and every cgroup).
stop_wiki() {
  local id="mediawiki${instance:+@$instance}" i
  case "$(status_of "$id")" in
    "") note "no container $id"; return 0 ;;
    running|paused) "${rtc[@]}" kill "$id" TERM 2>/dev/null || true ;;
  esac
  for i in $(seq 1 150); do
    [ "$(status_of "$id")" = running ] || break
    sleep 0.1
  done
  "${rtc[@]}" delete --force "$id"
  note "stopped and removed $id"
}

# Waits until Main_Page answers 200, at most about 30 s, while `alive` says the container
# runs; prints the time it took.
wait_ready() {
  local alive=$1 t0 code=000 i
  t0=$(date +%s%N)
  for i in $(seq 1 400); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$(url)" || true)
    [ "$code" = 200 ] && break
    if [ $((i % 10)) = 1 ] && ! "$alive"; then
      note "the container is not running any more"
      break
    fi
    sleep 0.05
  done
  if [ "$code" != 200 ]; then
    note "Main_Page did not answer 200 (last: $code); see $site/log/apache2/error.log"
    return 1
  fi
  note "Main_Page answered 200 after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# The status `runtime state` reports (created, running, paused, stopped), empty if none.
status_of() {
  "${rtc[@]}" state "$1" 2>/dev/null | sed -n 's/^ *"status": *"\([a-z]*\)".*/\1/p'
}
detached_alive() { [ "$(status_of "$container_id")" = running ]; }
foreground_alive() { kill -0 "$rt_pid" 2>/dev/null; }

run_wiki() {
  local id="mediawiki${instance:+@$instance}"
  say "generating the bundle (spec-gen bundle)"
  "$sg" bundle "$site/service.toml" --output "$site/bundle" ${instance:+--instance "$instance"}
  [ -n "${OCIRT_BIN_DIR:-}" ] || register_bundle
  if [ "$prepare_only" = 1 ]; then
    echo "$site/bundle"
    return
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "something already listens on 127.0.0.1:$port: choose another --port"
  fi
  container_id=$id
  if [ "$detach" = 1 ]; then
    say "starting container $id (runtime run --detach)"
    "${rtc[@]}" run --detach --bundle "$site/bundle" "$id" </dev/null >>"$site/log/console.log" 2>&1 \
      || die "runtime run failed; see $site/log/console.log"
    local stop="bash $0 stop${instance:+ --instance $instance}${state_root:+ --state $state_root}"
    wait_ready detached_alive || die "MediaWiki did not come up; see $site/log/apache2/error.log and $site/log/console.log (stop it with: $stop)"
    say "MediaWiki: $(url)"
    note "stop it with: $stop"
    note "  (by hand: ${rtc[*]} kill $id TERM, then ${rtc[*]} delete --force $id)"
    return
  fi
  say "starting container $id (runtime run, foreground; Ctrl-C stops it)"
  "${rtc[@]}" run --bundle "$site/bundle" "$id" </dev/null &
  rt_pid=$!
  # A background job ignores SIGINT: pass Ctrl-C and SIGTERM on as the stop signal.
  trap 'kill -TERM "$rt_pid" 2>/dev/null || true' INT TERM
  if wait_ready foreground_alive; then
    say "MediaWiki: $(url)"
  fi
  local rc=0
  while true; do
    wait "$rt_pid" && rc=0 || rc=$?
    kill -0 "$rt_pid" 2>/dev/null || break
  done
  trap - INT TERM
  note "container $id exited with status $rc"
  return "$rc"
}

# ---------------------------------------------------------------------------------------

main() {
  case "${1:-}" in
    rootfs)
      shift
      [ $# -ge 1 ] || die "usage: $0 rootfs SERVICE.toml [--instance NAME]"
      local svc=$1 inst=
      [ "${2:-}" = --instance ] && inst=${3:-}
      setup
      rootfs_for "$svc" "$inst"
      return
      ;;
    stop)
      shift
      while [ $# -gt 0 ]; do
        case "$1" in
          --instance) instance=${2:?}; shift 2 ;;
          --state) state_root=${2:?}; shift 2 ;;
          *) die "stop: unknown option $1" ;;
        esac
      done
      rt=${OCIRT_BIN_DIR:-${OCIRT_PREFIX:-/usr/local}/bin}/runtime
      [ -x "$rt" ] || die "$rt is missing: run the main command first"
      rtc=("$rt")
      [ -z "$state_root" ] || rtc+=(--root "$state_root")
      stop_wiki
      return
      ;;
    cached)
      local svc=${2:-$bundle_src/service.toml} dir
      dir=$(rootfs_dir "$svc")
      [ -d "$dir" ] && [ -f "$dir.lock" ]
      return
      ;;
  esac
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port=${2:?}; shift 2 ;;
      --site) site=${2:?}; shift 2 ;;
      --detach|-d) detach=1; shift ;;
      --source) source_tree=$(cd "${2:?}" && pwd); shift 2 ;;
      --instance) instance=${2:?}; shift 2 ;;
      --state) state_root=${2:?}; shift 2 ;;
      --prepare-only) prepare_only=1; shift ;;
      -h|--help) usage; return ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done
  case "$port" in ''|*[!0-9]*) die "--port wants a number" ;; esac
  [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port wants 1..65535"
  mkdir -p "$site"
  site=$(cd "$site" && pwd)
  setup
  rootfs=$(rootfs_for "$bundle_src/service.toml")
  # A container of that name from an earlier run: refuse to touch its site while it runs,
  # clear it if it has stopped.
  local id="mediawiki${instance:+@$instance}"
  case "$(status_of "$id")" in
    "") ;;
    stopped) "${rtc[@]}" delete --force "$id" ;;
    *) die "container $id is already running ($(url "$(port_of "$id")")); stop it first: bash $0 stop${instance:+ --instance $instance}${state_root:+ --state $state_root}" ;;
  esac
  say "site directory $site (port $port)"
  make_site
  install_wiki
  run_wiki
}

main "$@"
