//! The FIB's messages and cache: the request's layout, answers parsed (routes, errors, every
//! answer of a datagram, truncated or garbage input), the cache (misses remembered, bounded).

use super::*;
use crate::sys::rtnetlink::encode;
use netlink_packet_core::{ErrorMessage, NetlinkHeader};
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

#[test]
fn the_manager_reads_the_cache_and_misses_are_remembered() {
    let cache = RouteCache::new();
    let mut rpf = CachedRpf(cache.clone());
    let src = Ipv4Addr::new(192, 0, 2, 10);
    let other = Ipv4Addr::new(203, 0, 113, 1);
    assert_eq!(rpf.lookup(src), None, "not asked yet: no route for now");
    assert_eq!(cache.take_misses(), vec![src]);
    assert!(cache.take_misses().is_empty(), "taken once");
    let route = RpfRoute {
        ifindex: 4,
        gateway: Ipv4Addr::new(198, 51, 100, 1),
    };
    cache.insert(src, Some(route));
    cache.insert(other, None);
    assert_eq!(rpf.lookup(src), Some(route));
    assert_eq!(rpf.lookup(other), None, "a known \"no route\"");
    assert!(cache.take_misses().is_empty(), "answers are no misses");
    cache.insert(src, None);
    assert_eq!(rpf.lookup(src), None, "the latest answer wins");
}

#[test]
fn the_cache_is_bounded_and_keeps_the_sources_in_use() {
    let cache = RouteCache::new();
    let mut rpf = CachedRpf(cache.clone());
    let in_use = Ipv4Addr::new(192, 0, 2, 10);
    let route = RpfRoute {
        ifindex: 4,
        gateway: Ipv4Addr::UNSPECIFIED,
    };
    cache.insert(in_use, Some(route));
    // A host cycling through source lists: far more sources than the cache holds.
    for i in 0..(4 * MAX_CACHED_ROUTES as u32) {
        cache.insert(Ipv4Addr::from(0xcb00_7100 + i), None);
        assert!(
            cache.held() <= MAX_CACHED_ROUTES,
            "{} answers held",
            cache.held()
        );
        if i % 1000 == 0 {
            assert_eq!(
                rpf.lookup(in_use),
                Some(route),
                "the source in use was dropped"
            );
        }
    }
    assert!(
        cache.take_misses().is_empty(),
        "the source in use never missed"
    );
    let newest = Ipv4Addr::from(0xcb00_7100 + 4 * MAX_CACHED_ROUTES as u32 - 1);
    assert_eq!(rpf.lookup(newest), None);
    assert!(cache.take_misses().is_empty(), "the newest answer is held");
}

#[test]
fn every_answer_of_a_datagram_is_found() {
    let mut two = reply(2, vec![RouteAttribute::Oif(9)], AddressFamily::Inet);
    two.extend_from_slice(&error(5, -libc::ENETUNREACH));
    let all = parse_replies(&two).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0, 2);
    assert_eq!(
        all[0].1.as_ref().unwrap(),
        &RouteReply::Route(RpfRoute {
            ifindex: 9,
            gateway: Ipv4Addr::UNSPECIFIED
        })
    );
    assert_eq!(all[1].0, 5);
    assert_eq!(
        all[1].1.as_ref().unwrap(),
        &RouteReply::Error(-libc::ENETUNREACH)
    );
}
