//! Refresh load: groups already held, refreshed by a host's reports at a set rate; the CPU per
//! report, IGMPv2 and IGMPv3. mgm's refreshes of known groups are absorbed by its classifier in
//! the kernel (the sender's softirq, not the daemon), so mgm is charged its daemon's CPU and its
//! classifier's run time (the kernel's BPF statistics); `mgm --no-fast-path` shows what the
//! daemon's own path costs.
use super::{interleaved, join_rounds, Measure};
use crate::classifier_time::{ClassifierRuns, RunTimeStats};
use crate::lab::{RouterLab, Settings, FLOOD_HOST};
use crate::peers::{Peer, Running, MGM, MGM_SLOW};
use crate::report::{Better, Report};
use crate::traffic::{groups, send_reports};
use std::time::Duration;

const ID: &str = "refresh";

/// One rate of one trial.
struct AtRate {
    /// Daemon CPU, µs per report sent.
    daemon_us: f64,
    /// mgm's classifiers' run time, µs per report sent, and their runs per report sent (`None`
    /// for a peer: it has none).
    classifier: Option<(f64, f64)>,
    /// The share of reports lost (%).
    lost: f64,
}

struct Run {
    per_rate: Vec<AtRate>,
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
             Figures, divided by the reports sent, in µs: the daemon's CPU time over the period \
             (all threads, schedstat; FRR: pimd and zebra); for mgm also its classifier's run \
             time at the router's TCX ingress hooks over the same period (the kernel's BPF \
             run-time statistics, enabled for the scenario: work done in softirq, on the \
             sender's packets, which no thread's schedstat counts), and the two added up. The \
             peers have no classifier: their whole cost here is their daemon's, so their \
             \"daemon + classifier\" row repeats their daemon's figure, and the ratio there \
             compares the whole cost. Nobody is charged the kernel's own receive path (IP, raw \
             socket delivery). The note gives the reports lost on the daemon's sockets (or, \
             for mgm, its event ring). A fresh daemon and fresh groups per trial and version."
        ),
    );
    let mut peers = vec![MGM, Peer::Igmpproxy, Peer::Pimd];
    if !r.quick {
        peers.insert(1, MGM_SLOW);
    }
    let _stats = RunTimeStats::enable();
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
            let held = join_rounds(lab, &d, version, &gs, 1000.0, 10).held;
            if held < count as u64 {
                eprintln!(
                    "  {}: holds {held} of {count} groups before the refresh",
                    p.label()
                );
            }
            let classifier = || {
                matches!(d, Running::Mgm(_))
                    .then(|| ClassifierRuns::read(&lab.rt, &[&lab.rl, &lab.ru]))
            };
            let per_rate = rates
                .iter()
                .map(|&rate| {
                    std::thread::sleep(Duration::from_millis(500));
                    let (c0, d0, k0) = (d.cpu_ns(), d.dropped(), classifier());
                    let total = (rate * seconds) as usize;
                    let (sent, _) = send_reports(&lab.flood, FLOOD_HOST, version, &gs, total, rate);
                    std::thread::sleep(Duration::from_millis(300));
                    let per_report = |ns: u64| ns as f64 / 1e3 / sent.max(1) as f64;
                    let classifier = k0.zip(classifier()).map(|(k0, k1)| {
                        let ran = k1.since(k0);
                        assert!(
                            ran.runs > 0,
                            "{}: the classifier did not run for {sent} reports: are the \
                             kernel's BPF statistics counting?",
                            p.label()
                        );
                        (
                            per_report(ran.time_ns),
                            ran.runs as f64 / sent.max(1) as f64,
                        )
                    });
                    AtRate {
                        daemon_us: per_report(d.cpu_ns() - c0),
                        classifier,
                        lost: (d.dropped() - d0) as f64 * 100.0 / sent.max(1) as f64,
                    }
                })
                .collect();
            Run { per_rate }
        });
        report_version(r, version, &peers, &rates, &runs);
    }
}

/// A row's figure from one rate of one trial; `None`: the daemon has no such part.
type Figure = fn(&AtRate) -> Option<f64>;

/// The three rows of one IGMP version: the daemon's CPU, mgm's classifier time, their sum.
fn report_version(r: &Report, version: u8, peers: &[Peer], rates: &[f64], runs: &[Vec<Run>]) {
    let what = format!(
        "per refresh report, IGMPv{version}{}",
        if version == 3 { " (IS_EX {})" } else { "" }
    );
    let daemon = format!("daemon CPU {what}");
    let classifier = format!("classifier time {what} (kernel, softirq)");
    let whole = format!("daemon + classifier {what}");
    let rows: [(&str, Figure); 3] = [
        (&daemon, |a| Some(a.daemon_us)),
        (&classifier, |a| a.classifier.map(|(us, _)| us)),
        // A peer's whole cost is its daemon's.
        (&whole, |a| {
            Some(a.daemon_us + a.classifier.map_or(0.0, |(us, _)| us))
        }),
    ];
    for (name, value) in rows {
        let m = Measure {
            scenario: ID,
            name,
            unit: "µs",
            better: Better::Lower,
        };
        for (p, v) in peers.iter().zip(runs) {
            for (j, &rate) in rates.iter().enumerate() {
                let values: Option<Vec<f64>> = v.iter().map(|x| value(&x.per_rate[j])).collect();
                let Some(values) = values else {
                    m.na_at(
                        r,
                        p,
                        "no classifier: its whole cost is its daemon's CPU",
                        rate,
                    );
                    continue;
                };
                let worst = v.iter().map(|x| x.per_rate[j].lost).fold(0.0, f64::max);
                let mut notes: Vec<String> = Vec::new();
                if worst > 0.0 {
                    notes.push(format!("up to {worst:.0} % lost"));
                }
                if name == classifier {
                    // What the time covers: about one run per report, or other packets too.
                    let most = v
                        .iter()
                        .filter_map(|x| x.per_rate[j].classifier)
                        .map(|(_, runs)| runs)
                        .fold(0.0, f64::max);
                    notes.push(format!("up to {most:.2} runs per report"));
                }
                let note = (!notes.is_empty()).then(|| notes.join("; "));
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
