//! Idle daemon: started on the router's two interfaces, nothing asked of it beyond its own
//! queries; its CPU over a quiet period, its resident memory and mgm's kernel maps. Every peer
//! takes part.
use super::{interleaved, Measure};
use crate::lab::{RouterLab, Settings};
use crate::peers::{Peer, MGM};
use crate::report::{Better, Report};
use std::time::Duration;

const ID: &str = "idle";
const MIB: f64 = 1024.0 * 1024.0;

pub(crate) fn run(r: &Report, lab: &mut RouterLab) {
    let trials = r.pick(3, 1);
    let quiet = Duration::from_secs_f64(r.pick(10.0, 1.0));
    r.scenario(
        ID,
        "Idle: CPU and memory with nothing to do",
        &format!(
            "Each daemon started alone on the router's two interfaces (source side and LAN), no \
             host joined; after {settle} s to settle, its CPU time (all threads; FRR: pimd and \
             zebra together) over {quiet} s and its resident set (VmRSS) at the end; for mgm \
             also its BPF maps' kernel memory (`memlock` in `/proc/PID/fdinfo`: the interface, \
             member and source maps …), which no VmRSS counts (the event ring is not in it: the \
             daemon maps the ring, so its VmRSS holds it). A fresh daemon per \
             trial. The {quiet} s window, {settle} s after the start, holds none of mgm's \
             periodic work: its second start-up query comes at 31 s, the MFC comparison with the \
             kernel every 60 s, general queries every 125 s; a daemon on a 1 s timer (igmpproxy) \
             always falls in. So mgm's 0 says it does nothing between those, not that its \
             average is 0.",
            settle = r.pick(2, 1),
            quiet = quiet.as_secs_f64()
        ),
    );
    let peers = [MGM, Peer::Igmpproxy, Peer::Smcroute, Peer::Pimd];
    let runs = interleaved(&peers, trials, |p, _| {
        let d = lab.start(p, Settings::default());
        std::thread::sleep(Duration::from_secs(r.pick(2, 1)));
        let c0 = d.cpu_ns();
        std::thread::sleep(quiet);
        let cpu_ms = (d.cpu_ns() - c0) as f64 / 1e6;
        let maps = d
            .kernel_maps()
            .map(|m| m.iter().map(|(_, bytes)| *bytes as f64).sum::<f64>() / MIB);
        (cpu_ms, d.rss_kib() as f64 / 1024.0, maps)
    });
    let cpu = Measure {
        scenario: ID,
        name: "CPU while idle (short window)",
        unit: "ms per s",
        better: Better::Lower,
    };
    let rss = Measure {
        scenario: ID,
        name: "resident memory, idle",
        unit: "MiB",
        better: Better::Lower,
    };
    let maps = Measure {
        scenario: ID,
        name: "kernel map memory, idle (BPF maps)",
        unit: "MiB",
        better: Better::Lower,
    };
    for (p, v) in peers.iter().zip(&runs) {
        let per_s = v.iter().map(|x| x.0 / quiet.as_secs_f64()).collect();
        cpu.report(r, p, per_s, None, None);
        rss.report(r, p, v.iter().map(|x| x.1).collect(), None, None);
        match v.iter().map(|x| x.2).collect::<Option<Vec<f64>>>() {
            Some(mib) => maps.report(r, p, mib, None, None),
            None => maps.na(r, p, "no BPF maps"),
        }
    }
}
