//! Builds the in-container helper `probe/probe.c` as a static binary and
//! exports its path to the tests as `PROBE_PATH` (`env!("PROBE_PATH")`).
//!
//! The compiler is `cc`, or `$PROBE_CC` when set.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let src = manifest.join("probe").join("probe.c");
    let out = out_dir.join("probe");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-env-changed=PROBE_CC");

    let cc = std::env::var("PROBE_CC").unwrap_or_else(|_| "cc".to_string());
    let output = Command::new(&cc)
        .args(["-static", "-O2", "-Wall", "-Wextra", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc} to build the probe: {e} (install gcc, or set PROBE_CC)"));
    // Compiler warnings go to the build log (visible with `cargo build -vv`).
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        panic!(
            "{cc} -static failed to build {} ({}):\n{}\n(a static libc is needed: libc6-dev provides libc.a)",
            src.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if let Err(e) = check_static(&out) {
        panic!("{} is not a static executable: {e}", out.display());
    }
    println!("cargo:rustc-env=PROBE_PATH={}", out.display());
}

/// Rejects an ELF executable that asks for a program interpreter
/// (PT_INTERP), i.e. one that would need a dynamic loader in the container.
fn check_static(path: &Path) -> Result<(), String> {
    const PT_INTERP: u32 = 3;
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    if data.len() < 64 || &data[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if data[4] != 2 || data[5] != 1 {
        // Only 64-bit little endian is checked; trust the -static flag otherwise.
        return Ok(());
    }
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap()) as usize;
    let phoff = u64_at(0x20);
    let phentsize = u16_at(0x36);
    let phnum = u16_at(0x38);
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if o + 4 > data.len() {
            return Err("truncated program headers".into());
        }
        if u32_at(o) == PT_INTERP {
            return Err("it has a PT_INTERP (dynamic loader) segment".into());
        }
    }
    Ok(())
}
