//! Sends IGMP queries (and the proxy's reports) on one interface, with the IPv4 header built
//! in [`super::igmp_frame`]: TTL 1, ToS 0xc0, Router Alert, as RFC 2236/3376 require.
//!
//! - On Ethernet links, a send-only packet socket: the packet goes straight to the interface,
//!   to the group's Ethernet address. No route lookup, no netfilter, and above all no
//!   neighbour entry per destination group (a raw IP socket makes one for every group queried,
//!   which the kernel later garbage-collects: thousands of leaves churned the neighbour table).
//!   Identification and checksum are ours.
//! - On other links (tun, PPP, ipip, GRE: no Ethernet header), a send-only raw IP socket
//!   (IPPROTO_RAW, so it never queues received packets) bound to the interface, multicast
//!   loopback off; the kernel fills identification and checksum.
//!
//! Neither hands a copy back to this host's own stack: the router ignores its own queries.
use super::igmp_frame::{ip_header, multicast_mac, IgmpLen, IP_HEADER_LEN};
use super::link::LinkKind;
use super::raw_socket::{open_packet_sender, open_raw, send_packet};
use anyhow::{Context, Result};
use nix::sys::socket::{sendto, setsockopt, sockopt, MsgFlags, SockaddrIn};
use std::cell::Cell;
use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

enum Path {
    /// Packet socket, Ethernet links: out of `ifindex`, identification `next_id` onwards.
    Ethernet {
        fd: OwnedFd,
        ifindex: u32,
        next_id: Cell<u16>,
    },
    /// Raw IP socket bound to the interface.
    Ip(OwnedFd),
}

pub(crate) struct QuerySender {
    path: Path,
    ifname: String,
    src: Ipv4Addr,
}

impl QuerySender {
    /// The sender for interface `ifname` (index `ifindex`), source address `src`: by packet
    /// socket on Ethernet links, by raw IP socket on the others.
    pub(crate) fn open(ifname: &str, ifindex: u32, src: Ipv4Addr) -> Result<Self> {
        let ethernet = super::link::device_type(ifname)?.and_then(LinkKind::of_type)
            == Some(LinkKind::Ethernet);
        let path = if ethernet {
            let fd = open_packet_sender()
                .with_context(|| format!("opening the packet socket for queries on {ifname}"))?;
            Path::Ethernet {
                fd,
                ifindex,
                next_id: Cell::new(first_id(ifindex)),
            }
        } else {
            Path::Ip(open_ip(ifname)?)
        };
        Ok(Self {
            path,
            ifname: ifname.to_string(),
            src,
        })
    }

    /// Sends one IGMP message to `dst` on this interface.
    pub(crate) fn send(&self, dst: Ipv4Addr, igmp: &[u8]) -> Result<()> {
        let len = IgmpLen::new(igmp.len())
            .with_context(|| format!("an IGMP message of {} bytes to {dst}", igmp.len()))?;
        let id = match &self.path {
            Path::Ethernet { next_id, .. } => {
                let id = next_id.get();
                next_id.set(id.wrapping_add(1));
                Some(id)
            }
            Path::Ip(_) => None,
        };
        let mut packet = Vec::with_capacity(IP_HEADER_LEN + igmp.len());
        packet.extend_from_slice(&ip_header(self.src, dst, id, len));
        packet.extend_from_slice(igmp);
        let sent = match &self.path {
            Path::Ethernet { fd, ifindex, .. } => {
                send_packet(fd.as_fd(), *ifindex, multicast_mac(dst), &packet).map_err(Into::into)
            }
            Path::Ip(fd) => {
                let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
                sendto(fd.as_raw_fd(), &packet, &to, MsgFlags::empty())
                    .map(drop)
                    .map_err(Into::<anyhow::Error>::into)
            }
        };
        sent.with_context(|| format!("sending IGMP to {dst} on {}", self.ifname))
    }
}

/// The raw IP socket of a link without Ethernet header.
fn open_ip(ifname: &str) -> Result<OwnedFd> {
    let fd = open_raw(libc::IPPROTO_RAW, true)
        .with_context(|| format!("opening the raw socket for queries on {ifname}"))?;
    setsockopt(&fd, sockopt::BindToDevice, &OsString::from(ifname))
        .with_context(|| format!("binding the query socket to {ifname}"))?;
    setsockopt(&fd, sockopt::IpMulticastLoop, &false)
        .with_context(|| format!("turning multicast loopback off on {ifname}"))?;
    Ok(fd)
}

/// Where an interface's identifications start: differing between interfaces and runs, so
/// that a restart does not reuse the last run's numbers at once.
fn first_id(ifindex: u32) -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ ifindex.wrapping_mul(0x9e37_79b9) ^ std::process::id()) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_without_ethernet_header_send_by_ip_without_loopback() {
        // Opening needs CAP_NET_RAW (the tests run as root, like the namespace tests).
        let q = QuerySender::open("lo", 1, Ipv4Addr::LOCALHOST).expect("query socket on lo");
        let Path::Ip(fd) = &q.path else {
            panic!("lo has no Ethernet header: raw IP socket expected");
        };
        let looped =
            nix::sys::socket::getsockopt(fd, sockopt::IpMulticastLoop).expect("IP_MULTICAST_LOOP");
        assert!(!looped);
    }

    #[test]
    fn a_message_too_long_for_ipv4_is_refused_with_its_size() {
        let q = QuerySender::open("lo", 1, Ipv4Addr::LOCALHOST).expect("query socket on lo");
        let e = q
            .send(Ipv4Addr::new(224, 0, 0, 1), &vec![0u8; 70_000])
            .expect_err("too long");
        assert!(format!("{e:#}").contains("70000 bytes"), "{e:#}");
    }
}
