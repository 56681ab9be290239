//! Refresh load: groups already held, refreshed by a host's reports at a set rate; the daemon's
//! CPU per report, IGMPv2 and IGMPv3. mgm's refreshes of known groups are absorbed by its
//! classifier in the kernel (the sender's softirq, not the daemon): `mgm --no-fast-path` shows
//! what the daemon's own path costs.
use super::{interleaved, join_all, Measure};
use crate::lab::{RouterLab, Settings, FLOOD_HOST};
use crate::peers::{Peer, MGM, MGM_SLOW};
use crate::report::{Better, Report};
use crate::traffic::{groups, send_reports};
use std::time::Duration;

const ID: &str = "refresh";

struct Run {
    /// Per rate: daemon CPU µs per report sent, and the share of reports lost (%).
    per_rate: Vec<(f64, f64)>,
}

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    let count = r.pick(1000, 100);
    let rates: Vec<f64> = r.pick(vec![1_000.0, 10_000.0], vec![2_000.0]);
    let seconds = r.pick(5.0, 0.5);
    r.scenario(
        ID,
        "Refresh load: CPU per report for groups already held",
        &format!(
            "{count} groups joined from the flood host on the LAN (one raw report each, repeated \
             until the daemon holds them all), then refreshed for {seconds} s at each rate, \
             groups in turn: IGMPv2 reports, and IGMPv3 reports with one IS_EX {{}} record. \
             Figure: the daemon's CPU time over the period (all threads, schedstat; FRR: pimd \
             and zebra) divided by the reports sent, in µs; the note gives the reports lost on \
             its sockets (or, for mgm, its event ring). A fresh daemon and fresh groups per \
             trial and version."
        ),
    );
    let mut peers = vec![MGM, Peer::Igmpproxy, Peer::Pimd];
    if !r.quick {
        peers.insert(1, MGM_SLOW);
    }
    let mut set = 0;
    for version in [2u8, 3] {
        let runs = interleaved(&peers, trials, |p, _| {
            set += 1;
            let settings = Settings {
                version,
                ..Settings::default()
            };
            let d = lab.start(p, settings);
            let gs = groups(set % 150, count);
            let (held, _, _) = join_all(lab, &d, version, &gs, 1000.0, 10);
            if held < count as u64 {
                eprintln!(
                    "  {}: holds {held} of {count} groups before the refresh",
                    p.label()
                );
            }
            let per_rate = rates
                .iter()
                .map(|&rate| {
                    std::thread::sleep(Duration::from_millis(500));
                    let (c0, d0) = (d.cpu_ns(), d.dropped());
                    let total = (rate * seconds) as usize;
                    let (sent, _) = send_reports(&lab.flood, FLOOD_HOST, version, &gs, total, rate);
                    std::thread::sleep(Duration::from_millis(300));
                    let cpu_us = (d.cpu_ns() - c0) as f64 / 1e3 / sent.max(1) as f64;
                    let lost = (d.dropped() - d0) as f64 * 100.0 / sent.max(1) as f64;
                    (cpu_us, lost)
                })
                .collect();
            Run { per_rate }
        });
        let name = format!(
            "daemon CPU per refresh report, IGMPv{version}{}",
            if version == 3 { " (IS_EX {})" } else { "" }
        );
        let m = Measure {
            scenario: ID,
            name: &name,
            unit: "µs",
            better: Better::Lower,
        };
        for (p, v) in peers.iter().zip(&runs) {
            for (j, &rate) in rates.iter().enumerate() {
                let worst = v.iter().map(|x| x.per_rate[j].1).fold(0.0, f64::max);
                let note = (worst > 0.0).then(|| format!("up to {worst:.0} % lost"));
                let values = v.iter().map(|x| x.per_rate[j].0).collect();
                m.report(r, p, values, Some((rate, "reports/s")), note);
            }
        }
        m.na(
            r,
            &Peer::Smcroute,
            "static routes only: it does not read IGMP",
        );
    }
}
