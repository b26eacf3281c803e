//! Capability sets exactly as `process.capabilities` says, applied with raw prctl/capset
//! and then read back: a step that fails, or seems to succeed without effect, stops the
//! start (a failed read is never taken to mean "absent").
//!
//! - The bounding set is dropped first, while we still hold CAP_SETPCAP: one
//!   PR_CAPBSET_DROP per capability the plan leaves out that the set still holds, then the
//!   set is read back. The set is read from `/proc/self/status` (open, fstatfs, read,
//!   close) rather than with one PR_CAPBSET_READ per capability (41 calls): a file that is
//!   not on procfs (no /proc mounted in the container, or something else there) or that
//!   cannot be read or parsed is never believed; then every capability is asked for with
//!   PR_CAPBSET_READ as before. The ambient set is checked the same way.
//! - The uid switch happens between `drop_bounding` and `apply` with keep-caps set, so a
//!   non-root user keeps the permitted set the config grants (setresuid would clear it).
//! - Effective, permitted and inheritable in one capset(2), so no intermediate state
//!   needs to be valid (separate calls must shrink effective before permitted); then
//!   capget compares all three with the plan.
//! - Ambient last: it must be a subset of permitted ∩ inheritable. Cleared, raised one by
//!   one, then read back for every capability.
//!
//! The `caps` crate is only used to parse names: its readers turn a failed
//! PR_CAPBSET_READ into "not in the set".

use std::io;

use caps::Capability as Cap;
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("process.capabilities.{set}: {cap}: not known to this kernel or library")]
    Unknown { set: &'static str, cap: String },
    #[error("capabilities: cannot read /proc/sys/kernel/cap_last_cap ({0}); refusing to start without knowing which capabilities to drop")]
    LastCap(String),
    #[error("process.capabilities.{set}: {call} failed: {source}{hint}")]
    Call { set: &'static str, call: String, source: io::Error, hint: &'static str },
    #[error("process.capabilities.{set}: read back after applying it, the {set} set {detail}; refusing to start")]
    Mismatch { set: &'static str, detail: String },
}

/// Converts one OCI set to a bit mask; an unknown name is an error naming the field.
fn convert(set: &'static str, c: &Option<Capabilities>) -> Result<u64, CapsError> {
    let mut out = 0u64;
    for cap in c.iter().flatten() {
        // oci-spec displays CAP_SYS_ADMIN as "SYS_ADMIN"; caps parses "CAP_SYS_ADMIN".
        let name = format!("CAP_{cap}");
        let parsed: Cap = name.parse().map_err(|_| CapsError::Unknown { set, cap: name.clone() })?;
        out |= parsed.bitmask();
    }
    Ok(out)
}

/// The five sets as bit masks (bit n = capability n), converted up front (in the runtime,
/// before clone), limited to the capabilities the running kernel knows.
pub struct CapPlan {
    last_cap: u32,
    bounding: u64,
    effective: u64,
    permitted: u64,
    inheritable: u64,
    ambient: u64,
}

/// The highest capability number of the running kernel.
fn read_last_cap() -> Result<u32, CapsError> {
    let s = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").map_err(|e| CapsError::LastCap(e.to_string()))?;
    match s.trim().parse::<u32>() {
        Ok(n) if n < 64 => Ok(n),
        _ => Err(CapsError::LastCap(format!("unexpected content {:?}", s.trim()))),
    }
}

fn bit(cap: u32) -> u64 {
    1u64 << cap
}

/// "CAP_SYS_ADMIN, CAP_NET_RAW" for the bits in `mask` (error path only).
fn names(mask: u64) -> String {
    if mask == 0 {
        return "nothing".into();
    }
    let all = caps::all();
    let mut v: Vec<String> = (0..64u32)
        .filter(|c| mask & bit(*c) != 0)
        .map(|c| all.iter().find(|k| u32::from(k.index()) == c).map(|k| k.to_string()).unwrap_or_else(|| format!("capability {c}")))
        .collect();
    v.sort();
    v.join(", ")
}

fn cap_name(cap: u32) -> String {
    names(bit(cap))
}

/// prctl with two integer arguments; -1 becomes the errno.
fn prctl2(op: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: every caller passes a capability prctl with integer arguments only; the
    // kernel reads no memory of ours.
    let r = unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `struct __user_cap_header_struct` / `__user_cap_data_struct` (linux/capability.h).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// (effective, permitted, inheritable) of the calling thread.
fn capget() -> io::Result<(u64, u64, u64)> {
    let mut hdr = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut d = [CapData::default(); 2];
    // SAFETY: a valid version-3 header and the two data structs version 3 writes.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut CapHeader, d.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok((join(d[0].effective, d[1].effective), join(d[0].permitted, d[1].permitted), join(d[0].inheritable, d[1].inheritable)))
}

fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let mut hdr = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let split = |m: u64| (m as u32, (m >> 32) as u32);
    let (e0, e1) = split(effective);
    let (p0, p1) = split(permitted);
    let (i0, i1) = split(inheritable);
    let d = [CapData { effective: e0, permitted: p0, inheritable: i0 }, CapData { effective: e1, permitted: p1, inheritable: i1 }];
    // SAFETY: a valid version-3 header and two data structs the kernel only reads.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, d.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The bounding and ambient sets as the kernel reports them in /proc/self/status.
#[derive(Debug, PartialEq, Eq)]
struct StatusSets {
    bounding: u64,
    ambient: u64,
}

/// Reads /proc/self/status into a buffer on the stack (this runs after seccomp in some
/// configurations, where nothing may allocate). None unless the file is on procfs and holds
/// both lines: a container without /proc, or with a file of the rootfs there, is not believed.
fn status_sets() -> Option<StatusSets> {
    const PROC_SUPER_MAGIC: libc::c_long = 0x9fa0;
    // SAFETY: a NUL-terminated literal path; the fd is checked and closed below.
    let fd = unsafe { libc::open(c"/proc/self/status".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW) };
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 4096];
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs fills the struct we own; read writes at most buf.len() bytes into buf.
    let len = unsafe {
        if libc::fstatfs(fd, &mut sfs) != 0 || sfs.f_type as libc::c_long != PROC_SUPER_MAGIC {
            -1
        } else {
            libc::read(fd, buf.as_mut_ptr().cast(), buf.len())
        }
    };
    // SAFETY: closing the fd opened above, used by nothing else.
    unsafe { libc::close(fd) };
    // A full buffer may be a truncated file: not believed either.
    if len <= 0 || len as usize >= buf.len() {
        return None;
    }
    parse_status(&buf[..len as usize])
}

fn parse_status(text: &[u8]) -> Option<StatusSets> {
    let field = |name: &[u8]| {
        let line = text.split(|b| *b == b'\n').find(|l| l.starts_with(name))?;
        let hex = std::str::from_utf8(&line[name.len()..]).ok()?.trim();
        (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok()).flatten()
    };
    Some(StatusSets { bounding: field(b"CapBnd:")?, ambient: field(b"CapAmb:")? })
}

fn call_err(set: &'static str, call: String, hint: &'static str) -> impl FnOnce(io::Error) -> CapsError {
    move |source| CapsError::Call { set, call, source, hint }
}

fn check(set: &'static str, have: u64, want: u64) -> Result<(), CapsError> {
    if have == want {
        return Ok(());
    }
    let (extra, missing) = (have & !want, want & !have);
    let detail = match (extra != 0, missing != 0) {
        (true, true) => format!("still holds {} and lacks {}", names(extra), names(missing)),
        (true, false) => format!("still holds {}", names(extra)),
        _ => format!("lacks {}", names(missing)),
    };
    Err(CapsError::Mismatch { set, detail })
}

impl CapPlan {
    /// No `capabilities` object means no capabilities at all (fail closed), as in runc.
    /// Capabilities newer than the running kernel are left out (they cannot be granted).
    /// (oci-spec's `LinuxCapabilities::default()` is *not* empty: it holds Docker's three
    /// defaults, so it must not stand in for a missing object.)
    pub fn from_config(c: Option<&LinuxCapabilities>) -> Result<CapPlan, CapsError> {
        let last_cap = read_last_cap()?;
        let Some(c) = c else {
            return Ok(CapPlan { last_cap, bounding: 0, effective: 0, permitted: 0, inheritable: 0, ambient: 0 });
        };
        let known = if last_cap >= 63 { u64::MAX } else { bit(last_cap + 1) - 1 };
        Ok(CapPlan {
            last_cap,
            bounding: convert("bounding", c.bounding())? & known,
            effective: convert("effective", c.effective())? & known,
            permitted: convert("permitted", c.permitted())? & known,
            inheritable: convert("inheritable", c.inheritable())? & known,
            ambient: convert("ambient", c.ambient())? & known,
        })
    }

    /// Step 1, before the uid switch: drop what the set holds and the plan leaves out, then
    /// check every capability the kernel knows.
    pub fn drop_bounding(&self) -> Result<(), CapsError> {
        let known = self.known();
        let held = status_sets().map_or(known, |s| s.bounding);
        for cap in (0..=self.last_cap).filter(|c| (held & !self.bounding) & bit(*c) != 0) {
            // Every number up to cap_last_cap is valid, so even EINVAL is a failure here.
            prctl2(libc::PR_CAPBSET_DROP, cap.into(), 0).map_err(call_err(
                "bounding",
                format!("PR_CAPBSET_DROP({})", cap_name(cap)),
                " (dropping needs CAP_SETPCAP)",
            ))?;
        }
        let have = match status_sets() {
            Some(s) => s.bounding,
            None => self.read_each("bounding", "PR_CAPBSET_READ", |c| prctl2(libc::PR_CAPBSET_READ, c, 0))?,
        };
        // Capabilities the plan keeps may already have been missing; that only grants less.
        check("bounding", have & known & !self.bounding, 0)
    }

    /// Every capability the running kernel knows, as a mask.
    fn known(&self) -> u64 {
        if self.last_cap >= 63 {
            u64::MAX
        } else {
            bit(self.last_cap + 1) - 1
        }
    }

    /// One prctl per capability (`read` asks for one): the fallback when /proc/self/status
    /// cannot be trusted.
    fn read_each(&self, set: &'static str, call: &str, read: impl Fn(libc::c_ulong) -> io::Result<libc::c_int>) -> Result<u64, CapsError> {
        let mut have = 0u64;
        for cap in 0..=self.last_cap {
            if read(cap.into()).map_err(call_err(set, format!("{call}({})", cap_name(cap)), ""))? != 0 {
                have |= bit(cap);
            }
        }
        Ok(have)
    }

    /// Step 2, after the uid switch.
    pub fn apply(&self) -> Result<(), CapsError> {
        capset(self.effective, self.permitted, self.inheritable).map_err(call_err(
            "permitted",
            "capset(effective, permitted, inheritable)".into(),
            " (effective must be a subset of permitted, inheritable of bounding)",
        ))?;
        // Ambient: the kernel only allows what is in both permitted and inheritable; like runc
        // and crun we skip the rest (`runc spec` itself lists ambient caps it leaves out of
        // inheritable). Skipping only ever grants less than asked.
        let ambient = self.ambient & self.permitted & self.inheritable;
        let amb = libc::PR_CAP_AMBIENT;
        prctl2(amb, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0).map_err(call_err("ambient", "PR_CAP_AMBIENT_CLEAR_ALL".into(), ""))?;
        for cap in (0..=self.last_cap).filter(|c| ambient & bit(*c) != 0) {
            prctl2(amb, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, cap.into()).map_err(call_err(
                "ambient",
                format!("PR_CAP_AMBIENT_RAISE({})", cap_name(cap)),
                "",
            ))?;
        }

        let (e, p, i) = capget().map_err(call_err("effective", "capget".into(), ""))?;
        check("effective", e, self.effective)?;
        check("permitted", p, self.permitted)?;
        check("inheritable", i, self.inheritable)?;
        let have = match status_sets() {
            Some(s) => s.ambient,
            None => self.read_each("ambient", "PR_CAP_AMBIENT_IS_SET", |c| prctl2(amb, libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong, c))?,
        };
        check("ambient", have, ambient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_masks() {
        assert_eq!(cap_name(21), "CAP_SYS_ADMIN");
        assert_eq!(names(bit(0) | bit(21)), "CAP_CHOWN, CAP_SYS_ADMIN");
        assert_eq!(names(0), "nothing");
        let err = check("bounding", bit(21), 0).unwrap_err().to_string();
        assert!(err.contains("bounding set still holds CAP_SYS_ADMIN"), "{err}");
    }

    #[test]
    fn status_lines_are_parsed_strictly() {
        let ok = b"Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000400\n";
        assert_eq!(parse_status(ok), Some(StatusSets { bounding: 0x1ff_ffff_ffff, ambient: 0x400 }));
        for bad in
            [&b"CapBnd:\t000001ffffffffff\n"[..], b"CapBnd:\t1ff\nCapAmb:\t0000000000000000\n", b"CapBnd:\tzzzzzzzzzzzzzzzz\nCapAmb:\t0000000000000000\n"]
        {
            assert_eq!(parse_status(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        // The running process's own file agrees with the kernel's per-capability answer.
        let s = status_sets().expect("/proc/self/status is on procfs here");
        for cap in 0..=read_last_cap().unwrap() {
            let r = prctl2(libc::PR_CAPBSET_READ, cap.into(), 0).unwrap();
            assert_eq!(r != 0, s.bounding & bit(cap) != 0, "capability {cap}");
        }
    }

    #[test]
    fn plan_is_limited_to_the_kernels_capabilities() {
        let c: LinuxCapabilities =
            serde_json::from_str(r#"{"bounding":["CAP_CHOWN","CAP_CHECKPOINT_RESTORE"],"effective":[],"permitted":[],"inheritable":[],"ambient":[]}"#).unwrap();
        let p = CapPlan::from_config(Some(&c)).unwrap();
        assert!(p.bounding & bit(0) != 0);
        assert_eq!(p.bounding >> (p.last_cap + 1), 0);
        let none = CapPlan::from_config(None).unwrap();
        assert_eq!(none.bounding | none.effective | none.permitted | none.inheritable | none.ambient, 0);
    }
}
