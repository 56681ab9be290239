//! Router reaction: a stream already reaches the router; a host joins its group. Spans from the
//! report's kernel receive stamp on the LAN to the kernel's MFC change (the ipmr netlink
//! notification) and to the first forwarded datagram on the LAN, all taken outside the daemon.
use super::{interleaved, Measure};
use crate::lab::{RouterLab, Settings, PORT, SOURCE};
use crate::mroute_watch::{MfcChange, MrouteWatch};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use crate::traffic::{mono_ns, Stream};
use crate::wire::{Seen, Stamped, WireCapture};
use std::net::Ipv4Addr;
use std::time::Duration;

const ID: &str = "reaction";
/// The stream's spacing: about 10 000 datagrams/s, so that waiting for the next datagram adds
/// at most ~0.1 ms.
const STREAM_INTERVAL: Duration = Duration::from_micros(100);

/// One join: (report → MFC, report → first datagram, report → first datagram sent after the
/// report) in ms, each when seen.
type Spans = (Option<f64>, Option<f64>, Option<f64>);

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let rounds = r.pick(4, 1);
    let per_round = r.pick(5, 2);
    r.scenario(
        ID,
        "Router reaction: report → MFC → first forwarded datagram",
        &format!(
            "The source streams UDP to a fresh group (a datagram every {} µs, so about 10 000/s \
             when the sender keeps up) for 300 ms before h1 joins it (its kernel's IGMPv2 \
             report). Spans from the report's kernel receive stamp at the LAN listener to the \
             router kernel's ipmr netlink notification of an MFC entry for the group with an \
             outgoing interface (read by a SCHED_FIFO thread; netlink has no enqueue stamp, so \
             this is an upper bound and can trail the first datagram by the thread's wake-up), \
             to the first datagram of the stream on the LAN (a wire stamp: the sharper \
             figure), and to the first one sent after the report (each datagram carries its send \
             time): igmpproxy leaves the source's kernel entry unresolved until the join, so its \
             MFC call has the kernel forward the datagrams queued on that entry (up to four, \
             sent 300 ms earlier); mgm installs the entry on the kernel's upcall (MGM's new \
             packet), which drops them, and forwards from the live stream. The floor is a 70-line \
             program that blocks in `recv` on its mroute socket and calls `MRT_ADD_MFC` for each \
             report, nothing else, leaving upcalls unanswered as igmpproxy does \
             (`peers/floor.rs`): no daemon woken by the report reacts faster here. {rounds} rounds of {per_round} joins per daemon, a fresh daemon per round, \
             daemons interleaved round by round.",
            STREAM_INTERVAL.as_micros()
        ),
    );
    let peers = [MGM, Peer::Igmpproxy, Peer::Pimd, Peer::Floor];
    let mon = WireCapture::start(&lab.mon.0, &lab.mon.1, PORT);
    let watch = MrouteWatch::start(&lab.rt);
    let mut h1 = lab.host();
    let detail = std::env::var_os("MGM_BENCH_REACTION_DETAIL").is_some();
    let runs = interleaved(&peers, rounds, |p, round| {
        let d = lab.start(p, Settings::default());
        std::thread::sleep(Duration::from_millis(500));
        let spans: Vec<Spans> = (0..per_round)
            .map(|k| {
                let g = Ipv4Addr::new(239, 40, 1 + round as u8, 1 + k as u8);
                let stream = Stream::start(&lab.src, SOURCE, g, PORT, STREAM_INTERVAL);
                std::thread::sleep(Duration::from_millis(300));
                mon.clear();
                watch.clear();
                let t = mono_ns();
                h1.cmd(&format!("join {g}"));
                let mut out = (None, None, None);
                RouterLab::poll(Duration::from_secs(5), || {
                    let Some(rep) = mon.first(t, |s| s == Seen::Join(g)) else {
                        return false;
                    };
                    let span = |at: u64| (at as f64 - rep as f64) / 1e6;
                    out.0 = watch.first_forwarding(g, t).map(|c| span(c.ns));
                    out.1 = mon.first(rep, |s| s == Seen::Datagram(g)).map(span);
                    // A daemon that leaves the source's entry unresolved until the join gets
                    // the datagrams the kernel queued on it (up to four, sent 300 ms before)
                    // forwarded by its MFC call: the live stream is what a receiver waits for.
                    out.2 = mon.first_sent_after(g, rep, rep).map(span);
                    let seen = out.0.is_some() && out.1.is_some() && out.2.is_some();
                    if seen && detail {
                        let mfc = watch.changes(g, t);
                        print_detail(p.label(), &mon.frames(), &stream, &mfc, g, rep);
                    }
                    seen
                });
                h1.cmd(&format!("leave {g}"));
                drop(stream);
                std::thread::sleep(Duration::from_millis(200));
                if out.0.is_none() || out.1.is_none() || out.2.is_none() {
                    eprintln!("  {}: {g} not forwarded within 5 s\n{}", p.label(), d.log());
                }
                out
            })
            .collect();
        drop(d);
        spans
    });
    let measures = [
        "report on the wire → MFC entry (ipmr notification)",
        "report on the wire → first forwarded datagram",
        "report on the wire → first datagram sent after the report",
    ];
    for (i, name) in measures.iter().enumerate() {
        let m = Measure {
            scenario: ID,
            name,
            unit: "ms",
            better: Better::Lower,
        };
        for (p, v) in peers.iter().zip(&runs) {
            let all: Vec<Spans> = v.iter().flatten().copied().collect();
            let got: Vec<f64> = all.iter().filter_map(|s| [s.0, s.1, s.2][i]).collect();
            let missed = all.len() - got.len();
            let note =
                (missed > 0).then(|| format!("{missed} of {} joins not seen in 5 s", all.len()));
            m.report(r, p, got, None, note);
        }
        m.na(
            r,
            &Peer::Smcroute,
            "static routes only: it does not react to reports (its routes are set beforehand)",
        );
    }
}

/// `MGM_BENCH_REACTION_DETAIL=1`: one line per join on stderr, µs after the report on the wire:
/// every MFC notification for the group since the join (source, outgoing interfaces, when read),
/// then the first datagram sent after the report (when it was sent, when
/// it was on the LAN) and the datagrams sent after the report that were not forwarded (how many,
/// the last one's send time): whether the first waited for the daemon or for the stream.
fn print_detail(
    label: &str,
    frames: &[Stamped],
    stream: &Stream,
    mfc: &[MfcChange],
    g: Ipv4Addr,
    rep: u64,
) {
    let us = |t: u64| (t as f64 - rep as f64) / 1e3;
    let ours = |f: &&Stamped| f.seen == Seen::Datagram(g) && f.sent_ns.is_some();
    let Some(first) = frames
        .iter()
        .filter(ours)
        .find(|f| f.ns >= rep && f.sent_ns.is_some_and(|t| t >= rep))
    else {
        return;
    };
    let sent = first.sent_ns.unwrap_or(0);
    let before = stream.sent_between(rep, sent.saturating_sub(1));
    let changes: Vec<String> = mfc
        .iter()
        .map(|c| format!("({}, {g}) {} oifs at {:.0}", c.source, c.oifs, us(c.ns)))
        .collect();
    eprintln!(
        "  reaction detail {label} {g}: mfc {} | first live sent {:.0} on LAN {:.0} | \
         {} sent after the report before it, the last at {:.0}",
        changes.join(", "),
        us(sent),
        us(first.ns),
        before.len(),
        before.last().map_or(f64::NAN, |&t| us(t)),
    );
}
