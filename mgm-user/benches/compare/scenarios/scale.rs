//! Scale: many groups joined at once from the LAN; how long until the daemon holds them all, its
//! CPU meanwhile, its memory holding them (mgm: its kernel maps too), and its CPU while it holds
//! them.
use super::{interleaved, join_rounds, Measure};
use crate::lab::{RouterLab, Settings};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use crate::traffic::groups;
use std::time::Duration;

const ID: &str = "scale";
/// Reports per second from the flood host while it joins the groups.
const RATE: f64 = 10_000.0;
const ROUNDS: usize = 5;
const MIB: f64 = 1024.0 * 1024.0;

struct Run {
    held: u64,
    held_after_first_round: u64,
    converged_s: Option<f64>,
    cpu_us_per_report: f64,
    rss_mib: f64,
    /// The daemon's BPF maps by name and their kernel memory, MiB; `None` without any.
    maps_mib: Option<Vec<(String, f64)>>,
    idle_cpu_ms_per_s: f64,
}

impl Run {
    fn maps_total_mib(&self) -> f64 {
        self.maps_mib
            .as_ref()
            .map_or(0.0, |m| m.iter().map(|(_, v)| v).sum())
    }
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
    let j = join_rounds(lab, &d, 2, &gs, RATE, ROUNDS);
    if j.took.is_none() {
        let log = d.log();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        eprintln!(
            "  {}: held {} of {count}; its log ends:\n{}",
            p.label(),
            j.held,
            tail.join("\n")
        );
    }
    let c0 = d.cpu_ns();
    std::thread::sleep(quiet);
    let idle = (d.cpu_ns() - c0) as f64 / 1e6 / quiet.as_secs_f64();
    let maps_mib = d.kernel_maps().map(|m| {
        m.into_iter()
            .map(|(name, bytes)| (name, bytes as f64 / MIB))
            .collect()
    });
    Run {
        held: j.held,
        held_after_first_round: j.held_after_first_round,
        converged_s: j.took.map(|t| t.as_secs_f64()),
        cpu_us_per_report: j.first_round_cpu_ms * 1e3 / count as f64,
        rss_mib: d.rss_kib() as f64 / 1024.0,
        maps_mib,
        idle_cpu_ms_per_s: idle,
    }
}

/// What a set of runs held after the first round, out of `count`.
fn held_note(runs: &[Run], count: usize) -> String {
    let least = runs
        .iter()
        .map(|r| r.held_after_first_round)
        .min()
        .unwrap_or(0);
    let most = runs
        .iter()
        .map(|r| r.held_after_first_round)
        .max()
        .unwrap_or(0);
    if least == count as u64 {
        format!("all {count} groups held after that round")
    } else if least == most {
        format!("{least} of {count} groups held after that round")
    } else {
        format!("{least}–{most} of {count} groups held after that round")
    }
}

/// The largest of the daemon's maps, by median size over `runs`, and the rest together.
fn maps_note(runs: &[Run]) -> Option<String> {
    let first = runs.first()?.maps_mib.as_ref()?;
    let median_of = |name: &str| {
        let mut v: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.maps_mib.as_ref()?.iter().find(|(n, _)| n == name))
            .map(|(_, x)| *x)
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let mut named: Vec<(String, f64)> = first
        .iter()
        .map(|(n, _)| (n.clone(), median_of(n)))
        .collect();
    named.sort_by(|a, b| b.1.total_cmp(&a.1));
    let rest: f64 = named.iter().skip(3).map(|(_, v)| v).sum();
    let mut parts: Vec<String> = named
        .iter()
        .take(3)
        .map(|(n, v)| format!("{n} {v:.3}"))
        .collect();
    if named.len() > 3 {
        parts.push(format!("{} others {rest:.3}", named.len() - 3));
    }
    Some(format!("of which (medians, MiB) {}", parts.join(", ")))
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
             divided by the reports of that round (one per group offered, held or not: the note \
             says how many it held after that round). Then its resident memory (VmRSS), mgm's \
             kernel map memory (its BPF maps' `memlock` in `/proc/PID/fdinfo`: the copy of each \
             group and source in `MGM_MEMBERS` and `MGM_SOURCES` and the smaller maps, memory no \
             VmRSS counts; not the event ring, which the daemon maps, so its VmRSS holds it) and \
             the two together (the peers keep their group state in their VmRSS; the kernel's own \
             multicast state, MFC entries and igmpproxy's upstream memberships, is counted for \
             no daemon), and its CPU over {} s holding them with nothing sent: a window too \
             short for mgm's periodic work (the MFC comparison with the kernel every 60 s, \
             general queries every 125 s), so mgm's figure there is what it does between those, \
             not its average. mgm runs with `--max-groups` and \
             `--max-groups-per-host` at the count plus 10 %. The largest count runs for a peer \
             only if it held every group of the smaller one.",
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
        let cpu = m(
            "daemon CPU per report sent, first round",
            "µs",
            Better::Lower,
        );
        let rss = m(
            "daemon resident memory (VmRSS) holding them",
            "MiB",
            Better::Lower,
        );
        let maps = m(
            "kernel map memory (MGM_MEMBERS, MGM_SOURCES …) holding them",
            "MiB",
            Better::Lower,
        );
        let total = m(
            "daemon VmRSS + its kernel maps, holding them",
            "MiB",
            Better::Lower,
        );
        let idle = m(
            "CPU holding them, nothing sent (short window)",
            "ms per s",
            Better::Lower,
        );
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
                v.iter().map(|x| x.cpu_us_per_report).collect(),
                x,
                Some(held_note(v, count)),
            );
            rss.report(r, p, v.iter().map(|x| x.rss_mib).collect(), x, None);
            match maps_note(v) {
                Some(note) => {
                    let mib = v.iter().map(Run::maps_total_mib).collect();
                    maps.report(r, p, mib, x, Some(note));
                    let sum = v.iter().map(|x| x.rss_mib + x.maps_total_mib()).collect();
                    total.report(r, p, sum, x, None);
                }
                None => {
                    maps.na_at(r, p, "no BPF maps", count as f64);
                    let rss_only = v.iter().map(|x| x.rss_mib).collect();
                    let note = Some("its VmRSS: no BPF maps".to_string());
                    total.report(r, p, rss_only, x, note);
                }
            }
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
