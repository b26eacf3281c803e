#!/usr/bin/env python3
"""A minimal CRI v1 client: drives one pod through a CRI server the way the kubelet does and
checks every step, so a runtime handler can be tested without Kubernetes.

    cri_client.py --socket SOCK --handler NAME --image IMG --cgroup-parent /PREFIX \
        --runtime-root DIR [--log-dir DIR] [--work DIR]

Steps (each checked; the first failure ends the run with exit 1 and the step's name):
  version, image status; RunPodSandbox on the host network with runtime handler NAME; a
  container created (CREATED), started (RUNNING) and seen by the handler's runtime (its state
  directory DIR/<id>); ExecSync: output, stderr and exit status, the host's network namespace;
  the container's memory and CPU limits in its cgroup, then UpdateContainerResources and the
  new limits in the cgroup; StopContainer (EXITED, status of the TERM trap), RemoveContainer
  (gone from the server and from the runtime); a second container that exits by itself, then
  is stopped and removed (the runtime's `kill --all` of a stopped container); one past its
  memory limit (/probe alloc, from the test image), EXITED with reason OOMKilled; StopPodSandbox
  (NOTREADY) and RemovePodSandbox (gone).

Prints one line per step; "cri-client: all steps passed" at the end.
"""

import argparse
import json
import os
import sys
import tempfile
import time

MIB = 1024 * 1024


class StepFailed(Exception):
    pass


def compile_proto(work):
    """Generates the Python modules for cri_v1_subset.proto into `work` and imports them."""
    from grpc_tools import protoc
    here = os.path.dirname(os.path.abspath(__file__))
    rc = protoc.main(["protoc", f"-I{here}", f"--python_out={work}", f"--grpc_python_out={work}",
                      os.path.join(here, "cri_v1_subset.proto")])
    if rc != 0:
        raise SystemExit(f"cri-client: protoc failed on cri_v1_subset.proto (exit {rc})")
    sys.path.insert(0, work)
    import cri_v1_subset_pb2 as pb
    import cri_v1_subset_pb2_grpc as pbg
    return pb, pbg


def cgroup_file(parent, cid, v1_controller, v1_name, v2_name):
    """The container's cgroup file: cgroup v1 (per-controller hierarchy) or cgroup2
    (unified, at /sys/fs/cgroup or /sys/fs/cgroup/unified on hybrid hosts)."""
    rel = os.path.join(parent.strip("/"), cid)
    v1 = os.path.join("/sys/fs/cgroup", v1_controller, rel, v1_name)
    if os.path.exists(v1):
        return v1
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        p = os.path.join(root, rel, v2_name)
        if os.path.exists(p):
            return p
    raise StepFailed(f"no cgroup file {v1_name} or {v2_name} for {rel} in any hierarchy")


def read_int(path):
    text = open(path).read().split()
    if not text:
        raise StepFailed(f"{path} is empty")
    return -1 if text[0] == "max" else int(text[0])


def memory_limit(parent, cid):
    return read_int(cgroup_file(parent, cid, "memory", "memory.limit_in_bytes", "memory.max"))


def cpu_quota(parent, cid):
    path = cgroup_file(parent, cid, "cpu", "cpu.cfs_quota_us", "cpu.max")
    return read_int(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--handler", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--cgroup-parent", required=True)
    ap.add_argument("--runtime-root", required=True,
                    help="the handler's runtime state directory (its Root option plus /k8s.io)")
    ap.add_argument("--log-dir")
    ap.add_argument("--work")
    ap.add_argument("--name", default="cri-test")
    ap.add_argument("--share-pid", action="store_true",
                    help="one pid namespace for the pod (the sandbox's; shareProcessNamespace)")
    args = ap.parse_args()

    work = args.work or tempfile.mkdtemp(prefix="cri-client-")
    os.makedirs(work, exist_ok=True)
    pb, pbg = compile_proto(work)
    import grpc

    channel = grpc.insecure_channel("unix://" + os.path.abspath(args.socket))
    rt = pbg.RuntimeServiceStub(channel)
    img = pbg.ImageServiceStub(channel)
    T = 60  # seconds for any one call

    step_name = ["start"]

    def step(name):
        step_name[0] = name
        print(f"cri-client [{args.handler}]: {name}", flush=True)

    def check(cond, what):
        if not cond:
            raise StepFailed(what)

    def in_runtime(cid):
        return os.path.isdir(os.path.join(args.runtime_root, cid))

    def not_found(call, req):
        try:
            call(req, timeout=T)
        except grpc.RpcError as e:
            return e.code() == grpc.StatusCode.NOT_FOUND
        return False

    def wait_state(cid, state, limit=30):
        end = time.time() + limit
        while True:
            st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=T).status
            if st.state == state:
                return st
            if time.time() > end:
                raise StepFailed(f"container {cid} is {pb.ContainerState.Name(st.state)}, "
                                 f"not {pb.ContainerState.Name(state)} after {limit}s")
            time.sleep(0.1)

    started = time.monotonic()
    log_dir = args.log_dir or os.path.join(work, "logs")
    os.makedirs(log_dir, exist_ok=True)
    pod_id = None
    try:
        step("Version")
        v = rt.Version(pb.VersionRequest(version="v1"), timeout=T)
        check(v.runtime_api_version.startswith("v1"), f"runtime API {v.runtime_api_version!r}, not v1")
        print(f"  {v.runtime_name} {v.runtime_version}, API {v.runtime_api_version}")

        step("ImageStatus")
        im = img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=args.image)), timeout=T).image
        check(im.id, f"image {args.image} is not known to the server (import it first)")

        step("RunPodSandbox (host network)")
        host_ns = pb.NamespaceOption(network=pb.NODE, pid=pb.POD if args.share_pid else pb.CONTAINER, ipc=pb.POD)
        pod_cfg = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=args.name, uid=f"uid-{args.name}", namespace="default", attempt=0),
            log_directory=log_dir,
            labels={"test": args.name},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=args.cgroup_parent,
                security_context=pb.LinuxSandboxSecurityContext(namespace_options=host_ns)),
        )
        pod_id = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_cfg, runtime_handler=args.handler),
                                  timeout=T).pod_sandbox_id
        print(f"  pod sandbox id: {pod_id}", flush=True)
        ps = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id), timeout=T).status
        check(ps.state == pb.SANDBOX_READY, f"pod {pod_id} is {pb.PodSandboxState.Name(ps.state)}")
        check(ps.runtime_handler == args.handler, f"pod runs with handler {ps.runtime_handler!r}")
        check(in_runtime(pod_id), f"the sandbox {pod_id} is not in {args.runtime_root}: another runtime ran it")

        def container(name, command, limit_mib):
            res = pb.LinuxContainerResources(memory_limit_in_bytes=limit_mib * MIB, cpu_period=100000,
                                             cpu_quota=200000, cpu_shares=512)
            cfg = pb.ContainerConfig(
                metadata=pb.ContainerMetadata(name=name),
                image=pb.ImageSpec(image=args.image),
                command=command,
                log_path=f"{name}.log",
                linux=pb.LinuxContainerConfig(
                    resources=res,
                    security_context=pb.LinuxContainerSecurityContext(namespace_options=host_ns)),
            )
            return rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=cfg,
                                                                sandbox_config=pod_cfg), timeout=T).container_id

        step("CreateContainer")
        cid = container("main", ["/bin/sh", "-c", "trap 'exit 0' TERM; echo started; sleep 100000 & wait"], 64)
        wait_state(cid, pb.CONTAINER_CREATED)

        step("StartContainer")
        rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=T)
        st = wait_state(cid, pb.CONTAINER_RUNNING)
        check(st.started_at > 0, "RUNNING without a start time")
        # containerd makes the runtime's container at start (CreateContainer is metadata only).
        check(in_runtime(cid), f"container {cid} is not in {args.runtime_root}: another runtime ran it")

        step("ExecSync")
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
                                           timeout=30), timeout=T)
        check((r.stdout, r.stderr, r.exit_code) == (b"out\n", b"err\n", 3),
              f"ExecSync gave stdout {r.stdout!r} stderr {r.stderr!r} exit {r.exit_code}")
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["readlink", "/proc/self/ns/net"], timeout=30), timeout=T)
        host_net = os.readlink("/proc/self/ns/net")
        check(r.exit_code == 0 and r.stdout.decode().strip() == host_net,
              f"container network namespace {r.stdout!r} (exit {r.exit_code}) is not the host's {host_net}")
        # The pid namespace: the container's own (its shell is pid 1) or the pod's (the
        # sandbox's pause process is pid 1 and the container sees it).
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["cat", "/proc/1/cmdline"], timeout=30), timeout=T)
        pid1 = r.stdout.replace(b"\0", b" ").decode()
        want = "2147483647" if args.share_pid else "echo started"
        check(r.exit_code == 0 and want in pid1, f"pid 1 in the container is {pid1!r}, expected it to contain {want!r}")

        step("limits in the cgroup")
        check(memory_limit(args.cgroup_parent, cid) == 64 * MIB,
              f"memory limit {memory_limit(args.cgroup_parent, cid)}, expected {64 * MIB}")
        check(cpu_quota(args.cgroup_parent, cid) == 200000, f"cpu quota {cpu_quota(args.cgroup_parent, cid)}, expected 200000")

        step("UpdateContainerResources")
        rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
            container_id=cid,
            linux=pb.LinuxContainerResources(memory_limit_in_bytes=96 * MIB, cpu_period=100000, cpu_quota=50000,
                                             cpu_shares=256)), timeout=T)
        check(memory_limit(args.cgroup_parent, cid) == 96 * MIB,
              f"memory limit after update {memory_limit(args.cgroup_parent, cid)}, expected {96 * MIB}")
        check(cpu_quota(args.cgroup_parent, cid) == 50000, f"cpu quota after update {cpu_quota(args.cgroup_parent, cid)}")
        st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=T).status
        if st.HasField("resources"):
            check(st.resources.linux.memory_limit_in_bytes == 96 * MIB,
                  f"ContainerStatus reports memory {st.resources.linux.memory_limit_in_bytes} after the update")
        # The container still works after the update.
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["true"], timeout=30), timeout=T)
        check(r.exit_code == 0, f"ExecSync true after the update: exit {r.exit_code}")

        step("StopContainer")
        rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=10), timeout=T)
        st = wait_state(cid, pb.CONTAINER_EXITED)
        check(st.exit_code == 0 and st.finished_at > 0,
              f"stopped container: exit {st.exit_code} ({st.reason} {st.message}), finished_at {st.finished_at}")
        log = open(os.path.join(log_dir, "main.log")).read()
        check("started" in log, f"container log has no 'started': {log!r}")

        step("RemoveContainer")
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=T)
        check(not_found(rt.ContainerStatus, pb.ContainerStatusRequest(container_id=cid)), f"{cid} still known after removal")
        check(not in_runtime(cid), f"{cid} still in {args.runtime_root} after removal")

        step("a container that exits by itself: stop and remove")
        cid2 = container("short", ["/bin/sh", "-c", "exit 4"], 32)
        rt.StartContainer(pb.StartContainerRequest(container_id=cid2), timeout=T)
        st = wait_state(cid2, pb.CONTAINER_EXITED)
        check(st.exit_code == 4, f"short container exit {st.exit_code}, expected 4")
        rt.StopContainer(pb.StopContainerRequest(container_id=cid2, timeout=5), timeout=T)
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid2), timeout=T)
        check(not in_runtime(cid2), f"{cid2} still in {args.runtime_root} after removal")
        step("a container over its memory limit: OOMKilled")
        # The shim arms its OOM watch after start returns: allocate only once it is armed.
        cid3 = container("oom", ["/probe", "after", "0.5", "alloc", "64", "5"], 16)
        rt.StartContainer(pb.StartContainerRequest(container_id=cid3), timeout=T)
        st = wait_state(cid3, pb.CONTAINER_EXITED)
        check(st.reason == "OOMKilled" and st.exit_code == 137,
              f"a container past its 16 MiB limit ended with exit {st.exit_code}, reason {st.reason!r}: "
              "the OOM kill was not seen (the shim watches the container's memory cgroup)")
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid3), timeout=T)
        check(not in_runtime(cid3), f"{cid3} still in {args.runtime_root} after removal")

        left = rt.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=pod_id)), timeout=T)
        check(len(left.containers) == 0, f"containers left in the pod: {[c.id for c in left.containers]}")

        step("StopPodSandbox")
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=T)
        ps = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id), timeout=T).status
        check(ps.state == pb.SANDBOX_NOTREADY, f"stopped pod is {pb.PodSandboxState.Name(ps.state)}")
        # Stopping twice is allowed (the kubelet does).
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=T)

        step("RemovePodSandbox")
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=T)
        check(not_found(rt.PodSandboxStatus, pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id)),
              f"pod {pod_id} still known after removal")
        check(not in_runtime(pod_id), f"sandbox {pod_id} still in {args.runtime_root} after removal")
        pod_id = None
    except (StepFailed, grpc.RpcError) as e:
        detail = f"{e.code().name}: {e.details()}" if isinstance(e, grpc.RpcError) else str(e)
        print(f"cri-client [{args.handler}]: FAILED at {step_name[0]}: {detail}", flush=True)
        if pod_id:
            # Leave nothing behind for the caller's residue checks to trip over.
            for call, req in ((rt.StopPodSandbox, pb.StopPodSandboxRequest(pod_sandbox_id=pod_id)),
                              (rt.RemovePodSandbox, pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))):
                try:
                    call(req, timeout=T)
                except grpc.RpcError as e2:
                    print(f"cri-client [{args.handler}]: cleanup: {e2.code().name}: {e2.details()}", flush=True)
        return 1
    print(f"cri-client [{args.handler}]: all steps passed in {time.monotonic() - started:.2f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
