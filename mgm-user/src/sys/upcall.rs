//! Kernel upcalls on the mroute socket (`struct igmpmsg`) and the socket filter that lets only
//! them through. Pure: parsers and the filter program, no I/O.
use std::net::Ipv4Addr;

/// `IGMPMSG_NOCACHE`: no MFE for (S,G).
pub const IGMPMSG_NOCACHE: u8 = 1;
/// `IGMPMSG_WRONGVIF`: (S,G) arrived on a VIF other than the MFE's parent (`MRT_ASSERT`).
pub const IGMPMSG_WRONGVIF: u8 = 2;
/// `IGMPMSG_WHOLEPKT`: a whole packet for PIM register (`MRT_PIM`).
pub const IGMPMSG_WHOLEPKT: u8 = 3;
/// `IGMPMSG_WRVIFWHOLE`: WRONGVIF with the whole packet.
pub const IGMPMSG_WRVIFWHOLE: u8 = 4;

/// Size of `struct igmpmsg` (it overlays an IPv4 header).
pub const IGMPMSG_LEN: usize = 20;

/// What an upcall reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UpcallKind {
    NoCache,
    WrongVif,
    WholePkt,
    WrongVifWhole,
}

/// A parsed `struct igmpmsg`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Upcall {
    pub kind: UpcallKind,
    /// `im_vif | im_vif_hi << 8`: the VIF the packet arrived on.
    pub vif: u16,
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
}

/// Why a buffer is not an upcall.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UpcallError {
    /// Shorter than `struct igmpmsg`.
    Short(usize),
    /// `im_mbz` (the IP protocol field) is not 0: a real IGMP packet, not an upcall.
    NotUpcall(u8),
    /// Unknown `im_msgtype`.
    UnknownType(u8),
}

/// Parses an upcall read from the mroute socket:
/// ```text
/// struct igmpmsg { u32 unused1, unused2; u8 im_msgtype; u8 im_mbz; u8 im_vif; u8 im_vif_hi;
///                  struct in_addr im_src, im_dst; };
/// ```
pub fn parse_upcall(buf: &[u8]) -> Result<Upcall, UpcallError> {
    if buf.len() < IGMPMSG_LEN {
        return Err(UpcallError::Short(buf.len()));
    }
    if buf[9] != 0 {
        return Err(UpcallError::NotUpcall(buf[9]));
    }
    let kind = match buf[8] {
        IGMPMSG_NOCACHE => UpcallKind::NoCache,
        IGMPMSG_WRONGVIF => UpcallKind::WrongVif,
        IGMPMSG_WHOLEPKT => UpcallKind::WholePkt,
        IGMPMSG_WRVIFWHOLE => UpcallKind::WrongVifWhole,
        t => return Err(UpcallError::UnknownType(t)),
    };
    Ok(Upcall {
        kind,
        vif: u16::from(buf[10]) | (u16::from(buf[11]) << 8),
        source: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        group: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
    })
}

/// Encodes an upcall (for tests and fakes).
#[cfg(test)]
fn encode_upcall(u: &Upcall) -> [u8; IGMPMSG_LEN] {
    let mut b = [0u8; IGMPMSG_LEN];
    b[8] = match u.kind {
        UpcallKind::NoCache => IGMPMSG_NOCACHE,
        UpcallKind::WrongVif => IGMPMSG_WRONGVIF,
        UpcallKind::WholePkt => IGMPMSG_WHOLEPKT,
        UpcallKind::WrongVifWhole => IGMPMSG_WRVIFWHOLE,
    };
    b[10] = u.vif as u8;
    b[11] = (u.vif >> 8) as u8;
    b[12..16].copy_from_slice(&u.source.octets());
    b[16..20].copy_from_slice(&u.group.octets());
    b
}

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const BPF_LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// The socket filter: a raw IGMP socket also gets every IGMP packet (protocol 2), which the
/// eBPF path handles; upcalls carry protocol 0. Keep only those:
/// `ldb [9]; jeq #0, accept, drop; accept: ret #-1; drop: ret #0`.
pub const UPCALL_FILTER: [BpfInsn; 4] = [
    BpfInsn {
        code: BPF_LD_B_ABS,
        jt: 0,
        jf: 0,
        k: 9,
    },
    BpfInsn {
        code: BPF_JEQ_K,
        jt: 0,
        jf: 1,
        k: 0,
    },
    BpfInsn {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: u32::MAX,
    },
    BpfInsn {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: 0,
    },
];

/// A tiny interpreter for the instructions [`UPCALL_FILTER`] uses, so the program is tested
/// on the host: returns the number of bytes the kernel would keep (0 = drop).
#[cfg(test)]
fn run_filter(prog: &[BpfInsn], pkt: &[u8]) -> Option<u32> {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    while let Some(i) = prog.get(pc) {
        match i.code {
            BPF_LD_B_ABS => a = u32::from(*pkt.get(i.k as usize)?),
            BPF_JEQ_K => {
                pc += 1 + usize::from(if a == i.k { i.jt } else { i.jf });
                continue;
            }
            BPF_RET_K => return Some(i.k),
            _ => return None,
        }
        pc += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(t: u8, mbz: u8) -> Vec<u8> {
        let mut b = vec![0u8; 20];
        b[8] = t;
        b[9] = mbz;
        b[10] = 3;
        b[11] = 0;
        b[12..16].copy_from_slice(&[192, 0, 2, 10]);
        b[16..20].copy_from_slice(&[239, 1, 2, 3]);
        b
    }

    #[test]
    fn parses_the_upcall_types() {
        let cases = [
            (1, Ok(UpcallKind::NoCache)),
            (2, Ok(UpcallKind::WrongVif)),
            (3, Ok(UpcallKind::WholePkt)),
            (4, Ok(UpcallKind::WrongVifWhole)),
            (9, Err(UpcallError::UnknownType(9))),
        ];
        for (t, want) in cases {
            let got = parse_upcall(&msg(t, 0)).map(|u| u.kind);
            assert_eq!(got, want, "type {t}");
        }
        let u = parse_upcall(&msg(1, 0)).unwrap();
        assert_eq!(u.vif, 3);
        assert_eq!(u.source, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(u.group, Ipv4Addr::new(239, 1, 2, 3));
        assert_eq!(parse_upcall(&encode_upcall(&u)), Ok(u));
        let mut hi = msg(2, 0);
        hi[11] = 1;
        assert_eq!(parse_upcall(&hi).unwrap().vif, 259);
    }

    #[test]
    fn rejects_short_and_real_igmp() {
        assert_eq!(parse_upcall(&[0u8; 19]), Err(UpcallError::Short(19)));
        assert_eq!(parse_upcall(&[]), Err(UpcallError::Short(0)));
        // A real IGMP packet: IP header with protocol 2.
        assert_eq!(parse_upcall(&msg(1, 2)), Err(UpcallError::NotUpcall(2)));
        // Trailing bytes (the kernel may copy more of the packet) are fine.
        let mut long = msg(1, 0);
        long.extend_from_slice(&[0xAA; 40]);
        assert!(parse_upcall(&long).is_ok());
    }

    #[test]
    fn filter_keeps_only_upcalls() {
        assert_eq!(run_filter(&UPCALL_FILTER, &msg(1, 0)), Some(u32::MAX));
        assert_eq!(
            run_filter(&UPCALL_FILTER, &msg(0x11, 2)),
            Some(0),
            "IGMP report"
        );
        assert_eq!(run_filter(&UPCALL_FILTER, &msg(0, 17)), Some(0), "UDP");
        // Too short to load byte 9: the kernel aborts the program (drop).
        assert_eq!(run_filter(&UPCALL_FILTER, &[0u8; 5]), None);
    }
}
