//! Slow path: every report a state change (a join of a group the daemon does not hold yet, or
//! the leave of one it holds), so every daemon, mgm included, handles each one itself; CPU per
//! report, paced (each report its own wake-up) and in a burst (as fast as the sender can).
use super::{interleaved, join_rounds, Measure};
use crate::lab::{RouterLab, Settings, FLOOD_HOST};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use crate::traffic::{groups, leave, report, send_messages};
use std::time::Duration;

const ID: &str = "slow_path";
/// As fast as the sender can: the due count runs far ahead, so it never waits.
const UNPACED: f64 = 1e9;
/// After the burst of leaves, time for every daemon's last-member queries to run out and the
/// groups to go (igmpproxy's are fixed at about 10 s; mgm's and FRR's here 2 × 1 s).
const LEAVES_SETTLE: Duration = Duration::from_secs(12);

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
             it held afterwards when not all. Burst: another fresh daemon; the flood host sends \
             reports for {burst} new groups as fast as it can (back to back: many reach the \
             daemon in one wake-up), then, once it holds them, their {burst} IGMPv2 leaves as \
             fast. Figures: the daemon's CPU over the joins' burst and the 500 ms after it, per \
             report; over the leaves' burst and the {settle} s after it (last-member queries, the \
             groups' removal), per leave; the notes say how many groups it held after the joins \
             when not all, or still held after the leaves. The floor is a 70-line program \
             that blocks in `recv` on its mroute socket and calls `MRT_ADD_MFC` for each report, \
             nothing else (`peers/floor.rs`): no daemon woken by reports costs less here.",
            burst = burst_count(r),
            settle = LEAVES_SETTLE.as_secs(),
        ),
    );
    let peers = [MGM, Peer::Igmpproxy, Peer::Pimd, Peer::Floor];
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
        let j = join_rounds(lab, &d, 2, &gs, rate, 1);
        let (held, cpu_ms) = (j.held, j.first_round_cpu_ms);
        (cpu_ms * 1e3 / count as f64, held)
    });
    let m = Measure {
        scenario: ID,
        name: "daemon CPU per new-group report sent (IGMPv2)",
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
    burst(r, lab, &peers, trials);
}

/// The same reports in a burst: `count` new-group joins sent as fast as the sender can, then,
/// once they are held, their leaves as fast; the daemon's CPU per join (over the burst and the
/// 500 ms after it) and per leave (over the burst and until the groups went, last-member queries
/// and the groups' removal included). No query to the daemon while its CPU is counted.
fn burst(r: &Report, lab: &mut RouterLab, peers: &[Peer], trials: usize) {
    let count = burst_count(r);
    let mut set = 20;
    let runs = interleaved(peers, trials, |p, _| {
        set += 1;
        let d = lab.start(
            p,
            Settings {
                groups: count * 2,
                ..Settings::default()
            },
        );
        let gs = groups(set, count);
        let joins = gs.iter().map(|&g| report(2, g)).collect();
        let c0 = d.cpu_ns();
        send_messages(&lab.flood, FLOOD_HOST, joins, count, UNPACED);
        std::thread::sleep(Duration::from_millis(500));
        let join_us = (d.cpu_ns() - c0) as f64 / 1e3 / count as f64;
        let want = count as u64;
        let mut held = 0;
        RouterLab::poll(Duration::from_secs(3), || {
            held = lab.groups_held(&d).unwrap_or(0);
            held >= want
        });
        let leaves = gs.iter().map(|&g| leave(g)).collect();
        let c1 = d.cpu_ns();
        send_messages(&lab.flood, FLOOD_HOST, leaves, count, UNPACED);
        std::thread::sleep(LEAVES_SETTLE);
        let leave_us = (d.cpu_ns() - c1) as f64 / 1e3 / count as f64;
        let left = lab.groups_held(&d).unwrap_or(0);
        (join_us, leave_us, held, left)
    });
    let measure = |name| Measure {
        scenario: ID,
        name,
        unit: "µs",
        better: Better::Lower,
    };
    let joins = measure("daemon CPU per new-group report sent, burst (IGMPv2)");
    let leaves = measure("daemon CPU per leave sent, burst (IGMPv2)");
    for (p, v) in peers.iter().zip(&runs) {
        let least = v.iter().map(|x| x.2).min().unwrap_or(0);
        let note = (least < count as u64).then(|| format!("held as few as {least} of {count}"));
        joins.report(r, p, v.iter().map(|x| x.0).collect(), None, note);
        if *p == Peer::Floor {
            leaves.na(r, p, "it ignores leaves");
            continue;
        }
        let most = v.iter().map(|x| x.3).max().unwrap_or(0);
        let note = (most > 0).then(|| format!("still held {most} of {count}"));
        leaves.report(r, p, v.iter().map(|x| x.1).collect(), None, note);
    }
    for m in [joins, leaves] {
        m.na(
            r,
            &Peer::Smcroute,
            "static routes only: it does not read IGMP",
        );
    }
}

/// Reports in the burst: within what the event ring holds unpaced (256 KiB).
fn burst_count(r: &Report) -> usize {
    r.pick(2000, 300)
}
