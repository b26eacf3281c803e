//! A tiny eBPF assembler: the few instructions the guard's programs use, and forward labels.
//!
//! The programs are short chains of compares generated per container, so a builder with
//! symbolic jump targets is all that is needed; there is no general-purpose assembler here.

/// One encoded instruction (struct bpf_insn: code, dst:4|src:4, off, imm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

pub const R0: u8 = 0;
pub const R1: u8 = 1;
pub const R2: u8 = 2;
pub const R3: u8 = 3;
pub const R4: u8 = 4;
pub const R5: u8 = 5;
pub const R6: u8 = 6;
pub const R7: u8 = 7;
pub const R8: u8 = 8;
pub const R10: u8 = 10;

// Instruction classes and fields (linux/bpf_common.h, linux/bpf.h).
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const JMP: u8 = 0x05;
const JMP32: u8 = 0x06;
const ALU64: u8 = 0x07;
const MEM: u8 = 0x60;
const IMM: u8 = 0x00;
const K: u8 = 0x00;
const X: u8 = 0x08;
const MOV: u8 = 0xb0;
const ADD: u8 = 0x00;
const AND: u8 = 0x50;
const JA: u8 = 0x00;
const CALL: u8 = 0x80;
const EXIT: u8 = 0x90;

/// Load sizes.
#[derive(Clone, Copy)]
pub enum Size {
    B = 0x10,
    H = 0x08,
    W = 0x00,
    DW = 0x18,
}

/// Conditional jumps.
#[derive(Clone, Copy)]
pub enum Cond {
    Eq = 0x10,
    Ne = 0x50,
    Sle = 0xd0,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: (src << 4) | (dst & 0x0f), off, imm }
}

/// A jump target, bound later with [`Asm::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Instruction list with forward/backward labels resolved by [`Asm::finish`].
#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Whether any jump targets `l` (the verifier refuses unreachable code).
    pub fn is_used(&self, l: Label) -> bool {
        self.fixups.iter().any(|(_, f)| *f == l)
    }

    pub fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.insns.len());
    }

    pub fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.insns.push(insn(ALU64 | MOV | K, dst, 0, 0, imm));
    }

    pub fn mov_reg(&mut self, dst: u8, src: u8) {
        self.insns.push(insn(ALU64 | MOV | X, dst, src, 0, 0));
    }

    pub fn add_imm(&mut self, dst: u8, imm: i32) {
        self.insns.push(insn(ALU64 | ADD | K, dst, 0, 0, imm));
    }

    pub fn and_imm(&mut self, dst: u8, imm: i32) {
        self.insns.push(insn(ALU64 | AND | K, dst, 0, 0, imm));
    }

    pub fn and_reg(&mut self, dst: u8, src: u8) {
        self.insns.push(insn(ALU64 | AND | X, dst, src, 0, 0));
    }

    /// dst = 64-bit constant (two instruction slots).
    pub fn ld_imm64(&mut self, dst: u8, v: u64) {
        self.insns.push(insn(LD | IMM | Size::DW as u8, dst, 0, 0, v as u32 as i32));
        self.insns.push(insn(0, 0, 0, 0, (v >> 32) as u32 as i32));
    }

    /// dst = *(size *)(src + off)
    pub fn ldx(&mut self, size: Size, dst: u8, src: u8, off: i16) {
        self.insns.push(insn(LDX | MEM | size as u8, dst, src, off, 0));
    }

    /// if (u32)dst <cond> imm goto l
    pub fn jmp32_imm(&mut self, c: Cond, dst: u8, imm: i32, l: Label) {
        self.fixups.push((self.insns.len(), l));
        self.insns.push(insn(JMP32 | c as u8 | K, dst, 0, 0, imm));
    }

    /// if dst <cond> imm goto l (64-bit compare)
    pub fn jmp_imm(&mut self, c: Cond, dst: u8, imm: i32, l: Label) {
        self.fixups.push((self.insns.len(), l));
        self.insns.push(insn(JMP | c as u8 | K, dst, 0, 0, imm));
    }

    /// if dst <cond> src goto l (64-bit compare)
    pub fn jmp_reg(&mut self, c: Cond, dst: u8, src: u8, l: Label) {
        self.fixups.push((self.insns.len(), l));
        self.insns.push(insn(JMP | c as u8 | X, dst, src, 0, 0));
    }

    pub fn ja(&mut self, l: Label) {
        self.fixups.push((self.insns.len(), l));
        self.insns.push(insn(JMP | JA, 0, 0, 0, 0));
    }

    pub fn call(&mut self, helper: i32) {
        self.insns.push(insn(JMP | CALL, 0, 0, 0, helper));
    }

    pub fn exit(&mut self) {
        self.insns.push(insn(JMP | EXIT, 0, 0, 0, 0));
    }

    /// `r0 = v; exit`
    pub fn ret(&mut self, v: i32) {
        self.mov_imm(R0, v);
        self.exit();
    }

    /// Resolves the jumps. Panics on an unbound label or an out-of-range jump: both are
    /// bugs in the program generator, never a property of the input.
    pub fn finish(mut self) -> Vec<Insn> {
        for (at, l) in std::mem::take(&mut self.fixups) {
            let target = self.labels[l.0].expect("netguard program: jump to an unbound label");
            let off = target as isize - at as isize - 1;
            self.insns[at].off = i16::try_from(off).expect("netguard program: jump out of range");
        }
        self.insns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_known_instructions() {
        let mut a = Asm::default();
        let l = a.label();
        a.mov_imm(R0, 1); // b7 00 .. imm 1
        a.jmp32_imm(Cond::Eq, R2, 6, l); // 16 02
        a.ldx(Size::W, R2, R1, 24); // 61 12 off 24
        a.bind(l);
        a.exit(); // 95
        let v = a.finish();
        assert_eq!(v[0], Insn { code: 0xb7, regs: 0x00, off: 0, imm: 1 });
        assert_eq!(v[1], Insn { code: 0x16, regs: 0x02, off: 1, imm: 6 });
        assert_eq!(v[2], Insn { code: 0x61, regs: 0x12, off: 24, imm: 0 });
        assert_eq!(v[3].code, 0x95);
    }

    #[test]
    fn ld_imm64_takes_two_slots() {
        let mut a = Asm::default();
        a.ld_imm64(R3, 0x1122_3344_5566_7788);
        let v = a.finish();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].code, 0x18);
        assert_eq!(v[0].imm as u32, 0x5566_7788);
        assert_eq!(v[1].imm as u32, 0x1122_3344);
    }
}
