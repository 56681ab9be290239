//! RPF through the kernel FIB: `RTM_GETROUTE` towards the source over rtnetlink, the answer's
//! `RTA_OIF` and `RTA_GATEWAY`. Message building and parsing are pure and tested; the socket is
//! a thin shell. Implements [`crate::manager::RpfLookup`].
use crate::manager::{RpfLookup, RpfRoute};
use anyhow::{Context, Result};
use nix::sys::socket::{
    bind, recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};
use nix::sys::time::TimeVal;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};

const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const AF_INET: u8 = 2;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const NLMSG_HDRLEN: usize = 16;
const RTMSG_LEN: usize = 12;

/// Builds an `RTM_GETROUTE` request for `dst` (host byte order fields are native endian).
pub fn encode_getroute(seq: u32, dst: Ipv4Addr) -> Vec<u8> {
    let len = NLMSG_HDRLEN + RTMSG_LEN + 8;
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
    b.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags(u32)
    b.extend_from_slice(&[AF_INET, 32, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&0u32.to_ne_bytes());
    // RTA_DST
    b.extend_from_slice(&8u16.to_ne_bytes());
    b.extend_from_slice(&RTA_DST.to_ne_bytes());
    b.extend_from_slice(&dst.octets());
    b
}

/// The answer to a route request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RouteReply {
    Route(RpfRoute),
    /// `NLMSG_ERROR` with this (negative) errno, e.g. -ENETUNREACH.
    Error(i32),
}

/// Parses the first message of a reply to [`encode_getroute`] with sequence `seq`.
pub fn parse_route_reply(buf: &[u8], seq: u32) -> Option<RouteReply> {
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().ok()?) as usize;
        let ty = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().ok()?);
        let mseq = u32::from_ne_bytes(buf[off + 8..off + 12].try_into().ok()?);
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return None;
        }
        let body = &buf[off + NLMSG_HDRLEN..off + len];
        if mseq == seq {
            match ty {
                NLMSG_ERROR => {
                    let e = i32::from_ne_bytes(body.get(0..4)?.try_into().ok()?);
                    return Some(RouteReply::Error(e));
                }
                RTM_NEWROUTE => return parse_rtmsg(body).map(RouteReply::Route),
                _ => {}
            }
        }
        off += (len + 3) & !3;
    }
    None
}

fn parse_rtmsg(body: &[u8]) -> Option<RpfRoute> {
    if body.len() < RTMSG_LEN || body[0] != AF_INET {
        return None;
    }
    let mut oif = None;
    let mut gw = Ipv4Addr::UNSPECIFIED;
    let mut off = RTMSG_LEN;
    while off + 4 <= body.len() {
        let alen = u16::from_ne_bytes(body[off..off + 2].try_into().ok()?) as usize;
        let aty = u16::from_ne_bytes(body[off + 2..off + 4].try_into().ok()?) & 0x3fff;
        if alen < 4 || off + alen > body.len() {
            return None;
        }
        let data = &body[off + 4..off + alen];
        match aty {
            RTA_OIF if data.len() >= 4 => {
                oif = Some(u32::from_ne_bytes(data[0..4].try_into().ok()?))
            }
            RTA_GATEWAY if data.len() >= 4 => {
                gw = Ipv4Addr::new(data[0], data[1], data[2], data[3])
            }
            _ => {}
        }
        off += (alen + 3) & !3;
    }
    Some(RpfRoute {
        ifindex: oif?,
        gateway: gw,
    })
}

/// RPF lookups through the current network namespace's FIB.
pub struct FibRpf {
    fd: OwnedFd,
    seq: u32,
}

impl FibRpf {
    pub fn new() -> Result<Self> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .context("rpf: open rtnetlink socket")?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).context("rpf: bind rtnetlink socket")?;
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(1, 0))
            .context("rpf: set SO_RCVTIMEO on rtnetlink socket")?;
        Ok(FibRpf { fd, seq: 0 })
    }

    /// The route towards `dst`, `Ok(None)` when there is none.
    pub fn route(&mut self, dst: Ipv4Addr) -> Result<Option<RpfRoute>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let req = encode_getroute(seq, dst);
        send(self.fd.as_raw_fd(), &req, MsgFlags::empty())
            .with_context(|| format!("rpf: send RTM_GETROUTE for {dst}"))?;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())
                .with_context(|| format!("rpf: receive RTM_GETROUTE reply for {dst}"))?;
            match parse_route_reply(&buf[..n], seq) {
                Some(RouteReply::Route(r)) => return Ok(Some(r)),
                Some(RouteReply::Error(_)) => return Ok(None),
                None => continue, // a stale reply of an earlier timed-out request
            }
        }
    }
}

impl RpfLookup for FibRpf {
    fn lookup(&mut self, source: Ipv4Addr) -> Option<RpfRoute> {
        match self.route(source) {
            Ok(r) => r,
            Err(e) => {
                log::warn!("{e:#}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(seq: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = vec![AF_INET, 32, 0, 0, 254, 2, 0, 1, 0, 0, 0, 0];
        for (t, d) in attrs {
            body.extend_from_slice(&((4 + d.len()) as u16).to_ne_bytes());
            body.extend_from_slice(&t.to_ne_bytes());
            body.extend_from_slice(d);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut b = Vec::new();
        b.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        b.extend_from_slice(&RTM_NEWROUTE.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&body);
        b
    }

    #[test]
    fn request_layout() {
        let r = encode_getroute(7, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(r.len(), 36);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 36);
        assert_eq!(
            u16::from_ne_bytes(r[4..6].try_into().unwrap()),
            RTM_GETROUTE
        );
        assert_eq!(u32::from_ne_bytes(r[8..12].try_into().unwrap()), 7);
        assert_eq!(&r[16..18], &[AF_INET, 32]);
        assert_eq!(&r[32..36], &[192, 0, 2, 10]);
    }

    #[test]
    fn parses_routes_and_errors() {
        let gw = [198, 51, 100, 1];
        let r = reply(
            3,
            &[
                (RTA_DST, &[192, 0, 2, 10]),
                (RTA_OIF, &5u32.to_ne_bytes()),
                (RTA_GATEWAY, &gw),
            ],
        );
        assert_eq!(
            parse_route_reply(&r, 3),
            Some(RouteReply::Route(RpfRoute {
                ifindex: 5,
                gateway: Ipv4Addr::new(198, 51, 100, 1)
            }))
        );
        assert_eq!(parse_route_reply(&r, 4), None, "other sequence");
        let onlink = reply(1, &[(RTA_OIF, &2u32.to_ne_bytes())]);
        assert_eq!(
            parse_route_reply(&onlink, 1),
            Some(RouteReply::Route(RpfRoute {
                ifindex: 2,
                gateway: Ipv4Addr::UNSPECIFIED
            }))
        );
        let no_oif = reply(1, &[(RTA_GATEWAY, &gw)]);
        assert_eq!(parse_route_reply(&no_oif, 1), None);
        let mut err = Vec::new();
        err.extend_from_slice(&36u32.to_ne_bytes());
        err.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        err.extend_from_slice(&0u16.to_ne_bytes());
        err.extend_from_slice(&9u32.to_ne_bytes());
        err.extend_from_slice(&0u32.to_ne_bytes());
        err.extend_from_slice(&(-101i32).to_ne_bytes());
        err.extend_from_slice(&[0u8; 16]);
        assert_eq!(parse_route_reply(&err, 9), Some(RouteReply::Error(-101)));
        // Truncated garbage does not panic.
        for n in 0..r.len() {
            let _ = parse_route_reply(&r[..n], 3);
        }
    }
}
