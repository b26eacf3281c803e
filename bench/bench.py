#!/usr/bin/env python3
"""Side-by-side benchmark of this runtime against runc and crun.

Run it through bench/run.sh (which installs runc/crun, builds everything and
enters a private mount namespace); see docs/benchmarks.md for what is
measured and how. This file only drives the measurements and writes the
results: every timing and every ru_maxrss comes from bench-helper
(bench/helper.c), a tiny static program that forks, execs and wait4()s.

Runtimes are interleaved: every iteration runs each case once, in an order
rotated by one position per iteration, so that drift on a shared machine hits
all of them alike. Medians and min-max are reported, never single runs.
"""

import argparse
import copy
import ctypes
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
DEFAULT_PROFILE = REPO / "seccomp-profiles" / "default.json"
DEVNULL = subprocess.DEVNULL

# The Landlock defaults spec-gen derives (docs/service-format.md); used only
# when spec-gen cannot be run, to reproduce its hardening by hand.
LANDLOCK_BY_HAND = {
    "org.ocirt.landlock.compat": "required",
    "org.ocirt.landlock.fs.exec": '["/"]',
    "org.ocirt.landlock.fs.read": "[]",
    "org.ocirt.landlock.fs.write": '["/dev","/run","/tmp"]',
    "org.ocirt.landlock.net.bind": "[]",
    "org.ocirt.landlock.net.connect": "[]",
    "org.ocirt.landlock.scope": '["abstract-unix-socket","signal"]',
}

BENCH_LINE = re.compile(r"^@@bench (\S+) (.*)$")


class BenchError(Exception):
    pass


class _Done(Exception):
    """Leave the measuring part early (profile mode); cleanup still runs."""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {
        "median": statistics.median(v),
        "min": min(v),
        "max": max(v),
        "n": len(v),
    }


def rotated(seq, i):
    k = i % len(seq)
    return seq[k:] + seq[:k]


def set_subreaper():
    """Orphaned container inits (after `create` or `run -d` exits) come to us,
    so we can reap them exactly and nothing piles up as a zombie elsewhere."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise BenchError("prctl(PR_SET_CHILD_SUBREAPER) failed")


def mountinfo(path="/proc/self/mountinfo"):
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            out.append({"mnt": parts[4].replace("\\040", " "), "fstype": parts[sep + 1], "line": line.strip()})
    return out


CLONE_NEWNS = 0x00020000


def setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "setns")


class Runtime:
    def __init__(self, name, binary, state_root, mntns=None):
        self.name = name
        self.binary = str(binary)
        self.state_root = Path(state_root)
        # runc and crun run in the mount namespace where the cgroup2 tree is hidden
        # (an fd of it); ours in the bench's own, where it is visible (its network guard
        # needs cgroup2).
        self.mntns = mntns

    def argv(self, *args):
        return [self.binary, "--root", str(self.state_root), *args]

    def kw(self):
        """subprocess keyword arguments that start the command in this runtime's namespace."""
        if self.mntns is None:
            return {}
        fd = self.mntns
        return {"preexec_fn": lambda: setns(fd)}

    def version(self):
        try:
            out = subprocess.run([self.binary, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, timeout=10, **self.kw()).stdout
            return out.strip().splitlines()[0] if out.strip() else "?"
        except Exception as e:  # noqa: BLE001 - reported, not fatal
            return f"unknown ({e})"


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.pid = os.getpid()
        self.cg_parent = f"ocirt-bench-{self.pid}"
        self.work = Path(tempfile.mkdtemp(prefix=f"ocirt-bench-{self.pid}-", dir="/tmp"))
        self.helper = Path(args.helper).resolve()
        self.rootfs = self.work / "rootfs"
        self.bundles = self.work / "bundles"
        self.logs = self.work / "logs"
        self.runtimes = {
            "ours": Runtime("ours", Path(args.runtime).resolve(), self.work / "state-ours"),
            "runc": Runtime("runc", shutil.which("runc") or "runc", self.work / "state-runc"),
            "crun": Runtime("crun", shutil.which("crun") or "crun", self.work / "state-crun"),
        }
        self.rt_order = ["ours", "runc", "crun"]
        # The newest anchors (Debian sid's, unpacked privately by bench/sid.sh).
        for name, path in (("crun-sid", args.crun_sid), ("runc-sid", args.runc_sid)):
            if path:
                self.runtimes[name] = Runtime(name, Path(path).resolve(), self.work / f"state-{name}")
                self.rt_order.append(name)
        self.base = {}
        self.hardening_source = None
        self._bundle_cache = {}
        self.results = {}
        self.failures = []
        self.unified_replaced = False

    # ------------------------------------------------------------------ setup
    def check_namespace(self):
        if os.geteuid() != 0:
            raise BenchError("must run as root")
        host_ns = os.environ.get("OCIRT_BENCH_HOST_MNTNS")
        if not host_ns or os.readlink("/proc/self/ns/mnt") == host_ns:
            raise BenchError("not in a private mount namespace: run through bench/run.sh "
                             "(it uses `unshare -m --propagation private`)")
        # crun 1.8 refuses hybrid cgroups; hide the cgroup2 hierarchy in this
        # namespace only. A private tmpfs (rather than a bare unmount) keeps
        # whatever a runtime writes there (crun writes a cgroup.procs file)
        # off the host's /sys/fs/cgroup tmpfs; to the runtimes both look alike.
        # That is done in a second private namespace, which runc and crun are started in
        # (setns before exec); ours stays in this one, where cgroup2 is visible: its
        # network guard (a cgroup BPF program) needs it, and it must be measured.
        if any(m["mnt"] == "/sys/fs/cgroup/unified" and m["fstype"] == "cgroup2" for m in mountinfo()):
            libc = ctypes.CDLL(None, use_errno=True)
            here = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            if libc.unshare(CLONE_NEWNS) != 0:
                raise BenchError(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}")
            subprocess.run(["umount", "/sys/fs/cgroup/unified"], check=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=755", "ocirt-bench-cg",
                            "/sys/fs/cgroup/unified"], check=True)
            hidden = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            setns(here)
            os.close(here)
            for rt, R in self.runtimes.items():
                if rt != "ours":
                    R.mntns = hidden
            self.unified_replaced = True
            log("hid the cgroup2 hierarchy /sys/fs/cgroup/unified from runc and crun (a namespace of their own)")

    def build_rootfs(self):
        bb = shutil.which("busybox")
        if not bb:
            raise BenchError("busybox (busybox-static) not found")
        r = self.rootfs
        for d in ["bin", "etc", "proc", "dev", "sys", "tmp", "run", "mnt/usr", "root"]:
            (r / d).mkdir(parents=True, exist_ok=True)
        shutil.copy2(bb, r / "bin" / "busybox")
        for applet in ["sh", "true", "dd", "find", "sleep", "cat", "grep", "ls", "wc"]:
            os.symlink("busybox", r / "bin" / applet)
        shutil.copy2(self.helper, r / "bin" / "bench-helper")
        (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        (r / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
        os.chmod(r / "tmp", 0o1777)

    def make_base_configs(self):
        # 1. hostnet: `runc spec`, terminal false, absolute root.path, no
        #    network namespace, a read-only bind of a host directory.
        tmp = self.work / "runc-spec"
        tmp.mkdir()
        subprocess.run(["runc", "spec"], cwd=tmp, check=True)
        c = json.loads((tmp / "config.json").read_text())
        c["process"]["terminal"] = False
        c["root"] = {"path": str(self.rootfs), "readonly": True}
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
        c["mounts"].append({"destination": "/mnt/usr", "type": "bind", "source": self.args.tree_source,
                            "options": ["bind", "ro", "nosuid", "nodev"]})
        caps = c["process"]["capabilities"]
        # runc spec asks for ambient capabilities it does not make inheritable;
        # the kernel refuses to raise those. runc and crun ignore the failure,
        # our runtime refuses the config, so make it consistent for all three.
        caps["inheritable"] = list(caps.get("ambient", []))
        self.base["hostnet"] = c
        # 2. the same plus seccomp-profiles/default.json for all three runtimes.
        s = copy.deepcopy(c)
        s["linux"]["seccomp"] = json.loads(Path(self.args.seccomp_profile).read_text())
        self.base["seccomp"] = s
        # 3. spec-gen's default hardening.
        self.base["hardened"] = self.hardened_config()

    def hardened_config(self):
        sg = self.args.spec_gen
        if sg and Path(sg).exists():
            svc = self.work / "service"
            svc.mkdir()
            (svc / "service.toml").write_text(
                "# written by bench/bench.py: /bin/true with spec-gen's defaults\n"
                'name = "bench-true"\n'
                f'rootfs = "{self.rootfs}"\n\n'
                "[process]\n"
                'command = "/bin/true"\n'
                'user = "root"\n\n'
                "[[bind]]\n"
                f'source = "{self.args.tree_source}"\n'
                'target = "/mnt/usr"\n'
                'mode = "ro"\n')
            p = subprocess.run([sg, "bundle", str(svc / "service.toml"), "--output", str(svc / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if p.returncode == 0:
                self.hardening_source = f"spec-gen bundle ({sg})"
                return json.loads((svc / "out" / "config.json").read_text())
            log(f"spec-gen failed ({p.returncode}), reproducing its defaults by hand:\n{p.stdout}")
        else:
            log("spec-gen not available, reproducing its defaults by hand")
        self.hardening_source = "by hand (spec-gen's documented defaults)"
        c = copy.deepcopy(self.base["hostnet"])
        c["process"]["capabilities"] = {k: [] for k in ["bounding", "effective", "inheritable", "permitted", "ambient"]}
        c["process"]["noNewPrivileges"] = True
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
        c["root"]["readonly"] = True
        c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/tmp", "/run")]
        for d, mode in (("/run", "755"), ("/tmp", "1777")):
            c["mounts"].append({"destination": d, "type": "tmpfs", "source": "tmpfs",
                                "options": ["nosuid", "nodev", "noexec", f"mode={mode}"]})
        c["linux"]["seccomp"] = json.loads(Path(self.args.seccomp_profile).read_text())
        c["annotations"] = dict(LANDLOCK_BY_HAND)
        return c

    def bundle(self, variant, rt, args, leaf):
        """A bundle directory whose config.json is the variant's, running
        `args`, in cgroup /ocirt-bench-PID/LEAF. Cached."""
        key = (variant, rt, tuple(args), leaf)
        if key in self._bundle_cache:
            return self._bundle_cache[key]
        d = self.bundles / f"b{len(self._bundle_cache)}"
        d.mkdir(parents=True)
        c = copy.deepcopy(self.base[variant])
        c["process"]["args"] = list(args)
        c["process"]["terminal"] = False
        c["linux"]["cgroupsPath"] = f"/{self.cg_parent}/{leaf}"
        if rt != "ours" and "vm.memfd_noexec" in (c["linux"].get("sysctl") or {}):
            # spec-gen sets it (the per-pid-namespace memfd exec policy, kernel 6.3+); runc
            # refuses any sysctl it does not know to be namespaced, so the others go without.
            del c["linux"]["sysctl"]["vm.memfd_noexec"]
        if rt == "crun" and not str(c.get("ociVersion", "")).startswith("1.0"):
            # crun 1.8 rejects ociVersion 1.2.0 ("unknown version specified").
            c["ociVersion"] = "1.0.2-dev"
        (d / "config.json").write_text(json.dumps(c, indent=1))
        self._bundle_cache[key] = d
        return d

    # ---------------------------------------------------------------- running
    def timed(self, argv, tag="outer", stdout=DEVNULL, timeout=None, quiet_cmd=False, rt=None):
        """Run argv under bench-helper; return its figures (and those of an
        inner bench-helper, if the command ran one)."""
        cmd = [str(self.helper), "time", "-t", tag]
        if quiet_cmd:
            cmd.append("-q")
        cmd += ["--", *argv]
        # stderr goes to a file, not a pipe: after `create` or `run -d` the
        # container's init keeps it open, and a pipe would never see EOF.
        with tempfile.TemporaryFile(mode="w+", dir=self.work) as errf:
            try:
                p = subprocess.run(cmd, stdin=DEVNULL, stdout=stdout, stderr=errf, text=True,
                                   timeout=timeout or self.args.timeout, **(rt.kw() if rt else {}))
            except subprocess.TimeoutExpired as e:
                return {"ok": False, "error": f"timeout after {e.timeout}s: {' '.join(argv)}"}
            errf.seek(0)
            stderr = errf.read()
        lines = {}
        other = []
        for line in stderr.splitlines():
            m = BENCH_LINE.match(line)
            if m:
                kv = dict(x.split("=", 1) for x in m.group(2).split())
                lines[m.group(1)] = {k: int(v) for k, v in kv.items()}
            else:
                other.append(line)
        o = lines.get(tag)
        if o is None:
            return {"ok": False, "error": f"no timing line (exit {p.returncode}): {stderr[-2000:]}"}
        r = {
            "ok": o["status"] == 0,
            "wall_ms": o["wall_ns"] / 1e6,
            "cpu_ms": (o["utime_us"] + o["stime_us"]) / 1e3,
            "maxrss_kib": o["maxrss_kb"],
            "status": o["status"],
            "stderr": "\n".join(other)[-2000:],
            "stdout": p.stdout if stdout == subprocess.PIPE else None,
        }
        if "inner" in lines:
            i = lines["inner"]
            r["inner"] = {"wall_ms": i["wall_ns"] / 1e6, "cpu_ms": (i["utime_us"] + i["stime_us"]) / 1e3,
                          "status": i["status"]}
        if not r["ok"]:
            r["error"] = f"exit {o['status']}: {' '.join(argv)}: {r['stderr']}"
        return r

    def note_failure(self, what, r):
        msg = f"{what}: {r.get('error', '?')}"
        self.failures.append(msg)
        log("FAILED " + msg)

    def run_container(self, variant, rt, args, cid, leaf=None, stdout=DEVNULL, timeout=None):
        b = self.bundle(variant, rt, args, leaf or f"{rt}-{variant}")
        R = self.runtimes[rt]
        return self.timed(R.argv("run", "--bundle", str(b), cid), stdout=stdout, timeout=timeout, rt=R)

    def reap(self, pid, timeout=30.0):
        """Wait for an orphaned container init (we are its subreaper)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                got, _ = os.waitpid(pid, os.WNOHANG)
                if got == pid:
                    return True
            except ChildProcessError:
                # Not our child (a runtime that keeps it elsewhere): poll /proc.
                if not Path(f"/proc/{pid}").exists():
                    return True
                try:
                    if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                        return True
                except (OSError, IndexError):
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)

    def reap_strays(self):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    # ------------------------------------------------------------- sections
    def verify(self):
        """Check that each variant really is what its name says, per runtime."""
        log("verify: what each variant looks like from inside")
        out = {}
        probe = ["/bin/sh", "-c", 'grep -E "^(CapEff|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status; '
                 'if echo x > /probe-root-write 2>/dev/null; then echo rootfs=rw; else echo rootfs=ro; fi; '
                 'ls /mnt/usr >/dev/null && echo bind=ok']
        expect = {"hostnet": {"Seccomp": "0"}, "seccomp": {"Seccomp": "2"},
                  "hardened": {"Seccomp": "2", "NoNewPrivs": "1", "CapEff": "0000000000000000"}}
        for variant in ["hostnet", "seccomp", "hardened"]:
            for rt in self.rt_order:
                r = self.run_container(variant, rt, probe, f"verify-{rt}-{variant}", stdout=subprocess.PIPE)
                if not r["ok"]:
                    raise BenchError(f"{rt} cannot run the {variant} bundle: {r.get('error')}")
                seen = {}
                for line in (r["stdout"] or "").splitlines():
                    if ":" in line:
                        k, v = line.split(":", 1)
                        seen[k.strip()] = v.strip()
                    elif "=" in line:
                        k, v = line.split("=", 1)
                        seen[k] = v
                out[f"{variant}/{rt}"] = seen
                for k, v in expect[variant].items():
                    if seen.get(k) != v:
                        raise BenchError(f"{variant}/{rt}: expected {k}={v} inside, saw {seen}")
                if seen.get("bind") != "ok" or seen.get("rootfs") != "ro":
                    raise BenchError(f"{variant}/{rt}: bind or read-only root missing: {seen}")
        self.results["verify"] = out

    def lifecycle_run(self):
        n = self.args.iterations
        log(f"lifecycle: `run` of /bin/true, {n} interleaved iterations (+{self.args.warmup} warm-up)")
        true_host = str(self.rootfs / "bin" / "true")
        cases = [("host", "host /bin/true", [true_host]),
                 ("chroot", "chroot rootfs /bin/true", ["chroot", str(self.rootfs), "/bin/true"])]
        for variant in ["hostnet", "seccomp", "hardened"]:
            for rt in self.rt_order:
                cases.append((f"{variant}/{rt}", None, (variant, rt)))
        samples = {key: [] for key, _, _ in cases}
        for i in range(-self.args.warmup, n):
            for key, _, spec in rotated(cases, i):
                if isinstance(spec, tuple):
                    variant, rt = spec
                    r = self.run_container(variant, rt, ["/bin/true"], f"lc-{rt}-{variant}")
                else:
                    r = self.timed(spec)
                if not r["ok"]:
                    self.note_failure(f"lifecycle {key}", r)
                    continue
                if i >= 0:
                    samples[key].append(r)
        res = {}
        for key, label, _ in cases:
            s = samples[key]
            res[key] = {"label": label or key, "wall_ms": stats([x["wall_ms"] for x in s]),
                        "cpu_ms": stats([x["cpu_ms"] for x in s]),
                        "maxrss_kib": stats([x["maxrss_kib"] for x in s])}
        self.results["lifecycle_run"] = res

    def phases(self):
        n = self.args.iterations
        log(f"phases: create / start / delete timed on their own, {n} interleaved iterations")
        cases = [(v, rt) for v in ["hostnet", "seccomp", "hardened"] for rt in self.rt_order]
        samples = {c: {"create": [], "start": [], "start_to_exit": [], "delete": []} for c in cases}
        for i in range(-self.args.warmup, n):
            for variant, rt in rotated(cases, i):
                R = self.runtimes[rt]
                cid = f"ph-{rt}-{variant}-{i + self.args.warmup}"
                b = self.bundle(variant, rt, ["/bin/true"], f"ph-{rt}-{variant}")
                pidfile = self.work / f"{cid}.pid"
                rc = self.timed(R.argv("create", "--bundle", str(b), "--pid-file", str(pidfile), cid), rt=R)
                if not rc["ok"]:
                    self.note_failure(f"create {variant}/{rt}", rc)
                    self.force_delete(rt, cid)
                    continue
                pid = int(pidfile.read_text().strip())
                t0 = time.perf_counter()
                rs = self.timed(R.argv("start", cid), rt=R)
                exited = self.reap(pid)
                t1 = time.perf_counter()
                if not rs["ok"] or not exited:
                    self.note_failure(f"start {variant}/{rt}", rs if not rs["ok"] else {"error": "init did not exit"})
                    self.force_delete(rt, cid)
                    continue
                rd = self.timed(R.argv("delete", cid), rt=R)
                if not rd["ok"]:
                    self.note_failure(f"delete {variant}/{rt}", rd)
                    self.force_delete(rt, cid)
                    continue
                if i >= 0:
                    d = samples[(variant, rt)]
                    d["create"].append(rc)
                    d["start"].append(rs)
                    d["start_to_exit"].append({"wall_ms": (t1 - t0) * 1e3})
                    d["delete"].append(rd)
        res = {}
        for (variant, rt), d in samples.items():
            res[f"{variant}/{rt}"] = {
                phase: {"wall_ms": stats([x["wall_ms"] for x in xs]),
                        "maxrss_kib": stats([x.get("maxrss_kib") for x in xs])}
                for phase, xs in d.items()}
        self.results["phases"] = res

    def syscalls(self):
        """One `run` of /bin/true per runtime and configuration under `strace -f -c`:
        system calls of the runtime and everything it starts (the container's /bin/true
        included, a handful)."""
        log("syscalls: strace -f -c of one `run` per case")
        res = {}
        for variant in ["hostnet", "hardened"]:
            for rt in self.rt_order:
                R = self.runtimes[rt]
                b = self.bundle(variant, rt, ["/bin/true"], f"sc-{rt}-{variant}")
                out = self.work / f"strace-{rt}-{variant}.txt"
                # A warm-up first: the first run after a build faults its pages in.
                self.quiet(R.argv("run", "--bundle", str(b), f"scw-{rt}-{variant}"), R)
                rc = subprocess.run(["strace", "-f", "-c", "-o", str(out), *R.argv("run", "--bundle", str(b), f"sc-{rt}-{variant}")],
                                    stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, **R.kw()).returncode
                if rc != 0:
                    self.failures.append(f"syscalls: {variant}/{rt} under strace exited {rc}")
                    continue
                p = parse_strace_c(out)
                top = sorted(p.get("top_all", []), key=lambda r: -(r["calls"] or 0))[:8]
                res[f"{variant}/{rt}"] = {"calls": p.get("total_calls"), "distinct": p.get("distinct_syscalls"),
                                          "top_by_calls": [(r["syscall"], r["calls"]) for r in top]}
        self.results["syscalls"] = res

    def workloads(self):
        q = self.quick
        n = self.args.workload_iterations
        dd_count = self.args.dd_count
        forks = self.args.forks
        tree = self.args.tree_source
        log(f"workloads: dd bs=1 count={dd_count}, {forks} fork+exec, find over {tree} (bind mount); "
            f"{n} interleaved iterations")
        # Warm the page cache and count the entries once.
        entries = sum(1 + len(ds) + len(fs) for _, ds, fs in os.walk(tree))
        h = "/bin/bench-helper"
        inner = lambda *cmd, quiet=False: [h, "time", "-t", "inner", *(["-q"] if quiet else []), "--", *cmd]  # noqa: E731
        work = {
            "dd": lambda root, t: ([f"{root}/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={dd_count}"], True),
            "forkexec": lambda root, t: ([f"{root}/bin/bench-helper", "forkexec", str(forks), f"{root}/bin/true"], False),
            "find": lambda root, t: ([f"{root}/bin/find", t], True),
        }
        configs = [("host", None)] + [(v, rt) for v in ["hostnet", "seccomp"] for rt in self.rt_order] + [("hardened", "ours")]
        if self.args.hardened_all:
            configs += [("hardened", "runc"), ("hardened", "crun")]
        samples = {(w, c): [] for w in work for c in configs}
        for w, mk in work.items():  # warm the caches on the host first, discarded
            cmd, quiet = mk(str(self.rootfs), tree)
            self.timed(cmd, quiet_cmd=quiet, timeout=self.args.workload_timeout)
        for i in range(-1 if not q else 0, n):  # one warm-up round in full mode
            for w, mk in work.items():
                for cfg in rotated(configs, i):
                    variant, rt = cfg
                    if variant == "host":
                        # Without capabilities, as in every container case, so
                        # that find sees the same tree (root-only directories
                        # such as /usr/share/polkit-1/rules.d stay closed).
                        cmd, quiet = mk(str(self.rootfs), tree)
                        r = self.timed(["setpriv", "--bounding-set", "-all", "--inh-caps", "-all", "--",
                                        str(self.helper), "time", "-t", "inner", *(["-q"] if quiet else []), "--", *cmd],
                                       timeout=self.args.workload_timeout)
                        fig = r.get("inner")
                    else:
                        cmd, quiet = mk("", "/mnt/usr")
                        r = self.run_container(variant, rt, inner(*cmd, quiet=quiet), f"wl-{rt}-{variant}",
                                               timeout=self.args.workload_timeout)
                        fig = r.get("inner")
                    # find exits 1 after "Permission denied" on root-only
                    # directories; the same on both sides, so it counts.
                    if fig is not None and fig["status"] not in ((0, 1) if w == "find" else (0,)):
                        fig = None
                    elif fig is not None and r["status"] != fig["status"]:
                        fig = None
                    if fig is None:
                        self.note_failure(f"workload {w} {variant}/{rt}", r)
                        continue
                    if i >= 0:
                        samples[(w, cfg)].append({"wall_ms": fig["wall_ms"], "cpu_ms": fig["cpu_ms"]})
        res = {"params": {"dd_count": dd_count, "forks": forks, "tree": tree, "tree_entries": entries}}
        for w in work:
            host = samples[(w, ("host", None))]
            hc = statistics.median([x["cpu_ms"] for x in host]) if host else None
            hw = statistics.median([x["wall_ms"] for x in host]) if host else None
            rows = {}
            for cfg in configs:
                s = samples[(w, cfg)]
                key = "host" if cfg[0] == "host" else f"{cfg[0]}/{cfg[1]}"
                row = {"cpu_ms": stats([x["cpu_ms"] for x in s]), "wall_ms": stats([x["wall_ms"] for x in s])}
                if hc and s:
                    row["cpu_ratio"] = stats([x["cpu_ms"] / hc for x in s])
                    row["wall_ratio"] = stats([x["wall_ms"] / hw for x in s])
                rows[key] = row
            res[w] = rows
        self.results["workloads"] = res

    def mediawiki(self):
        # The hook: runs as soon as the MediaWiki bundle and its setup script exist.
        mw = REPO / "bundles" / "mediawiki"
        hook = BENCH / "mediawiki.py"
        if not (mw / "service.toml").exists() or not (REPO / "scripts" / "mediawiki.sh").exists():
            log("mediawiki: pending (needs bundles/mediawiki and scripts/mediawiki.sh)")
            self.results["mediawiki"] = {"status": "pending: needs bundles/mediawiki"}
            return
        log("mediawiki: running bench/mediawiki.py")
        cmd = [sys.executable, str(hook), "--runtime",
               self.runtimes["ours"].binary, "--state-root", str(self.work / "state-mw"),
               "--cgroup-parent", self.cg_parent, "--work", str(self.work / "mediawiki"),
               "--spec-gen", self.args.spec_gen or "", "--rounds", str(2 if self.quick else 4),
               "--seconds", str(3 if self.quick else 15), "--warmup-seconds", str(2 if self.quick else 5)]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        try:
            self.results["mediawiki"] = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.results["mediawiki"] = {"status": f"failed (exit {p.returncode})"}
        if p.returncode != 0:
            self.failures.append(f"mediawiki: {self.results['mediawiki'].get('status')}")

    def scale_parallel(self):
        count = self.args.parallel
        rounds = self.args.parallel_rounds
        log(f"scale: {count} containers started at once with `run -d`, {rounds} round(s) per runtime")
        res = {rt: {"all_started_ms": [], "teardown_ms": [], "per_run_d_wall_ms": [], "run_d_maxrss_kib": []}
               for rt in self.rt_order}
        for rnd in range(rounds):
            for rt in rotated(self.rt_order, rnd):
                R = self.runtimes[rt]
                ids = [f"par-{rt}-{rnd}-{k}" for k in range(count)]
                bundles = [self.bundle("hostnet", rt, ["/bin/sleep", "600"], f"par-{rt}-{k}") for k in range(count)]
                procs = []
                # Every bench-helper waits at a gate (the read end of a pipe)
                # until all are spawned; closing the write end releases them
                # at once, so the spawning loop is not part of the figure.
                gate_r, gate_w = os.pipe()
                for cid, b in zip(ids, bundles):
                    errf = open(self.logs / f"{cid}.err", "w")
                    cmd = [str(self.helper), "time", "-t", "outer", "-g", str(gate_r), "--",
                           *R.argv("run", "-d", "--bundle", str(b), "--pid-file", str(self.work / f"{cid}.pid"), cid)]
                    procs.append((cid, subprocess.Popen(cmd, stdin=DEVNULL, stdout=DEVNULL, stderr=errf,
                                                        pass_fds=(gate_r,), **R.kw()), errf))
                os.close(gate_r)
                time.sleep(0.2)  # let them all reach the gate
                t0 = time.monotonic_ns()
                os.close(gate_w)
                ok = True
                for cid, p, errf in procs:
                    try:
                        p.wait(timeout=self.args.timeout * 4)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
                    errf.close()
                    if p.returncode != 0:
                        ok = False
                        self.note_failure(f"parallel run -d {rt}", {"error": (self.logs / f'{cid}.err').read_text()[-1000:]})
                last_end = None
                for cid, _, _ in procs:
                    for line in (self.logs / f"{cid}.err").read_text().splitlines():
                        m = BENCH_LINE.match(line)
                        if m:
                            kv = dict(x.split("=", 1) for x in m.group(2).split())
                            res[rt]["per_run_d_wall_ms"].append(int(kv["wall_ns"]) / 1e6)
                            res[rt]["run_d_maxrss_kib"].append(int(kv["maxrss_kb"]))
                            last_end = max(last_end or 0, int(kv["end_ns"]))
                # From the release until the last `run -d` returned (helpers and
                # this process read the same CLOCK_MONOTONIC).
                t_all = (last_end - t0) / 1e6 if last_end else None
                # Every container must be alive before we call them started.
                pids = {}
                for cid in ids:
                    pf = self.work / f"{cid}.pid"
                    if pf.exists():
                        pids[cid] = int(pf.read_text().strip())
                alive = sum(1 for p in pids.values() if Path(f"/proc/{p}").exists())
                if alive != count:
                    ok = False
                    self.failures.append(f"parallel {rt}: only {alive}/{count} containers running")
                t1 = time.perf_counter()
                for cid in ids:
                    self.quiet(R.argv("kill", cid, "KILL"), R)
                    if cid in pids:
                        self.reap(pids[cid])
                    r = self.quiet(R.argv("delete", cid), R)
                    if r != 0:
                        self.force_delete(rt, cid)
                teardown = (time.perf_counter() - t1) * 1e3
                self.reap_strays()
                if ok and t_all is not None:
                    res[rt]["all_started_ms"].append(t_all)
                    res[rt]["teardown_ms"].append(teardown)
        self.results["scale_parallel"] = {
            "containers": count,
            **{rt: {k: stats(v) for k, v in d.items()} for rt, d in res.items()}}

    def scale_sequential(self):
        windows = self.args.seq_windows
        total = windows[-1]
        log(f"scale: {total} sequential `run` lifecycles per runtime, interleaved; windows ending at {windows}")
        walls = {rt: [] for rt in self.rt_order}
        snaps = []
        for i in range(total):
            for rt in rotated(self.rt_order, i):
                r = self.run_container("hostnet", rt, ["/bin/true"], f"seq-{rt}-{i}", leaf=f"seq-{rt}")
                if not r["ok"]:
                    self.note_failure(f"sequential {rt} #{i}", r)
                    walls[rt].append(None)
                else:
                    walls[rt].append(r["wall_ms"])
            if i + 1 in windows:
                snaps.append({"after": i + 1, **self.footprint()})
        res = {"windows": []}
        lo = 0
        for hi in windows:
            row = {"range": f"{lo + 1}-{hi}"}
            for rt in self.rt_order:
                row[rt] = stats(walls[rt][lo:hi])
            res["windows"].append(row)
            lo = hi
        for rt in self.rt_order:
            w = [x for x in walls[rt] if x is not None]
            k = max(1, len(w) // 10)
            first, last = statistics.median(w[:k]), statistics.median(w[-k:])
            res[rt] = {"first_10pct_median_ms": first, "last_10pct_median_ms": last,
                       "growth": last / first if first else None, "slope_us_per_lifecycle": slope(w) * 1e3}
        res["footprint"] = snaps
        self.results["scale_sequential"] = res

    def supervisors_pss(self):
        """Steady-state memory of N foreground `run`s of /bin/sleep, each waiting for its
        container (what stays beside every service for its whole life): PSS summed from
        /proc/PID/smaps_rollup over each runtime's own processes, the containers' processes
        (the init named by --pid-file and its descendants) excluded and summed apart."""
        count = self.args.pss_count
        log(f"memory: {count} foreground `run` supervisors per runtime (hardened bundle), PSS")
        res = {}
        for rt in self.rt_order:
            R = self.runtimes[rt]
            ids = [f"pss-{rt}-{k}" for k in range(count)]
            procs = []
            for k, cid in enumerate(ids):
                b = self.bundle("hardened", rt, ["/bin/sleep", "600"], f"pss-{rt}-{k}")
                procs.append((cid, subprocess.Popen(R.argv("run", "--bundle", str(b), "--pid-file",
                                                           str(self.work / f"{cid}.pid"), cid),
                                                    stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, **R.kw())))
            try:
                deadline = time.monotonic() + self.args.timeout
                while time.monotonic() < deadline and not all((self.work / f"{c}.pid").exists() for c in ids):
                    if any(p.poll() is not None for _, p in procs):
                        break
                    time.sleep(0.05)
                time.sleep(1.0)  # past start-up: the supervisors sit in their wait
                row = {"supervisor_pss_kib": 0, "supervisor_private_kib": 0, "supervisor_rss_kib": 0,
                       "supervisor_processes": 0, "container_pss_kib": 0, "container_processes": 0}
                alive = 0
                for cid, p in procs:
                    if p.poll() is not None:
                        self.failures.append(f"pss {rt}: {cid}: `run` exited ({p.returncode}) before it was measured")
                        continue
                    alive += 1
                    try:
                        inside = set(process_tree(int((self.work / f"{cid}.pid").read_text().strip())))
                    except (OSError, ValueError):
                        self.failures.append(f"pss {rt}: {cid}: no pid file")
                        continue
                    for pid in process_tree(p.pid):
                        try:
                            m = smaps_rollup(pid)
                        except OSError:
                            continue
                        if pid in inside:
                            row["container_pss_kib"] += m.get("Pss", 0)
                            row["container_processes"] += 1
                        else:
                            row["supervisor_pss_kib"] += m.get("Pss", 0)
                            row["supervisor_private_kib"] += m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
                            row["supervisor_rss_kib"] += m.get("Rss", 0)
                            row["supervisor_processes"] += 1
                row["supervisors"] = alive
                if alive == count:
                    res[rt] = row
            finally:
                for cid, p in procs:
                    self.quiet(R.argv("kill", cid, "KILL"), R)
                for cid, p in procs:
                    try:
                        p.wait(timeout=self.args.timeout)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
                    self.force_delete(rt, cid)
                self.reap_strays()
        self.results["supervisors_pss"] = {"supervisors": count, **res}

    def footprint(self):
        """Things that would grow if lifecycles leaked."""
        cg = 0
        for m in mountinfo():
            if m["fstype"] in ("cgroup", "cgroup2"):
                p = Path(m["mnt"]) / self.cg_parent
                if p.is_dir():
                    cg += sum(1 for x in p.iterdir() if x.is_dir())
        return {
            "state_entries": {rt: len(list(R.state_root.iterdir())) if R.state_root.exists() else 0
                              for rt, R in self.runtimes.items()},
            "cgroup_dirs": cg,
            "mounts_in_bench_ns": len(mountinfo()),
            "bench_fds": len(os.listdir("/proc/self/fd")),
        }

    # ------------------------------------------------------------ profiling
    def profile(self, outdir):
        """Raw data for "where the time goes": strace -c -f and perf stat."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        cases = [("hostnet", "ours"), ("seccomp", "ours"), ("hardened", "ours"),
                 ("hostnet", "crun"), ("seccomp", "crun"), ("hostnet", "runc")]
        cases += [("hostnet", rt) for rt in ("crun-sid", "runc-sid") if rt in self.runtimes]
        perf_events = "instructions"
        t = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "true"], stderr=subprocess.PIPE, text=True)
        if t.returncode != 0 or "not supported" in t.stderr or "<not" in t.stderr:
            perf_events = "task-clock,context-switches,cpu-migrations,page-faults"
            log("perf: hardware counters (instructions) are not supported here; using software events")
        index = {"perf_events": perf_events, "files": []}
        reps = 5 if self.quick else 30
        for variant, rt in cases:
            R = self.runtimes[rt]
            b = self.bundle(variant, rt, ["/bin/true"], f"prof-{rt}-{variant}")
            base = f"{rt}-{variant}"
            # strace -c -f: syscall counts and times of the runtime and everything it starts.
            f1 = outdir / f"strace-c-{base}.txt"
            rc = subprocess.run(["strace", "-c", "-f", "-o", str(f1), *R.argv("run", "--bundle", str(b), f"prof-{base}")],
                                stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, **R.kw()).returncode
            if rc != 0:
                self.failures.append(f"profile: {base} under strace exited {rc}")
            # strace -f -tt -T: the timeline of one run (who does what, when).
            f2 = outdir / f"strace-tt-{base}.txt"
            subprocess.run(["strace", "-f", "-tt", "-T", "-o", str(f2), *R.argv("run", "--bundle", str(b), f"prof-{base}")],
                           stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, **R.kw())
            f3 = outdir / f"perf-stat-{base}.txt"
            with open(f3, "w") as f:
                # -r: perf runs the same id repeatedly; each run deletes it again.
                rc = subprocess.run(["perf", "stat", "-r", str(reps), "-e", perf_events,
                                     *R.argv("run", "--bundle", str(b), f"prof-{base}")],
                                    stdin=DEVNULL, stdout=DEVNULL, stderr=f, **R.kw()).returncode
            if rc != 0:
                self.failures.append(f"profile: {base} under perf stat exited {rc}")
            index["files"] += [f1.name, f2.name, f3.name]
            log(f"profile: {base} done")
        index["summary"] = {}
        for variant, rt in cases:
            base = f"{rt}-{variant}"
            index["summary"][base] = parse_strace_c(outdir / f"strace-c-{base}.txt")
            index["summary"][base]["perf"] = parse_perf(outdir / f"perf-stat-{base}.txt")
        index["failures"] = list(self.failures)
        (outdir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
        return index

    # -------------------------------------------------------------- cleanup
    def quiet(self, argv, rt=None):
        return subprocess.run(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, **(rt.kw() if rt else {})).returncode

    def force_delete(self, rt, cid):
        R = self.runtimes[rt]
        self.quiet(R.argv("delete", "--force", cid), R)

    def container_processes(self):
        """Pids whose root directory is our rootfs: container processes."""
        found = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                root = os.readlink(d / "root")
            except OSError:
                continue
            if root.startswith(str(self.rootfs)):
                found.append(int(d.name))
        return found

    def cleanup_and_check(self):
        """Delete everything we made; then fail loudly if anything is left."""
        residue = []
        # 1. containers still known to a runtime.
        for rt, R in self.runtimes.items():
            if not R.state_root.exists():
                continue
            p = subprocess.run(R.argv("list", "-q"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **R.kw())
            ids = [x for x in p.stdout.split() if x]
            for cid in ids:
                residue.append(f"{rt}: container {cid} still listed (force-deleted now)")
                self.force_delete(rt, cid)
            left = [x.name for x in R.state_root.iterdir()] if R.state_root.exists() else []
            left = [x for x in left if not x.startswith(".")]
            if left and not ids:
                residue.append(f"{rt}: state root {R.state_root} not empty: {left}")
        # 2. processes still running in our rootfs (we started them; end them by pid).
        for pid in self.container_processes():
            residue.append(f"process {pid} still running in the bench rootfs (killed now)")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
        self.reap_strays()
        # 3. cgroups: /ocirt-bench-PID must hold no container cgroup; then remove it.
        for m in mountinfo():
            if m["fstype"] not in ("cgroup", "cgroup2", "tmpfs"):
                continue
            if m["fstype"] == "tmpfs" and m["mnt"] != "/sys/fs/cgroup/unified":
                continue
            p = Path(m["mnt"]) / self.cg_parent
            if not p.is_dir():
                continue
            if m["fstype"] == "tmpfs":
                # Our private stand-in for the hidden cgroup2 hierarchy: not a
                # cgroup, and it vanishes with this namespace; crun writes here.
                shutil.rmtree(p, ignore_errors=True)
                continue
            for child in sorted(p.rglob("*"), key=lambda x: -len(x.parts)):
                if child.is_dir():
                    residue.append(f"cgroup left: {child} (removed now)")
                    try:
                        child.rmdir()
                    except OSError as e:
                        residue.append(f"cannot remove {child}: {e}")
            try:
                p.rmdir()
            except OSError as e:
                residue.append(f"cannot remove {p}: {e}")
        # 4. mounts: nothing under our work dir, here or in the host's namespace.
        host_pid = os.environ.get("OCIRT_BENCH_HOST_PID", "1")
        for where in ("/proc/self/mountinfo", f"/proc/{host_pid}/mountinfo"):
            try:
                for m in mountinfo(where):
                    if m["mnt"].startswith(str(self.work)):
                        residue.append(f"mount left ({where}): {m['mnt']}")
            except OSError:
                pass
        # Whatever the deletion above could not remove.
        for rt, R in self.runtimes.items():
            if R.state_root.exists():
                p = subprocess.run(R.argv("list", "-q"), stdout=subprocess.PIPE, stderr=DEVNULL, text=True, **R.kw())
                for cid in p.stdout.split():
                    residue.append(f"{rt}: container {cid} STILL listed after delete --force")
        for pid in self.container_processes():
            residue.append(f"process {pid} STILL running in the bench rootfs")
        self.results["residue"] = residue
        return residue

    def remove_work(self):
        shutil.rmtree(self.work, ignore_errors=True)


def process_tree(pid):
    """pid and all its descendants (through every thread's children list)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{t}/children").read_text().split()]
        except OSError:
            pass
    return out


def smaps_rollup(pid):
    """The kB fields of /proc/PID/smaps_rollup."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        k, _, v = line.partition(":")
        f = v.split()
        if len(f) == 2 and f[1] == "kB":
            out[k] = int(f[0])
    return out


def slope(ys):
    """Least-squares slope of ys against their index (same unit as ys per step)."""
    pts = [(i, y) for i, y in enumerate(ys) if y is not None]
    if len(pts) < 2:
        return 0.0
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    return sxy / sxx if sxx else 0.0


def parse_strace_c(path):
    """Totals and the top syscalls by time from `strace -c` output."""
    out = {"total_calls": None, "total_seconds": None, "top": []}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and re.match(r"^\d+\.\d+$", parts[0]) and re.match(r"^\d+\.\d+$", parts[1]):
            name = parts[-1]
            calls = int(parts[3]) if parts[3].isdigit() else None
            errors = int(parts[4]) if len(parts) == 6 and parts[4].isdigit() else 0
            if name == "total":
                out["total_seconds"] = float(parts[1])
                out["total_calls"] = calls
            else:
                rows.append({"syscall": name, "pct_time": float(parts[0]), "seconds": float(parts[1]),
                             "calls": calls, "errors": errors})
    out["top"] = rows[:12]
    out["top_all"] = rows
    out["distinct_syscalls"] = len(rows)
    return out


def parse_perf(path):
    out = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,.]+|<not supported>)\s+(?:msec\s+)?([\w-]+)", line)
        if m and m.group(2) not in ("seconds",):
            out[m.group(2)] = m.group(1)
        m = re.match(r"^\s*([\d.]+) \+- ([\d.]+) seconds time elapsed", line)
        if m:
            out["elapsed_s"] = float(m.group(1))
    return out


# ------------------------------------------------------------------- report
def fmt_ms(s, digits=1):
    if not s:
        return "–"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def fmt_mib(s):
    if not s:
        return "–"
    return f"{s['median'] / 1024:.1f} ({s['min'] / 1024:.1f}–{s['max'] / 1024:.1f})"


def fmt_ratio(s):
    if not s:
        return "–"
    return f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def med(s):
    return s["median"] if s else None


def ref_runtime(res):
    """The anchor the targets compare with: the newest crun measured."""
    return "crun-sid" if "crun-sid" in res.get("meta", {}).get("runtimes", []) else "crun"


def targets(res):
    t = []
    ref = ref_runtime(res)
    lc = res.get("lifecycle_run", {})
    a, b = med((lc.get("hardened/ours") or {}).get("wall_ms")), med((lc.get(f"hostnet/{ref}") or {}).get("wall_ms"))
    if a and b:
        t.append({"target": f"hardened `run` of /bin/true no slower than {ref}'s unhardened (hostnet)",
                  "measured": f"{a:.1f} ms vs {b:.1f} ms (×{a / b:.2f})", "met": a <= b})
    ph = res.get("phases", {})
    for phase in ("create", "start", "delete"):
        a = med(((ph.get("hardened/ours") or {}).get(phase) or {}).get("wall_ms"))
        b = med(((ph.get(f"hostnet/{ref}") or {}).get(phase) or {}).get("wall_ms"))
        if a and b:
            t.append({"target": f"hardened `{phase}` no slower than {ref}'s unhardened",
                      "measured": f"{a:.1f} ms vs {b:.1f} ms (×{a / b:.2f})", "met": a <= b})
    sc = res.get("syscalls", {})
    a, b = (sc.get("hardened/ours") or {}).get("calls"), (sc.get(f"hostnet/{ref}") or {}).get("calls")
    if a and b:
        t.append({"target": f"syscalls of one hardened `run` ≤ {ref}'s unhardened (strace -f -c)",
                  "measured": f"{a} vs {b} (×{a / b:.2f})", "met": a <= b})
    a = med((lc.get("hostnet/ours") or {}).get("maxrss_kib"))
    b = med((lc.get(f"hostnet/{ref}") or {}).get("maxrss_kib"))
    if a and b:
        t.append({"target": f"peak RSS of `run` ≤ 0.6× {ref}'s",
                  "measured": f"{a / 1024:.1f} MiB vs {b / 1024:.1f} MiB (×{a / b:.2f})", "met": a <= 0.6 * b})
    ps = res.get("supervisors_pss", {})
    a, b = (ps.get("ours") or {}).get("supervisor_pss_kib"), (ps.get(ref) or {}).get("supervisor_pss_kib")
    if a and b:
        t.append({"target": f"steady-state PSS of {ps['supervisors']} foreground `run` supervisors ≤ {ref}'s",
                  "measured": f"{a / 1024:.1f} MiB vs {b / 1024:.1f} MiB (×{a / b:.2f})", "met": a <= b})
    sp = res.get("scale_parallel", {})
    n = sp.get("containers", 100)
    for k, label in (("all_started_ms", f"{n} containers started at once"), ("teardown_ms", f"{n} containers torn down")):
        a, b = med((sp.get("ours") or {}).get(k)), med((sp.get(ref) or {}).get(k))
        if a and b:
            t.append({"target": f"{label}: no slower than {ref}", "measured": f"{a:.0f} ms vs {b:.0f} ms (×{a / b:.2f})",
                      "met": a <= b})
    wl = res.get("workloads", {})
    for w in ("dd", "forkexec", "find"):
        rows = wl.get(w)
        if not rows:
            continue
        for ours, crun in (("hostnet/ours", "hostnet/crun"), ("seccomp/ours", "seccomp/crun"),
                           ("hardened/ours", "seccomp/crun")):
            a = med((rows.get(ours) or {}).get("cpu_ratio"))
            b = med((rows.get(crun) or {}).get("cpu_ratio"))
            if a and b:
                t.append({"target": f"{w}: CPU ratio of {ours} no worse than {crun}",
                          "measured": f"{a:.3f} vs {b:.3f}", "met": a <= b})
    mw = res.get("mediawiki", {})
    if "ratio" in mw:
        t.append({"target": "MediaWiki requests/s ≥ 0.99× plain chroot", "measured": f"×{mw['ratio']:.3f}",
                  "met": mw["ratio"] >= 0.99})
    else:
        t.append({"target": "MediaWiki requests/s ≥ 0.99× plain chroot", "measured": mw.get("status", "pending"),
                  "met": None})
    return t


def render_markdown(res):
    m = res["meta"]
    L = []
    L.append(f"Run {m['date']} on {m['host']} (kernel {m['kernel']}, {m['cpus']} CPUs, load average at start "
             f"{m['load_start']}, at end {m.get('load_end', '?')}); mode **{m['mode']}**; "
             f"{m['iterations']} interleaved iterations per case. ours = `{m['versions']['ours']}`, "
             + ", ".join(f"{rt} = `{v}`" for rt, v in m["versions"].items() if rt != "ours") + ". Hardened config: "
             f"{m['hardening_source']}. Cells: median (min–max).")
    if m["mode"] != "full":
        L.append("")
        L.append("**Smoke run (`--quick`): too few iterations to quote; rerun without `--quick` on a quiet machine.**")
    L.append("")
    L.append("### Targets (measured, not asserted)")
    L.append("")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    for t in res.get("targets", []):
        met = {True: "yes", False: "**no**"}.get(t["met"]) or (
            "pending" if str(t["measured"]).startswith("pending") else "not measured")
        L.append(f"| {t['target']} | {t['measured']} | {met} |")
    lc = res.get("lifecycle_run")
    if lc:
        L.append("")
        L.append("### `run` of /bin/true (busybox-static rootfs, host network, read-only bind of a host directory)")
        L.append("")
        L.append("hostnet = `runc spec` shape without seccomp; seccomp = the same plus "
                 "`seccomp-profiles/default.json` for all three; hardened = spec-gen's defaults (no capabilities, "
                 "no_new_privs, default seccomp profile, Landlock, read-only root, masked paths; runc and crun "
                 "ignore the Landlock annotations).")
        L.append("")
        L.append(f"| case | wall ms | CPU ms | peak RSS MiB (wait4) | wall / {ref_runtime(res)} hostnet |")
        L.append("|---|---|---|---|---|")
        ref = med((lc.get(f"hostnet/{ref_runtime(res)}") or {}).get("wall_ms"))
        for key, row in lc.items():
            w = med(row["wall_ms"])
            ratio = f"{w / ref:.2f}" if (w and ref) else "–"
            rss = fmt_mib(row["maxrss_kib"]) if "/" in key else "–"
            L.append(f"| {row['label']} | {fmt_ms(row['wall_ms'])} | {fmt_ms(row['cpu_ms'])} | {rss} | {ratio} |")
    vf = res.get("verify")
    if vf:
        L.append("")
        L.append("Seen from inside each case (checked before measuring): "
                 + "; ".join(f"{k}: CapEff {v.get('CapEff')}, NoNewPrivs {v.get('NoNewPrivs')}, "
                             f"seccomp filters {v.get('Seccomp_filters', '?')}" for k, v in vf.items()) + ".")
    ph = res.get("phases")
    if ph:
        L.append("")
        L.append("### create / start / delete, each timed on its own (wall ms)")
        L.append("")
        L.append("start→exit: from launching `start` until the container's init was reaped (includes the "
                 "benchmark's own spawn overhead, ~1 ms).")
        L.append("")
        L.append("| case | create | start | start→exit | delete | peak RSS MiB create / start / delete |")
        L.append("|---|---|---|---|---|---|")
        for key, d in ph.items():
            rss = " / ".join(f"{med(d[p]['maxrss_kib']) / 1024:.1f}" if med(d[p]["maxrss_kib"]) else "–"
                             for p in ("create", "start", "delete"))
            L.append(f"| {key} | {fmt_ms(d['create']['wall_ms'])} | {fmt_ms(d['start']['wall_ms'])} | "
                     f"{fmt_ms(d['start_to_exit']['wall_ms'])} | {fmt_ms(d['delete']['wall_ms'])} | {rss} |")
    sc = res.get("syscalls")
    if sc:
        L.append("")
        L.append("### System calls of one `run` of /bin/true (`strace -f -c`: the runtime and all it starts)")
        L.append("")
        L.append("| case | calls | distinct | most frequent |")
        L.append("|---|---|---|---|")
        for key, d in sc.items():
            L.append(f"| {key} | {d['calls']} | {d['distinct']} | "
                     + ", ".join(f"{n} {c}" for n, c in d["top_by_calls"][:6]) + " |")
    ps = res.get("supervisors_pss")
    if ps:
        n = ps["supervisors"]
        L.append("")
        L.append(f"### Memory of {n} foreground `run` supervisors (`/bin/sleep 600`, hardened bundle), steady state")
        L.append("")
        L.append("Summed over /proc/PID/smaps_rollup of each runtime's own processes (the `run` and any helper "
                 "it keeps), one second after the last container started; the containers' processes (the init "
                 "`--pid-file` names and its descendants) are summed apart.")
        L.append("")
        L.append("| runtime | PSS of all supervisors, MiB | per supervisor, KiB | private, MiB | RSS, MiB | "
                 "processes | containers' own PSS, MiB |")
        L.append("|---|---|---|---|---|---|---|")
        for rt in res["meta"]["runtimes"]:
            d = ps.get(rt)
            if not d:
                L.append(f"| {rt} | failed | | | | | |")
                continue
            L.append(f"| {rt} | {d['supervisor_pss_kib'] / 1024:.1f} | {d['supervisor_pss_kib'] / n:.0f} | "
                     f"{d['supervisor_private_kib'] / 1024:.1f} | {d['supervisor_rss_kib'] / 1024:.1f} | "
                     f"{d['supervisor_processes']} | {d['container_pss_kib'] / 1024:.1f} |")
    wl = res.get("workloads")
    if wl:
        p = wl["params"]
        L.append("")
        L.append("### Inside the container vs the host (same static binaries on both sides)")
        L.append("")
        L.append(f"dd = `busybox dd if=/dev/zero of=/dev/null bs=1 count={p['dd_count']}` "
                 f"({2 * p['dd_count']} read/write syscalls); forkexec = {p['forks']}× fork+exec+wait of busybox "
                 f"`true`; find = `busybox find` over `{p['tree']}` ({p['tree_entries']} entries), bind-mounted "
                 "read-only at /mnt/usr in the container. Times are those of the workload process tree "
                 "(wait4 of a bench-helper inside the container), not of the runtime. Ratio = container / host "
                 "median.")
        L.append("")
        L.append("| workload | case | CPU ms | CPU ratio | wall ms | wall ratio |")
        L.append("|---|---|---|---|---|---|")
        for w in ("dd", "forkexec", "find"):
            for key, row in wl.get(w, {}).items():
                L.append(f"| {w} | {key} | {fmt_ms(row['cpu_ms'])} | {fmt_ratio(row.get('cpu_ratio'))} | "
                         f"{fmt_ms(row['wall_ms'])} | {fmt_ratio(row.get('wall_ratio'))} |")
    mw = res.get("mediawiki")
    if mw is not None:
        L.append("")
        L.append("### MediaWiki requests per second vs plain chroot")
        L.append("")
        if "ratio" in mw:
            L.append(f"`ab -k -c {mw['concurrency']} -t {mw['seconds']}` on {mw['url_path']}, {mw['rounds']} rounds "
                     "alternating the two sides, each after a discarded warm-up. chroot = the same rootfs, bind and "
                     "tmpfs mounts and process, started with chroot(8) in a mount namespace of its own; ours = the "
                     "bundle spec-gen makes from bundles/mediawiki/service.toml (scripts/mediawiki.sh --prepare-only).")
            L.append("")
            L.append("| case | requests/s | ratio |")
            L.append("|---|---|---|")
            cr, orr = mw["chroot_rps_range"], mw["runtime_rps_range"]
            L.append(f"| chroot | {mw['chroot_rps']:.1f} ({cr[0]:.1f}–{cr[1]:.1f}) | 1.00 |")
            L.append(f"| ours (spec-gen bundle) | {mw['runtime_rps']:.1f} ({orr[0]:.1f}–{orr[1]:.1f}) | {mw['ratio']:.3f} |")
        else:
            L.append("| case | requests/s | ratio |")
            L.append("|---|---|---|")
            L.append(f"| ours vs chroot | {mw.get('status', 'pending: needs bundles/mediawiki')} | – |")
    sp = res.get("scale_parallel")
    if sp:
        L.append("")
        L.append(f"### {sp['containers']} containers started at once (`run -d`, then kill, reap and delete)")
        L.append("")
        L.append("| runtime | time to all started, ms | one `run -d`, ms | peak RSS of one `run -d`, MiB | "
                 "teardown of all, ms |")
        L.append("|---|---|---|---|---|")
        for rt in res["meta"]["runtimes"]:
            d = sp.get(rt, {})
            L.append(f"| {rt} | {fmt_ms(d.get('all_started_ms'), 0)} | {fmt_ms(d.get('per_run_d_wall_ms'))} | "
                     f"{fmt_mib(d.get('run_d_maxrss_kib'))} | {fmt_ms(d.get('teardown_ms'), 0)} |")
    ss = res.get("scale_sequential")
    if ss:
        L.append("")
        L.append("### Sequential lifecycles: time per `run` as N grows (flat = no leak)")
        L.append("")
        rts = res["meta"]["runtimes"]
        L.append("| lifecycles | " + " | ".join(f"{rt} ms" for rt in rts) + " |")
        L.append("|---|" + "---|" * len(rts))
        for row in ss["windows"]:
            L.append(f"| {row['range']} | " + " | ".join(fmt_ms(row[rt]) for rt in rts) + " |")
        L.append("")
        L.append("| runtime | first 10 % median ms | last 10 % median ms | last / first | slope µs per lifecycle |")
        L.append("|---|---|---|---|---|")
        for rt in rts:
            d = ss[rt]
            L.append(f"| {rt} | {d['first_10pct_median_ms']:.1f} | {d['last_10pct_median_ms']:.1f} | "
                     f"{d['growth']:.2f} | {d['slope_us_per_lifecycle']:.1f} |")
        fp = ss.get("footprint", [])
        if fp:
            L.append("")
            L.append(f"Footprint after each window (state entries {'/'.join(rts)}, container cgroups, mounts in "
                     "the benchmark's namespace, the benchmark's open fds): " + "; ".join(
                         f"N={f['after']}: {'/'.join(str(f['state_entries'].get(rt, '?')) for rt in rts)}, "
                         f"{f['cgroup_dirs']}, {f['mounts_in_bench_ns']}, "
                         f"{f['bench_fds']}" for f in fp) + ".")
    L.append("")
    if res.get("failures"):
        L.append(f"Failures during the run ({len(res['failures'])}): see `failures` in the JSON.")
    else:
        L.append("No failures during the run. Residue check after the run: "
                 + ("clean." if not res.get("residue") else f"**{len(res['residue'])} items**, see the JSON."))
    return "\n".join(L) + "\n"


def render_profile_md(idx, args):
    L = []
    L.append(f"Raw data from `bash bench/profile.sh` ({datetime.datetime.now().astimezone().isoformat(timespec='seconds')}, "
             f"kernel {platform.release()}, load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}); "
             f"files in `{Path(args.profile).relative_to(REPO) if str(args.profile).startswith(str(REPO)) else args.profile}/`. "
             f"perf events: `{idx['perf_events']}`. strace times are inflated by tracing; use them for counts and "
             "proportions, not absolute cost.")
    L.append("")
    L.append("| case | syscalls (strace -c -f) | failed | distinct | strace seconds | perf: "
             + " | ".join(idx["perf_events"].split(",")) + " | elapsed s |")
    L.append("|---|---|---|---|---|" + "---|" * len(idx["perf_events"].split(",")) + "---|")
    for case, d in idx["summary"].items():
        errs = sum(r["errors"] for r in d.get("top_all", d["top"]))
        perf = d.get("perf", {})
        cells = [perf.get(e, "–") for e in idx["perf_events"].split(",")]
        L.append(f"| {case} | {d['total_calls']} | {errs} | {d.get('distinct_syscalls', '–')} | "
                 f"{d['total_seconds']} | " + " | ".join(cells) + f" | {perf.get('elapsed_s', '–')} |")
    L.append("")
    L.append("Top syscalls by traced time (calls, errors):")
    L.append("")
    for case, d in idx["summary"].items():
        L.append(f"- {case}: " + ", ".join(f"{r['syscall']} {r['calls']}" + (f" ({r['errors']} err)" if r['errors'] else "")
                                            for r in d["top"][:10]))
    return "\n".join(L) + "\n"


def write_doc_section(doc, begin, end, body):
    doc = Path(doc)
    text = doc.read_text() if doc.exists() else ""
    if begin in text and end in text:
        pre = text.split(begin)[0]
        post = text.split(end, 1)[1]
        text = pre + begin + "\n" + body + end + post
    else:
        text = text.rstrip("\n") + "\n\n" + begin + "\n" + body + end + "\n"
    doc.write_text(text)


# --------------------------------------------------------------------- main
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke mode: few iterations, small workloads")
    ap.add_argument("--helper", default=str(BENCH / "bench-helper"))
    ap.add_argument("--runtime", default=str(REPO / "target" / "release" / "runtime"))
    ap.add_argument("--spec-gen", default=None, help="spec-gen binary; by-hand hardening when absent")
    ap.add_argument("--crun-sid", default=None, help="a newer crun to compare with too (bench/sid.sh: Debian sid's)")
    ap.add_argument("--runc-sid", default=None, help="a newer runc to compare with too (bench/sid.sh: Debian sid's)")
    ap.add_argument("--seccomp-profile", default=str(DEFAULT_PROFILE))
    ap.add_argument("--tree-source", default=None, help="host tree bind-mounted for `find` (default /usr)")
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--workload-iterations", type=int, default=None)
    ap.add_argument("--dd-count", type=int, default=None)
    ap.add_argument("--forks", type=int, default=None)
    ap.add_argument("--parallel", type=int, default=None)
    ap.add_argument("--parallel-rounds", type=int, default=None)
    ap.add_argument("--pss-count", type=int, default=None, help="foreground `run` supervisors for the PSS figure (100)")
    ap.add_argument("--seq-windows", default=None, help="comma list, e.g. 50,100,200,400")
    ap.add_argument("--hardened-all", action="store_true",
                    help="also run the workloads under runc/crun with the hardened config")
    ap.add_argument("--only", default="all",
                    help="comma list of: lifecycle,phases,syscalls,pss,workloads,mediawiki,parallel,sequential (default all)")
    ap.add_argument("--profile", default=None, metavar="DIR",
                    help="instead of benchmarking, write strace/perf raw data into DIR")
    ap.add_argument("--out", default=None, help="JSON output (default bench/results.json; quick: bench/results-quick.json)")
    ap.add_argument("--doc", default=None, help="markdown file whose results section is rewritten "
                    "(default docs/benchmarks.md in full mode; none with --quick)")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--workload-timeout", type=float, default=600.0)
    ap.add_argument("--keep-work", action="store_true")
    a = ap.parse_args(argv)
    q = a.quick
    dflt = lambda v, full, quick: v if v is not None else (quick if q else full)  # noqa: E731
    a.iterations = dflt(a.iterations, 30, 3)
    a.warmup = dflt(a.warmup, 3, 1)
    a.workload_iterations = dflt(a.workload_iterations, 5, 1)
    a.dd_count = dflt(a.dd_count, 2_000_000, 100_000)
    a.forks = dflt(a.forks, 2000, 200)
    a.parallel = dflt(a.parallel, 100, 10)
    a.parallel_rounds = dflt(a.parallel_rounds, 3, 1)
    a.pss_count = dflt(a.pss_count, 100, 10)
    a.tree_source = dflt(a.tree_source, "/usr", "/usr/include")
    a.seq_windows = [int(x) for x in dflt(a.seq_windows, "50,100,200,400", "10,20,40").split(",")]
    a.out = dflt(a.out, str(BENCH / "results.json"), str(BENCH / "results-quick.json"))
    a.doc = dflt(a.doc, str(REPO / "docs" / "benchmarks.md"), None)
    a.only = set(a.only.split(",")) if a.only != "all" else {"lifecycle", "phases", "syscalls", "pss", "workloads",
                                                              "mediawiki", "parallel", "sequential"}
    return a


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv):
    args = parse_args(argv)
    b = Bench(args)
    set_subreaper()
    # Interrupted or told to stop: still delete every container and check.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _terminate)
    rc = 0
    try:
        b.check_namespace()
        for d in (b.bundles, b.logs):
            d.mkdir(parents=True)
        b.build_rootfs()
        b.make_base_configs()
        if args.profile:
            idx = b.profile(args.profile)
            md = render_profile_md(idx, args)
            if args.doc:
                write_doc_section(args.doc, "<!-- bench:profile:begin -->", "<!-- bench:profile:end -->", md)
                log(f"rewrote the profile section of {args.doc}")
            else:
                print(md)
            raise _Done()
        res = b.results
        res["meta"] = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
            "load_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            "mode": "quick" if args.quick else "full", "iterations": args.iterations,
            "versions": {rt: R.version() for rt, R in b.runtimes.items()},
            "git": subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
                                  stderr=DEVNULL, text=True).stdout.strip(),
            "hardening_source": b.hardening_source,
            "seccomp_profile": str(Path(args.seccomp_profile).relative_to(REPO)) if str(args.seccomp_profile).startswith(str(REPO)) else args.seccomp_profile,
            "cgroup2_hidden": b.unified_replaced,
            "runtimes": list(b.rt_order),
        }
        b.verify()
        sections = [("lifecycle", b.lifecycle_run), ("phases", b.phases), ("syscalls", b.syscalls), ("pss", b.supervisors_pss),
                    ("workloads", b.workloads),
                    ("mediawiki", b.mediawiki), ("parallel", b.scale_parallel), ("sequential", b.scale_sequential)]
        for name, fn in sections:
            if name in args.only:
                t = time.monotonic()
                fn()
                log(f"{name}: {time.monotonic() - t:.0f} s")
        res["meta"]["load_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        res["failures"] = b.failures
        res["targets"] = targets(res)
    except _Done:
        pass
    except BenchError as e:
        log(f"ERROR: {e}")
        b.results.setdefault("failures", b.failures).append(str(e))
        rc = 1
    finally:
        residue = b.cleanup_and_check()
        if residue:
            log("RESIDUE LEFT BEHIND:\n  " + "\n  ".join(residue))
            rc = 2
        if not args.keep_work:
            b.remove_work()
    if args.profile:
        if b.failures:
            log("FAILURES:\n  " + "\n  ".join(b.failures))
        return rc or (3 if b.failures else 0)
    res = b.results
    Path(args.out).write_text(json.dumps(res, indent=1, default=str) + "\n")
    log(f"wrote {args.out}")
    if "meta" in res and "targets" in res:
        md = render_markdown(res)
        if args.doc:
            write_doc_section(args.doc, "<!-- bench:results:begin -->", "<!-- bench:results:end -->", md)
            log(f"rewrote the results section of {args.doc}")
        else:
            print(md)
    if b.failures and rc == 0:
        rc = 3
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
