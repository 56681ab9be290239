//! What the rtnetlink users here share (the FIB's RPF questions, `fib.rs`, and the MFC dump,
//! `mfc_dump.rs`): the socket connected to the kernel, a route request, and the walk over the
//! messages of one received datagram.
use anyhow::{anyhow, Context, Result};
use netlink_packet_core::{NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// An rtnetlink socket bound and connected to the kernel; `who` names its user in errors.
pub(super) fn kernel_socket(who: &str) -> Result<Socket> {
    let mut sock =
        Socket::new(NETLINK_ROUTE).with_context(|| format!("{who}: open rtnetlink socket"))?;
    sock.bind_auto()
        .with_context(|| format!("{who}: bind rtnetlink socket"))?;
    sock.connect(&SocketAddr::new(0, 0))
        .with_context(|| format!("{who}: connect rtnetlink socket to the kernel"))?;
    Ok(sock)
}

/// `RTM_GETROUTE` for `route` with header `flags` and sequence number `seq`, finalized (length
/// and type set).
pub(super) fn get_route(
    route: RouteMessage,
    flags: u16,
    seq: u32,
) -> NetlinkMessage<RouteNetlinkMessage> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::GetRoute(route)),
    );
    msg.finalize();
    msg
}

/// A finalized message as bytes.
pub(super) fn encode(msg: &NetlinkMessage<RouteNetlinkMessage>) -> Vec<u8> {
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// The messages of one received datagram: each one's sequence number and bytes. Broken
/// framing is an error naming `who`.
pub(super) fn messages<'a>(buf: &'a [u8], who: &str) -> Result<Vec<(u32, &'a [u8])>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let nl = NetlinkBuffer::new_checked(&buf[off..])
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("{who}: malformed netlink message"))?;
        let len = nl.length() as usize;
        out.push((nl.sequence_number(), &buf[off..off + len]));
        // The netlink header guarantees len >= 16, so this advances.
        off += (len + 3) & !3;
    }
    Ok(out)
}
