//! bpf(2) wrappers: load a program (with the verifier's log on failure), attach it to a
//! cgroup, and walk the ids of loaded programs (for residue checks).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::asm::Insn;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_GET_NEXT_ID: libc::c_long = 11;
pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

pub const PROG_TYPE_CGROUP_SKB: u32 = 8;
pub const PROG_TYPE_CGROUP_SOCK: u32 = 9;
pub const PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;
pub const PROG_TYPE_LSM: u32 = 29;

pub const ATTACH_INGRESS: u32 = 0;
pub const ATTACH_INET_SOCK_CREATE: u32 = 2;
pub const ATTACH_INET4_BIND: u32 = 8;
pub const ATTACH_INET6_BIND: u32 = 9;
pub const ATTACH_INET4_CONNECT: u32 = 10;
pub const ATTACH_INET6_CONNECT: u32 = 11;
pub const ATTACH_UDP4_SENDMSG: u32 = 14;
pub const ATTACH_UDP6_SENDMSG: u32 = 15;
pub const ATTACH_LSM_CGROUP: u32 = 43;

/// The union bpf_attr, as bytes: every command here fits in 128 and the kernel wants the
/// unused tail zeroed.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Self {
        Attr([0; 128])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
}

fn bpf(cmd: libc::c_long, attr: &mut Attr) -> std::io::Result<libc::c_long> {
    // SAFETY: bpf(2) reads (and for some commands writes) at most size_of::<Attr>() bytes of
    // `attr`, which lives for the call; pointers inside it are set by the callers to buffers
    // that outlive the call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.0.as_mut_ptr(), std::mem::size_of::<Attr>()) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// What to load.
pub struct ProgSpec<'a> {
    pub prog_type: u32,
    pub attach_type: u32,
    /// BTF id of the hook (LSM programs), else 0.
    pub attach_btf_id: u32,
    pub insns: &'a [Insn],
}

/// A failed load: errno and the tail of the verifier's log.
#[derive(Debug)]
pub struct LoadError {
    pub err: std::io::Error,
    pub log: String,
}

const LICENSE: &[u8] = b"GPL\0";

fn load_with_log(spec: &ProgSpec, name: &str, log: Option<&mut [u8]>) -> std::io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, spec.prog_type)
        .u32(4, spec.insns.len() as u32)
        .u64(8, spec.insns.as_ptr() as u64)
        .u64(16, LICENSE.as_ptr() as u64)
        .u32(68, spec.attach_type)
        .u32(108, spec.attach_btf_id);
    if let Some(buf) = log {
        a.u32(24, 1).u32(28, buf.len() as u32).u64(32, buf.as_mut_ptr() as u64);
    }
    let n = name.as_bytes();
    let len = n.len().min(15);
    a.0[48..48 + len].copy_from_slice(&n[..len]);
    let fd = bpf(BPF_PROG_LOAD, &mut a)?;
    // SAFETY: BPF_PROG_LOAD returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Loads a program. The first try runs without a log (cheap); only a failure is retried
/// with the verifier's log so the error can say why.
pub fn load(spec: &ProgSpec, name: &str) -> Result<OwnedFd, LoadError> {
    match load_with_log(spec, name, None) {
        Ok(fd) => Ok(fd),
        Err(err) => {
            let mut buf = vec![0u8; 64 * 1024];
            let again = load_with_log(spec, name, Some(&mut buf));
            let text = String::from_utf8_lossy(&buf[..buf.iter().position(|&c| c == 0).unwrap_or(buf.len())]).into_owned();
            let tail: Vec<&str> = text.lines().rev().take(6).collect();
            let log = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
            match again {
                // Succeeding on the second try would be odd; keep the fd rather than fail.
                Ok(fd) => Ok(fd),
                Err(_) => Err(LoadError { err, log }),
            }
        }
    }
}

/// Whether this kernel lets us load BPF LSM programs at all: a program pointing at BTF id
/// 1 (never an LSM hook) is refused by the verifier with EINVAL where LSM programs are
/// allowed, and with EPERM before verification where the kernel forbids BTF-attached
/// programs (some hardened builds do, even with the BPF LSM active).
pub fn lsm_programs_loadable() -> Result<(), std::io::Error> {
    let insns = [Insn { code: 0xb7, regs: 0, off: 0, imm: 0 }, Insn { code: 0x95, regs: 0, off: 0, imm: 0 }];
    let spec = ProgSpec { prog_type: PROG_TYPE_LSM, attach_type: ATTACH_LSM_CGROUP, attach_btf_id: 1, insns: &insns };
    match load_with_log(&spec, "probe", None) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(e),
        Err(_) => Ok(()),
    }
}

/// Attaches `prog` to the cgroup directory `cgroup`, alongside other programs there.
pub fn attach(cgroup: &OwnedFd, prog: &OwnedFd, attach_type: u32) -> std::io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, cgroup.as_raw_fd() as u32).u32(4, prog.as_raw_fd() as u32).u32(8, attach_type).u32(12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut a).map(|_| ())
}

/// Ids of every loaded BPF program on the host (for residue checks and tests).
#[allow(dead_code)]
pub fn prog_ids() -> std::io::Result<Vec<u32>> {
    let mut ids = vec![];
    let mut start = 0u32;
    loop {
        let mut a = Attr::new();
        a.u32(0, start);
        match bpf(BPF_PROG_GET_NEXT_ID, &mut a) {
            Ok(_) => {
                start = u32::from_ne_bytes([a.0[4], a.0[5], a.0[6], a.0[7]]);
                ids.push(start);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(ids),
            Err(e) => return Err(e),
        }
    }
}
