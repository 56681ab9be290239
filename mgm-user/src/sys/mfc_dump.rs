//! The kernel's IPv4 multicast forwarding cache as it is: an rtnetlink `RTM_GETROUTE` dump of
//! family `RTNL_FAMILY_IPMR`, one row per resolved entry of one ipmr table. The messages are
//! built and parsed with `netlink-packet-route` (pure, tested here); [`dump`] is the one
//! blocking exchange, on a socket of its own made for it.
//!
//! The kernel fills each entry as `ipmr`'s `mr_fill_mroute` does: `RTA_SRC`, `RTA_DST`,
//! `RTA_IIF` (the parent VIF's interface), `RTA_MULTIPATH` (one next hop per VIF with a TTL
//! threshold below 255: its interface and the threshold), `RTA_TABLE`. Unresolved entries (a
//! NOCACHE upcall waiting for its answer) carry `RTNH_F_UNRESOLVED` and no interfaces: they are
//! left out.
use super::rtnetlink;
use anyhow::{anyhow, bail, Context, Result};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteFlags, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::Ipv4Addr;
use std::os::fd::AsFd;

/// `RTNL_FAMILY_IPMR` (linux/rtnetlink.h).
pub const RTNL_FAMILY_IPMR: u8 = 128;
/// The ipmr table a socket without `MRT_TABLE` uses (`RT_TABLE_DEFAULT`).
pub const DEFAULT_TABLE: u32 = 253;
/// How long [`dump`] waits for the kernel's next datagram before it gives up.
const RECV_TIMEOUT_S: libc::time_t = 1;
/// Receive buffer per read: the kernel fills each datagram of a dump up to this size.
const READ_BYTES: usize = 64 << 10;

/// One resolved entry of the kernel's MFC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelMfc {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    /// The incoming interface (ifindex).
    pub iif: u32,
    /// The outgoing interfaces (ifindex), ascending.
    pub oifs: Vec<u32>,
}

/// The dump request for every ipmr entry (the kernel filters by table only for strict
/// sockets: [`parse_dump`] keeps the one asked).
pub fn dump_request(seq: u32, table: u32) -> NetlinkMessage<RouteNetlinkMessage> {
    let mut route = RouteMessage::default();
    route.header.address_family = AddressFamily::from(RTNL_FAMILY_IPMR);
    route.header.table = u8::try_from(table).unwrap_or(0);
    rtnetlink::get_route(route, NLM_F_REQUEST | NLM_F_DUMP, seq)
}

/// What one datagram of the dump held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DumpPart {
    /// Entries of `table`, resolved.
    pub entries: Vec<KernelMfc>,
    /// `NLMSG_DONE` was in it: the dump is complete.
    pub done: bool,
}

/// The entries of `table` in one received datagram of the dump with sequence number `seq`.
/// Messages of other dumps are skipped; an `NLMSG_ERROR` or broken framing is an error.
pub fn parse_dump(buf: &[u8], seq: u32, table: u32) -> Result<DumpPart> {
    let mut part = DumpPart::default();
    for (msg_seq, this) in rtnetlink::messages(buf, "mfc dump")? {
        if msg_seq != seq {
            continue;
        }
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(this)
            .map_err(|e| anyhow!("{e}"))
            .context("mfc dump: malformed RTM_NEWROUTE")?;
        match msg.payload {
            NetlinkPayload::Done(_) => part.done = true,
            NetlinkPayload::Error(e) => {
                bail!(
                    "mfc dump: the kernel refused the dump (errno {})",
                    -e.raw_code()
                )
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => {
                if let Some(m) = entry_of(&r, table) {
                    part.entries.push(m);
                }
            }
            _ => {}
        }
    }
    Ok(part)
}

/// The entry in one `RTM_NEWROUTE` of the dump, if it is a resolved ipmr entry of `table`.
pub fn entry_of(r: &RouteMessage, table: u32) -> Option<KernelMfc> {
    if u8::from(r.header.address_family) != RTNL_FAMILY_IPMR
        || r.header.flags.contains(RouteFlags::Unresolved)
    {
        return None;
    }
    let mut in_table = u32::from(r.header.table);
    let (mut source, mut group, mut iif) = (Ipv4Addr::UNSPECIFIED, None, None);
    let mut oifs = Vec::new();
    for a in &r.attributes {
        match a {
            RouteAttribute::Table(t) => in_table = *t,
            RouteAttribute::Source(s) => source = address(s)?,
            RouteAttribute::Destination(g) => group = Some(address(g)?),
            RouteAttribute::Iif(i) => iif = Some(*i),
            RouteAttribute::MultiPath(hops) => oifs.extend(hops.iter().map(|h| h.interface_index)),
            _ => {}
        }
    }
    oifs.sort_unstable();
    (in_table == table).then_some(())?;
    Some(KernelMfc {
        source,
        group: group?,
        iif: iif?,
        oifs,
    })
}

/// An IPv4 address however the parser saw it (ipmr's family is not `AF_INET`).
fn address(a: &RouteAddress) -> Option<Ipv4Addr> {
    match a {
        RouteAddress::Inet(v) => Some(*v),
        RouteAddress::Other(b) => <[u8; 4]>::try_from(b.as_slice()).ok().map(Ipv4Addr::from),
        _ => None,
    }
}

/// The resolved entries of ipmr table `table` (`None`: the default one), read now. Blocks
/// until the dump is complete (about 1 ms per 1000 entries), at most a second per datagram.
pub fn dump(table: Option<u32>) -> Result<Vec<KernelMfc>> {
    let table = table.unwrap_or(DEFAULT_TABLE);
    let sock = rtnetlink::kernel_socket("mfc dump")?;
    let timeout = libc::timeval {
        tv_sec: RECV_TIMEOUT_S,
        tv_usec: 0,
    };
    super::raw_socket::set_opt(sock.as_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)
        .context("mfc dump: receive timeout (SO_RCVTIMEO)")?;
    const SEQ: u32 = 1;
    sock.send(&rtnetlink::encode(&dump_request(SEQ, table)), 0)
        .context("mfc dump: send RTM_GETROUTE (RTNL_FAMILY_IPMR)")?;
    let mut buf = vec![0u8; READ_BYTES];
    let mut out = Vec::new();
    loop {
        let n = sock
            .recv(&mut &mut buf[..], 0)
            .context("mfc dump: read the kernel's answer")?;
        let part = parse_dump(&buf[..n], SEQ, table)?;
        out.extend(part.entries);
        if part.done {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests;
