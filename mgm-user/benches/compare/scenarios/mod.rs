//! The scenarios, one module each. Every scenario declares itself, runs its daemons interleaved
//! trial by trial (mgm, peer, mgm, peer …; one daemon at a time) and reports a figure per
//! measure and daemon, or why a daemon cannot do that work.
pub(crate) mod flood;
pub(crate) mod idle;
pub(crate) mod leave;
pub(crate) mod quick_leave;
pub(crate) mod reaction;
pub(crate) mod refresh;
pub(crate) mod scale;
pub(crate) mod slow_path;

use crate::peers::Peer;
use crate::report::{Better, Figure, Report};

/// Runs `trials` rounds; in each, every daemon of `peers` in turn. Returns each daemon's results
/// in trial order.
pub(crate) fn interleaved<T>(
    peers: &[Peer],
    trials: usize,
    mut f: impl FnMut(&Peer, usize) -> T,
) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = peers.iter().map(|_| Vec::new()).collect();
    for trial in 0..trials {
        for (i, p) in peers.iter().enumerate() {
            eprintln!("  trial {} of {trials}: {}", trial + 1, p.label());
            out[i].push(f(p, trial));
        }
    }
    out
}

/// What a figure is, apart from its daemon and values.
#[derive(Clone, Copy)]
pub(crate) struct Measure<'a> {
    pub(crate) scenario: &'a str,
    pub(crate) name: &'a str,
    pub(crate) unit: &'a str,
    pub(crate) better: Better,
}

impl Measure<'_> {
    /// Reports `values` of `peer` (at `x` on a curve), with a note.
    pub(crate) fn report(
        &self,
        r: &Report,
        peer: &Peer,
        values: Vec<f64>,
        x: Option<(f64, &str)>,
        note: Option<String>,
    ) {
        if values.is_empty() {
            r.na(
                self.scenario,
                self.name,
                peer.label(),
                &note.unwrap_or_else(|| "no trial measured it".into()),
                x.map(|x| x.0),
            );
            return;
        }
        r.figure(Figure {
            scenario: self.scenario,
            measure: self.name,
            daemon: peer.label(),
            peer: peer.is_peer(),
            unit: self.unit,
            better: self.better,
            values,
            x,
            note,
        });
    }

    pub(crate) fn na(&self, r: &Report, peer: &Peer, why: &str) {
        r.na(self.scenario, self.name, peer.label(), why, None);
    }

    /// Not applicable at one point of a curve.
    pub(crate) fn na_at(&self, r: &Report, peer: &Peer, why: &str, x: f64) {
        r.na(self.scenario, self.name, peer.label(), why, Some(x));
    }
}

/// What [`join_rounds`] saw.
pub(crate) struct Joined {
    /// Groups held at the end.
    pub(crate) held: u64,
    /// Groups held once the first round was sent and the daemon had up to 3 s more (the reports
    /// its first-round CPU was spent on).
    pub(crate) held_after_first_round: u64,
    /// From the first report until all were held; `None` if they never were.
    pub(crate) took: Option<std::time::Duration>,
    /// The daemon's CPU time over the first round and the 500 ms after it, ms.
    pub(crate) first_round_cpu_ms: f64,
}

/// Joins `groups` from the flood host: a report per group at `rate`, round after round until the
/// daemon holds them all or `rounds` rounds went out. No query to the daemon meanwhile: [`Joined`]
/// says what it saw.
pub(crate) fn join_rounds(
    lab: &crate::lab::RouterLab,
    d: &crate::peers::Running,
    version: u8,
    groups: &[std::net::Ipv4Addr],
    rate: f64,
    rounds: usize,
) -> Joined {
    use crate::lab::FLOOD_HOST;
    use crate::traffic::send_reports;
    use std::time::{Duration, Instant};
    let start = Instant::now();
    let c0 = d.cpu_ns();
    let mut cpu_ms = None;
    let mut held = 0;
    let mut held_after_first_round = None;
    let want = groups.len() as u64;
    for _ in 0..rounds {
        send_reports(&lab.flood, FLOOD_HOST, version, groups, groups.len(), rate);
        if cpu_ms.is_none() {
            std::thread::sleep(Duration::from_millis(500));
            cpu_ms = Some((d.cpu_ns() - c0) as f64 / 1e6);
        }
        let settle = Instant::now();
        let mut took = None;
        while settle.elapsed() < Duration::from_secs(3) {
            held = lab.groups_held(d).unwrap_or(0);
            if held >= want {
                took = Some(start.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let first = *held_after_first_round.get_or_insert(held);
        if took.is_some() {
            return Joined {
                held,
                held_after_first_round: first,
                took,
                first_round_cpu_ms: cpu_ms.unwrap_or(0.0),
            };
        }
    }
    Joined {
        held,
        held_after_first_round: held_after_first_round.unwrap_or(held),
        took: None,
        first_round_cpu_ms: cpu_ms.unwrap_or(0.0),
    }
}
