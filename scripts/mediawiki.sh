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
# With --db mariadb the wiki's database is MariaDB in its own container instead of SQLite
# (bundles/mariadb: its own rootfs, its data in site/db/data, 127.0.0.1:DB_PORT): the script
# sets it up once (mariadb-install-db, the wiki's database and account, in a container),
# starts it detached, waits until it accepts connections, installs the wiki against it,
# and runs the wiki, whose Landlock rules let it connect to that one port only. `stop`
# stops the wiki, then the database.
# `runtime` and `spec-gen` are installed into $OCIRT_PREFIX/bin (default /usr/local/bin).
#
# Usage: scripts/mediawiki.sh [--port N] [--site DIR] [--detach] [--source DIR]
#                             [--instance NAME] [--state DIR] [--prepare-only]
#                             [--db sqlite|mariadb] [--db-port N]
#        scripts/mediawiki.sh stop [--instance NAME] [--state DIR]       (SIGTERM, wait, delete; wiki, then database)
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
db_src="$repo/bundles/mariadb"
cache=${OCIRT_CACHE:-/var/cache/ocirt}

port=${MW_PORT:-8080}
site=/var/lib/ocirt/mediawiki
detach=0
source_tree=
instance=
state_root=
prepare_only=0
db=sqlite
db_port=${MW_DB_PORT:-3306}
db_started=0
db_keep=0

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
  if [ "$db" = mariadb ]; then
    render "$bundle_src/install-mariadb.toml" "$site/install.toml"
    wiki_uses_mariadb "$site/service.toml"
  else
    render "$bundle_src/install.toml" "$site/install.toml"
  fi
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
      -e "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" \
      -e "s/^tcp_connect = \[3306\]/tcp_connect = [$db_port]/" \
      -e "s/127\.0\.0\.1:3306/127.0.0.1:$db_port/g" "$in" >"$out.tmp"
  if grep -q '^tcp_bind = \[8080\]' "$in"; then
    grep -q "^tcp_bind = \[$port\]" "$out.tmp" || die "could not set the port in $out"
  fi
  mv "$out.tmp" "$out"
}

# The wiki's description with MariaDB: Landlock lets it connect to the database's port and
# no other, MW_DB_PORT tells LocalSettings.php where the database is, and the unit that
# spec-gen generates from it starts after the database's unit and requires it. The
# repository's file is SQLite's: these lines are edited in, each checked.
wiki_uses_mariadb() {
  local f=$1 unit
  unit="$(db_id).service"
  sed -i -e "s/^tcp_bind = \[\([0-9]*\)\]\$/&\ntcp_connect = [$db_port]/" \
      -e "s/MW_PORT = \"\([0-9]*\)\"/MW_PORT = \"\1\", MW_DB_PORT = \"$db_port\"/" \
      -e "s/^description = \"\(.*\)SQLite\(.*\)\"/description = \"\1MariaDB\2\"/" \
      -e "s/^\[lifecycle\]\$/&\n# Added by scripts\/mediawiki.sh --db mariadb: the database's unit first.\nafter = [\"$unit\"]\nrequires = [\"$unit\"]/" "$f"
  grep -q "^tcp_connect = \[$db_port\]\$" "$f" && grep -q "MW_DB_PORT = \"$db_port\"" "$f" \
    && grep -q "^requires = \[\"$unit\"\]\$" "$f" || die "could not add the MariaDB settings to $f"
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
  local what=SQLite
  [ "$db" = mariadb ] && what="MariaDB on 127.0.0.1:$db_port"
  say "installing MediaWiki into $site (maintenance/install.php inside a container, $what)"
  local pass t0
  t0=$(date +%s%N)
  pass=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  umask 077
  printf '%s\n' "$pass" >"$site/admin-password"
  umask 022
  install -o 33 -g 33 -m 0400 "$site/admin-password" "$site/data/.admin-password"
  [ "$db" = sqlite ] || install -o 33 -g 33 -m 0400 "$site/db-password" "$site/data/.db-password"
  local out id="mediawiki-install${instance:+@$instance}"
  out=$("$sg" bundle "$site/install.toml" --output "$site/install-bundle" ${instance:+--instance "$instance"} 2>&1) \
    || { printf '%s\n' "$out" >&2; die "spec-gen bundle failed for install.toml"; }
  # Left over from an interrupted install: it is not running (run waits for it), clear it.
  "${rtc[@]}" delete --force "$id" >/dev/null 2>&1 || true
  if ! "${rtc[@]}" run --bundle "$site/install-bundle" "$id" </dev/null >"$site/log/install.log" 2>&1; then
    rm -f "$site/data/.admin-password" "$site/data/.db-password"
    cat "$site/log/install.log" >&2
    die "install.php failed (log: $site/log/install.log)"
  fi
  rm -f "$site/data/.admin-password" "$site/data/.db-password"
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
    if [ "$db" = mariadb ]; then
      cat <<'EOF'
## MariaDB's port comes from the environment too (MW_DB_PORT, from service.toml, beside
## the Landlock rule that allows connecting to it). 127.0.0.1, not localhost, which would
## mean a Unix socket: the database's socket is in its own container.
if ( getenv( 'MW_DB_PORT' ) ) {
	$wgDBserver = '127.0.0.1:' . getenv( 'MW_DB_PORT' );
}
EOF
    fi
  } >"$site/LocalSettings.php.new"
  rm -f "$site/data/LocalSettings.php"
  chown 0:33 "$site/LocalSettings.php.new"
  chmod 0640 "$site/LocalSettings.php.new"
  mv "$site/LocalSettings.php.new" "$site/LocalSettings.php"
  note "installed in $(( ($(date +%s%N) - t0) / 1000000 )) ms; user Admin, password in $site/admin-password"
}

# ---------------------------------------------------------------------------------------
# The database (--db mariadb): bundles/mariadb, copied into site/db like the wiki's files
# into the site.

db_id() { echo "mariadb${instance:+@$instance}"; }

# site/db: the database's descriptions (port written in), its config, its rootfs link and
# its data directory, owned by the account mariadbd runs as (`mariadb`, made by the
# description's [rootfs_build]; read from the rootfs, not assumed).
make_db_site() {
  local d=$site/db ids
  ids=$(awk -F: '$1 == "mariadb" { print $3 ":" $4 }' "$db_rootfs/etc/passwd")
  case "$ids" in
    [0-9]*:[0-9]*) ;;
    *) die "$db_rootfs/etc/passwd has no mariadb account: rebuild the rootfs (rm -rf $db_rootfs $db_rootfs.lock)" ;;
  esac
  server_uid=${ids%:*}
  server_gid=${ids#*:}
  local host_user
  host_user=$(getent passwd "$server_uid" | cut -d: -f1 || true)
  [ -z "$host_user" ] || note "warning: uid $server_uid, which owns $d/data, is also the host's account $host_user: it can read the database files"
  install -d -o 0 -g 0 -m 0755 "$d" "$d/conf"
  cp -r "$db_src/conf/." "$d/conf/"
  chmod -R go-w "$d/conf"
  install -d -o "$server_uid" -g "$server_gid" -m 0700 "$d/data" "$d/setup"
  if [ -e "$d/rootfs" ] && [ ! -L "$d/rootfs" ]; then
    die "$d/rootfs is not a link to the cached rootfs: move it away"
  fi
  ln -sfn "$db_rootfs" "$d/rootfs"
  render_db "$db_src/service.toml" "$d/service.toml"
  render_db "$db_src/setup.toml" "$d/setup.toml"
}

# The database's port sits in --port=, the Landlock bind list and the description.
render_db() {
  local in=$1 out=$2
  sed -e "s/\"--port=3306\"/\"--port=$db_port\"/" \
      -e "s/^tcp_bind = \[3306\]/tcp_bind = [$db_port]/" \
      -e "s/127\.0\.0\.1:3306/127.0.0.1:$db_port/g" "$in" >"$out.tmp"
  if grep -q '^tcp_bind = \[3306\]' "$in"; then
    grep -q "^tcp_bind = \[$db_port\]" "$out.tmp" && grep -q "\"--port=$db_port\"" "$out.tmp" \
      || die "could not set the database port in $out"
  fi
  mv "$out.tmp" "$out"
}

# Once, while site/db/data is empty: mariadb-install-db and the wiki's database and account,
# inside a container (setup.toml: as mariadb, no network). The account's password is made
# here and kept in site/db-password (root, 0600); the SQL that carries it is removed after.
setup_db() {
  local d=$site/db id="mariadb-setup${instance:+@$instance}" out t0
  # my_wiki/ is made by the last statement of the setup: with it, everything before ran.
  if [ -d "$d/data/my_wiki" ]; then
    note "MariaDB already set up in $d/data"
    return
  fi
  [ -z "$(ls -A "$d/data")" ] || die "$d/data holds an unfinished MariaDB setup (no my_wiki/; see $site/log/mariadb-setup.log): move it away to set up afresh"
  say "setting up MariaDB in $d/data (mariadb-install-db inside a container)"
  t0=$(date +%s%N)
  if [ ! -s "$site/db-password" ]; then
    umask 077
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$site/db-password"
    umask 022
  fi
  local pass
  pass=$(cat "$site/db-password")
  # base64url: nothing in it needs quoting inside an SQL string.
  case "$pass" in *[!A-Za-z0-9_-]*|'') die "$site/db-password holds characters other than A-Z a-z 0-9 _ -" ;; esac
  umask 077
  # FLUSH PRIVILEGES: mariadb-install-db runs this in bootstrap mode, where the grant tables
  # are not loaded until asked; CREATE USER needs them. The database comes last: bootstrap
  # stops at the first failing statement, so its directory means the account exists too.
  cat >"$d/setup/wiki.sql" <<EOF
FLUSH PRIVILEGES;
CREATE USER IF NOT EXISTS 'wiki'@'127.0.0.1' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON my_wiki.* TO 'wiki'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS my_wiki;
EOF
  umask 022
  chown "$server_uid:$server_gid" "$d/setup/wiki.sql"
  chmod 0400 "$d/setup/wiki.sql"
  out=$("$sg" bundle "$d/setup.toml" --output "$d/setup-bundle" ${instance:+--instance "$instance"} 2>&1) \
    || { rm -f "$d/setup/wiki.sql"; printf '%s\n' "$out" >&2; die "spec-gen bundle failed for $d/setup.toml"; }
  "${rtc[@]}" delete --force "$id" >/dev/null 2>&1 || true
  if ! "${rtc[@]}" run --bundle "$d/setup-bundle" "$id" </dev/null >"$site/log/mariadb-setup.log" 2>&1; then
    rm -f "$d/setup/wiki.sql"
    cat "$site/log/mariadb-setup.log" >&2
    die "mariadb-install-db failed (log: $site/log/mariadb-setup.log); move $d/data away before trying again"
  fi
  rm -f "$d/setup/wiki.sql"
  [ -d "$d/data/mysql" ] && [ -d "$d/data/my_wiki" ] || die "the MariaDB setup left no mysql/ or my_wiki/ in $d/data (log: $site/log/mariadb-setup.log)"
  note "set up in $(( ($(date +%s%N) - t0) / 1000000 )) ms; the wiki's account is wiki@127.0.0.1, password in $site/db-password"
}

# A database this run started is stopped again when the run ends without a wiki that uses
# it (an error, --prepare-only, the foreground wiki's exit): leave things as they were found.
stop_db_we_started() {
  if [ "$db_started" = 1 ] && [ "$db_keep" = 0 ]; then
    db_started=0
    stop_container "$(db_id)" 600 || true
  fi
}

db_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$db_port") 2>/dev/null; }

# Starts the database detached unless it runs already, and waits until it accepts TCP
# connections on its port (mariadbd listens only once InnoDB is up).
start_db() {
  local d=$site/db id t0 i bundle
  id=$(db_id)
  say "generating the database's bundle (spec-gen bundle)"
  "$sg" bundle "$d/service.toml" --output "$d/bundle" ${instance:+--instance "$instance"}
  case "$(status_of "$id")" in
    running)
      bundle=$("${rtc[@]}" state "$id" 2>/dev/null | sed -n 's/^ *"bundle": *"\(.*\)",\{0,1\}$/\1/p')
      [ "$bundle" = "$d/bundle" ] || die "container $id runs from $bundle, not from this site's $d/bundle: stop it first, or use another --instance"
      db_accepts || die "container $id runs but nothing answers on 127.0.0.1:$db_port (it may use another port: stop it first)"
      note "MariaDB already runs ($id, 127.0.0.1:$db_port)"
      return
      ;;
    "") ;;
    *) "${rtc[@]}" delete --force "$id" ;;
  esac
  db_accepts && die "something already listens on 127.0.0.1:$db_port: choose another --db-port"
  say "starting MariaDB ($id, runtime run --detach) on 127.0.0.1:$db_port"
  t0=$(date +%s%N)
  "${rtc[@]}" run --detach --bundle "$d/bundle" "$id" </dev/null >>"$site/log/mariadb.log" 2>&1 \
    || die "runtime run failed for $id; see $site/log/mariadb.log"
  db_started=1
  trap stop_db_we_started EXIT
  for i in $(seq 1 600); do
    db_accepts && break
    if [ $((i % 10)) = 1 ] && [ "$(status_of "$id")" != running ]; then
      die "MariaDB exited; see $site/log/mariadb.log"
    fi
    sleep 0.05
  done
  db_accepts || die "MariaDB does not accept connections on 127.0.0.1:$db_port after 30 s; see $site/log/mariadb.log (stop it: bash $0 stop${instance:+ --instance $instance}${state_root:+ --state $state_root})"
  note "MariaDB accepts connections after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
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
  if [ "$db" = mariadb ]; then
    name=$(db_id)
    if [ -e "$store/$name" ] && [ ! -L "$store/$name" ]; then
      note "$store/$name exists and is not a link: left alone"
    else
      ln -sfn "$site/db/bundle" "$store/$name"
      note "registered: runtime run $name starts the database"
    fi
  fi
}

# Stops a running container: SIGTERM, up to $2 tenths of a second for it to finish, then
# delete (which SIGKILLs anything left and removes the state and every cgroup).
stop_container() {
  local id=$1 limit=$2 i
  case "$(status_of "$id")" in
    "") note "no container $id"; return 0 ;;
    running|paused) "${rtc[@]}" kill "$id" TERM 2>/dev/null || true ;;
  esac
  for i in $(seq 1 "$limit"); do
    [ "$(status_of "$id")" = running ] || break
    sleep 0.1
  done
  "${rtc[@]}" delete --force "$id"
  note "stopped and removed $id"
}

# The wiki first (Apache: 15 s), then its database if there is one (InnoDB flushes: 60 s, its
# stop_timeout).
stop_wiki() {
  stop_container "mediawiki${instance:+@$instance}" 150
  [ -z "$(status_of "$(db_id)")" ] || stop_container "$(db_id)" 600
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
    # The database ran for the installer only: leave it as it was found.
    stop_db_we_started
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
    db_keep=1
    say "MediaWiki: $(url)"
    [ "$db" = sqlite ] || note "its database: MariaDB, container $(db_id), 127.0.0.1:$db_port"
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
  stop_db_we_started
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
      --db) db=${2:?}; shift 2 ;;
      --db-port) db_port=${2:?}; shift 2 ;;
      -h|--help) usage; return ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done
  case "$port" in ''|*[!0-9]*) die "--port wants a number" ;; esac
  [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port wants 1..65535"
  case "$db" in
    sqlite|mariadb) ;;
    *) die "--db wants sqlite or mariadb, not $db" ;;
  esac
  case "$db_port" in ''|*[!0-9]*) die "--db-port wants a number" ;; esac
  [ "$db_port" -ge 1 ] && [ "$db_port" -le 65535 ] || die "--db-port wants 1..65535"
  [ "$db" = sqlite ] || [ "$db_port" != "$port" ] || die "--db-port must differ from --port ($port)"
  mkdir -p "$site"
  site=$(cd "$site" && pwd)
  # The database a wiki was installed with is its database: this script moves no data.
  if [ -f "$site/LocalSettings.php" ]; then
    local installed=sqlite
    grep -q '^\$wgDBtype = "mysql";' "$site/LocalSettings.php" && installed=mariadb
    [ "$installed" = "$db" ] || case "$installed" in
      mariadb) die "the wiki in $site was installed against MariaDB: add --db mariadb" ;;
      *) die "the wiki in $site was installed with SQLite: drop --db $db, or use another --site (this script moves no data between databases)" ;;
    esac
  fi
  setup
  rootfs=$(rootfs_for "$bundle_src/service.toml")
  [ "$db" = sqlite ] || db_rootfs=$(rootfs_for "$db_src/service.toml")
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
  if [ "$db" = mariadb ]; then
    make_db_site
    setup_db
    start_db
  fi
  install_wiki
  run_wiki
}

main "$@"
