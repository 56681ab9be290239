//! The dump's request and its answers parsed: resolved entries of the table asked, the others
//! (unresolved, other tables, other dumps) left out, the end, errors, broken input.

use super::*;
use netlink_packet_core::{DoneMessage, ErrorMessage, NetlinkHeader};
use netlink_packet_route::route::{RouteNextHop, RouteProtocol, RouteType};
use std::num::NonZeroI32;

const RTM_GETROUTE: u16 = 26;
const S: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const G: Ipv4Addr = Ipv4Addr::new(239, 7, 7, 7);

fn bytes(msg: &NetlinkMessage<RouteNetlinkMessage>) -> Vec<u8> {
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// An entry as `ipmr` dumps it: family `RTNL_FAMILY_IPMR`, `RTA_TABLE`, addresses as plain
/// bytes, one next hop per outgoing interface.
fn entry(seq: u32, table: u32, iif: Option<u32>, oifs: &[u32], flags: RouteFlags) -> Vec<u8> {
    let mut r = RouteMessage::default();
    r.header.address_family = AddressFamily::from(RTNL_FAMILY_IPMR);
    r.header.table = u8::try_from(table).unwrap_or(252);
    r.header.kind = RouteType::Multicast;
    r.header.protocol = RouteProtocol::Mrouted;
    r.header.flags = flags;
    r.header.destination_prefix_length = 32;
    r.header.source_prefix_length = 32;
    r.attributes = vec![
        RouteAttribute::Table(table),
        RouteAttribute::Source(RouteAddress::Other(S.octets().to_vec())),
        RouteAttribute::Destination(RouteAddress::Other(G.octets().to_vec())),
    ];
    if let Some(i) = iif {
        r.attributes.push(RouteAttribute::Iif(i));
    }
    if !oifs.is_empty() {
        r.attributes.push(RouteAttribute::MultiPath(
            oifs.iter()
                .map(|&o| {
                    let mut h = RouteNextHop::default();
                    h.hops = 1;
                    h.interface_index = o;
                    h
                })
                .collect(),
        ));
    }
    let mut h = NetlinkHeader::default();
    h.sequence_number = seq;
    let mut msg = NetlinkMessage::new(h, NetlinkPayload::from(RouteNetlinkMessage::NewRoute(r)));
    msg.finalize();
    bytes(&msg)
}

fn done(seq: u32) -> Vec<u8> {
    let mut h = NetlinkHeader::default();
    h.sequence_number = seq;
    let mut msg =
        NetlinkMessage::<RouteNetlinkMessage>::new(h, NetlinkPayload::Done(DoneMessage::default()));
    msg.finalize();
    bytes(&msg)
}

fn error(seq: u32, code: i32) -> Vec<u8> {
    let mut e = ErrorMessage::default();
    e.code = NonZeroI32::new(code);
    e.header = vec![0u8; 16];
    let mut h = NetlinkHeader::default();
    h.sequence_number = seq;
    let mut msg = NetlinkMessage::<RouteNetlinkMessage>::new(h, NetlinkPayload::Error(e));
    msg.finalize();
    bytes(&msg)
}

fn mfc(iif: u32, oifs: &[u32]) -> KernelMfc {
    KernelMfc {
        source: S,
        group: G,
        iif,
        oifs: oifs.to_vec(),
    }
}

#[test]
fn request_layout() {
    let b = bytes(&dump_request(9, DEFAULT_TABLE));
    assert_eq!(b.len(), 16 + 12, "nlmsghdr + rtmsg, no attribute");
    assert_eq!(u16::from_ne_bytes([b[4], b[5]]), RTM_GETROUTE);
    let flags = u16::from_ne_bytes([b[6], b[7]]);
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert_eq!(
        u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
        9,
        "sequence"
    );
    assert_eq!(b[16], RTNL_FAMILY_IPMR, "rtm_family");
    assert_eq!(b[20], 253, "rtm_table");
}

#[test]
fn parses_resolved_entries_of_the_table() {
    let none = RouteFlags::empty();
    let rows: Vec<(&str, Vec<u8>, Vec<KernelMfc>)> = vec![
        (
            "oifs sorted",
            entry(1, 253, Some(2), &[7, 3], none),
            vec![mfc(2, &[3, 7])],
        ),
        (
            "negative entry: no oif",
            entry(1, 253, Some(2), &[], none),
            vec![mfc(2, &[])],
        ),
        ("another table", entry(1, 10, Some(2), &[3], none), vec![]),
        (
            "unresolved",
            entry(1, 253, None, &[], RouteFlags::Unresolved),
            vec![],
        ),
        ("no iif", entry(1, 253, None, &[3], none), vec![]),
        ("another dump", entry(2, 253, Some(2), &[3], none), vec![]),
    ];
    for (what, buf, want) in rows {
        let p = parse_dump(&buf, 1, 253).unwrap();
        assert_eq!(p.entries, want, "{what}");
        assert!(!p.done, "{what}");
    }
}

#[test]
fn a_datagram_holds_many_entries_then_the_end() {
    let mut buf = entry(1, 253, Some(2), &[3], RouteFlags::empty());
    buf.extend(entry(1, 253, Some(4), &[2, 3], RouteFlags::empty()));
    buf.extend(done(1));
    let p = parse_dump(&buf, 1, 253).unwrap();
    assert_eq!(p.entries, vec![mfc(2, &[3]), mfc(4, &[2, 3])]);
    assert!(p.done);
    assert!(
        parse_dump(&done(2), 1, 253).is_ok_and(|p| !p.done),
        "another dump's end"
    );
}

#[test]
fn errors_and_broken_input() {
    let e = parse_dump(&error(1, -libc::EPERM), 1, 253).unwrap_err();
    assert!(format!("{e:#}").contains("errno 1"), "{e:#}");
    let whole = entry(1, 253, Some(2), &[3], RouteFlags::empty());
    for cut in [1, 15, 20, whole.len() - 1] {
        assert!(parse_dump(&whole[..cut], 1, 253).is_err(), "cut at {cut}");
    }
    let mut garbage = whole.clone();
    garbage[0] = 0xff; // a length past the end
    assert!(parse_dump(&garbage, 1, 253).is_err());
    assert_eq!(parse_dump(&[], 1, 253).unwrap(), DumpPart::default());
}
