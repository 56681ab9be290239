//! Slow path: every report a state change (a join of a group the daemon does not hold yet), so
//! every daemon, mgm included, handles each one itself; CPU per report.
use super::{interleaved, join_all, Measure};
use crate::lab::{RouterLab, Settings};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use crate::traffic::groups;

const ID: &str = "slow_path";

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    let count = r.pick(5000, 300);
    let rate = 1000.0;
    r.scenario(
        ID,
        "Slow path: CPU per state-changing report",
        &format!(
            "A fresh daemon; the flood host on the LAN sends one IGMPv2 report for each of \
             {count} new groups at {rate:.0} reports/s (each a join the daemon must act on: new \
             group state, an MFC or forwarding update, for igmpproxy an upstream join). Figure: \
             the daemon's CPU time over the sending and the 500 ms after it (all threads; FRR: \
             pimd and zebra), divided by the reports sent, in µs; the note says how many groups \
             it held afterwards when not all."
        ),
    );
    let peers = [MGM, Peer::Igmpproxy, Peer::Pimd];
    let mut set = 0;
    let runs = interleaved(&peers, trials, |p, _| {
        set += 1;
        let d = lab.start(
            p,
            Settings {
                groups: count * 2,
                ..Settings::default()
            },
        );
        let gs = groups(set, count);
        let (held, _, cpu_ms) = join_all(lab, &d, 2, &gs, rate, 1);
        (cpu_ms * 1e3 / count as f64, held)
    });
    let m = Measure {
        scenario: ID,
        name: "daemon CPU per new-group join (IGMPv2)",
        unit: "µs",
        better: Better::Lower,
    };
    for (p, v) in peers.iter().zip(&runs) {
        let least = v.iter().map(|x| x.1).min().unwrap_or(0);
        let note = (least < count as u64).then(|| format!("held as few as {least} of {count}"));
        m.report(r, p, v.iter().map(|x| x.0).collect(), None, note);
    }
    m.na(
        r,
        &Peer::Smcroute,
        "static routes only: it does not read IGMP",
    );
}
