#!/usr/bin/env python3
"""Writes an OCI image archive (oci-layout, index.json, blobs) that `ctr images import` takes,
since no registry is reachable from CI.

Every image in the archive shares one uncompressed layer: a busybox-static root filesystem
(/bin/busybox and the applets the tests call as symlinks, plus the empty directories the
runtimes mount over); with --probe, the static test probe at /probe too. Each image differs
only in its config (entrypoint), and each gets its name from the `io.containerd.image.name`
annotation on its index entry, which is what containerd's importer reads.

    make_image.py --out images.tar --busybox /bin/busybox [--probe PATH] \
        --image NAME=ARG[,ARG...] [--image NAME=ARG...]

Output is deterministic (fixed mtimes and owners), so the layer digest is stable.
"""

import argparse
import hashlib
import io
import json
import os
import tarfile

APPLETS = ["sh", "sleep", "cat", "echo", "ls", "id", "true", "false", "kill", "ps", "head", "grep",
           "mkdir", "rm", "hostname", "env", "stat", "wc", "printf", "test", "readlink", "nproc"]
DIRS = ["bin", "dev", "etc", "proc", "sys", "tmp", "run", "root", "var", "var/tmp"]


def tar_info(name, kind, mode, size=0, target=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.size = size
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.linkname = target
    return ti


def layer_bytes(busybox, probe):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in DIRS:
            t.addfile(tar_info(d, tarfile.DIRTYPE, 0o1777 if d in ("tmp", "var/tmp") else 0o755))
        for name, src in (("bin/busybox", busybox), ("probe", probe)):
            if src is None:
                continue
            data = open(src, "rb").read()
            t.addfile(tar_info(name, tarfile.REGTYPE, 0o755, len(data)), io.BytesIO(data))
        for a in APPLETS:
            t.addfile(tar_info("bin/" + a, tarfile.SYMTYPE, 0o777, target="busybox"))
        # Name lookups for `id` and for runtimes that read the image's passwd for a user name.
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", "root:x:0:\n")):
            data = text.encode()
            t.addfile(tar_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--probe")
    ap.add_argument("--image", action="append", required=True, metavar="NAME=ARG[,ARG...]",
                    help="an image NAME whose entrypoint is the comma-separated ARGs")
    args = ap.parse_args()

    blobs = {}

    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest, len(data)

    layer = layer_bytes(args.busybox, args.probe)
    layer_digest, layer_size = blob(layer)
    manifests = []
    for spec in args.image:
        name, _, argv = spec.partition("=")
        if not name or not argv:
            ap.error(f"--image {spec!r}: expected NAME=ARG[,ARG...]")
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": argv.split(","), "Env": ["PATH=/bin"], "WorkingDir": "/"},
            # Uncompressed layer: its diff id is its digest.
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        }
        cfg_digest, cfg_size = blob(json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
        }
        m_digest, m_size = blob(json.dumps(manifest, sort_keys=True).encode())
        manifests.append({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": m_digest,
            "size": m_size,
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]},
        })
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}

    tmp = args.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as t:
        def add(name, data, mode=0o644):
            t.addfile(tar_info(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))
        add("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add("index.json", json.dumps(index, sort_keys=True).encode())
        t.addfile(tar_info("blobs", tarfile.DIRTYPE, 0o755))
        t.addfile(tar_info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        for digest, data in sorted(blobs.items()):
            add("blobs/sha256/" + digest.split(":", 1)[1], data)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
