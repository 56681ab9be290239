//! The host's side: IGMPv3 reports sent from a raw socket in the host namespace, and the groups
//! they name.

use crate::traffic::checksum;
use crate::HOST;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A raw IGMP socket in a host namespace, sending from [`HOST`] to 224.0.0.22 with Router Alert
/// and TTL 1 (what `v3_flood.py` does).
pub(crate) struct RawIgmp(OwnedFd);

impl RawIgmp {
    /// Enters `ns` (the calling thread stays there) and opens the socket.
    pub(crate) fn open_in(ns: &str) -> RawIgmp {
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("open the host netns");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns to the host");
        // SAFETY: plain socket(2) call with constant arguments.
        let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_IGMP) };
        assert!(
            raw >= 0,
            "raw IGMP socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let s = RawIgmp(unsafe { OwnedFd::from_raw_fd(raw) });
        s.set(libc::IP_OPTIONS, &[0x94u8, 4, 0, 0]);
        s.set(libc::IP_MULTICAST_TTL, &1i32);
        s.set(libc::IP_MULTICAST_LOOP, &0i32);
        let ifaddr = libc::in_addr {
            s_addr: u32::from(HOST).to_be(),
        };
        s.set(libc::IP_MULTICAST_IF, &ifaddr);
        s
    }

    pub(crate) fn set<T: ?Sized>(&self, opt: i32, v: &T) {
        // SAFETY: `v` is a live value of the size passed; the fd is valid.
        let r = unsafe {
            libc::setsockopt(
                self.0.as_raw_fd(),
                libc::IPPROTO_IP,
                opt,
                (v as *const T).cast(),
                std::mem::size_of_val(v) as u32,
            )
        };
        assert!(
            r == 0,
            "setsockopt {opt}: {}",
            std::io::Error::last_os_error()
        );
    }

    pub(crate) fn send(&self, msg: &[u8]) {
        // SAFETY: zeroed sockaddr_in is a valid value; the fields are filled below.
        let mut to: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        to.sin_family = libc::AF_INET as u16;
        to.sin_addr.s_addr = u32::from(Ipv4Addr::new(224, 0, 0, 22)).to_be();
        // SAFETY: `msg` and `to` are live buffers of the sizes passed; the fd is valid.
        let n = unsafe {
            libc::sendto(
                self.0.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&to as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            )
        };
        assert!(
            n == msg.len() as isize,
            "sendto: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// An IGMPv3 report with one MODE_IS_EXCLUDE record without sources per group.
pub(crate) fn v3_report(groups: impl Iterator<Item = Ipv4Addr>) -> Vec<u8> {
    let mut m = vec![0x22, 0, 0, 0, 0, 0, 0, 0];
    let mut n: u16 = 0;
    for g in groups {
        m.extend_from_slice(&[2, 0, 0, 0]);
        m.extend_from_slice(&g.octets());
        n += 1;
    }
    m[6..8].copy_from_slice(&n.to_be_bytes());
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// The groups of a v3 report's records.
pub(crate) fn report_groups(igmp: &[u8]) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    if igmp.len() < 8 || igmp[0] != 0x22 {
        return out;
    }
    let n = usize::from(u16::from_be_bytes([igmp[6], igmp[7]]));
    let mut at = 8;
    for _ in 0..n {
        let Some(r) = igmp.get(at..at + 8) else { break };
        out.push(Ipv4Addr::new(r[4], r[5], r[6], r[7]));
        let aux = usize::from(r[1]) * 4;
        at += 8 + usize::from(u16::from_be_bytes([r[2], r[3]])) * 4 + aux;
    }
    out
}

/// Group `i` of a throughput run (the addresses `v3_flood.py` uses).
pub(crate) fn group(i: usize) -> Ipv4Addr {
    let a = i / 250;
    Ipv4Addr::new(
        239,
        (1 + a / 250) as u8,
        (a % 250) as u8,
        (1 + i % 250) as u8,
    )
}
