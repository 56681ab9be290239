//! Join-report-to-first-forwarded-packet latency in the namespace lab (needs root and the
//! daemon's manager integration; run by `cargo bench -p mgm-user --bench forward_lab`).
//!
//! `mgm run -i ra -i rb -i rc` (topology of `tests/common/forward.rs`); the source on link A
//! streams UDP to 239.8.8.8 every 10 ms. Per run a receiver issues the join (IP_ADD_MEMBERSHIP;
//! its kernel sends the report) and the time to its first datagram is taken from the join
//! command (CLOCK_MONOTONIC stamps of the host script); then it leaves and the run waits until
//! the MFE no longer forwards to its link. Two cases, 7 runs each, median printed:
//! - the first receiver anywhere (the MFE is a negative entry with no Oifs);
//! - a receiver on link C while link B already receives (the OIL grows).
//!
//! The total is split at the time the host's report reaches the router (AF_PACKET on the
//! router's interface, stamped when the sniffer thread wakes, so it can lag by tens of µs) and
//! the daemon's `local_join` event time (CLOCK_MONOTONIC): host kernel, then classifier + ring +
//! IGMP + manager, then OIL update + MFC + waiting for the stream's next datagram.
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/forward.rs"]
mod forward;

use forward::{first_after, mono_ns, ForwardLab, HostEnd, Sniffer};
use std::time::{Duration, Instant};

const G: &str = "239.8.8.8";
const PORT: u16 = 5008;
const RUNS: usize = 7;

fn stats(v: &mut [f64]) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "median {:.2} ms, min {:.2} ms, max {:.2} ms over {} runs",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1],
        v.len()
    )
}

/// Per-run figures in ms.
#[derive(Default)]
struct Figures {
    /// join command → first datagram at the receiver.
    total: Vec<f64>,
    /// join command → the host's report arriving at the router's interface (AF_PACKET there).
    to_report: Vec<f64>,
    /// report at the router → the daemon's `local_join` event (classifier, ring, IGMP, manager).
    report_to_local_join: Vec<f64>,
    /// `local_join` event → first datagram (OIL update, MFC, next datagram of the stream).
    from_local_join: Vec<f64>,
}

impl Figures {
    fn print(&mut self, case: &str) {
        println!(
            "join -> first forwarded datagram, {case}: {}",
            stats(&mut self.total)
        );
        if !self.from_local_join.is_empty() {
            println!(
                "  of which join command -> report at the router: {}",
                stats(&mut self.to_report)
            );
            println!(
                "  and report at the router -> daemon's local_join event: {}",
                stats(&mut self.report_to_local_join)
            );
            println!(
                "  and local_join event -> first datagram: {}",
                stats(&mut self.from_local_join)
            );
        }
    }
}

/// Join → first datagram, `RUNS` times, leaving after each.
fn runs(fl: &ForwardLab, host: &mut common::Host, h: &HostEnd, iface: &str) -> Figures {
    let reports = Sniffer::start_igmp_reports(&fl.router, iface);
    let mut f = Figures::default();
    for _ in 0..RUNS {
        let t_ev = Instant::now();
        let seen = host.received_count();
        let t0 = mono_ns();
        host.cmd(&format!("join {G} {}", h.addr));
        fl.wait_for(
            "first datagram after the join",
            Duration::from_secs(3),
            || host.received_count() > seen,
        );
        let times = host.received.lock().unwrap().clone();
        f.total
            .push(first_after(&times, t0).expect("datagram").as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(50));
        if let Some(t) = fl
            .events()
            .find(t_ev, |e| {
                e.kind() == "local_join" && e.interface() == iface && e.group() == G
            })
            .and_then(|e| e.json["time_ns"].as_u64())
        {
            if let Some(d) = first_after(&times, t) {
                f.from_local_join.push(d.as_secs_f64() * 1e3);
                if let Some(r) = reports.times().into_iter().find(|&r| r >= t0) {
                    f.to_report.push((r - t0) as f64 / 1e6);
                    f.report_to_local_join
                        .push(t.saturating_sub(r) as f64 / 1e6);
                }
            }
        }
        host.cmd(&format!("leave {G}"));
        fl.wait_for("the link leaves the OIL", Duration::from_secs(5), || {
            fl.mfe(G)
                .is_some_and(|m| !m.oifs.iter().any(|o| o == iface))
        });
        std::thread::sleep(Duration::from_millis(300));
    }
    f
}

fn main() {
    let mut fl = ForwardLab::new();
    let b = fl.add_host('b', "rcv", 10);
    let c = fl.add_host('c', "late", 11);
    let (rb, rc) = (fl.rb.clone(), fl.rc.clone());
    let mut hb = fl.host(&b);
    let mut hc = fl.host(&c);
    hb.cmd(&format!("recv {PORT}"));
    hc.cmd(&format!("recv {PORT}"));
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("send {G} {PORT} 12000 10"));
    fl.wait_for(
        "negative MFE for the stream",
        Duration::from_secs(5),
        || fl.mfe(G).is_some_and(|m| m.oifs.is_empty()),
    );

    runs(&fl, &mut hb, &b, &rb).print("first receiver (negative MFE)");

    hb.cmd(&format!("join {G} {}", b.addr));
    fl.wait_for("B receives", Duration::from_secs(3), || {
        fl.mfe(G).is_some_and(|m| m.oifs == vec![rb.clone()])
    });
    runs(&fl, &mut hc, &c, &rc).print("second receiver on a new link (OIL grows)");
    println!(
        "(source interval 10 ms: up to 10 ms of each figure is waiting for the next datagram)"
    );
}
