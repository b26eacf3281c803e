//! Opening the program to run, and running it through that fd, so that the kernel can never
//! be made to execute the runtime's own binary inside the container (CVE-2019-5736 class).
//!
//! The danger: every runtime process that ends in a container program (the init, an exec
//! child) *is* the runtime binary until its execve. A script whose `#!` names
//! `/proc/self/exe` (or a path that resolves to the runtime) makes the kernel run the
//! runtime binary inside the container, where a dumpable process hands out its exe link,
//! and root in the container can later reopen that for writing.
//!
//! A check of the script by path is not enough: the container can rewrite the file between
//! the check and execve. So:
//! - The program is opened once, close-on-exec, after chdir (a relative name or interpreter
//!   means the cwd at exec time, as for the kernel).
//! - A `#!` header is parsed here exactly as fs/binfmt_script.c does (256 bytes; split on
//!   space and tab only; one optional argument), and the interpreter opened here in turn,
//!   down to at most 5 levels as the kernel allows. Every file opened is compared by
//!   (st_dev, st_ino) with the runtime binary and refused if it is that file.
//! - Only the last file, not a script, is executed, with execveat(fd, "", AT_EMPTY_PATH).
//!   The kernel refuses (ENOENT) to interpret a `#!` file executed through a close-on-exec
//!   fd (BINPRM_FLAGS_PATH_INACCESSIBLE), so a file rewritten into a script after our check
//!   is never interpreted: whatever the kernel runs is an fd we checked.

use std::ffi::CString;
use std::os::fd::OwnedFd;

/// BINPRM_BUF_SIZE: how much of a file the kernel reads to decide how to run it.
const HEADER: usize = 256;
/// Interpreter levels the kernel follows before ELOOP (fs/exec.c, exec_binprm).
const MAX_DEPTH: usize = 5;

/// Opens `path` and, for scripts, each interpreter; returns the fd to execute and the argv
/// the kernel would have built. Refuses the runtime binary at every level.
pub fn open_program(path: &[u8], argv: Vec<CString>, self_exe: (u64, u64)) -> Result<(OwnedFd, Vec<CString>), String> {
    let mut filename = CString::new(path).map_err(|_| "contains a NUL byte".to_string())?;
    let mut argv = argv;
    for _ in 0..=MAX_DEPTH {
        let (fd, readable) = open_exec(&filename)?;
        let shown = filename.to_string_lossy().into_owned();
        let st = nix::sys::stat::fstat(&fd).map_err(|e| format!("{shown}: {}", std::io::Error::from(e)))?;
        if (st.st_dev, st.st_ino) == self_exe {
            return Err(format!("{shown} is the runtime binary itself; refusing to execute it in the container"));
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(format!("{shown}: not a regular file"));
        }
        if !readable {
            // Execute-only: we cannot read a `#!` line, and neither will the kernel act on
            // one through our close-on-exec fd.
            return Ok((fd, argv));
        }
        let mut buf = [0u8; HEADER];
        let n = pread_full(&fd, &mut buf).map_err(|e| format!("{shown}: {e}"))?;
        let Some((name, arg)) = parse(&buf[..n]) else { return Ok((fd, argv)) };
        // The kernel's rewrite: argv[0] is dropped; interpreter, its argument, the script's
        // name, then the rest.
        let mut next = Vec::with_capacity(argv.len() + 2);
        next.push(name.clone());
        next.extend(arg);
        next.push(filename);
        next.extend(argv.into_iter().skip(1));
        argv = next;
        filename = name;
    }
    Err(format!("more than {MAX_DEPTH} levels of #! interpreters (the kernel refuses these with ELOOP)"))
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH). Returns only on failure.
pub fn exec_fd(fd: &OwnedFd, argv: &[CString], env: &[CString]) -> std::io::Error {
    crate::sys::execveat_fd(fd, argv, env)
}

/// Opens for reading the header; a file we may execute but not read is opened O_PATH.
fn open_exec(path: &CString) -> Result<(OwnedFd, bool), String> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    let shown = path.to_string_lossy();
    match open(path.as_c_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY, Mode::empty()) {
        Ok(fd) => return Ok((fd, true)),
        Err(nix::Error::EACCES) => {}
        Err(e) => return Err(format!("{shown}: {}", std::io::Error::from(e))),
    }
    match open(path.as_c_str(), OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok((fd, false)),
        Err(e) => Err(format!("{shown}: {}", std::io::Error::from(e))),
    }
}

fn pread_full(fd: &OwnedFd, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match nix::sys::uio::pread(fd, &mut buf[n..], n as libc::off_t) {
            Ok(0) => break,
            Ok(r) => n += r,
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

fn spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// The `#!` line as fs/binfmt_script.c reads it: None when the kernel would not treat the
/// file as a script (ENOEXEC), else the interpreter and its optional single argument.
/// `head` is the first bytes of the file, at most 256; the kernel's buffer is zero-filled.
pub fn parse(head: &[u8]) -> Option<(CString, Option<CString>)> {
    let mut buf = [0u8; HEADER];
    let n = head.len().min(HEADER);
    buf[..n].copy_from_slice(&head[..n]);
    if buf[0] != b'#' || buf[1] != b'!' {
        return None;
    }
    let last = HEADER - 1;
    // End of the line: the first newline in the buffer; without one, the line must not be
    // truncated inside the interpreter's name (a space, tab or NUL must follow it).
    let mut end = match buf.iter().position(|&c| c == b'\n') {
        Some(i) => i,
        None => {
            let first = (2..=last).find(|&i| !spacetab(buf[i]))?;
            (first..=last).find(|&i| spacetab(buf[i]) || buf[i] == 0)?;
            last
        }
    };
    while end > 2 && spacetab(buf[end - 1]) {
        end -= 1;
    }
    let name_start = (2..=end).find(|&i| !spacetab(buf[i]))?;
    if name_start == end {
        return None;
    }
    let sep = (name_start..=end).find(|&i| spacetab(buf[i]) || buf[i] == 0);
    let name_end = sep.unwrap_or(end).min(end);
    let arg = match sep {
        Some(s) if buf[s] != 0 => (s..=end).find(|&i| !spacetab(buf[i])).filter(|&i| i < end).map(|a| cstr_until_nul(&buf[a..end])),
        _ => None,
    };
    Some((cstr_until_nul(&buf[name_start..name_end]), arg))
}

/// The kernel uses these as C strings: a NUL ends them.
fn cstr_until_nul(b: &[u8]) -> CString {
    let b = b.split(|&c| c == 0).next().unwrap_or(&[]);
    CString::new(b).expect("no NUL left")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[u8]) -> Option<(String, Option<String>)> {
        parse(s).map(|(n, a)| (n.to_string_lossy().into_owned(), a.map(|a| a.to_string_lossy().into_owned())))
    }

    #[test]
    fn parses_like_binfmt_script() {
        assert_eq!(p(b"#!/bin/sh\necho"), Some(("/bin/sh".into(), None)));
        assert_eq!(p(b"#! /bin/sh -e -x \t\n"), Some(("/bin/sh".into(), Some("-e -x".into()))));
        assert_eq!(p(b"#!\t/usr/bin/env\tpython3\n"), Some(("/usr/bin/env".into(), Some("python3".into()))));
        // Only space and tab separate: \v, \f and \r are part of the interpreter's name.
        assert_eq!(p(b"#!/x\x0b/y\n"), Some(("/x\x0b/y".into(), None)));
        assert_eq!(p(b"#!/x\x0c\n"), Some(("/x\x0c".into(), None)));
        assert_eq!(p(b"#!/proc/self/exe\r\n"), Some(("/proc/self/exe\r".into(), None)));
        // A NUL ends the name, and then there is no argument.
        assert_eq!(p(b"#!/bin/sh\0 -x\n"), Some(("/bin/sh".into(), None)));
        // Relative names stay relative (resolved against the cwd at exec time).
        assert_eq!(p(b"#!runtime\n"), Some(("runtime".into(), None)));
        // Not scripts.
        assert_eq!(p(b"#!\n"), None);
        assert_eq!(p(b"#!   \t \n"), None);
        assert_eq!(p(b"\x7fELF"), None);
        assert_eq!(p(b"#"), None);
        // No newline in 256 bytes: fine while a terminator follows the name...
        let mut long = b"#!/bin/sh ".to_vec();
        long.resize(300, b'a');
        assert_eq!(p(&long).unwrap().0, "/bin/sh");
        // ...but a name that may be truncated is refused.
        let mut trunc = b"#!/".to_vec();
        trunc.resize(300, b'a');
        assert_eq!(p(&trunc), None);
        // Short file without newline: the zero fill terminates it.
        assert_eq!(p(b"#!/bin/sh"), Some(("/bin/sh".into(), None)));
    }

    #[test]
    fn follows_interpreters_and_refuses_the_runtime() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("ocirt-shebang-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let me = std::fs::metadata("/proc/self/exe").unwrap();
        let me = (me.dev(), me.ino());
        let put = |name: &str, body: &str| {
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p.to_string_lossy().into_owned()
        };
        let c = |s: &str| CString::new(s).unwrap();
        let outer = put("outer", &format!("#!{} -x\n", put("inner", "#!/bin/sh\n")));
        let (_, argv) = open_program(outer.as_bytes(), vec![c("outer"), c("a1")], me).unwrap();
        let argv: Vec<String> = argv.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(argv, vec!["/bin/sh".to_string(), dir.join("inner").display().to_string(), "-x".into(), outer.clone(), "a1".into()]);
        let evil = put("evil", &format!("#!{}\n", put("mid", "#!/proc/self/exe\n")));
        let e = open_program(evil.as_bytes(), vec![c("evil")], me).unwrap_err();
        assert!(e.contains("runtime binary"), "{e}");
        let e = open_program(b"/proc/self/exe", vec![c("x")], me).unwrap_err();
        assert!(e.contains("runtime binary"), "{e}");
        let looped = put("loop", &format!("#!{}\n", dir.join("loop").display()));
        let e = open_program(looped.as_bytes(), vec![c("x")], me).unwrap_err();
        assert!(e.contains("levels"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
