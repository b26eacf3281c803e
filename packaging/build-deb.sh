#!/usr/bin/env bash
# Builds the Debian package of runtime and spec-gen (as root or not; needs cargo, dpkg-deb,
# gzip): target/deb/ocirt_VERSION_amd64.deb. Usage: bash packaging/build-deb.sh [OUT_DIR]
#
# Why a script around dpkg-deb rather than cargo-deb or dh-cargo: dh-cargo builds only from
# crates that Debian itself packages (libcgroups, seccompiler, landlock are not), and cargo-deb
# is one more tool to build from crates.io on every CI machine; the package is small and fixed
# (two static binaries, man pages, completions, one unit, docs), so fifty lines of shell that
# anyone can read are the smaller dependency.
#
# The binaries are static and non-PIE, as docs/operations.md recommends (no loader, no
# relocations at start), so the package depends on nothing. `runtime --version` names the
# commit; the package version carries it too (0.1.0+gitHASH).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/target/deb}
cd "$repo"
commit=$(git describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null || echo unknown)
crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
version="$crate_version+git${commit//-/.}"
target=x86_64-unknown-linux-gnu

echo "build-deb: cargo build --release (static) of runtime and spec-gen at $commit" >&2
export OCIRT_COMMIT=$commit RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static"
cargo build --release -p runtime -p spec-gen --target "$target"
# The functions a start runs, first in the binary (packaging/layout/README.md): fewer text
# pages mapped per command. Fail-safe: on any failure the unordered runtime is packaged.
bash packaging/layout/link.sh "$target"
unset RUSTFLAGS
echo "build-deb: man pages and completions (ocirt-docgen)" >&2
gen=$(mktemp -d)
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$gen" "$root"' EXIT
OCIRT_COMMIT=$commit cargo run -q -p ocirt-docgen -- "$gen"

install -D -m 0755 "target/$target/release/runtime" "$root/usr/bin/runtime"
install -D -m 0755 "target/$target/release/spec-gen" "$root/usr/bin/spec-gen"
for page in "$gen"/man/*; do
  section=${page##*.}
  install -D -m 0644 "$page" "$root/usr/share/man/man$section/$(basename "$page")"
  gzip -9n "$root/usr/share/man/man$section/$(basename "$page")"
done
install -D -m 0644 "$gen/completions/bash/runtime.bash" "$root/usr/share/bash-completion/completions/runtime"
install -D -m 0644 "$gen/completions/bash/spec-gen.bash" "$root/usr/share/bash-completion/completions/spec-gen"
install -D -m 0644 -t "$root/usr/share/zsh/vendor-completions" "$gen/completions/zsh/_runtime" "$gen/completions/zsh/_spec-gen"
install -D -m 0644 -t "$root/usr/share/fish/vendor_completions.d" "$gen/completions/fish/runtime.fish" "$gen/completions/fish/spec-gen.fish"
install -D -m 0644 packaging/ocirt@.service "$root/usr/lib/systemd/system/ocirt@.service"
install -D -m 0644 -t "$root/usr/share/ocirt/seccomp-profiles" seccomp-profiles/default.json seccomp-profiles/strict.json seccomp-profiles/udp.json
install -D -m 0644 README.md "$root/usr/share/doc/ocirt/README.md"
install -D -m 0644 -t "$root/usr/share/doc/ocirt/docs" docs/*.md
install -d "$root/var/lib/ocirt/bundles"
printf 'Files: *\nCopyright: the ocirt authors\nLicense: Apache-2.0\n See /usr/share/common-licenses/Apache-2.0.\n' >"$root/usr/share/doc/ocirt/copyright"

install -d "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: ocirt
Version: $version
Architecture: amd64
Maintainer: ocirt developers <ocirt@localhost>
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Homepage: https://localhost/ocirt
Description: hardened OCI container runtime for services that used to live in chroots
 runtime is an OCI runtime with runc's command-line contract (podman, containerd and
 systemd units drive it): pivot_root, namespaces, cgroups, dropped capabilities,
 no_new_privs, seccomp, Landlock and a BPF network guard, at bare-metal speed.
 spec-gen turns a service description into a bundle and the systemd unit that runs it.
 Built from commit $commit.
CONTROL
mkdir -p "$out"
deb="$out/ocirt_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
