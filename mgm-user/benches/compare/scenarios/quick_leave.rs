//! Quick leave with two receivers on one LAN: two hosts receive the same group's stream; one
//! leaves, later the other leaves. The datagrams the other lost after the first leave (send
//! stamps never seen on the LAN) and the span from the last leave on the wire to the stream's last
//! datagram on the LAN, each daemon with its nearest to quick leave, mgm also with RFC 3376's
//! last-member queries.
use super::leave::{flowing, leave_on_wire, stream_stops, QUIET, TIMEOUT};
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
/// The stream's spacing: 1 000 datagrams/s.
const STREAM_INTERVAL: Duration = Duration::from_millis(1);

/// How long the second host keeps the group after h1's leave: past the daemon's last-member
/// queries (igmpproxy's are fixed at 10 s × 2) and 1 s more.
fn hold(p: &Peer) -> Duration {
    match p {
        Peer::Igmpproxy => Duration::from_secs(21),
        _ => Duration::from_secs(3),
    }
}

/// Of the datagrams `sent` (send times, in order), those never seen on the LAN (`seen`): how
/// many, and the longest run of them in ms (first to last send time of the run, plus one
/// spacing; 0 when none).
fn lost(sent: &[u64], seen: &std::collections::HashSet<u64>) -> (usize, f64) {
    let (mut n, mut longest, mut run) = (0, 0u64, None::<u64>);
    for &t in sent {
        if seen.contains(&t) {
            run = None;
            continue;
        }
        n += 1;
        let first = *run.get_or_insert(t);
        longest = longest.max(t - first + STREAM_INTERVAL.as_nanos() as u64);
    }
    (n, longest as f64 / 1e6)
}

/// One trial: (datagrams lost after the first host's leave, the longest run of them in ms, the
/// last leave → the last datagram in ms, `None` when it still flowed after `TIMEOUT`).
type Trial = (usize, f64, Option<f64>);

fn trial(lab: &mut RouterLab, mon: &WireCapture, p: &Peer, g: Ipv4Addr) -> Trial {
    let settings = Settings {
        quick_leave: p != &MGM,
        version: 3,
        ..Settings::default()
    };
    let d = lab.start(p, settings);
    let (mut h1, mut h2) = lab.pair();
    let stream = Stream::start(&lab.src, SOURCE, g, PORT, STREAM_INTERVAL);
    std::thread::sleep(Duration::from_millis(300));
    h1.cmd(&format!("join {g}"));
    h2.cmd(&format!("join {g}"));
    let t = mono_ns();
    assert!(
        flowing(mon, g, t),
        "{}: {g} not forwarded after the joins\n{}",
        p.label(),
        d.log()
    );
    // Both hosts' unsolicited reports are in.
    std::thread::sleep(Duration::from_secs(2));
    mon.clear();
    let t = mono_ns();
    h1.cmd(&format!("leave {g}"));
    let first = leave_on_wire(mon, g, t);
    std::thread::sleep(hold(p).saturating_sub(Duration::from_nanos(mono_ns() - first)));
    // What the source sent from the first leave until 100 ms before the last (those may still
    // be on their way), against the send stamps seen on the LAN.
    let sent = stream.sent_between(first, mono_ns() - 100_000_000);
    let seen = mon
        .frames()
        .iter()
        .filter(|f| f.seen == Seen::Datagram(g))
        .filter_map(|f| f.sent_ns)
        .collect();
    let (n_lost, run) = lost(&sent, &seen);
    mon.clear();
    let t = mono_ns();
    h2.cmd(&format!("leave {g}"));
    let leave = leave_on_wire(mon, g, t);
    let stop = stream_stops(mon, g, leave);
    drop(stream);
    drop(d);
    (n_lost, run, stop)
}

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    r.scenario(
        ID,
        "Quick leave with two receivers on one LAN",
        &format!(
            "Two hosts on the LAN (a bridge without snooping; fresh IGMPv3 hosts, the kernel's \
             stack, and the router's LAN in IGMPv3) join a fresh group whose source streams \
             1 000 datagrams/s; host 1 leaves, and once the daemon's last-member queries have \
             run (3 s; 21 s for igmpproxy, whose are 10 s × 2) host 2 leaves. Datagrams host \
             2 lost: those the source sent from host 1's leave on the wire until 100 ms before \
             host 2's whose send stamp (each datagram carries it) never showed on the LAN, \
             where the listener sees what host 2 receives; their count and the longest run of \
             them in ms (0 when none). Then host 2's leave on the wire → the last datagram on \
             the LAN (then {} s of quiet; still flowing {} s after the leave counts as not \
             acted on). mgm with `quick-leave=on` on the LAN (explicit host tracking: no \
             query, the stream cut at the last host's leave) and with RFC 3376's last-member \
             queries (1 s × 2, its default); igmpproxy with `quickleave` (its host tracking \
             decides its upstream leave; its downstream last-member queries stay fixed at 10 s \
             × 2, and the source here is on its upstream link, so the upstream leave does not \
             stop the stream); FRR 8.4 pimd has no immediate leave: its shortest last-member \
             queries (`ip igmp last-member-query-interval 1`, `last-member-query-count 1`: \
             100 ms × 1). A fresh daemon per trial; mgm and pimd interleaved trial by trial, \
             igmpproxy's trials after theirs (its IGMPv2 queries put the hosts in IGMPv2 \
             compatibility for 400 s, where a host that heard the other's report sends no \
             leave).",
            QUIET.as_secs(),
            TIMEOUT.as_secs(),
        ),
    );
    let mon = WireCapture::start(&lab.mon.0, &lab.mon.1, PORT);
    let peers = [MGM_QUICK, MGM, Peer::Pimd, Peer::Igmpproxy];
    let mut n = 0u8;
    let mut runs = interleaved(&peers[..3], trials, |p, _| {
        n += 1;
        trial(lab, &mon, p, Ipv4Addr::new(239, 43, 0, n))
    });
    runs.extend(interleaved(&peers[3..], trials, |p, _| {
        n += 1;
        trial(lab, &mon, p, Ipv4Addr::new(239, 43, 0, n))
    }));
    let measure = |name, unit| Measure {
        scenario: ID,
        name,
        unit,
        better: Better::Lower,
    };
    let count = measure("datagrams lost after one of two hosts leaves", "datagrams");
    let gap = measure("longest run lost after one of two hosts leaves", "ms");
    let stop = measure("the last host's leave → last datagram", "ms");
    for (p, v) in peers.iter().zip(&runs) {
        count.report(r, p, v.iter().map(|t| t.0 as f64).collect(), None, None);
        gap.report(r, p, v.iter().map(|t| t.1).collect(), None, None);
        let stuck = v.iter().filter(|t| t.2.is_none()).count();
        let note = (stuck > 0).then(|| {
            let n = v.len();
            format!("{stuck} of {n} still flowing after {} s", TIMEOUT.as_secs())
        });
        stop.report(r, p, v.iter().filter_map(|t| t.2).collect(), None, note);
    }
    for m in [count, gap, stop] {
        m.na(
            r,
            &Peer::Smcroute,
            "static routes only: it does not read leaves",
        );
    }
}
