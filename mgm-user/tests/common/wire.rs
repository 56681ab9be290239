//! A wire capture for the namespace lab (used by the benches, next to `common/mod.rs`):
//! every IGMP message and every UDP datagram to one port that arrives on an interface, each with
//! the kernel's receive stamp of its frame moved to CLOCK_MONOTONIC (`packet::Capture`). Put on a LAN's listening port (a namespace
//! that only listens), it sees the hosts' reports and the router's datagrams on that LAN as they
//! cross it, so spans between them are measured from outside the daemons.
#![allow(dead_code)]

#[path = "packet.rs"]
mod packet;

pub(crate) use packet::realtime_to_monotonic;
use std::net::Ipv4Addr;
use std::time::Duration;

/// What a captured frame carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A membership report naming `group` (v1/v2 report; v3 IS_EX, TO_EX, or ALLOW/IS_IN with
    /// sources).
    Join(Ipv4Addr),
    /// A leave of `group` (v2 leave; v3 TO_IN {} or IS_IN {}).
    Leave(Ipv4Addr),
    /// A query (0.0.0.0 for a general query).
    Query(Ipv4Addr),
    /// A UDP datagram to `group` and the capture's port.
    Datagram(Ipv4Addr),
}

/// One captured frame: CLOCK_MONOTONIC ns of its kernel receive stamp and what it carried (an
/// IGMPv3 report with several records gives one entry per record, same stamp).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamped {
    pub(crate) ns: u64,
    pub(crate) seen: Seen,
    /// A datagram's send time, when its payload carries one (`lab N SENT_NS`, the benches'
    /// streams).
    pub(crate) sent_ns: Option<u64>,
}

pub(crate) struct WireCapture {
    capture: packet::Capture<Stamped>,
}

/// Keeps what arrives (not what is sent): IGMP and UDP to `port`, with CLOCK_MONOTONIC stamps.
fn keep_seen(port: u16) -> impl FnMut(packet::Frame<'_>, &mut Vec<Stamped>) + Send + 'static {
    move |f, kept| {
        if f.outgoing {
            return;
        }
        let seen = decode(f.packet, port);
        if seen.is_empty() {
            return;
        }
        let sent_ns = sent_stamp(f.packet);
        if let Some(at) = realtime_to_monotonic(f.stamp_ns) {
            kept.extend(seen.into_iter().map(|seen| Stamped {
                ns: at,
                seen,
                sent_ns,
            }));
        }
    }
}

impl WireCapture {
    /// Captures what arrives on `ifname` in namespace `ns` (not what it sends): IGMP and UDP to
    /// `port`.
    pub(crate) fn start(ns: &str, ifname: &str, port: u16) -> WireCapture {
        let capture = packet::Capture::start("wire capture", ns, ifname, keep_seen(port));
        WireCapture { capture }
    }

    /// [`Self::start`], but the reader is never woken by a frame: it drains the socket every
    /// `every` (the stamps are the kernel's, taken at arrival). For a capture on a daemon's own
    /// interface, whose reader would otherwise compete for a CPU with the daemon woken by the
    /// same frame.
    pub(crate) fn start_polled(ns: &str, ifname: &str, port: u16, every: Duration) -> WireCapture {
        let capture =
            packet::Capture::start_polled("wire capture", ns, ifname, every, keep_seen(port));
        WireCapture { capture }
    }

    /// Everything captured so far, in arrival order.
    pub(crate) fn frames(&self) -> Vec<Stamped> {
        self.capture.kept().clone()
    }

    /// The stamp of the first frame at or after `since` for which `f` holds.
    pub(crate) fn first(&self, since: u64, f: impl Fn(Seen) -> bool) -> Option<u64> {
        self.capture
            .kept()
            .iter()
            .find(|s| s.ns >= since && f(s.seen))
            .map(|s| s.ns)
    }

    /// The stamp of the first datagram to `group` at or after `since` that was sent at or
    /// after `sent_since` (its payload's send time): the live stream, not datagrams a kernel
    /// queued earlier and sent late.
    pub(crate) fn first_sent_after(
        &self,
        group: Ipv4Addr,
        since: u64,
        sent_since: u64,
    ) -> Option<u64> {
        self.capture
            .kept()
            .iter()
            .find(|s| {
                s.ns >= since
                    && s.seen == Seen::Datagram(group)
                    && s.sent_ns.is_some_and(|t| t >= sent_since)
            })
            .map(|s| s.ns)
    }

    /// The stamp of the last frame for which `f` holds.
    pub(crate) fn last(&self, f: impl Fn(Seen) -> bool) -> Option<u64> {
        self.capture
            .kept()
            .iter()
            .rev()
            .find(|s| f(s.seen))
            .map(|s| s.ns)
    }

    /// The stamps of the datagrams to `group` at or after `since`.
    pub(crate) fn datagrams(&self, group: Ipv4Addr, since: u64) -> Vec<u64> {
        self.capture
            .kept()
            .iter()
            .filter(|s| s.ns >= since && s.seen == Seen::Datagram(group))
            .map(|s| s.ns)
            .collect()
    }

    /// Forgets what was captured (a long run at 1 000 datagrams/s need not keep it all).
    pub(crate) fn clear(&self) {
        self.capture.kept().clear();
    }
}

/// The send time a UDP datagram's payload carries (`lab N SENT_NS`), if any.
fn sent_stamp(p: &[u8]) -> Option<u64> {
    let ihl = usize::from(*p.first()? & 0x0f) * 4;
    if *p.get(9)? != 17 {
        return None;
    }
    let payload = std::str::from_utf8(p.get(ihl + 8..)?).ok()?;
    payload
        .strip_prefix("lab ")?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// What an IPv4 packet carries: IGMP messages (one entry per v3 record) or a UDP datagram to
/// `port`; nothing for anything else.
fn decode(p: &[u8], port: u16) -> Vec<Seen> {
    let mut out = Vec::new();
    if p.len() < 20 || p[0] >> 4 != 4 {
        return out;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let Some(m) = p.get(ihl..) else { return out };
    let addr = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    match p[9] {
        17 if m.len() >= 4 && u16::from_be_bytes([m[2], m[3]]) == port => {
            out.push(Seen::Datagram(dst));
        }
        2 if m.len() >= 8 => match m[0] {
            0x11 => out.push(Seen::Query(addr(&m[4..8]))),
            0x12 | 0x16 => out.push(Seen::Join(addr(&m[4..8]))),
            0x17 => out.push(Seen::Leave(addr(&m[4..8]))),
            0x22 => {
                let n = usize::from(u16::from_be_bytes([m[6], m[7]]));
                let mut at = 8;
                for _ in 0..n {
                    let Some(r) = m.get(at..at + 8) else { break };
                    let sources = usize::from(u16::from_be_bytes([r[2], r[3]]));
                    let g = addr(&r[4..8]);
                    match (r[0], sources) {
                        // MODE_IS_INCLUDE / CHANGE_TO_INCLUDE without sources: a leave.
                        (1 | 3, 0) => out.push(Seen::Leave(g)),
                        // BLOCK_OLD_SOURCES: neither.
                        (6, _) => {}
                        _ => out.push(Seen::Join(g)),
                    }
                    at += 8 + sources * 4 + usize::from(r[1]) * 4;
                }
            }
            _ => {}
        },
        _ => {}
    }
    out
}
