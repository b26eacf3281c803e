//! Loading the compiled filters with raw `seccomp(2)`: runs in the container init right
//! before `execve`, so it must not allocate.

use super::{CompiledSeccomp, SeccompError};

pub(super) fn install(c: &CompiledSeccomp) -> Result<(), SeccompError> {
    let count = c.filters.len();
    for (i, f) in c.filters.iter().enumerate() {
        // `compile` guarantees 1..=4096 instructions, so the length fits in a u16.
        let prog = libc::sock_fprog { len: f.insns.len() as libc::c_ushort, filter: f.insns.as_ptr().cast_mut() };
        // SAFETY: `prog` describes `f.insns`, a live buffer of exactly `len` instructions
        // that outlives the call; the kernel only reads (copies) the program and writes
        // nothing to our memory. The flags and mode are plain integers.
        let ret = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong, c.flags, &prog as *const libc::sock_fprog) };
        if ret == 0 {
            continue;
        }
        if ret > 0 {
            // With SECCOMP_FILTER_FLAG_TSYNC the kernel returns the id of the thread it
            // could not synchronise instead of -1.
            return Err(SeccompError::Tsync { index: i + 1, count, tid: ret as i64 });
        }
        // `last_os_error` only reads errno; it does not allocate.
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Err(SeccompError::Install { index: i + 1, count, errno });
    }
    Ok(())
}

/// A short explanation appended to install errors.
pub(super) fn errno_hint(errno: i32) -> &'static str {
    match errno {
        libc::EACCES => " (no_new_privs is not set and the process lacks CAP_SYS_ADMIN in its user namespace)",
        libc::EINVAL => {
            " (the kernel rejected a flag, an action or the program: SECCOMP_FILTER_FLAG_LOG \
             and the KILL_PROCESS/LOG actions need linux 4.14, SECCOMP_FILTER_FLAG_SPEC_ALLOW \
             needs 4.17)"
        }
        libc::ENOMEM => {
            " (together with filters already attached to this process, the profile exceeds \
             the kernel's limit of 32768 instructions)"
        }
        libc::ENOSYS => " (the kernel was built without seccomp filter support)",
        _ => "",
    }
}
