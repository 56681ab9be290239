//! Leave → stream stops: the only member on the LAN leaves; the span from its leave on the wire
//! to the last datagram of the stream on the LAN, with the same last-member timers where the
//! daemons allow it.
use super::{interleaved, Measure};
use crate::lab::{RouterLab, Settings, PORT, SOURCE};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use crate::traffic::{mono_ns, Stream};
use crate::wire::{Seen, WireCapture};
use std::net::Ipv4Addr;
use std::time::Duration;

const ID: &str = "leave";
/// The link has stopped when it saw no datagram of the stream for this long.
pub(super) const QUIET: Duration = Duration::from_millis(1000);
/// A leave after which the stream still flows this long counts as not acted on.
pub(super) const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `g`'s stream reaches the LAN (a datagram seen after `since`) within 10 s.
pub(super) fn flowing(mon: &WireCapture, g: Ipv4Addr, since: u64) -> bool {
    RouterLab::poll(Duration::from_secs(10), || {
        mon.first(since, |s| s == Seen::Datagram(g)).is_some()
    })
}

/// The stamp of the first leave of `g` on the wire after `since` (`since` if none in 5 s).
pub(super) fn leave_on_wire(mon: &WireCapture, g: Ipv4Addr, since: u64) -> u64 {
    let mut leave = None;
    RouterLab::poll(Duration::from_secs(5), || {
        leave = mon.first(since, |s| s == Seen::Leave(g));
        leave.is_some()
    });
    leave.unwrap_or(since)
}

/// The leave at `leave` → the last datagram of `g` on the LAN in ms, once the link has been
/// quiet for [`QUIET`]; `None` when the stream still flows [`TIMEOUT`] after the leave.
pub(super) fn stream_stops(mon: &WireCapture, g: Ipv4Addr, leave: u64) -> Option<f64> {
    loop {
        let last = mon.last(|s| s == Seen::Datagram(g)).unwrap_or(0);
        let now = mono_ns();
        if now.saturating_sub(last.max(leave)) >= QUIET.as_nanos() as u64 {
            return Some(last.saturating_sub(leave) as f64 / 1e6);
        }
        if now.saturating_sub(leave) > TIMEOUT.as_nanos() as u64 {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One trial's span in ms; `None` when the stream still flowed after `TIMEOUT`.
fn trial(lab: &mut RouterLab, mon: &WireCapture, p: &Peer, slow: bool, g: Ipv4Addr) -> Option<f64> {
    let d = lab.start(
        p,
        Settings {
            slow_leave: slow,
            ..Settings::default()
        },
    );
    let mut h1 = lab.host();
    let stream = Stream::start(&lab.src, SOURCE, g, PORT, Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(300));
    h1.cmd(&format!("join {g}"));
    let t = mono_ns();
    assert!(
        flowing(mon, g, t),
        "{}: {g} not forwarded after the join\n{}",
        p.label(),
        d.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    mon.clear();
    let t = mono_ns();
    h1.cmd(&format!("leave {g}"));
    let leave = leave_on_wire(mon, g, t);
    let out = stream_stops(mon, g, leave);
    drop(stream);
    drop(d);
    out
}

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    r.scenario(
        ID,
        "Leave → stream stops",
        &format!(
            "The source streams to a fresh group at 1 000 datagrams/s; h1 (IGMPv2) joins, the \
             stream reaches the LAN, h1 leaves. Span: its leave on the wire → the last datagram \
             on the LAN (then {} s of quiet; still flowing {} s after the leave counts as not \
             acted on). With RFC 3376's last-member timers (1 s × 2: mgm's and pimd's defaults) \
             and{} with igmpproxy's, which are fixed (10 s × 2; mgm `--last-member-query-interval \
             10s`, pimd `ip igmp last-member-query-interval 100`). A fresh daemon per trial.",
            QUIET.as_secs(),
            TIMEOUT.as_secs(),
            if r.quick { " (full run only)" } else { "" }
        ),
    );
    let mon = WireCapture::start(&lab.mon.0, &lab.mon.1, PORT);
    let mut cases = vec![(
        "leave → last datagram, RFC timers (1 s × 2)",
        false,
        vec![MGM, Peer::Pimd],
    )];
    if !r.quick {
        cases.push((
            "leave → last datagram, igmpproxy's timers (10 s × 2)",
            true,
            vec![MGM, Peer::Igmpproxy, Peer::Pimd],
        ));
    }
    let mut n = 0u8;
    for (name, slow, peers) in cases {
        let runs = interleaved(&peers, trials, |p, _| {
            n += 1;
            trial(lab, &mon, p, slow, Ipv4Addr::new(239, 41, 0, n))
        });
        let m = Measure {
            scenario: ID,
            name,
            unit: "ms",
            better: Better::Lower,
        };
        for (p, v) in peers.iter().zip(&runs) {
            let stuck = v.iter().filter(|x| x.is_none()).count();
            let note = (stuck > 0).then(|| {
                format!(
                    "{stuck} of {} still flowing after {} s",
                    v.len(),
                    TIMEOUT.as_secs()
                )
            });
            m.report(r, p, v.iter().flatten().copied().collect(), None, note);
        }
        if !slow {
            m.na(
                r,
                &Peer::Igmpproxy,
                "its last-member timers are fixed at 10 s × 2",
            );
        }
        m.na(
            r,
            &Peer::Smcroute,
            "static routes only: it does not read leaves",
        );
    }
}
