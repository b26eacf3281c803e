//! Just enough of a BTF reader for the guard: the type id of a `bpf_lsm_<hook>` function
//! (the attach point of an LSM program) and the byte offset of a struct member, looking
//! through anonymous struct/union members (struct sock_common keeps skc_num in one).
//!
//! Layout (linux/btf.h): a header, then the type section (each type a 12-byte record plus a
//! kind-dependent tail) and the string section. Type ids are the records' order, from 1.

#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("{0}")]
    Malformed(&'static str),
    #[error("no {kind} named {name} in the kernel's BTF")]
    Missing { kind: &'static str, name: String },
}

const MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

pub struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    /// Byte offset in `types` of each type id (index 0 is unused: id 0 is void).
    at: Vec<u32>,
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4).map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> Btf<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, BtfError> {
        let bad = BtfError::Malformed;
        if data.len() < 24 || u16::from_ne_bytes([data[0], data[1]]) != MAGIC {
            return Err(bad("not BTF data (bad magic)"));
        }
        let hdr_len = u32_at(data, 4).ok_or(bad("short header"))? as usize;
        let field = |i: usize| u32_at(data, 8 + 4 * i).map(|v| v as usize).ok_or(bad("short header"));
        let (type_off, type_len, str_off, str_len) = (field(0)?, field(1)?, field(2)?, field(3)?);
        let section = |off: usize, len: usize| {
            let start = hdr_len.checked_add(off).ok_or(bad("section out of range"))?;
            data.get(start..start.checked_add(len).ok_or(bad("section out of range"))?).ok_or(bad("section out of range"))
        };
        let types = section(type_off, type_len)?;
        let strings = section(str_off, str_len)?;
        let mut at = Vec::with_capacity(type_len / 24);
        at.push(0);
        let mut off = 0usize;
        while off < types.len() {
            at.push(off as u32);
            let info = u32_at(types, off + 4).ok_or(bad("truncated type"))?;
            let vlen = (info & 0xffff) as usize;
            let tail = match (info >> 24) & 0x1f {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                0 => return Err(bad("type of kind 0")),
                k if k > KIND_ENUM64 => return Err(bad("unknown type kind")),
                _ => 0,
            };
            off += 12 + tail;
        }
        if off != types.len() {
            return Err(bad("type section ends inside a type"));
        }
        Ok(Btf { types, strings, at })
    }

    /// Whether the string at `name_off` is exactly `name` (no scan past its length).
    fn name_is(&self, name_off: u32, name: &[u8]) -> bool {
        let start = name_off as usize;
        self.strings.get(start..start + name.len()) == Some(name) && self.strings.get(start + name.len()) == Some(&0)
    }

    fn name(&self, name_off: u32) -> &'a [u8] {
        let s = self.strings.get(name_off as usize..).unwrap_or(&[]);
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    }

    /// (name_off, info, size_or_type) of type `id`.
    fn head(&self, id: u32) -> Option<(u32, u32, u32)> {
        let off = *self.at.get(id as usize)? as usize;
        Some((u32_at(self.types, off)?, u32_at(self.types, off + 4)?, u32_at(self.types, off + 8)?))
    }

    fn kind(info: u32) -> u32 {
        (info >> 24) & 0x1f
    }

    /// The ids of the first FUNC (`funcs`) and STRUCT (`structs`) types with those names,
    /// in one pass over the type section.
    pub fn lookup<const F: usize, const S: usize>(&self, funcs: [&str; F], structs: [&str; S]) -> Result<([u32; F], [u32; S]), BtfError> {
        let (mut f, mut st) = ([0u32; F], [0u32; S]);
        let mut left = F + S;
        for id in 1..self.at.len() as u32 {
            if left == 0 {
                break;
            }
            let Some((n, info, _)) = self.head(id) else { break };
            let (names, out): (&[&str], &mut [u32]) = match Self::kind(info) {
                KIND_FUNC => (&funcs, &mut f),
                KIND_STRUCT => (&structs, &mut st),
                _ => continue,
            };
            for (i, name) in names.iter().enumerate() {
                if out[i] == 0 && self.name_is(n, name.as_bytes()) {
                    out[i] = id;
                    left -= 1;
                }
            }
        }
        let missing =
            |kind, names: &[&str], ids: &[u32]| names.iter().zip(ids).find(|(_, &id)| id == 0).map(|(n, _)| BtfError::Missing { kind, name: n.to_string() });
        if let Some(e) = missing("function", &funcs, &f).or_else(|| missing("struct", &structs, &st)) {
            return Err(e);
        }
        Ok((f, st))
    }

    /// Follows typedef/const/volatile/restrict/type-tag to the underlying type.
    fn resolve(&self, mut id: u32) -> Option<u32> {
        for _ in 0..32 {
            let (_, info, t) = self.head(id)?;
            match Self::kind(info) {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = t,
                _ => return Some(id),
            }
        }
        None
    }

    /// Byte offset of member `name` in struct/union `id`, searching anonymous members too.
    /// Returns the offset and the member's type id.
    fn member_in(&self, id: u32, name: &str, depth: u32) -> Option<(u32, u32)> {
        if depth > 8 {
            return None;
        }
        let (_, info, _) = self.head(id)?;
        if !matches!(Self::kind(info), KIND_STRUCT | KIND_UNION) {
            return None;
        }
        let kflag = info >> 31 == 1;
        let base = *self.at.get(id as usize)? as usize + 12;
        for i in 0..(info & 0xffff) as usize {
            let m = base + 12 * i;
            let (n, t, raw) = (u32_at(self.types, m)?, u32_at(self.types, m + 4)?, u32_at(self.types, m + 8)?);
            let bits = if kflag { raw & 0x00ff_ffff } else { raw };
            let mname = self.name(n);
            if mname == name.as_bytes() {
                return (bits % 8 == 0).then_some((bits / 8, t));
            }
            if mname.is_empty() {
                if let Some((off, t)) = self.resolve(t).and_then(|inner| self.member_in(inner, name, depth + 1)) {
                    return Some((bits / 8 + off, t));
                }
            }
        }
        None
    }

    /// Byte offset of `path` (member names, each inside the previous one's struct type)
    /// from the start of struct `id`.
    pub fn offset(&self, sname: &str, id: u32, path: &[&str]) -> Result<u32, BtfError> {
        let mut total = 0;
        let mut cur = id;
        for (i, m) in path.iter().enumerate() {
            let (off, t) =
                self.member_in(cur, m, 0).ok_or_else(|| BtfError::Missing { kind: "struct member", name: format!("{sname}.{}", path[..=i].join(".")) })?;
            total += off;
            cur = self.resolve(t).unwrap_or(t);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a BTF blob from (name, info, size_or_type, tail words).
    fn blob(strings: &[u8], types: &[(u32, u32, u32, Vec<u32>)]) -> Vec<u8> {
        let mut t = vec![];
        for (n, info, s, tail) in types {
            for w in [*n, *info, *s].iter().chain(tail) {
                t.extend_from_slice(&w.to_ne_bytes());
            }
        }
        let mut b = vec![];
        b.extend_from_slice(&MAGIC.to_ne_bytes());
        b.extend_from_slice(&[1, 0]);
        for w in [24u32, 0, t.len() as u32, t.len() as u32, strings.len() as u32] {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        b.extend_from_slice(&t);
        b.extend_from_slice(strings);
        b
    }

    #[test]
    fn finds_functions_and_anonymous_members() {
        // strings: 0 "", 1 "int", 5 "f", 7 "s", 9 "a", 11 "num"
        let strings = b"\0int\0f\0s\0a\0num\0";
        let types = vec![
            (1, KIND_INT << 24, 4, vec![32]),                       // 1 int
            (0, KIND_FUNC_PROTO << 24, 1, vec![]),                  // 2 proto
            (5, KIND_FUNC << 24, 2, vec![]),                        // 3 func f
            (0, KIND_STRUCT << 24 | 1, 4, vec![11, 1, 16]),         // 4 anon { num @2 }
            (7, KIND_STRUCT << 24 | 2, 8, vec![9, 1, 0, 0, 4, 32]), // 5 s { a @0; anon @4 }
        ];
        let data = blob(strings, &types);
        let btf = Btf::parse(&data).unwrap();
        let ([f], [s]) = btf.lookup(["f"], ["s"]).unwrap();
        assert_eq!((f, s), (3, 5));
        let e = btf.lookup(["f", "g"], ["s"]).unwrap_err().to_string();
        assert!(e.contains("function named g"), "{e}");
        // "a" is a member name, not a struct; a prefix of "s" is not "s".
        assert!(btf.lookup([], ["a"]).is_err());
        assert_eq!(btf.offset("s", s, &["num"]).unwrap(), 6);
        assert_eq!(btf.offset("s", s, &["a"]).unwrap(), 0);
        let e = btf.offset("s", s, &["nope"]).unwrap_err().to_string();
        assert!(e.contains("s.nope"), "{e}");
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"hello world, this is not btf").is_err());
    }

    #[test]
    fn reads_the_running_kernel() {
        let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else { return };
        let btf = Btf::parse(&data).unwrap();
        let ([_], [sock]) = btf.lookup(["bpf_lsm_socket_bind"], ["sock"]).unwrap();
        let num = btf.offset("sock", sock, &["__sk_common", "skc_num"]).unwrap();
        let fam = btf.offset("sock", sock, &["__sk_common", "skc_family"]).unwrap();
        // skc_num follows skc_dport in the port pair; skc_family follows the pair.
        assert_eq!(fam, num + 2, "skc_num {num} skc_family {fam}");
    }
}
