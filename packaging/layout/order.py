#!/usr/bin/env python3
"""The runtime's link order (packaging/layout/README.md).

  order.py profile BINARY TRACE_DIR HOT   traces of layout-trace -> HOT (hot.txt)
  order.py symbols HOT BINARY OUT         HOT -> lld's --symbol-ordering-file for BINARY
  order.py check ORDER UNORDERED ORDERED  the relink kept the code and used the order

hot.txt holds the functions a lifecycle runs, hottest first, as names that survive a
rebuild: a Rust legacy symbol's hash (17h<16 hex>E), a v0 symbol's crate disambiguator
(Cs<base62>_) and the numeric suffixes LLVM and GCC give to local clones (.123,
.llvm.123) are dropped. Each line is NAME, SIZE (bytes, in the profiled build) and the
profile's commands that ran it. A name can stand for several functions (generic
instantiations differ only in their hash): `symbols` then takes the ones whose size is
nearest (all of them if several have that size: small functions, mostly), so a large
unrelated instantiation is not pulled into the hot text.
"""
import collections
import os
import re
import subprocess
import sys

# The commands whose peak RSS the benchmark measures weigh more: a function they share
# with others comes before one only the others run.
WEIGHT = {"version": 4, "run": 4, "create": 4, "start": 4, "delete": 4}
NORMALIZE = [
    (re.compile(r"17h[0-9a-f]{16}E"), "E"),
    (re.compile(r"Cs[0-9A-Za-z]+_(?=[0-9])"), "C_"),
    (re.compile(r"(\.llvm\.[0-9]+|\.[0-9]+)+$"), ""),
]


def normalize(name):
    for pattern, repl in NORMALIZE:
        name = pattern.sub(repl, name)
    return name


def functions(binary):
    """Address -> (size, [names]) of every defined function of BINARY (FUNC, IFUNC)."""
    out = subprocess.run(["readelf", "-sW", binary], check=True, capture_output=True, text=True).stdout
    funcs = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8 or f[6] == "UND" or not (f[3] in ("FUNC", "IFUNC") or f[3].startswith("<OS")):
            continue
        addr = int(f[1], 16)
        if addr == 0:
            continue
        size = int(f[2], 16) if f[2].startswith("0x") else int(f[2])
        old = funcs.get(addr)
        if old:
            funcs[addr] = (max(old[0], size), old[1] + [f[7]])
        else:
            funcs[addr] = (size, [f[7]])
    return funcs


def profile(binary, trace_dir, hot_path):
    funcs = functions(binary)
    by_name = collections.Counter(normalize(n) for _, names in funcs.values() for n in set(names))
    first, tags = {}, collections.defaultdict(set)
    for tag in sorted(os.listdir(trace_dir)):
        if tag.endswith(".lock"):
            continue
        with open(os.path.join(trace_dir, tag)) as f:
            for line in f:
                ns, _pid, addr = line.split()
                addr, ns = int(addr, 16), int(ns)
                if addr not in funcs:
                    continue
                tags[addr].add(tag)
                if ns < first.get(addr, ns + 1):
                    first[addr] = ns
    if not first:
        sys.exit("order.py: the traces hold no function of " + binary)
    order = sorted(first, key=lambda a: (-sum(WEIGHT.get(t, 1) for t in tags[a]), first[a]))
    all_tags = sorted({t for s in tags.values() for t in s})
    total = sum(funcs[a][0] for a in order)
    with open(hot_path + ".tmp", "w") as out:
        out.write("# The runtime's hot functions, hottest first: written by packaging/layout/profile.sh\n")
        out.write("# (see packaging/layout/README.md); NAME SIZE COMMANDS, names without hashes.\n")
        out.write(f"# {len(order)} functions, {total} bytes; commands: {' '.join(all_tags)}\n")
        for a in order:
            size, names = funcs[a]
            # An alias whose normal form names this function alone, if it has one.
            name = min((normalize(n) for n in names), key=lambda n: (by_name[n] > 1, n.startswith("_"), n))
            out.write(f"{name}\t{size}\t{','.join(sorted(tags[a]))}\n")
    os.replace(hot_path + ".tmp", hot_path)
    print(f"order.py: {len(order)} hot functions ({total} bytes) -> {hot_path}", file=sys.stderr)


def symbols(hot_path, binary, out_path):
    funcs = functions(binary)
    candidates = collections.defaultdict(list)  # normal name -> [(size, exact name)]
    for addr, (size, names) in funcs.items():
        for n in set(names):
            candidates[normalize(n)].append((size, n, addr))
    taken, lines, missing, wanted, bytes_ordered = set(), [], 0, 0, 0
    with open(hot_path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, size = line.split("\t")[:2]
            size = int(size)
            wanted += 1
            if name not in candidates:
                missing += 1
                continue
            free = [c for c in candidates[name] if c[2] not in taken]
            if not free:
                continue  # came with an earlier line of the same name and size
            # Instantiations of the same size cannot be told apart: all of them come.
            diff = min(abs(c[0] - size) for c in free)
            for c in sorted(free, key=lambda c: c[2]):
                if abs(c[0] - size) == diff:
                    taken.add(c[2])
                    lines.append(c[1])
                    bytes_ordered += c[0]
    if not lines:
        sys.exit(f"order.py: no name of {hot_path} is a function of {binary}")
    with open(out_path, "w") as out:
        out.write("\n".join(lines) + "\n")
    print(f"order.py: {wanted - missing} of {wanted} hot functions found in {binary} "
          f"({len(lines)} symbols, {bytes_ordered} bytes ordered first; {missing} not in this build)", file=sys.stderr)


def text_start(binary):
    out = subprocess.run(["readelf", "-SW", binary], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.replace("[ ", "[").split()
        if len(f) > 4 and f[1] == ".text":
            return int(f[3], 16), int(f[5], 16)
    sys.exit(f"order.py: {binary} has no .text")


def check(order_path, unordered, ordered):
    """The same functions, of the same sizes (the relink redid no codegen differently: fat
    LTO still made one module), and the ordered ones at the start of .text."""
    before, after = functions(unordered), functions(ordered)
    sig = lambda funcs: sorted((size, n) for size, names in funcs.values() for n in names)
    if sig(before) != sig(after):
        sys.exit("order.py: the ordered binary's functions differ from the unordered one's")
    where = {n: (a, size) for a, (size, names) in after.items() for n in names}
    names = [n.strip() for n in open(order_path) if n.strip()]
    start, _ = text_start(ordered)
    span = sum(where[n][1] for n in names if n in where)
    # Alignment padding and the glibc functions that share an object file with an ordered
    # one come along: allow 25% more.
    inside = sum(1 for n in names if n in where and where[n][0] < start + span * 5 // 4)
    if inside < len(names) * 95 // 100:
        sys.exit(f"order.py: only {inside} of {len(names)} ordered functions are in the first "
                 f"{span * 5 // 4} bytes of .text: the linker did not use the order")
    print(f"order.py: {inside} of {len(names)} ordered functions in the first {span * 5 // 4 // 1024} KiB "
          f"of .text; {len(after)} functions, as before", file=sys.stderr)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "profile":
        profile(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "symbols":
        symbols(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
