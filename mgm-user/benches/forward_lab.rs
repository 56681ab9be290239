//! Join-report-to-first-forwarded-packet latency in the namespace lab (needs root and the
//! daemon's manager integration; run by `cargo bench -p mgm-user --bench forward_lab`).
//!
//! `mgm run -i ra -i rb -i rc` (topology of `tests/common/forward.rs`); the source on link A
//! streams UDP to 239.8.8.8 every 10 ms. Per run a receiver issues the join (IP_ADD_MEMBERSHIP,
//! the kernel sends the report at once) and the time to its first datagram is taken from the
//! join command (CLOCK_MONOTONIC stamps of the host script); then it leaves and the run waits
//! until the MFE no longer forwards to its link. Two cases, 7 runs each, median printed:
//! - the first receiver anywhere (the MFE is a negative entry with no Oifs);
//! - a receiver on link C while link B already receives (the OIL grows).
//!
//! The `local_join` figure is the daemon's event time (CLOCK_MONOTONIC) to the first datagram:
//! the manager + kernel part, without the host's report and the eBPF/ring path before it.
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/forward.rs"]
mod forward;

use forward::{first_after, mono_ns, ForwardLab, HostEnd};
use std::time::{Duration, Instant};

const G: &str = "239.8.8.8";
const PORT: u16 = 5008;
const RUNS: usize = 7;

fn stats(v: &mut [f64]) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1],
        v.len()
    )
}

/// Join → first datagram, `RUNS` times; returns (join command → datagram, local_join → datagram) in ms.
fn runs(
    fl: &ForwardLab,
    host: &mut common::Host,
    h: &HostEnd,
    iface: &str,
) -> (Vec<f64>, Vec<f64>) {
    let (mut lat, mut daemon) = (Vec::new(), Vec::new());
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
        lat.push(first_after(&times, t0).expect("datagram").as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(50));
        if let Some(t) = fl
            .events()
            .find(t_ev, |e| {
                e.kind() == "local_join" && e.interface() == iface && e.group() == G
            })
            .and_then(|e| e.json["time_ns"].as_u64())
        {
            if let Some(d) = first_after(&times, t) {
                daemon.push(d.as_secs_f64() * 1e3);
            }
        }
        host.cmd(&format!("leave {G}"));
        fl.wait_for("the link leaves the OIL", Duration::from_secs(5), || {
            fl.mfe(G)
                .is_some_and(|m| !m.oifs.iter().any(|o| o == iface))
        });
        std::thread::sleep(Duration::from_millis(300));
    }
    (lat, daemon)
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

    let (mut lat, mut daemon) = runs(&fl, &mut hb, &b, &rb);
    println!(
        "join -> first forwarded datagram, first receiver (negative MFE): {}",
        stats(&mut lat)
    );
    if !daemon.is_empty() {
        println!(
            "  local_join event -> first datagram: {}",
            stats(&mut daemon)
        );
    }

    hb.cmd(&format!("join {G} {}", b.addr));
    fl.wait_for("B receives", Duration::from_secs(3), || {
        fl.mfe(G).is_some_and(|m| m.oifs == vec![rb.clone()])
    });
    let (mut lat, mut daemon) = runs(&fl, &mut hc, &c, &rc);
    println!(
        "join -> first forwarded datagram, second receiver on a new link (OIL grows): {}",
        stats(&mut lat)
    );
    if !daemon.is_empty() {
        println!(
            "  local_join event -> first datagram: {}",
            stats(&mut daemon)
        );
    }
    println!(
        "(source interval 10 ms: up to 10 ms of each figure is waiting for the next datagram)"
    );
}
