//! Scale: many groups joined at once from the LAN; how long until the daemon holds them all, its
//! CPU meanwhile, its memory holding them, and its CPU while it holds them.
use super::{interleaved, join_all, Measure};
use crate::lab::{RouterLab, Settings};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use crate::traffic::groups;
use std::time::Duration;

const ID: &str = "scale";
/// Reports per second from the flood host while it joins the groups.
const RATE: f64 = 10_000.0;
const ROUNDS: usize = 5;

struct Run {
    held: u64,
    converged_s: Option<f64>,
    cpu_us_per_group: f64,
    rss_mib: f64,
    idle_cpu_ms_per_s: f64,
}

fn trial(lab: &mut RouterLab, p: &Peer, count: usize, set: usize, quiet: Duration) -> Run {
    let d = lab.start(
        p,
        Settings {
            groups: count + count / 10,
            ..Settings::default()
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let gs = groups(set, count);
    let (held, took, cpu_ms) = join_all(lab, &d, 2, &gs, RATE, ROUNDS);
    if took.is_none() {
        let log = d.log();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        eprintln!(
            "  {}: held {held} of {count}; its log ends:\n{}",
            p.label(),
            tail.join("\n")
        );
    }
    let c0 = d.cpu_ns();
    std::thread::sleep(quiet);
    let idle = (d.cpu_ns() - c0) as f64 / 1e6 / quiet.as_secs_f64();
    Run {
        held,
        converged_s: took.map(|t| t.as_secs_f64()),
        cpu_us_per_group: cpu_ms * 1e3 / count as f64,
        rss_mib: d.rss_kib() as f64 / 1024.0,
        idle_cpu_ms_per_s: idle,
    }
}

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    let sizes: Vec<usize> = r.pick(vec![20_000, 100_000], vec![2_000]);
    let quiet = Duration::from_secs_f64(r.pick(10.0, 1.0));
    r.scenario(
        ID,
        "Scale: many groups",
        &format!(
            "A fresh daemon; the flood host sends one IGMPv2 report per group at {RATE:.0}/s, \
             round after round (at most {ROUNDS}), until the daemon holds them all (mgm: `mgm show \
             stats`; igmpproxy: its upstream memberships in the kernel; pimd: `show ip igmp \
             groups`, polled every 200 ms between rounds). Convergence: from the first report \
             until all are held. CPU: the daemon's over the first round and the 500 ms after it, \
             per group. Then its resident memory, and its CPU over {} s holding them with \
             nothing sent. mgm runs with `--max-groups` and `--max-groups-per-host` at the count \
             plus 10 %. The largest count runs for a peer only if it held every group of the \
             smaller one.",
            quiet.as_secs_f64()
        ),
    );
    let all = [MGM, Peer::Igmpproxy, Peer::Pimd];
    let mut set = 100;
    // Peers that held every group so far.
    let mut able: Vec<bool> = vec![true; all.len()];
    for &count in &sizes {
        let peers: Vec<Peer> = all
            .iter()
            .zip(&able)
            .filter(|(p, ok)| **ok || !p.is_peer())
            .map(|(p, _)| p.clone())
            .collect();
        let runs = interleaved(&peers, trials, |p, _| {
            set += 2;
            trial(lab, p, count, set, quiet)
        });
        let x = Some((count as f64, "groups"));
        let m = |name: &'static str, unit: &'static str, better| Measure {
            scenario: ID,
            name,
            unit,
            better,
        };
        let held = m("groups held", "groups", Better::Higher);
        let conv = m("convergence, first report → all held", "s", Better::Lower);
        let cpu = m("daemon CPU per group joined", "µs", Better::Lower);
        let rss = m("resident memory holding them", "MiB", Better::Lower);
        let idle = m("CPU holding them, nothing sent", "ms per s", Better::Lower);
        for (p, v) in peers.iter().zip(&runs) {
            let never = v.iter().filter(|x| x.converged_s.is_none()).count();
            held.report(r, p, v.iter().map(|x| x.held as f64).collect(), x, None);
            let note = (never > 0).then(|| format!("{never} of {} trials never held all", v.len()));
            conv.report(
                r,
                p,
                v.iter().filter_map(|x| x.converged_s).collect(),
                x,
                note,
            );
            cpu.report(
                r,
                p,
                v.iter().map(|x| x.cpu_us_per_group).collect(),
                x,
                None,
            );
            rss.report(r, p, v.iter().map(|x| x.rss_mib).collect(), x, None);
            idle.report(
                r,
                p,
                v.iter().map(|x| x.idle_cpu_ms_per_s).collect(),
                x,
                None,
            );
            if let Some(i) = all.iter().position(|a| a == p) {
                able[i] &= never == 0;
            }
        }
        for (p, ok) in all.iter().zip(&able) {
            if !ok && !peers.contains(p) {
                let why = "not run: it did not hold every group of the smaller count";
                held.na_at(r, p, why, count as f64);
            }
        }
        held.na(
            r,
            &Peer::Smcroute,
            "static routes only: it does not read IGMP",
        );
    }
}
