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
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

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
    /// Packets queued by [`Self::queue`], sent together by [`Self::flush`].
    queued: Queued,
}

/// Queued packets, back to back in one buffer that keeps its capacity between batches.
#[derive(Default)]
struct Queued {
    bytes: Vec<u8>,
    /// Each packet's destination and end in `bytes`.
    packets: Vec<(Ipv4Addr, usize)>,
}

/// Messages per `sendmmsg` call (a longer queue takes several).
const SEND_BATCH: usize = 64;

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
            queued: Queued::default(),
        })
    }

    /// The source address of the queries queued from now on (the interface was re-addressed).
    pub(crate) fn set_source(&mut self, src: Ipv4Addr) {
        self.src = src;
    }

    /// Queues one IGMP message to `dst` on this interface, for [`Self::flush`]; refuses one too
    /// long for IPv4.
    pub(crate) fn queue(&mut self, dst: Ipv4Addr, igmp: &[u8]) -> Result<()> {
        let len = IgmpLen::new(igmp.len())
            .with_context(|| format!("an IGMP message of {} bytes to {dst}", igmp.len()))?;
        let header = ip_header(self.src, dst, self.next_id(), len);
        let q = &mut self.queued;
        q.bytes.reserve(IP_HEADER_LEN + igmp.len());
        q.bytes.extend_from_slice(&header);
        q.bytes.extend_from_slice(igmp);
        q.packets.push((dst, q.bytes.len()));
        Ok(())
    }

    /// The lengths of the queued packets, IPv4 header included, taken out of the queue unsent.
    #[cfg(test)]
    pub(crate) fn take_queued_lengths(&mut self) -> Vec<usize> {
        let q = std::mem::take(&mut self.queued);
        let mut start = 0;
        q.packets
            .iter()
            .map(|&(_, end)| {
                let len = end - start;
                start = end;
                len
            })
            .collect()
    }

    /// Whether packets wait for [`Self::flush`].
    pub(crate) fn has_queued(&self) -> bool {
        !self.queued.packets.is_empty()
    }

    /// Sends the queued packets in their order, [`SEND_BATCH`] per `sendmmsg`; `failed` is told
    /// of each packet the kernel refused (the others still go). The queue is empty after.
    pub(crate) fn flush(&mut self, failed: &mut dyn FnMut(anyhow::Error)) {
        let q = std::mem::take(&mut self.queued);
        let mut start = 0;
        let mut at = 0;
        while at < q.packets.len() {
            let batch = &q.packets[at..(at + SEND_BATCH).min(q.packets.len())];
            // The kernel takes the messages in order and stops at the first it refuses: that one
            // is told and skipped, the rest go in the next call.
            let taken = match self.send_batch(&q.bytes, start, batch) {
                Ok(n) if n > 0 => n.min(batch.len()),
                sent => {
                    let e = sent.err().map_or_else(
                        || anyhow::anyhow!("the kernel took none of the batch"),
                        anyhow::Error::new,
                    );
                    failed(e.context(format!("sending IGMP to {} on {}", batch[0].0, self.ifname)));
                    1
                }
            };
            start = batch[taken - 1].1;
            at += taken;
        }
        let mut q = q;
        q.bytes.clear();
        q.packets.clear();
        self.queued = q;
    }

    /// One `sendmmsg` of `batch` (destinations and ends in `bytes`, the first starting at
    /// `start`): how many the kernel took.
    fn send_batch(
        &self,
        bytes: &[u8],
        start: usize,
        batch: &[(Ipv4Addr, usize)],
    ) -> std::io::Result<usize> {
        let mut from = start;
        let packets = batch.iter().map(|&(dst, end)| {
            let p = (dst, &bytes[from..end]);
            from = end;
            p
        });
        match &self.path {
            Path::Ethernet { fd, ifindex, .. } => {
                let to = packets.map(|(dst, p)| (link_address(*ifindex, multicast_mac(dst)), p));
                send_many(fd.as_fd(), to)
            }
            Path::Ip(fd) => {
                let to = packets.map(|(dst, p)| {
                    let a = SockaddrIn::from(SocketAddrV4::new(dst, 0));
                    (libc::sockaddr_in::from(a), p)
                });
                send_many(fd.as_fd(), to)
            }
        }
    }

    /// The identification of the next packet: ours on Ethernet links, the kernel's on others.
    fn next_id(&self) -> Option<u16> {
        match &self.path {
            Path::Ethernet { next_id, .. } => {
                let id = next_id.get();
                next_id.set(id.wrapping_add(1));
                Some(id)
            }
            Path::Ip(_) => None,
        }
    }

    /// Sends one IGMP message to `dst` on this interface.
    pub(crate) fn send(&self, dst: Ipv4Addr, igmp: &[u8]) -> Result<()> {
        let len = IgmpLen::new(igmp.len())
            .with_context(|| format!("an IGMP message of {} bytes to {dst}", igmp.len()))?;
        let mut packet = Vec::with_capacity(IP_HEADER_LEN + igmp.len());
        packet.extend_from_slice(&ip_header(self.src, dst, self.next_id(), len));
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

/// The packet socket address of `mac` on interface `ifindex` (the kernel writes the Ethernet
/// header, source address the interface's).
fn link_address(ifindex: u32, mac: [u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: an all-zero sockaddr_ll is a valid value; the fields that matter are set below.
    let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    to.sll_family = libc::AF_PACKET as u16;
    to.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    to.sll_ifindex = i32::try_from(ifindex).unwrap_or(0);
    to.sll_halen = 6;
    to.sll_addr[..6].copy_from_slice(&mac);
    to
}

/// One `sendmmsg` of up to [`SEND_BATCH`] packets, each to its own address (`A`, a sockaddr):
/// how many the kernel took (it stops at the first it refuses; an error means it took none).
fn send_many<'a, A: Copy>(
    fd: BorrowedFd<'_>,
    packets: impl Iterator<Item = (A, &'a [u8])>,
) -> std::io::Result<usize> {
    let mut addrs = [None::<A>; SEND_BATCH];
    // SAFETY: all-zero iovec and mmsghdr values are valid (null pointers, zero lengths); the
    // ones passed to the kernel are filled below.
    let mut iovs: [libc::iovec; SEND_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; SEND_BATCH] = unsafe { std::mem::zeroed() };
    let mut n = 0;
    for (addr, packet) in packets.take(SEND_BATCH) {
        addrs[n] = Some(addr);
        iovs[n].iov_base = packet.as_ptr() as *mut libc::c_void;
        iovs[n].iov_len = packet.len();
        n += 1;
    }
    for ((msg, iov), addr) in msgs.iter_mut().zip(iovs.iter_mut()).zip(addrs.iter_mut()) {
        let Some(a) = addr else { break };
        msg.msg_hdr.msg_name = (a as *mut A).cast();
        msg.msg_hdr.msg_namelen = size_of::<A>() as libc::socklen_t;
        msg.msg_hdr.msg_iov = iov;
        msg.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: the first `n` headers point at addresses and iovecs that live in this frame
    // across the call, each iovec at a packet borrowed for the call; the kernel only reads the
    // packets and addresses and writes `msg_len`; `fd` is a valid open fd.
    let r = unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), n as libc::c_uint, 0) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r as usize)
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
    fn a_queue_longer_than_one_sendmmsg_goes_out_whole_and_empties() {
        let mut q = QuerySender::open("lo", 1, Ipv4Addr::LOCALHOST).expect("query socket on lo");
        let n = SEND_BATCH * 2 + 3;
        for i in 0..n {
            let dst = Ipv4Addr::new(239, 1, 0, i as u8);
            q.queue(dst, &[0x11, 10, 0, 0, 239, 1, 0, i as u8])
                .expect("an 8-byte query");
        }
        assert!(q.has_queued());
        let mut failures = Vec::new();
        q.flush(&mut |e| failures.push(format!("{e:#}")));
        assert!(failures.is_empty(), "{failures:?}");
        assert!(!q.has_queued());
        // The buffer is kept for the next batch.
        assert!(q.queued.bytes.capacity() >= n * (IP_HEADER_LEN + 8));
    }

    #[test]
    fn a_refused_packet_is_told_with_its_destination_and_the_rest_still_go() {
        let mut q = QuerySender::open("lo", 1, Ipv4Addr::LOCALHOST).expect("query socket on lo");
        // The raw socket refuses a packet whose IP header claims more bytes than it holds.
        q.queue(Ipv4Addr::new(239, 1, 0, 1), &[0x11; 8])
            .expect("queued");
        let bad = q.queued.bytes.len();
        q.queue(Ipv4Addr::new(239, 1, 0, 2), &[0x11; 8])
            .expect("queued");
        q.queue(Ipv4Addr::new(239, 1, 0, 3), &[0x11; 8])
            .expect("queued");
        // The second packet's header length: 60 bytes, of a 28-byte packet.
        q.queued.bytes[bad] = 0x4f;
        let mut failures = Vec::new();
        q.flush(&mut |e| failures.push(format!("{e:#}")));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("239.1.0.2 on lo"), "{failures:?}");
        assert!(!q.has_queued());
    }

    #[test]
    fn a_message_too_long_for_ipv4_is_refused_with_its_size() {
        let mut q = QuerySender::open("lo", 1, Ipv4Addr::LOCALHOST).expect("query socket on lo");
        let e = q
            .send(Ipv4Addr::new(224, 0, 0, 1), &vec![0u8; 70_000])
            .expect_err("too long");
        assert!(format!("{e:#}").contains("70000 bytes"), "{e:#}");
        let e = q
            .queue(Ipv4Addr::new(224, 0, 0, 1), &vec![0u8; 70_000])
            .expect_err("too long");
        assert!(!q.has_queued());
        assert!(format!("{e:#}").contains("70000 bytes"), "{e:#}");
    }
}
