#!/usr/bin/env python3
"""MediaWiki requests per second: our runtime vs a plain chroot.

Called by bench/bench.py (inside its private mount namespace) when
bundles/mediawiki exists. Prints progress on stderr and one JSON object as the
last line of stdout.

1. scripts/mediawiki.sh --prepare-only makes a site directory under --work
   (rootfs from its cache or built with spec-gen rootfs, MediaWiki installed
   once inside a container) and the bundle spec-gen generates for it.
2. Rounds alternate the two sides, in rotated order:
   - ours: `runtime run -d` of that bundle (cgroup moved under the benchmark's
     own parent), then `runtime kill TERM` and `runtime delete`;
   - chroot: the same rootfs, the same bind and tmpfs mounts, the same
     process (args, env, cwd, uid 0), started with chroot(8) in a mount
     namespace of its own; no namespaces, cgroups, seccomp or Landlock.
   Each side is warmed up (ab for a few seconds, discarded: MediaWiki rebuilds
   its localisation cache on the first requests), then loaded with
   `ab -k -c C -t T` on Main_Page.
"""

import argparse
import ctypes
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def log(msg):
    print(f"[mediawiki {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def wait_ready(url, proc_alive, timeout=180.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                if r.status == 200:
                    return True
                last = r.status
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        if not proc_alive():
            break
        time.sleep(0.1)
    log(f"not ready: {last}")
    return False


def load(url, seconds, concurrency):
    """Requests per second from ab (keep-alive, fixed time)."""
    p = subprocess.run(["ab", "-k", "-q", "-c", str(concurrency), "-t", str(seconds), "-n", "10000000", url],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rps = re.search(r"Requests per second:\s+([\d.]+)", p.stdout)
    done = re.search(r"Complete requests:\s+(\d+)", p.stdout)
    # ab counts a response whose length differs from the first one as
    # "failed (Length)"; MediaWiki's pages vary in length (timing comments),
    # so only connect, receive and exception failures count.
    kinds = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)", p.stdout)
    failed = re.search(r"Failed requests:\s+(\d+)", p.stdout)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", p.stdout)
    if not rps:
        raise RuntimeError(f"ab failed: {p.stdout[-1500:]}")
    if kinds:
        real = int(kinds.group(1)) + int(kinds.group(2)) + int(kinds.group(4))
        length_varied = int(kinds.group(3))
    else:
        real, length_varied = (int(failed.group(1)) if failed else 0), 0
    return {"rps": float(rps.group(1)), "requests": int(done.group(1)) if done else None,
            "failed": real, "length_varied": length_varied, "non_2xx": int(non2xx.group(1)) if non2xx else 0}


class Ours:
    name = "ours"

    def __init__(self, a, bundle):
        self.a = a
        self.bundle = bundle
        self.id = f"mw-bench-{os.getpid()}"
        self.pidfile = Path(a.work) / "mw.pid"
        self.pid = None

    def rt(self, *args):
        return [self.a.runtime, "--root", self.a.state_root, *args]

    def start(self):
        log_f = open(Path(self.a.work) / "ours-console.log", "a")
        subprocess.run(self.rt("run", "-d", "--pid-file", str(self.pidfile), "--bundle", str(self.bundle), self.id),
                       stdin=subprocess.DEVNULL, stdout=log_f, stderr=log_f, check=True)
        self.pid = int(self.pidfile.read_text().strip())

    def alive(self):
        return self.pid is not None and Path(f"/proc/{self.pid}").exists() and not _zombie(self.pid)

    def stop(self):
        subprocess.run(self.rt("kill", self.id, "TERM"), stderr=subprocess.DEVNULL)
        _wait_pid(self.pid, 20)
        if subprocess.run(self.rt("delete", self.id), stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(self.rt("delete", "--force", self.id))
        self.pid = None


class Chroot:
    name = "chroot"

    def __init__(self, a, config):
        self.a = a
        self.script = Path(a.work) / "chroot.sh"
        self.script.write_text(chroot_script(config))
        self.proc = None

    def start(self):
        log_f = open(Path(self.a.work) / "chroot-console.log", "a")
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "bash", str(self.script)],
                                     stdin=subprocess.DEVNULL, stdout=log_f, stderr=log_f,
                                     # Apache's parent signals its whole process group
                                     # when it stops: give it a group of its own, as
                                     # the container's init has.
                                     start_new_session=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        # The chain unshare -> bash -> chroot -> sh -> apache2 is all exec: this
        # pid is Apache's parent, which stops its workers on SIGTERM.
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def chroot_script(c):
    """A shell script that sets up the container's mounts on the rootfs, in a
    private mount namespace, and execs the process with chroot(8)."""
    root = c["root"]["path"]
    q = shlex.quote
    L = ["set -euo pipefail", f"R={q(root)}",
         "# The rootfs stays read-only, as in the container (it is a shared cache).",
         'mount --bind "$R" "$R"', 'mount -o remount,bind,ro "$R"',
         'mount -t proc proc "$R/proc"', 'mount --rbind /dev "$R/dev"']
    for m in c.get("mounts", []):
        dst = m["destination"]
        opts = m.get("options", [])
        if m.get("type") == "bind" or "bind" in opts or "rbind" in opts:
            L.append(f'mount --bind {q(m["source"])} "$R"{q(dst)}')
            flags = [o for o in opts if o in ("ro", "nosuid", "nodev", "noexec")]
            if flags:
                L.append(f'mount -o remount,bind,{",".join(flags)} "$R"{q(dst)}')
        elif m.get("type") == "tmpfs" and not dst.startswith("/dev"):
            L.append(f'mount -t tmpfs -o {q(",".join(opts) or "defaults")} tmpfs "$R"{q(dst)}')
    p = c["process"]
    env = " ".join(q(e) for e in p.get("env", []))
    args = " ".join(q(x) for x in p["args"])
    uid = p.get("user", {}).get("uid", 0)
    if uid != 0:
        raise SystemExit("chroot side: only uid 0 processes are supported")
    L.append(f'exec env -i {env} chroot "$R" /bin/sh -c \'cd "$1" && shift && exec "$@"\' sh {q(p.get("cwd", "/"))} {args}')
    return "\n".join(L) + "\n"


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return True


def _wait_pid(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got, _ = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                return True
        except ChildProcessError:
            if not Path(f"/proc/{pid}").exists() or _zombie(pid):
                return True
        time.sleep(0.02)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--spec-gen", default="")
    ap.add_argument("--state-root", required=True)
    ap.add_argument("--cgroup-parent", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--warmup-seconds", type=int, default=5)
    ap.add_argument("--port", type=int, default=18000 + os.getpid() % 1000)
    a = ap.parse_args()
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the container's init comes to us
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    bindir = Path(a.runtime).parent
    if not a.spec_gen or Path(a.spec_gen).parent != bindir:
        print(json.dumps({"status": "failed: needs spec-gen beside the runtime binary"}))
        return 1
    log(f"preparing the site in {work}/site (scripts/mediawiki.sh --prepare-only, port {a.port})")
    env = dict(os.environ, OCIRT_BIN_DIR=str(bindir))
    p = subprocess.run(["bash", str(REPO / "scripts" / "mediawiki.sh"), "--prepare-only", "--site", str(work / "site"),
                        "--port", str(a.port), "--state", a.state_root, "--instance", f"bench{os.getpid()}"],
                       env=env, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        print(json.dumps({"status": f"failed: scripts/mediawiki.sh --prepare-only exited {p.returncode}"}))
        return 1
    src_bundle = Path(p.stdout.strip().splitlines()[-1])
    config = json.loads((src_bundle / "config.json").read_text())
    config["linux"]["cgroupsPath"] = f"/{a.cgroup_parent}/mediawiki"
    bundle = work / "bundle"
    bundle.mkdir(exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(config, indent=1))
    url = f"http://127.0.0.1:{a.port}/mediawiki/index.php/Main_Page"
    sides = [Ours(a, bundle), Chroot(a, config)]
    samples = {"ours": [], "chroot": []}
    status = "ok"
    try:
        for rnd in range(a.rounds):
            for side in sides[rnd % 2:] + sides[:rnd % 2]:
                log(f"round {rnd + 1}: {side.name}")
                side.start()
                try:
                    if not wait_ready(url, side.alive):
                        raise RuntimeError(f"{side.name}: Main_Page never answered 200")
                    # Warm-up, discarded: MediaWiki rebuilds its localisation
                    # cache (a tmpfs) and PHP fills its opcache after each start.
                    load(url, a.warmup_seconds, a.concurrency)
                    r = load(url, a.seconds, a.concurrency)
                    if r["failed"] or r["non_2xx"]:
                        raise RuntimeError(f"{side.name}: {r['failed']} failed, {r['non_2xx']} non-2xx responses")
                    samples[side.name].append(r)
                    log(f"{side.name}: {r['rps']:.1f} requests/s")
                finally:
                    side.stop()
    except (RuntimeError, subprocess.CalledProcessError) as e:
        status = f"failed: {e}"
        log(status)
    out = {"status": status, "url_path": "/mediawiki/index.php/Main_Page", "concurrency": a.concurrency,
           "seconds": a.seconds, "rounds": a.rounds, "samples": samples}
    if samples["ours"] and samples["chroot"]:
        o = statistics.median(x["rps"] for x in samples["ours"])
        c = statistics.median(x["rps"] for x in samples["chroot"])
        out.update({"runtime_rps": o, "chroot_rps": c, "ratio": o / c,
                    "runtime_rps_range": [min(x["rps"] for x in samples["ours"]), max(x["rps"] for x in samples["ours"])],
                    "chroot_rps_range": [min(x["rps"] for x in samples["chroot"]), max(x["rps"] for x in samples["chroot"])]})
    print(json.dumps(out))
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
