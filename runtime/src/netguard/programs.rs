//! The guard's programs, generated per container from its port lists: straight chains of
//! compares ending in allow (1) or deny (0). Both program kinds follow the cgroup
//! convention: 0 makes the syscall fail with EPERM.

use super::asm::{Asm, Cond, Insn, Label, Size, R0, R1, R10, R2, R3, R4, R5, R6, R7, R8};
use super::policy::NetPolicy;

const AF_UNIX: i32 = 1;
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;
const AF_NETLINK: i32 = 16;
const SOCK_STREAM: i32 = 1;
const SOCK_DGRAM: i32 = 2;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_UDP: i32 = 17;
const NETLINK_ROUTE: i32 = 0;
const HELPER_PROBE_READ_KERNEL: i32 = 113;

// struct bpf_sock_addr (linux/bpf.h): the fields read here.
const SA_USER_PORT: i16 = 24;
const SA_PROTOCOL: i16 = 36;

/// Offsets read from the kernel's BTF (they change between kernel builds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// struct socket -> sk
    pub socket_sk: i16,
    /// struct sock -> __sk_common.skc_num (local port, host order)
    pub sock_num: i16,
    /// struct sock -> __sk_common.skc_family
    pub sock_family: i16,
}

/// The two exits; one no jump reaches is left out (the verifier refuses dead code).
fn allow_deny(a: &mut Asm, allow: Label, deny: Label) {
    if a.is_used(allow) {
        a.bind(allow);
        a.ret(1);
    }
    if a.is_used(deny) {
        a.bind(deny);
        a.ret(0);
    }
}

/// `if (u32)reg == any of ports goto yes` for ports compared as the kernel stores them.
fn port_chain(a: &mut Asm, reg: u8, ports: &[u16], network_order: bool, yes: Label) {
    for &p in ports {
        let v = if network_order { u16::to_be(p) } else { p };
        a.jmp32_imm(Cond::Eq, reg, v as i32, yes);
    }
}

/// LSM socket_create(family, type, protocol, kern): the socket families and, for IP, the
/// protocols a guarded container may create. IPPROTO_IP (0) stands for the family's
/// first permanent protocol of that type, which is TCP for stream and UDP for datagram.
pub fn socket_create(p: &NetPolicy) -> Vec<Insn> {
    let mut a = Asm::default();
    let (allow, deny, inet, stream, dgram) = (a.label(), a.label(), a.label(), a.label(), a.label());
    a.ldx(Size::DW, R2, R1, 0);
    a.ldx(Size::DW, R3, R1, 8);
    a.ldx(Size::DW, R4, R1, 16);
    a.ldx(Size::DW, R5, R1, 24);
    // Sockets the kernel makes for itself are not the container's doing.
    a.jmp32_imm(Cond::Ne, R5, 0, allow);
    a.jmp32_imm(Cond::Eq, R2, AF_UNIX, allow);
    a.jmp32_imm(Cond::Eq, R2, AF_INET, inet);
    a.jmp32_imm(Cond::Eq, R2, AF_INET6, inet);
    // Netlink for routing information only (getaddrinfo needs it); sock_diag, audit,
    // uevents and the rest are host interfaces a service has no business with.
    a.jmp32_imm(Cond::Ne, R2, AF_NETLINK, deny);
    a.jmp32_imm(Cond::Eq, R4, NETLINK_ROUTE, allow);
    a.ja(deny);
    a.bind(inet);
    a.and_imm(R3, 0xf);
    a.jmp32_imm(Cond::Eq, R3, SOCK_STREAM, stream);
    if p.udp_enabled() {
        a.jmp32_imm(Cond::Eq, R3, SOCK_DGRAM, dgram);
    }
    a.ja(deny);
    a.bind(stream);
    a.jmp32_imm(Cond::Eq, R4, 0, allow);
    a.jmp32_imm(Cond::Eq, R4, IPPROTO_TCP, allow);
    a.ja(deny);
    a.bind(dgram);
    if p.udp_enabled() {
        a.jmp32_imm(Cond::Eq, R4, 0, allow);
        a.jmp32_imm(Cond::Eq, R4, IPPROTO_UDP, allow);
    }
    a.ja(deny);
    allow_deny(&mut a, allow, deny);
    a.finish()
}

// struct bpf_sock (linux/bpf.h).
const SK_FAMILY: i16 = 4;
const SK_TYPE: i16 = 8;
const SK_PROTOCOL: i16 = 12;
const SK_SRC_PORT: i16 = 44;
const SK_STATE: i16 = 72;
// struct __sk_buff: the `sk` pointer.
const SKB_SK: i16 = 168;
const TCP_LISTEN: i32 = 10;

/// cgroup sock_create (inet_create/inet6_create, after the protocol is resolved): IP
/// sockets may be TCP, or UDP when a UDP list is declared. MPTCP, SCTP, raw, ping and
/// UDP-Lite sockets are refused at birth, whatever call path made them.
pub fn inet_sock_create(p: &NetPolicy) -> Vec<Insn> {
    let mut a = Asm::default();
    let (allow, deny, inet) = (a.label(), a.label(), a.label());
    a.ldx(Size::W, R2, R1, SK_FAMILY);
    a.ldx(Size::W, R3, R1, SK_TYPE);
    a.ldx(Size::W, R4, R1, SK_PROTOCOL);
    a.jmp32_imm(Cond::Eq, R2, AF_INET, inet);
    a.jmp32_imm(Cond::Eq, R2, AF_INET6, inet);
    // The hook only runs for IP sockets; anything else reaching it is unexpected.
    a.ja(deny);
    a.bind(inet);
    let not_stream = a.label();
    a.jmp32_imm(Cond::Ne, R3, SOCK_STREAM, not_stream);
    a.jmp32_imm(Cond::Eq, R4, IPPROTO_TCP, allow);
    a.ja(deny);
    a.bind(not_stream);
    if p.udp_enabled() {
        a.jmp32_imm(Cond::Ne, R3, SOCK_DGRAM, deny);
        a.jmp32_imm(Cond::Eq, R4, IPPROTO_UDP, allow);
    }
    a.ja(deny);
    allow_deny(&mut a, allow, deny);
    a.finish()
}

/// cgroup skb ingress: a packet for a TCP listener of the container whose port is not in
/// the bind list is dropped. This is what stops listen() without bind(): the kernel gives
/// such a socket an ephemeral port without any bind hook seeing it, and no BPF hook can
/// refuse the listen() itself except the LSM one, which not every host can load. Only
/// listeners are looked at: the container's own outgoing connections receive on
/// ephemeral ports and pass.
pub fn skb_ingress(bind: &[u16]) -> Vec<Insn> {
    let mut a = Asm::default();
    let (allow, deny) = (a.label(), a.label());
    a.ldx(Size::DW, R2, R1, SKB_SK);
    a.jmp_imm(Cond::Eq, R2, 0, allow);
    a.ldx(Size::W, R3, R2, SK_STATE);
    a.jmp32_imm(Cond::Ne, R3, TCP_LISTEN, allow);
    a.ldx(Size::W, R4, R2, SK_FAMILY);
    let inet = a.label();
    a.jmp32_imm(Cond::Eq, R4, AF_INET, inet);
    a.jmp32_imm(Cond::Ne, R4, AF_INET6, allow);
    a.bind(inet);
    a.ldx(Size::W, R5, R2, SK_SRC_PORT);
    port_chain(&mut a, R5, bind, false, allow);
    a.ja(deny);
    allow_deny(&mut a, allow, deny);
    a.finish()
}

/// Where the copied sockaddr starts on the stack: 3 bytes before an 8-aligned slot, so the
/// abstract name (after family and the leading NUL) can be compared 8 bytes at a time.
const SUN_BUF: i16 = -123;
const SUN_COPY: i32 = 120;

/// LSM socket_bind(sock, address, addrlen): AF_UNIX binds to abstract names (and the
/// autobind form, addrlen == sizeof(sa_family_t)) only for the declared names.
/// Filesystem names are Landlock's business; IP binds are checked by the bind4/6 hooks.
pub fn socket_bind(p: &NetPolicy) -> Vec<Insn> {
    let mut a = Asm::default();
    let (allow, deny) = (a.label(), a.label());
    a.ldx(Size::DW, R7, R1, 8); // address
    a.ldx(Size::DW, R8, R1, 16); // addrlen
    a.ldx(Size::H, R2, R7, 0); // sa_family
    a.jmp32_imm(Cond::Ne, R2, AF_UNIX, allow);
    a.jmp32_imm(Cond::Sle, R8, 2, deny);
    if p.unix_bind.is_empty() {
        a.ldx(Size::B, R2, R7, 2); // sun_path[0]
        a.jmp32_imm(Cond::Eq, R2, 0, deny);
        a.ja(allow);
    } else {
        a.mov_reg(R1, R10);
        a.add_imm(R1, SUN_BUF as i32);
        a.mov_imm(R2, SUN_COPY);
        a.mov_reg(R3, R7);
        a.call(HELPER_PROBE_READ_KERNEL);
        a.jmp_imm(Cond::Ne, R0, 0, deny);
        a.ldx(Size::B, R2, R10, SUN_BUF + 2);
        a.jmp32_imm(Cond::Ne, R2, 0, allow);
        for name in &p.unix_bind {
            let next = a.label();
            a.jmp32_imm(Cond::Ne, R8, 3 + name.len() as i32, next);
            for (i, chunk) in name.chunks(8).enumerate() {
                let mut w = [0u8; 8];
                w[..chunk.len()].copy_from_slice(chunk);
                a.ldx(Size::DW, R2, R10, SUN_BUF + 3 + 8 * i as i16);
                if chunk.len() < 8 {
                    // Bytes past the name are whatever followed it in the caller's buffer.
                    a.ld_imm64(R3, (1u64 << (8 * chunk.len())) - 1);
                    a.and_reg(R2, R3);
                }
                a.ld_imm64(R3, u64::from_ne_bytes(w));
                a.jmp_reg(Cond::Ne, R2, R3, next);
            }
            a.ja(allow);
            a.bind(next);
        }
        a.ja(deny);
    }
    allow_deny(&mut a, allow, deny);
    a.finish()
}

/// LSM socket_listen(sock, backlog): an IP socket may listen only on a declared TCP bind
/// port. A socket that was never bound has port 0 here and would be given an ephemeral
/// port by listen() itself (autobind), so it is refused unless 0 is declared.
pub fn socket_listen(bind: &[u16], l: Layout) -> Vec<Insn> {
    let mut a = Asm::default();
    let (allow, deny, inet) = (a.label(), a.label(), a.label());
    a.ldx(Size::DW, R2, R1, 0); // struct socket *
    a.ldx(Size::DW, R3, R2, l.socket_sk);
    a.jmp_imm(Cond::Eq, R3, 0, deny);
    a.ldx(Size::H, R4, R3, l.sock_family);
    a.jmp32_imm(Cond::Eq, R4, AF_INET, inet);
    a.jmp32_imm(Cond::Eq, R4, AF_INET6, inet);
    a.ja(allow);
    a.bind(inet);
    a.ldx(Size::H, R5, R3, l.sock_num);
    port_chain(&mut a, R5, bind, false, allow);
    a.ja(deny);
    allow_deny(&mut a, allow, deny);
    a.finish()
}

/// cgroup sock_addr program (bind4/6, connect4/6, sendmsg4/6): TCP against `tcp`
/// (`None`: any port), UDP against `udp`, any other protocol refused.
pub fn sock_addr(tcp: Option<&[u16]>, udp: &[u16]) -> Vec<Insn> {
    let mut a = Asm::default();
    let (allow, deny, is_tcp) = (a.label(), a.label(), a.label());
    a.ldx(Size::W, R6, R1, SA_USER_PORT);
    a.ldx(Size::W, R2, R1, SA_PROTOCOL);
    a.jmp32_imm(Cond::Eq, R2, IPPROTO_TCP, is_tcp);
    a.jmp32_imm(Cond::Ne, R2, IPPROTO_UDP, deny);
    port_chain(&mut a, R6, udp, true, allow);
    a.ja(deny);
    a.bind(is_tcp);
    match tcp {
        Some(ports) => {
            port_chain(&mut a, R6, ports, true, allow);
            a.ja(deny);
        }
        None => a.ja(allow),
    }
    allow_deny(&mut a, allow, deny);
    a.finish()
}
