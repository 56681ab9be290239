//! One link's flood against another link's join: a host on a second LAN floods IGMPv2 reports
//! for fresh groups while h1, on the first LAN, joins a group whose stream already reaches the
//! router. Per trial: did h1's join take effect during the flood, its report on the wire → the
//! MFC entry and → the first datagram sent after it, the daemon's CPU over the flood and its
//! RSS after, all taken outside the daemon.
use super::{interleaved, Measure};
use crate::lab::{RouterLab, Settings, FLOOD_LAN_HOST, PORT, SOURCE};
use crate::mroute_watch::MrouteWatch;
use crate::peers::{Peer, Running, MGM};
use crate::report::{Better, Report};
use crate::traffic::{mono_ns, Flood, Stream};
use crate::wire::{Seen, WireCapture};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const ID: &str = "flood";
/// The flood runs this long before h1 joins.
const LEAD: Duration = Duration::from_secs(1);
/// A join not in the MFC with the stream on the LAN this long after its report did not take
/// effect during the flood.
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The flood lasts at least this long (longer while a join is awaited).
const FLOOD: Duration = Duration::from_secs(4);
/// The stream's spacing (about 10 000 datagrams/s, as in `reaction`).
const STREAM_INTERVAL: Duration = Duration::from_micros(100);

/// One trial's figures.
#[derive(Clone, Copy, Default)]
struct Trial {
    /// The join took effect during the flood (MFC entry and the live stream on the LAN).
    joined: bool,
    /// Report on the wire → MFC entry, ms.
    mfc: Option<f64>,
    /// Report on the wire → first datagram sent after the report, on the LAN, ms.
    first: Option<f64>,
    /// The daemon's CPU over the flood, % of one CPU.
    cpu: f64,
    /// Its RSS 1 s after the flood, MiB.
    rss: f64,
    /// The flood's rate as sent, reports/s.
    rate: f64,
}

/// What the trial watches with.
struct Eyes<'a> {
    mon: &'a WireCapture,
    watch: &'a MrouteWatch,
}

/// h1 joins `g` (its stream running); returns (report → MFC, report → first datagram sent after
/// it) in ms, each when seen within `JOIN_TIMEOUT`.
fn join(lab: &mut RouterLab, eyes: &Eyes, g: Ipv4Addr) -> (Option<f64>, Option<f64>) {
    let mut h1 = lab.host();
    eyes.mon.clear();
    eyes.watch.clear();
    let t = mono_ns();
    h1.cmd(&format!("join {g}"));
    let mut out = (None, None);
    RouterLab::poll(JOIN_TIMEOUT, || {
        let Some(rep) = eyes.mon.first(t, |s| s == Seen::Join(g)) else {
            return false;
        };
        let span = |at: u64| (at as f64 - rep as f64) / 1e6;
        out.0 = eyes.watch.first_forwarding(g, t).map(|c| span(c.ns));
        out.1 = eyes.mon.first_sent_after(g, rep, rep).map(span);
        out.0.is_some() && out.1.is_some()
    });
    h1.cmd(&format!("leave {g}"));
    out
}

fn trial(lab: &mut RouterLab, eyes: &Eyes, p: &Peer, rate: Option<f64>, g: Ipv4Addr) -> Trial {
    let settings = Settings {
        mgm_defaults: true,
        flood_lan: true,
        ..Settings::default()
    };
    let fa = lab.flood_lan();
    let d: Running = lab.start(p, settings);
    let stream = Stream::start(&lab.src, SOURCE, g, PORT, STREAM_INTERVAL);
    std::thread::sleep(Duration::from_millis(300));
    let c0 = d.cpu_ns();
    let start = Instant::now();
    let flood = Flood::start(&fa, FLOOD_LAN_HOST, rate, u32::from(g));
    std::thread::sleep(LEAD);
    let (mfc, first) = join(lab, eyes, g);
    if let Some(rest) = FLOOD.checked_sub(start.elapsed()) {
        std::thread::sleep(rest);
    }
    let cpu = (d.cpu_ns() - c0) as f64 / 1e6 / start.elapsed().as_secs_f64() / 10.0;
    let (sent, over) = flood.stop();
    drop(stream);
    std::thread::sleep(Duration::from_secs(1));
    let rss = d.rss_kib() as f64 / 1024.0;
    let joined = mfc.is_some() && first.is_some();
    if !joined {
        eprintln!(
            "  {}: {g} not forwarded within {JOIN_TIMEOUT:?} of the join",
            p.label()
        );
    }
    drop(d);
    Trial {
        joined,
        mfc,
        first,
        cpu,
        rss,
        rate: sent as f64 / over.as_secs_f64().max(1e-9),
    }
}

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    r.scenario(
        ID,
        "One link's flood against another link's join",
        &format!(
            "A host on a second LAN (198.51.100.0/24, a bridge on its own router port) floods \
             IGMPv2 reports, each for a fresh pseudo-random group of 239.128.0.0/9, at 50 000/s \
             and as fast as its sender thread can (the rate reached is in the notes). {} s into \
             the flood, h1 on the first LAN joins a group whose stream (a datagram every {} µs) \
             has reached the router for 300 ms; the flood lasts at least {} s and until the \
             join is decided. Per trial: whether the join took effect during the flood (an MFC \
             entry with an outgoing interface, per the ipmr netlink notification, and the live \
             stream on the first LAN, within {} s of the report: 1 yes, 0 no); spans from the \
             report's kernel receive stamp on the first LAN to that notification and to the \
             first datagram sent after the report (wire stamps, as in `reaction`); the \
             daemon's CPU over the flood (/proc, % of one CPU) and its RSS 1 s after it. mgm \
             runs with its defaults here: a report budget of 10 000/s per interface \
             (`max-reports-per-second`), 4 096 groups per interface, 512 per host (every \
             other scenario runs it with `--max-reports-per-second 0` and room for the groups \
             it needs); igmpproxy and pimd with theirs (neither has a report budget), serving \
             both LANs. The flood host and the daemon share the machine's CPUs. A fresh \
             daemon per trial, daemons interleaved trial by trial.",
            LEAD.as_secs(),
            STREAM_INTERVAL.as_micros(),
            FLOOD.as_secs(),
            JOIN_TIMEOUT.as_secs(),
        ),
    );
    let peers = [MGM, Peer::Igmpproxy, Peer::Pimd];
    let mon = WireCapture::start(&lab.mon.0, &lab.mon.1, PORT);
    let watch = MrouteWatch::start(&lab.rt);
    let eyes = Eyes {
        mon: &mon,
        watch: &watch,
    };
    let cases = [
        ("50 000 reports/s", Some(50_000.0)),
        ("as fast as the sender can", None),
    ];
    let mut n = 0u8;
    for (i, (label, rate)) in cases.into_iter().enumerate() {
        let runs = interleaved(&peers, trials, |p, _| {
            n += 1;
            trial(lab, &eyes, p, rate, Ipv4Addr::new(239, 42, i as u8, n))
        });
        for (p, v) in peers.iter().zip(&runs) {
            report(r, label, p, v);
        }
        for name in &names(label) {
            r.na(
                ID,
                name,
                Peer::Smcroute.label(),
                "static routes only: no IGMP",
                None,
            );
        }
    }
    lab.drop_flood_lan();
}

/// Reports one daemon's trials under one flood.
fn report(r: &Report, flood: &str, p: &Peer, v: &[Trial]) {
    let rates: Vec<String> = v.iter().map(|t| format!("{:.0}", t.rate)).collect();
    let sent = format!("flood sent at {} reports/s", rates.join(", "));
    let joined = v.iter().filter(|t| t.joined).count();
    let names = names(flood);
    let measure = |k: usize, unit, better| Measure {
        scenario: ID,
        name: &names[k],
        unit,
        better,
    };
    let missed = |got: usize| {
        (got < v.len()).then(|| {
            format!(
                "{} of {} joins not in effect in 5 s",
                v.len() - got,
                v.len()
            )
        })
    };
    let joins: Vec<f64> = v.iter().map(|t| f64::from(u8::from(t.joined))).collect();
    let note = format!("{joined} of {} trials; {sent}", v.len());
    measure(0, "1 yes, 0 no", Better::Higher).report(r, p, joins, None, Some(note));
    let mfc: Vec<f64> = v.iter().filter_map(|t| t.mfc).collect();
    let n = mfc.len();
    measure(1, "ms", Better::Lower).report(r, p, mfc, None, missed(n));
    let first: Vec<f64> = v.iter().filter_map(|t| t.first).collect();
    let n = first.len();
    measure(2, "ms", Better::Lower).report(r, p, first, None, missed(n));
    let cpu = v.iter().map(|t| t.cpu).collect();
    measure(3, "%", Better::Lower).report(r, p, cpu, None, Some(sent));
    let rss = v.iter().map(|t| t.rss).collect();
    measure(4, "MiB", Better::Lower).report(r, p, rss, None, None);
}

/// The measures under one flood.
fn names(flood: &str) -> [String; 5] {
    [
        format!("{flood}: the other LAN's join took effect"),
        format!("{flood}: report on the wire → MFC entry"),
        format!("{flood}: report on the wire → first datagram sent after the report"),
        format!("{flood}: CPU during the flood"),
        format!("{flood}: RSS after the flood"),
    ]
}
