//! RPF through the kernel FIB: `RTM_GETROUTE` towards the source over rtnetlink, the answer's
//! `RTA_OIF` and `RTA_GATEWAY`. The messages are built and parsed with `netlink-packet-route`
//! (pure, tested here); the socket is `netlink-sys`, blocking with a 1 s receive timeout.
//! Implements [`crate::manager::RpfLookup`].
use crate::manager::{RpfLookup, RpfRoute};
use anyhow::{anyhow, bail, Context, Result};
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// How long [`FibRpf::route`] waits for the kernel's answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// The `RTM_GETROUTE` request for `dst` with sequence number `seq`, finalized (length and type
/// set) and ready to serialize.
pub fn getroute_request(seq: u32, dst: Ipv4Addr) -> NetlinkMessage<RouteNetlinkMessage> {
    let mut route = RouteMessage::default();
    route.header.address_family = AddressFamily::Inet;
    route.header.destination_prefix_length = 32;
    route
        .attributes
        .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::GetRoute(route)),
    );
    msg.finalize();
    msg
}

/// [`getroute_request`] as bytes.
fn encode(msg: &NetlinkMessage<RouteNetlinkMessage>) -> Vec<u8> {
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// The kernel's answer to one route request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteReply {
    Route(RpfRoute),
    /// `NLMSG_ERROR` with this (negative) errno, e.g. -ENETUNREACH; 0 for a bare ACK.
    Error(i32),
}

impl RouteReply {
    /// `Ok(None)` for the errors that mean "no usable route": no route at all (`ENETUNREACH`),
    /// an `unreachable` (`EHOSTUNREACH`), `prohibit` (`EACCES`) or `blackhole` (`EINVAL`)
    /// route. Any other error is reported.
    pub fn into_route(self, dst: Ipv4Addr) -> Result<Option<RpfRoute>> {
        match self {
            RouteReply::Route(r) => Ok(Some(r)),
            RouteReply::Error(e)
                if [
                    -libc::ENETUNREACH,
                    -libc::EHOSTUNREACH,
                    -libc::EACCES,
                    -libc::EINVAL,
                ]
                .contains(&e) =>
            {
                Ok(None)
            }
            RouteReply::Error(0) => bail!("rpf: RTM_GETROUTE for {dst}: ACK without a route"),
            RouteReply::Error(e) => Err(std::io::Error::from_raw_os_error(-e))
                .with_context(|| format!("rpf: RTM_GETROUTE for {dst}")),
        }
    }
}

/// The route in an `RTM_NEWROUTE` answer: `RTA_OIF` (required) and `RTA_GATEWAY` (0.0.0.0 when
/// absent, i.e. on-link).
pub fn route_of(msg: &RouteMessage) -> Result<RpfRoute> {
    if msg.header.address_family != AddressFamily::Inet {
        bail!(
            "rpf: route reply of family {:?}, not IPv4",
            msg.header.address_family
        );
    }
    let mut ifindex = None;
    let mut gateway = Ipv4Addr::UNSPECIFIED;
    for a in &msg.attributes {
        match a {
            RouteAttribute::Oif(i) => ifindex = Some(*i),
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => gateway = *g,
            _ => {}
        }
    }
    let ifindex = ifindex.ok_or_else(|| anyhow!("rpf: route reply without RTA_OIF"))?;
    Ok(RpfRoute { ifindex, gateway })
}

/// Looks through one received datagram for the answer with sequence number `seq`: `Ok(None)`
/// when the datagram holds none (e.g. the late answer to an earlier request that timed out).
pub fn parse_reply(buf: &[u8], seq: u32) -> Result<Option<RouteReply>> {
    let mut off = 0;
    while off < buf.len() {
        let nl = NetlinkBuffer::new_checked(&buf[off..])
            .map_err(|e| anyhow!("{e}"))
            .context("rpf: malformed netlink message")?;
        let len = nl.length() as usize;
        if nl.sequence_number() == seq {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..off + len])
                .map_err(|e| anyhow!("{e}"))
                .context("rpf: malformed RTM_GETROUTE reply")?;
            return match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => {
                    Ok(Some(RouteReply::Route(route_of(&r)?)))
                }
                NetlinkPayload::Error(e) => Ok(Some(RouteReply::Error(e.raw_code()))),
                other => bail!("rpf: unexpected RTM_GETROUTE reply {other:?}"),
            };
        }
        // The netlink header guarantees len >= 16, so this advances.
        off += (len + 3) & !3;
    }
    Ok(None)
}

/// RPF lookups through the current network namespace's FIB.
pub struct FibRpf {
    sock: Socket,
    seq: u32,
}

impl FibRpf {
    pub fn new() -> Result<Self> {
        let mut sock = Socket::new(NETLINK_ROUTE).context("rpf: open rtnetlink socket")?;
        sock.bind_auto().context("rpf: bind rtnetlink socket")?;
        sock.connect(&SocketAddr::new(0, 0))
            .context("rpf: connect rtnetlink socket to the kernel")?;
        let t = TimeVal::new(REPLY_TIMEOUT.as_secs() as _, 0);
        setsockopt(&sock, sockopt::ReceiveTimeout, &t)
            .context("rpf: set SO_RCVTIMEO on rtnetlink socket")?;
        Ok(FibRpf { sock, seq: 0 })
    }

    /// The route towards `dst`, `Ok(None)` when there is none.
    pub fn route(&mut self, dst: Ipv4Addr) -> Result<Option<RpfRoute>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let req = encode(&getroute_request(seq, dst));
        self.sock
            .send(&req, 0)
            .with_context(|| format!("rpf: send RTM_GETROUTE for {dst}"))?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = match self.sock.recv(&mut &mut buf[..], 0) {
                Ok(n) => n.min(buf.len()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("rpf: receive RTM_GETROUTE reply for {dst}"))
                }
            };
            if let Some(reply) = parse_reply(&buf[..n], seq)? {
                return reply.into_route(dst);
            }
            // A stale answer to an earlier request that timed out: wait on, within the deadline.
            if Instant::now() >= deadline {
                bail!("rpf: no RTM_GETROUTE reply for {dst} within {REPLY_TIMEOUT:?}");
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
    use netlink_packet_core::ErrorMessage;
    use netlink_packet_route::route::{RouteHeader, RouteScope, RouteType};
    use std::num::NonZeroI32;

    const RTM_NEWROUTE: u16 = 24;
    const RTM_GETROUTE: u16 = 26;
    const NLMSG_ERROR: u16 = 2;

    /// An `RTM_NEWROUTE` answer as the kernel would send it, built with the crate's types.
    fn reply(seq: u32, attrs: Vec<RouteAttribute>, family: AddressFamily) -> Vec<u8> {
        let mut route = RouteMessage::default();
        route.header.address_family = family;
        route.header.destination_prefix_length = 32;
        route.header.table = RouteHeader::RT_TABLE_MAIN;
        route.header.scope = RouteScope::Universe;
        route.header.kind = RouteType::Unicast;
        route.attributes = attrs;
        let mut header = NetlinkHeader::default();
        header.sequence_number = seq;
        let mut msg = NetlinkMessage::new(
            header,
            NetlinkPayload::from(RouteNetlinkMessage::NewRoute(route)),
        );
        msg.finalize();
        encode(&msg)
    }

    fn error(seq: u32, code: i32) -> Vec<u8> {
        let mut e = ErrorMessage::default();
        e.code = NonZeroI32::new(code);
        e.header = vec![0u8; 16];
        let mut header = NetlinkHeader::default();
        header.sequence_number = seq;
        let mut msg = NetlinkMessage::<RouteNetlinkMessage>::new(header, NetlinkPayload::Error(e));
        msg.finalize();
        encode(&msg)
    }

    #[test]
    fn request_layout() {
        let msg = getroute_request(7, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(msg.header.message_type, RTM_GETROUTE);
        assert_eq!(msg.header.flags, NLM_F_REQUEST);
        assert_eq!(msg.header.sequence_number, 7);
        // The wire format: nlmsghdr, struct rtmsg {AF_INET, dst_len 32, rest 0}, RTA_DST.
        let r = encode(&msg);
        let mut want = Vec::new();
        want.extend_from_slice(&36u32.to_ne_bytes());
        want.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
        want.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        want.extend_from_slice(&7u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&[libc::AF_INET as u8, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&1u16.to_ne_bytes()); // RTA_DST
        want.extend_from_slice(&[192, 0, 2, 10]);
        assert_eq!(r, want);
        // And it reads back as the same message.
        let back = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&r).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn parses_routes() {
        let gw = Ipv4Addr::new(198, 51, 100, 1);
        let r = reply(
            3,
            vec![
                RouteAttribute::Table(254),
                RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(192, 0, 2, 10))),
                RouteAttribute::Oif(5),
                RouteAttribute::Gateway(RouteAddress::Inet(gw)),
            ],
            AddressFamily::Inet,
        );
        assert_eq!(r[4..6], RTM_NEWROUTE.to_ne_bytes());
        let route = RouteReply::Route(RpfRoute {
            ifindex: 5,
            gateway: gw,
        });
        assert_eq!(parse_reply(&r, 3).unwrap(), Some(route.clone()));
        assert_eq!(parse_reply(&r, 4).unwrap(), None, "other sequence");
        // A stale answer first, then ours, in one datagram.
        let mut two = reply(2, vec![RouteAttribute::Oif(9)], AddressFamily::Inet);
        two.extend_from_slice(&r);
        assert_eq!(parse_reply(&two, 3).unwrap(), Some(route));

        let onlink = reply(1, vec![RouteAttribute::Oif(2)], AddressFamily::Inet);
        assert_eq!(
            parse_reply(&onlink, 1)
                .unwrap()
                .unwrap()
                .into_route(Ipv4Addr::LOCALHOST)
                .unwrap(),
            Some(RpfRoute {
                ifindex: 2,
                gateway: Ipv4Addr::UNSPECIFIED
            })
        );

        let no_oif = reply(
            1,
            vec![RouteAttribute::Gateway(RouteAddress::Inet(gw))],
            AddressFamily::Inet,
        );
        let e = parse_reply(&no_oif, 1).unwrap_err();
        assert!(format!("{e:#}").contains("RTA_OIF"), "{e:#}");
        let v6 = reply(1, vec![RouteAttribute::Oif(2)], AddressFamily::Inet6);
        assert!(parse_reply(&v6, 1).is_err());
    }

    #[test]
    fn errors() {
        let dst = Ipv4Addr::new(203, 0, 113, 1);
        let err = error(9, -libc::ENETUNREACH);
        assert_eq!(err[4..6], NLMSG_ERROR.to_ne_bytes());
        let reply = parse_reply(&err, 9).unwrap().unwrap();
        assert_eq!(reply, RouteReply::Error(-libc::ENETUNREACH));
        assert_eq!(reply.into_route(dst).unwrap(), None);
        for e in [libc::EHOSTUNREACH, libc::EACCES, libc::EINVAL] {
            let r = parse_reply(&error(1, -e), 1).unwrap().unwrap();
            assert_eq!(r.into_route(dst).unwrap(), None, "errno {e}");
        }
        assert_eq!(parse_reply(&err, 8).unwrap(), None, "other sequence");
        // Other errors are reported, with the errno.
        let r = parse_reply(&error(1, -libc::ENOBUFS), 1).unwrap().unwrap();
        let e = r.into_route(dst).unwrap_err();
        let io = e.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(io.raw_os_error(), Some(libc::ENOBUFS));
        let ack = parse_reply(&error(1, 0), 1).unwrap().unwrap();
        assert!(ack.into_route(dst).is_err());
    }

    #[test]
    fn truncated_or_garbage_input_does_not_panic() {
        let r = reply(
            3,
            vec![
                RouteAttribute::Oif(5),
                RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(198, 51, 100, 1))),
            ],
            AddressFamily::Inet,
        );
        for n in 0..r.len() {
            let _ = parse_reply(&r[..n], 3);
        }
        let e = error(3, -libc::ENETUNREACH);
        for n in 0..e.len() {
            let _ = parse_reply(&e[..n], 3);
        }
        // A length field that lies, and one that is too small.
        let mut bad = r.clone();
        bad[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(parse_reply(&bad, 3).is_err());
        bad[0..4].copy_from_slice(&4u32.to_ne_bytes());
        assert!(parse_reply(&bad, 3).is_err());
        // An attribute whose length runs past the message.
        let mut bad = r.clone();
        bad[28..30].copy_from_slice(&200u16.to_ne_bytes());
        assert!(parse_reply(&bad, 3).is_err());
    }
}
