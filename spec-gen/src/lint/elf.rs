//! What the dynamic loader needs from an ELF file: its interpreter
//! (PT_INTERP), its DT_NEEDED libraries and its search paths.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} looks like ELF but cannot be parsed: {reason}")]
    Parse { path: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    pub is_64: bool,
    pub machine: u16,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
}

pub const EM_386: u16 = 3;
pub const EM_ARM: u16 = 40;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
pub const EM_RISCV: u16 = 243;

/// The machine the running spec-gen was built for.
pub fn host_machine() -> Option<u16> {
    match std::env::consts::ARCH {
        "x86_64" => Some(EM_X86_64),
        "x86" => Some(EM_386),
        "aarch64" => Some(EM_AARCH64),
        "arm" => Some(EM_ARM),
        "riscv64" => Some(EM_RISCV),
        _ => None,
    }
}

pub fn machine_name(m: u16) -> String {
    match m {
        EM_386 => "i386".into(),
        EM_ARM => "arm".into(),
        EM_X86_64 => "x86_64".into(),
        EM_AARCH64 => "aarch64".into(),
        EM_RISCV => "riscv".into(),
        other => format!("machine {other}"),
    }
}

/// Debian's multiarch directory name for a machine.
pub fn multiarch(is_64: bool, m: u16) -> Option<&'static str> {
    match (m, is_64) {
        (EM_X86_64, true) => Some("x86_64-linux-gnu"),
        (EM_386, false) => Some("i386-linux-gnu"),
        (EM_AARCH64, true) => Some("aarch64-linux-gnu"),
        (EM_ARM, false) => Some("arm-linux-gnueabihf"),
        (EM_RISCV, true) => Some("riscv64-linux-gnu"),
        _ => None,
    }
}

fn split_paths(list: &[&str]) -> Vec<String> {
    list.iter().flat_map(|s| s.split(':')).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// `Ok(None)` when the file is not ELF.
pub fn read(path: &Path) -> Result<Option<ElfInfo>, ElfError> {
    let bytes = std::fs::read(path).map_err(|e| ElfError::Read { path: path.display().to_string(), source: e })?;
    if !bytes.starts_with(b"\x7fELF") {
        return Ok(None);
    }
    let elf = goblin::elf::Elf::parse(&bytes).map_err(|e| ElfError::Parse { path: path.display().to_string(), reason: e.to_string() })?;
    Ok(Some(ElfInfo {
        is_64: elf.is_64,
        machine: elf.header.e_machine,
        interpreter: elf.interpreter.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split_paths(&elf.rpaths),
        runpath: split_paths(&elf.runpaths),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_host_binary() {
        // The test binary itself is a dynamically linked ELF file.
        let me = std::env::current_exe().unwrap();
        let info = read(&me).unwrap().unwrap();
        assert_eq!(Some(info.machine), host_machine());
        assert!(info.interpreter.is_some());
        assert!(info.needed.iter().any(|n| n.starts_with("libc.so")));
        assert_eq!(read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).ok().flatten(), None);
    }
}
