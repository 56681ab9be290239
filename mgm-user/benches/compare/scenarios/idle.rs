//! Idle daemon: started on the router's two interfaces, nothing asked of it beyond its own
//! queries; its CPU over a quiet period and its resident memory. Every peer takes part.
use super::{interleaved, Measure};
use crate::lab::{RouterLab, Settings};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use std::time::Duration;

const ID: &str = "idle";

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    let quiet = Duration::from_secs_f64(r.pick(10.0, 1.0));
    r.scenario(
        ID,
        "Idle: CPU and memory with nothing to do",
        &format!(
            "Each daemon started alone on the router's two interfaces (source side and LAN), no \
             host joined; after {} s to settle, its CPU time (all threads; FRR: pimd and zebra \
             together) over {} s and its resident set (VmRSS) at the end. A fresh daemon per \
             trial.",
            r.pick(2, 1),
            quiet.as_secs_f64()
        ),
    );
    let peers = [MGM, Peer::Igmpproxy, Peer::Smcroute, Peer::Pimd];
    let runs = interleaved(&peers, trials, |p, _| {
        let d = lab.start(p, Settings::default());
        std::thread::sleep(Duration::from_secs(r.pick(2, 1)));
        let c0 = d.cpu_ns();
        std::thread::sleep(quiet);
        let cpu_ms = (d.cpu_ns() - c0) as f64 / 1e6;
        (cpu_ms, d.rss_kib() as f64 / 1024.0)
    });
    let cpu = Measure {
        scenario: ID,
        name: "CPU while idle",
        unit: "ms per s",
        better: Better::Lower,
    };
    let rss = Measure {
        scenario: ID,
        name: "resident memory, idle",
        unit: "MiB",
        better: Better::Lower,
    };
    for (p, v) in peers.iter().zip(&runs) {
        let per_s = v.iter().map(|x| x.0 / quiet.as_secs_f64()).collect();
        cpu.report(r, p, per_s, None, None);
        rss.report(r, p, v.iter().map(|x| x.1).collect(), None, None);
    }
}
