//! Control-socket latency under a source-heavy IGMPv3 flood (issue 8 item 1), in the namespace
//! lab (needs root; run by `cargo xtask bench`).
//!
//! One host (192.0.2.11) sends IGMPv3 IS_IN reports with 200 sources each over 256 groups
//! 239.1.x.y as fast as a raw socket takes them, for a bounded time and count. Meanwhile
//! `mgm show interfaces` is asked every 20 ms through the library client (connect, request,
//! answer: what the CLI does, without the process start). Printed: the flood's rate, the
//! requests' p50/p99/max (a failure counts with its time: the client gives up after 5 s) and
//! failures, the daemon's CPU during the flood, its RSS after, and what the classifier counted.
#[path = "../tests/common/mod.rs"]
mod common;

use common::{process_cpu_ns, process_rss_kib, spawn_v3_flood, Lab};
use mgm_user::control::{
    api::{InterfaceView, Request},
    client,
};
use std::io::Read;
use std::time::{Duration, Instant};

const FLOOD_SECONDS: f64 = 15.0;
const FLOOD_MAX_REPORTS: usize = 1_500_000;
const SOURCES: usize = 200;
const GROUPS: usize = 256;
/// p99 target for `mgm show interfaces` during the flood.
const TARGET: Duration = Duration::from_millis(200);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (rif, _) = lab.link((&r, "r", "192.0.2.1/24"), (&h, "h", "192.0.2.11/24"));
    let k = lab.start_mgm(&r, &[&rif], &[]);
    let pid = lab.daemon(k).child.id();
    let socket = lab.daemon(k).socket.clone();
    let stats = || client::request::<serde_json::Value>(&socket, Request::ShowStats);
    let before_stats = stats().expect("stats before");
    let rss_before = process_rss_kib(pid);

    let cpu_before = process_cpu_ns(pid);
    let start = Instant::now();
    let mut flood = spawn_v3_flood(
        &h,
        "192.0.2.11",
        FLOOD_MAX_REPORTS,
        FLOOD_SECONDS,
        SOURCES,
        GROUPS,
    );
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    while flood.try_wait().expect("flood status").is_none() {
        let t = Instant::now();
        match client::request::<Vec<InterfaceView>>(&socket, Request::ShowInterfaces) {
            Ok(_) => samples.push(t.elapsed()),
            Err(e) => {
                // A failed request counts with the time it took (the client's 5 s timeout).
                samples.push(t.elapsed());
                failures.push(format!("{e:#}"));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let flood_time = start.elapsed();
    let cpu = process_cpu_ns(pid) - cpu_before;
    let mut said = String::new();
    if let Some(mut out) = flood.stdout.take() {
        let _ = out.read_to_string(&mut said);
    }
    let sent: f64 = said
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);

    // Settled: the ring drained, the daemon answers at leisure.
    std::thread::sleep(Duration::from_secs(2));
    let after_stats = stats().expect("stats after");
    let rss_after = process_rss_kib(pid);
    let delta = |key: &str| {
        after_stats[key].as_u64().unwrap_or(0) - before_stats[key].as_u64().unwrap_or(0)
    };

    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p99 = percentile(&samples, 0.99);
    println!(
        "v3 source flood ({SOURCES} sources/report, {GROUPS} groups): {:.0} reports sent in \
         {:.1} s ({:.0}/s)",
        sent,
        flood_time.as_secs_f64(),
        sent / flood_time.as_secs_f64()
    );
    println!(
        "  mgm show interfaces during the flood: {} asked, {} failed; p50 {:.1} ms, p99 {:.1} \
         ms, max {:.1} ms (target p99 < {} ms: {})",
        samples.len(),
        failures.len(),
        ms(percentile(&samples, 0.5)),
        ms(p99),
        ms(samples.last().copied().unwrap_or_default()),
        TARGET.as_millis(),
        if failures.is_empty() && p99 < TARGET {
            "met"
        } else {
            "MISSED"
        }
    );
    if let Some(f) = failures.first() {
        println!("  first failure: {f}");
    }
    println!(
        "  daemon CPU during the flood: {:.2} s over {:.1} s ({:.0}% of one core); RSS {} KiB \
         before, {} KiB after",
        cpu as f64 / 1e9,
        flood_time.as_secs_f64(),
        cpu as f64 / 1e9 / flood_time.as_secs_f64() * 100.0,
        rss_before,
        rss_after
    );
    println!(
        "  classifier: rx_report_v3 +{} fast_path_refreshes +{} events_sent +{} events_ring_full +{}; daemon_lost_v3_records \
         +{}",
        delta("rx_report_v3"),
        delta("fast_path_refreshes"),
        delta("events_sent"),
        delta("events_ring_full"),
        delta("daemon_lost_v3_records")
    );
}
