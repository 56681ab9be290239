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
//! The total is split where the host's report reaches the router (its kernel receive stamp on
//! the router's interface): the host's kernel, then the router. The router's part, measured
//! alone and from outside (report → MFC change, report → first datagram of a fast stream), is
//! `benches/reaction.rs`.
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/forward.rs"]
mod forward;

use forward::{first_after, mono_ns, ForwardLab, HostEnd, ReportCapture};
use std::time::Duration;

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
    /// join command → the host's report arriving at the router's interface (kernel stamp).
    to_report: Vec<f64>,
    /// report at the router → first datagram at the receiver (the router, then waiting for the
    /// stream's next datagram).
    from_report: Vec<f64>,
}

impl Figures {
    fn print(&mut self, case: &str) {
        println!(
            "join -> first forwarded datagram, {case}: {}",
            stats(&mut self.total)
        );
        if !self.from_report.is_empty() {
            println!(
                "  of which join command -> report at the router: {}",
                stats(&mut self.to_report)
            );
            println!(
                "  and report at the router -> first datagram: {}",
                stats(&mut self.from_report)
            );
        }
    }
}

/// Join → first datagram, `RUNS` times, leaving after each.
fn runs(fl: &ForwardLab, host: &mut common::Host, h: &HostEnd, iface: &str) -> Figures {
    let reports = ReportCapture::start(&fl.router, iface);
    let mut f = Figures::default();
    for _ in 0..RUNS {
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
        // The host's stamps are taken by its script on reading the datagram (CLOCK_MONOTONIC):
        // the router's part includes that read.
        let report = reports
            .reports()
            .into_iter()
            .find(|r| r.kernel_ns >= t0)
            .map(|r| r.kernel_ns);
        if let Some((r, d)) = report.and_then(|r| Some((r, first_after(&times, r)?))) {
            f.to_report.push((r - t0) as f64 / 1e6);
            f.from_report.push(d.as_secs_f64() * 1e3);
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
