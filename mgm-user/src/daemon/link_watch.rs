//! Watches links (rtnetlink `RTMGRP_LINK`): a managed interface that is deleted while mgm runs is
//! taken out of IGMP and forwarding at once, instead of failing every query interval and leaving
//! state behind. (Managing an interface that appears later is a restart for now.)
use anyhow::{anyhow, Context, Result};
use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, RawFd};

/// rtnetlink multicast group of link changes (`RTMGRP_LINK`).
const RTMGRP_LINK: u32 = 1;

pub struct LinkWatch {
    sock: Socket,
}

impl LinkWatch {
    pub fn open() -> Result<Self> {
        let mut sock = Socket::new(NETLINK_ROUTE).context("link watch: open rtnetlink socket")?;
        sock.bind(&SocketAddr::new(0, RTMGRP_LINK))
            .context("link watch: subscribe to link changes (RTMGRP_LINK)")?;
        sock.set_non_blocking(true)
            .context("link watch: non-blocking socket")?;
        Ok(LinkWatch { sock })
    }

    /// Reads every queued notification; returns the ifindexes of deleted links.
    pub fn removed(&mut self) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match self.sock.recv(&mut &mut buf[..], 0) {
                Ok(n) => out.extend(deleted_links(&buf[..n.min(buf.len())])),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // ENOBUFS: notifications were lost; nothing to do but go on (the next query
                // send on a vanished interface still fails loudly).
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    log::warn!("link watch: link notifications lost (ENOBUFS)");
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

/// The ifindexes of `RTM_DELLINK` messages in one datagram; anything else (or malformed) is
/// skipped.
pub fn deleted_links(buf: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let Ok(nl) = NetlinkBuffer::new_checked(&buf[off..]) else {
            break;
        };
        let len = nl.length() as usize;
        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..off + len]) {
            if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) = msg.payload {
                out.push(link.header.index);
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
    fn finds_deleted_links_among_other_messages() {
        let mut del = LinkMessage::default();
        del.header.index = 7;
        let mut new = LinkMessage::default();
        new.header.index = 8;
        let mut buf = wire(RouteNetlinkMessage::NewLink(new));
        buf.extend(wire(RouteNetlinkMessage::DelLink(del)));
        assert_eq!(deleted_links(&buf), vec![7]);
    }

    #[test]
    fn garbage_is_skipped_without_panics() {
        let mut del = LinkMessage::default();
        del.header.index = 3;
        let good = wire(RouteNetlinkMessage::DelLink(del));
        for cut in 0..good.len() {
            let _ = deleted_links(&good[..cut]);
        }
        let mut lying = good.clone();
        lying[0] = 0xff; // length beyond the buffer
        assert_eq!(deleted_links(&lying), Vec::<u32>::new());
        assert_eq!(deleted_links(&[0u8; 3]), Vec::<u32>::new());
    }
}
