//! Watches links and addresses (rtnetlink `RTMGRP_LINK`, `RTMGRP_IPV4_IFADDR`): a managed
//! interface that is deleted while mgm runs is taken out of IGMP and forwarding at once, one
//! whose IPv4 addresses change or go is looked at again, and a listed interface that appears
//! (late, or again) is managed as soon as it has an IPv4 address (a PPP link that dials in, a
//! WireGuard or tunnel device, a re-created veth, a late VLAN or bridge).
use anyhow::{anyhow, Context, Result};
use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, RawFd};

/// rtnetlink multicast groups of link changes and IPv4 address changes.
const RTMGRP_LINK: u32 = 1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;

/// What changed since the last look.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LinkChanges {
    /// ifindexes of deleted links.
    pub removed: Vec<u32>,
    /// A link appeared or changed, or an IPv4 address was added or removed: the listed
    /// interfaces are to be looked at again (ready to be managed, or their addresses changed).
    pub changed: bool,
}

pub struct LinkWatch {
    sock: Socket,
}

impl LinkWatch {
    pub fn open() -> Result<Self> {
        let mut sock = Socket::new(NETLINK_ROUTE).context("link watch: open rtnetlink socket")?;
        sock.bind(&SocketAddr::new(0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR))
            .context("link watch: subscribe to link and address changes")?;
        sock.set_non_blocking(true)
            .context("link watch: non-blocking socket")?;
        Ok(LinkWatch { sock })
    }

    /// Reads every queued notification.
    pub fn changes(&mut self) -> Result<LinkChanges> {
        let mut out = LinkChanges::default();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match self.sock.recv(&mut &mut buf[..], 0) {
                Ok(n) => {
                    let c = link_changes(&buf[..n.min(buf.len())]);
                    out.removed.extend(c.removed);
                    out.changed |= c.changed;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // ENOBUFS: notifications were lost; look for listed interfaces anyway.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    log::warn!("link watch: link notifications lost (ENOBUFS)");
                    out.changed = true;
                    continue;
                }
                Err(e) => return Err(anyhow!(e)).context("link watch: read"),
            }
        }
    }
}

impl AsRawFd for LinkWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// The changes in one datagram; anything else (or malformed) is skipped.
pub fn link_changes(buf: &[u8]) -> LinkChanges {
    let mut out = LinkChanges::default();
    let mut off = 0;
    while off < buf.len() {
        let Ok(nl) = NetlinkBuffer::new_checked(&buf[off..]) else {
            break;
        };
        let len = nl.length() as usize;
        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..off + len]) {
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => {
                    out.removed.push(link.header.index)
                }
                NetlinkPayload::InnerMessage(
                    RouteNetlinkMessage::NewLink(_)
                    | RouteNetlinkMessage::NewAddress(_)
                    | RouteNetlinkMessage::DelAddress(_),
                ) => out.changed = true,
                _ => {}
            }
        }
        // A checked netlink header has len >= 16, so this advances.
        off += (len + 3) & !3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::NetlinkHeader;
    use netlink_packet_route::link::LinkMessage;

    fn wire(m: RouteNetlinkMessage) -> Vec<u8> {
        let mut msg = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(m));
        msg.finalize();
        let mut b = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut b);
        b
    }

    #[test]
    fn address_changes_either_way_are_changes() {
        use netlink_packet_route::address::AddressMessage;
        for m in [
            RouteNetlinkMessage::NewAddress(AddressMessage::default()),
            RouteNetlinkMessage::DelAddress(AddressMessage::default()),
        ] {
            assert_eq!(
                link_changes(&wire(m)),
                LinkChanges {
                    removed: vec![],
                    changed: true
                }
            );
        }
    }

    #[test]
    fn finds_deleted_links_among_other_messages() {
        let mut del = LinkMessage::default();
        del.header.index = 7;
        let mut new = LinkMessage::default();
        new.header.index = 8;
        let mut buf = wire(RouteNetlinkMessage::NewLink(new));
        buf.extend(wire(RouteNetlinkMessage::DelLink(del)));
        assert_eq!(
            link_changes(&buf),
            LinkChanges {
                removed: vec![7],
                changed: true
            }
        );
        let mut del = LinkMessage::default();
        del.header.index = 9;
        assert_eq!(
            link_changes(&wire(RouteNetlinkMessage::DelLink(del))),
            LinkChanges {
                removed: vec![9],
                changed: false
            }
        );
    }

    #[test]
    fn garbage_is_skipped_without_panics() {
        let mut del = LinkMessage::default();
        del.header.index = 3;
        let good = wire(RouteNetlinkMessage::DelLink(del));
        for cut in 0..good.len() {
            let _ = link_changes(&good[..cut]);
        }
        let mut lying = good.clone();
        lying[0] = 0xff; // length beyond the buffer
        assert_eq!(link_changes(&lying), LinkChanges::default());
        assert_eq!(link_changes(&[0u8; 3]), LinkChanges::default());
    }
}
