//! The few classic-BPF pieces we emit ourselves (the architecture / x32 / ENOSYS prefix
//! and the guard filter), and a small interpreter for seccomp programs that `compile`
//! uses to check install order and the tests use to check semantics.

use libc::sock_filter;

// Opcodes (linux/bpf_common.h). Only what seccomp programs built here use.
pub(crate) const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
pub(crate) const ALU_AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
pub(crate) const JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
pub(crate) const JMP_JEQ_K: u16 = 0x05 | 0x10;
pub(crate) const JMP_JGT_K: u16 = 0x05 | 0x20;
pub(crate) const JMP_JGE_K: u16 = 0x05 | 0x30;
pub(crate) const JMP_JSET_K: u16 = 0x05 | 0x40;
pub(crate) const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Offsets into `struct seccomp_data { int nr; __u32 arch; __u64 ip; __u64 args[6]; }`.
pub(crate) const OFF_NR: u32 = 0;
pub(crate) const OFF_ARCH: u32 = 4;

/// The kernel's limit per filter (`BPF_MAXINSNS`).
pub(crate) const MAX_INSNS_PER_FILTER: usize = 4096;
/// The kernel's limit for all filters attached to a task (`MAX_INSNS_PER_PATH`), where
/// every filter counts its length plus 4.
pub(crate) const MAX_INSNS_PER_PATH: usize = 32768;
pub(crate) const PATH_OVERHEAD_PER_FILTER: usize = 4;

pub(crate) const fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter { code, jt: 0, jf: 0, k }
}

pub(crate) const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

pub(crate) const fn ret_errno(errno: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA)
}

/// What the prefix of a filter decides before its body runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prefix {
    pub(crate) audit_arch: u32,
    /// Answer x32 syscalls (bit 30 set in the number) with `ENOSYS`.
    pub(crate) x32_enosys: bool,
    /// Answer syscall numbers greater than this with `ENOSYS`.
    pub(crate) enosys_above: Option<u32>,
}

/// Emits: foreign architecture → `KILL_PROCESS`; x32 → `ENOSYS`; number above the
/// profile's newest syscall → `ENOSYS`; otherwise fall through to whatever follows.
/// The accumulator holds the syscall number afterwards (not that the body relies on it).
pub(crate) fn prefix(p: Prefix) -> Vec<sock_filter> {
    let mut v = vec![stmt(LD_W_ABS, OFF_ARCH), jump(JMP_JEQ_K, p.audit_arch, 1, 0), stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS)];
    if !p.x32_enosys && p.enosys_above.is_none() {
        return v;
    }
    v.push(stmt(LD_W_ABS, OFF_NR));
    match (p.x32_enosys, p.enosys_above) {
        (true, Some(max)) => {
            // jset x32 → ret ENOSYS (skip 1); jgt max → ret ENOSYS, else skip it.
            v.push(jump(JMP_JSET_K, super::syscalls::X32_SYSCALL_BIT, 1, 0));
            v.push(jump(JMP_JGT_K, max, 0, 1));
        }
        (true, None) => v.push(jump(JMP_JSET_K, super::syscalls::X32_SYSCALL_BIT, 0, 1)),
        (false, Some(max)) => v.push(jump(JMP_JGT_K, max, 0, 1)),
        (false, None) => unreachable!(),
    }
    v.push(stmt(RET_K, ret_errno(libc::ENOSYS)));
    v
}

/// The guard filter used when no base filter exists (default action `ALLOW`): the
/// prefix followed by `ALLOW`.
pub(crate) fn guard(p: Prefix) -> Vec<sock_filter> {
    let mut v = prefix(p);
    v.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
    v
}

/// Emits a binary search on the syscall number (in the accumulator) over `set` (sorted,
/// unique): a number in it returns `on_match`; any other falls through to the instruction
/// right after the emitted code.
///
/// Why not seccompiler's chain for these: a chain compares the number with every listed
/// syscall in turn, so the kernel's work grows with the profile, per call and at install
/// (it JIT-compiles every instruction, and to fill its cache of always-allowed syscalls it
/// runs the filter once for each of ~450 numbers: with a 1,800-instruction chain that was
/// most of a 0.6 ms `seccomp(2)`). The number line is cut into intervals that are wholly in
/// or wholly out of the set (runs of neighbouring syscalls share one), and searched: a
/// call takes ~2·log2(intervals) instructions, the program ~3 per interval.
pub(crate) fn dispatch(set: &[u32], on_match: u32) -> Vec<sock_filter> {
    if set.is_empty() {
        return Vec::new();
    }
    // Runs of consecutive numbers, inclusive.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in set {
        match runs.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(n) => *hi = n,
            _ => runs.push((n, n)),
        }
    }
    // Interval starts and whether the interval is in the set: the first starts at 0, the
    // last runs to u32::MAX.
    let mut cuts: Vec<(u32, bool)> = Vec::new();
    let mut next = Some(0u32);
    for (lo, hi) in runs {
        if let Some(n) = next.filter(|n| lo > *n) {
            cuts.push((n, false));
        }
        cuts.push((lo, true));
        next = hi.checked_add(1);
    }
    if let Some(n) = next {
        cuts.push((n, false));
    }
    let mut v = Vec::new();
    // Positions of the jumps to the end (out of the set), patched once the end is known.
    let mut to_end = Vec::new();
    emit(&cuts, on_match, &mut v, &mut to_end);
    let end = v.len();
    for at in to_end {
        v[at].k = (end - at - 1) as u32;
    }
    v
}

/// One node of [`dispatch`]'s search: the accumulator lies in `cuts`' range.
fn emit(cuts: &[(u32, bool)], on_match: u32, v: &mut Vec<sock_filter>, to_end: &mut Vec<usize>) {
    if let [(_, inside)] = cuts {
        if *inside {
            v.push(stmt(RET_K, on_match));
        } else {
            to_end.push(v.len());
            v.push(stmt(JMP_JA, 0));
        }
        return;
    }
    let mid = cuts.len() / 2;
    // A >= the right half's first start: to the right half (through a 32-bit jump, since a
    // conditional jump reaches only 255 instructions); otherwise on into the left half.
    v.push(jump(JMP_JGE_K, cuts[mid].0, 0, 1));
    let ja = v.len();
    v.push(stmt(JMP_JA, 0));
    emit(&cuts[..mid], on_match, v, to_end);
    v[ja].k = (v.len() - ja - 1) as u32;
    emit(&cuts[mid..], on_match, v, to_end);
}

/// Converts seccompiler's program (same `repr(C)` layout) to libc's type.
pub(crate) fn from_seccompiler(p: &[seccompiler::sock_filter]) -> Vec<sock_filter> {
    p.iter().map(|i| sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect()
}

/// The input of a seccomp filter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeccompData {
    pub(crate) nr: i32,
    pub(crate) arch: u32,
    pub(crate) ip: u64,
    pub(crate) args: [u64; 6],
}

impl SeccompData {
    fn word(&self, off: u32) -> Option<u32> {
        // Build the struct's bytes in native byte order, as the kernel lays it out.
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.ip.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let off = off as usize;
        if off & 3 != 0 || off + 4 > b.len() {
            return None;
        }
        Some(u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]))
    }
}

/// Runs a seccomp program the way the kernel would; `None` if it uses an instruction
/// this interpreter does not know or runs off its end (the kernel would have rejected
/// such a program at install time).
pub(crate) fn run(prog: &[sock_filter], d: &SeccompData) -> Option<u32> {
    run_counting(prog, d, &mut 0)
}

/// How many instructions the program executes for `d` (for measurements).
#[cfg(test)]
pub(crate) fn steps(prog: &[sock_filter], d: &SeccompData) -> usize {
    let mut n = 0;
    run_counting(prog, d, &mut n);
    n
}

fn run_counting(prog: &[sock_filter], d: &SeccompData, steps: &mut usize) -> Option<u32> {
    let mut a: u32 = 0;
    let mut pc: usize = 0;
    while pc < prog.len() {
        let i = &prog[pc];
        pc += 1;
        *steps += 1;
        match i.code {
            LD_W_ABS => a = d.word(i.k)?,
            ALU_AND_K => a &= i.k,
            JMP_JA => pc = pc.checked_add(i.k as usize)?,
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                let taken = match i.code {
                    JMP_JEQ_K => a == i.k,
                    JMP_JGT_K => a > i.k,
                    JMP_JGE_K => a >= i.k,
                    _ => a & i.k != 0,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            RET_K => return Some(i.k),
            _ => return None,
        }
    }
    None
}

/// The kernel's precedence of a filter result: lower sorts first and wins.
#[cfg(test)]
pub(crate) fn precedence(ret: u32) -> i32 {
    (ret & libc::SECCOMP_RET_ACTION_FULL) as i32
}

/// Combines the results of a stack of filters (given in install order) like the kernel
/// does: it walks from the newest filter to the oldest, starting from `ALLOW`, and only
/// replaces its result with a strictly higher-precedence one, so among equals the
/// most recently installed filter wins.
#[cfg(test)]
pub(crate) fn combine(results_in_install_order: &[u32]) -> u32 {
    let mut best = libc::SECCOMP_RET_ALLOW;
    for &r in results_in_install_order.iter().rev() {
        if precedence(r) < precedence(best) {
            best = r;
        }
    }
    best
}
