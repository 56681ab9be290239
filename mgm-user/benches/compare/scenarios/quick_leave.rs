//! Quick leave with two receivers on one LAN: h1 and a second host receive the same group's
//! stream; h1 leaves, later the second host leaves. The stream's gap on the LAN after h1's leave
//! (what the second host lost) and the span from the last leave on the wire to the stream's last
//! datagram on the LAN, each daemon with its nearest to quick leave, mgm also with RFC 3376's
//! last-member queries.
use super::{interleaved, Measure};
use crate::lab::{RouterLab, Settings, PORT, SOURCE};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use crate::traffic::{mono_ns, Stream};
use crate::wire::{Seen, WireCapture};
use std::net::Ipv4Addr;
use std::time::Duration;

const ID: &str = "quick_leave";
/// mgm with `quick-leave=on` on the LAN (the lab adds it: `Settings::quick_leave`).
const MGM_QUICK: Peer = Peer::Mgm {
    label: "mgm quick-leave=on",
    args: &[],
};
/// The stream's spacing: 1 000 datagrams/s, so a gap of N ms is about N − 1 datagrams lost.
const STREAM_INTERVAL: Duration = Duration::from_millis(1);
/// The link has stopped when it saw no datagram of the stream for this long.
const QUIET: Duration = Duration::from_millis(1000);
/// A last leave after which the stream still flows this long counts as not acted on.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How long the second host keeps the group after h1's leave: past the daemon's last-member
/// queries (igmpproxy's are fixed at 10 s × 2) and 1 s more.
fn hold(p: &Peer) -> Duration {
    match p {
        Peer::Igmpproxy => Duration::from_secs(21),
        _ => Duration::from_secs(3),
    }
}

/// The longest silence of the stream on the LAN between `from` and `to` (or at either end), ms.
fn longest_gap(times: &[u64], from: u64, to: u64) -> f64 {
    let mut last = from;
    let mut gap = 0;
    for &t in times.iter().filter(|&&t| t >= from && t <= to) {
        gap = gap.max(t - last);
        last = t;
    }
    gap.max(to.saturating_sub(last)) as f64 / 1e6
}

/// The first leave of `g` on the wire at or after `since` (5 s at most; `since` if none).
fn leave_on_wire(mon: &WireCapture, g: Ipv4Addr, since: u64) -> u64 {
    let mut leave = None;
    RouterLab::poll(Duration::from_secs(5), || {
        leave = mon.first(since, |s| s == Seen::Leave(g));
        leave.is_some()
    });
    leave.unwrap_or(since)
}

/// One trial: (the stream's longest gap after h1's leave, ms; the last leave → the last
/// datagram, ms, `None` when it still flowed after `TIMEOUT`).
fn trial(lab: &mut RouterLab, mon: &WireCapture, p: &Peer, g: Ipv4Addr) -> (f64, Option<f64>) {
    let settings = Settings {
        quick_leave: p != &MGM,
        ..Settings::default()
    };
    let d = lab.start(p, settings);
    let mut h1 = lab.host();
    let mut h2 = lab.second_host();
    let stream = Stream::start(&lab.src, SOURCE, g, PORT, STREAM_INTERVAL);
    std::thread::sleep(Duration::from_millis(300));
    h1.cmd(&format!("join {g}"));
    h2.cmd(&format!("join {g}"));
    let t = mono_ns();
    let flowing = RouterLab::poll(Duration::from_secs(10), || {
        mon.first(t, |s| s == Seen::Datagram(g)).is_some()
    });
    assert!(
        flowing,
        "{}: {g} not forwarded after the joins\n{}",
        p.label(),
        d.log()
    );
    // Both hosts' unsolicited reports (two each) are in.
    std::thread::sleep(Duration::from_secs(1));
    mon.clear();
    let t = mono_ns();
    h1.cmd(&format!("leave {g}"));
    let first = leave_on_wire(mon, g, t);
    std::thread::sleep(hold(p).saturating_sub(Duration::from_nanos(mono_ns() - first)));
    let gap = longest_gap(&mon.datagrams(g, first), first, mono_ns());
    mon.clear();
    let t = mono_ns();
    h2.cmd(&format!("leave {g}"));
    let leave = leave_on_wire(mon, g, t);
    let stop = loop {
        let last = mon.last(|s| s == Seen::Datagram(g)).unwrap_or(0);
        let now = mono_ns();
        if now.saturating_sub(last.max(leave)) >= QUIET.as_nanos() as u64 {
            break Some(last.saturating_sub(leave) as f64 / 1e6);
        }
        if now.saturating_sub(leave) > TIMEOUT.as_nanos() as u64 {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stream);
    drop(d);
    (gap, stop)
}

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    r.scenario(
        ID,
        "Quick leave with two receivers on one LAN",
        &format!(
            "Two hosts on the LAN (a bridge without snooping; both the kernel's IGMPv2 stack) \
             join a fresh group whose source streams 1 000 datagrams/s; h1 leaves, and after \
             the daemon's last-member queries have run (3 s; 21 s for igmpproxy, whose are 10 s \
             × 2) the second host leaves. From the wire stamps of the LAN's listener (it sees \
             what the second host receives): the longest silence of the stream from h1's leave \
             on the wire until the second host's leave (about 1 ms when nothing is lost; a gap \
             of N ms is about N − 1 datagrams lost), and the second host's leave on the wire → \
             the last datagram on the LAN (then {} s of quiet; still flowing {} s after the \
             leave counts as not acted on). mgm with `quick-leave=on` on the LAN (explicit \
             host tracking: no query, the stream cut at the last host's leave) and with RFC \
             3376's last-member queries (1 s × 2, its default); igmpproxy with `quickleave` \
             (it leaves upstream at once; its downstream last-member queries stay fixed at \
             10 s × 2, and the source here is on its upstream link, so the upstream leave \
             does not stop the stream); FRR 8.4 pimd has no immediate leave: its shortest \
             last-member queries (`ip igmp last-member-query-interval 1`, \
             `last-member-query-count 1`: 100 ms × 1). A fresh daemon per trial, daemons \
             interleaved trial by trial.",
            QUIET.as_secs(),
            TIMEOUT.as_secs(),
        ),
    );
    let mon = WireCapture::start(&lab.mon.0, &lab.mon.1, PORT);
    let peers = [MGM_QUICK, MGM, Peer::Igmpproxy, Peer::Pimd];
    let mut n = 0u8;
    let runs = interleaved(&peers, trials, |p, _| {
        n += 1;
        trial(lab, &mon, p, Ipv4Addr::new(239, 43, 0, n))
    });
    let gap = Measure {
        scenario: ID,
        name: "the stream's longest gap after one of two hosts leaves",
        unit: "ms",
        better: Better::Lower,
    };
    let stop = Measure {
        scenario: ID,
        name: "the last host's leave → last datagram",
        unit: "ms",
        better: Better::Lower,
    };
    for (p, v) in peers.iter().zip(&runs) {
        gap.report(r, p, v.iter().map(|t| t.0).collect(), None, None);
        let stuck = v.iter().filter(|t| t.1.is_none()).count();
        let note = (stuck > 0).then(|| {
            let n = v.len();
            format!("{stuck} of {n} still flowing after {} s", TIMEOUT.as_secs())
        });
        stop.report(r, p, v.iter().filter_map(|t| t.1).collect(), None, note);
    }
    for m in [gap, stop] {
        m.na(
            r,
            &Peer::Smcroute,
            "static routes only: it does not read leaves",
        );
    }
}
