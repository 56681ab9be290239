//! Sends IGMP queries on one interface: a send-only raw socket (IPPROTO_RAW, so it never queues
//! received packets) bound to the interface, with the IPv4 header built here: TTL 1, ToS 0xc0
//! (internetwork control), Router Alert option (RFC 2113), as RFC 2236/3376 require.
//!
//! Multicast loopback is off: the kernel would otherwise hand a copy of every query (and every
//! proxy report) back to this host's own stack, at the sender's expense, for nobody (the
//! router ignores its own queries).
use super::raw_socket::open_raw;
use anyhow::{Context, Result};
use nix::sys::socket::{sendto, setsockopt, sockopt, MsgFlags, SockaddrIn};
use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

/// IPv4 header length with the 4-byte Router Alert option.
pub(crate) const IP_HEADER_LEN: usize = 24;

/// The IPv4 header of an IGMP packet we send. Identification and checksum are left 0: with
/// IP_HDRINCL the kernel fills both.
pub(crate) fn ip_header(src: Ipv4Addr, dst: Ipv4Addr, igmp_len: usize) -> [u8; IP_HEADER_LEN] {
    let total = (IP_HEADER_LEN + igmp_len) as u16;
    let mut h = [0u8; IP_HEADER_LEN];
    h[0] = 0x46; // version 4, IHL 6 words
    h[1] = 0xc0; // ToS: internetwork control
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[8] = 1; // TTL
    h[9] = mgm_common::igmp::IPPROTO_IGMP;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    h[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]); // Router Alert
    h
}

pub(crate) struct QuerySender {
    fd: OwnedFd,
    ifname: String,
    src: Ipv4Addr,
}

impl QuerySender {
    pub(crate) fn open(ifname: &str, src: Ipv4Addr) -> Result<Self> {
        let fd = open_raw(libc::IPPROTO_RAW, true)
            .with_context(|| format!("opening the raw socket for queries on {ifname}"))?;
        setsockopt(&fd, sockopt::BindToDevice, &OsString::from(ifname))
            .with_context(|| format!("binding the query socket to {ifname}"))?;
        setsockopt(&fd, sockopt::IpMulticastLoop, &false)
            .with_context(|| format!("turning multicast loopback off on {ifname}"))?;
        Ok(Self {
            fd,
            ifname: ifname.to_string(),
            src,
        })
    }

    /// Sends one IGMP message to `dst` on this interface.
    pub(crate) fn send(&self, dst: Ipv4Addr, igmp: &[u8]) -> Result<()> {
        let mut packet = Vec::with_capacity(IP_HEADER_LEN + igmp.len());
        packet.extend_from_slice(&ip_header(self.src, dst, igmp.len()));
        packet.extend_from_slice(igmp);
        let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
        sendto(self.fd.as_raw_fd(), &packet, &to, MsgFlags::empty())
            .with_context(|| format!("sending IGMP to {dst} on {}", self.ifname))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_queries_are_not_looped_back_to_this_host() {
        // Opening needs CAP_NET_RAW (the tests run as root, like the namespace tests).
        let q = QuerySender::open("lo", Ipv4Addr::LOCALHOST).expect("query socket on lo");
        let looped = nix::sys::socket::getsockopt(&q.fd, sockopt::IpMulticastLoop)
            .expect("IP_MULTICAST_LOOP");
        assert!(!looped);
    }

    #[test]
    fn header_carries_ttl_1_tos_c0_and_router_alert() {
        let h = ip_header(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 1), 12);
        assert_eq!(h[0], 0x46);
        assert_eq!(h[1], 0xc0);
        assert_eq!(u16::from_be_bytes([h[2], h[3]]), 36);
        assert_eq!(h[8], 1);
        assert_eq!(h[9], 2);
        assert_eq!(&h[12..16], &[192, 0, 2, 1]);
        assert_eq!(&h[16..20], &[224, 0, 0, 1]);
        assert_eq!(&h[20..24], &[0x94, 0x04, 0, 0]);
    }
}
