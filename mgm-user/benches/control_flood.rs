//! Control-socket latency under IGMPv3 floods (a flood must not starve `mgm show`), in the
//! namespace lab (needs root; run by `cargo xtask bench`).
//!
//! One host (192.0.2.11) sends IGMPv3 reports as fast as a raw socket takes them, for a bounded
//! time and count: IS_IN with 200 sources each over 256 groups (the source flood), then IS_EX {}
//! over 100 000 groups with `--max-groups 100000` (the group flood). Meanwhile
//! `mgm show interfaces` is asked every 20 ms through the library client (connect, request,
//! answer: what the CLI does, without the process start). Printed: the flood's rate, the
//! requests' p50/p99/max (a failure counts with its time: the client gives up after 5 s) and
//! failures, the daemon's CPU during the flood, its RSS after, and what the classifier counted.
//! Part of the benchmark harness (`cargo xtask bench`): the request times go out as result lines
//! too (`compare/report.rs`); the quick mode floods for 2 s.
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "compare/report.rs"]
mod report;

use common::{process_cpu_ns, process_rss_kib, spawn_v3_flood_mode, Lab};
use mgm_user::control::{
    api::{InterfaceView, Request},
    client,
};
use std::io::Read;
use std::time::{Duration, Instant};

const FLOOD_SECONDS: f64 = 15.0;
const QUICK_FLOOD_SECONDS: f64 = 2.0;
/// p99 target for `mgm show interfaces` during a flood.
const TARGET: Duration = Duration::from_millis(200);

/// One flood: what the host sends and how the daemon is started.
struct Flood {
    label: &'static str,
    daemon_args: &'static [&'static str],
    max_reports: usize,
    sources: usize,
    groups: usize,
    mode: &'static str,
}

const FLOODS: [Flood; 2] = [
    Flood {
        label: "v3 source flood (IS_IN, 200 sources/report, 256 groups)",
        daemon_args: &[],
        max_reports: 1_500_000,
        sources: 200,
        groups: 256,
        mode: "include",
    },
    Flood {
        label: "v3 group flood (IS_EX {}, 100 000 groups from one host, max-groups and \
                max-groups-per-host 100000)",
        daemon_args: &["--max-groups", "100000", "--max-groups-per-host", "100000"],
        max_reports: 3_000_000,
        sources: 0,
        groups: 100_000,
        mode: "exclude",
    },
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// What one flood measured.
struct Measured {
    sent: f64,
    flood_time: Duration,
    /// Request times, sorted (failures included with their time).
    samples: Vec<Duration>,
    failures: Vec<String>,
    cpu_ns: u64,
    rss_before_kib: u64,
    rss_after_kib: u64,
    group_count: usize,
    stats: serde_json::Value,
}

/// Asks `mgm show interfaces` every 20 ms until `flood` ends.
fn ask_during(
    flood: &mut std::process::Child,
    socket: &std::path::Path,
) -> (Vec<Duration>, Vec<String>) {
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    while flood.try_wait().expect("flood status").is_none() {
        let t = Instant::now();
        if let Err(e) = client::request::<Vec<InterfaceView>>(socket, Request::ShowInterfaces) {
            failures.push(format!("{e:#}"));
        }
        // A failed request counts with the time it took (the client's 5 s timeout).
        samples.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    samples.sort();
    (samples, failures)
}

fn measure(f: &Flood, seconds: f64) -> Measured {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (rif, _) = lab.link((&r, "r", "192.0.2.1/24"), (&h, "h", "192.0.2.11/24"));
    // The flood is to reach the daemon whole: no budget in the classifier.
    let mut args = f.daemon_args.to_vec();
    args.extend(["--max-reports-per-second", "0"]);
    let k = lab.start_mgm(&r, &[&rif], &args);
    let pid = lab.daemon(k).child.id();
    let socket = lab.daemon(k).socket.clone();
    let stats = || client::request::<serde_json::Value>(&socket, Request::ShowStats);
    let before = stats().expect("stats before");
    let rss_before_kib = process_rss_kib(pid);
    let cpu_before = process_cpu_ns(pid);
    let start = Instant::now();
    let mut flood = spawn_v3_flood_mode(
        &h,
        "192.0.2.11",
        f.max_reports,
        seconds,
        f.sources,
        f.groups,
        f.mode,
    );
    let (samples, failures) = ask_during(&mut flood, &socket);
    let flood_time = start.elapsed();
    let cpu_ns = process_cpu_ns(pid) - cpu_before;
    let mut said = String::new();
    if let Some(mut out) = flood.stdout.take() {
        let _ = out.read_to_string(&mut said);
    }
    // Settled: the ring drained, the daemon answers at leisure.
    std::thread::sleep(Duration::from_secs(2));
    let after = stats().expect("stats after");
    let delta: serde_json::Map<String, serde_json::Value> = after
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let d = v.as_u64().unwrap_or(0) - before[k].as_u64().unwrap_or(0);
            (k.clone(), d.into())
        })
        .collect();
    Measured {
        sent: said
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0),
        flood_time,
        samples,
        failures,
        cpu_ns,
        rss_before_kib,
        rss_after_kib: process_rss_kib(pid),
        group_count: lab.interfaces(k).iter().map(|i| i.group_count).sum(),
        stats: delta.into(),
    }
}

fn report(f: &Flood, m: &Measured) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let secs = m.flood_time.as_secs_f64();
    let p99 = percentile(&m.samples, 0.99);
    println!(
        "{}: {:.0} reports sent in {secs:.1} s ({:.0}/s)",
        f.label,
        m.sent,
        m.sent / secs
    );
    println!(
        "  mgm show interfaces during the flood: {} asked, {} failed; p50 {:.1} ms, p99 {:.1} \
         ms, max {:.1} ms (target p99 < {} ms: {})",
        m.samples.len(),
        m.failures.len(),
        ms(percentile(&m.samples, 0.5)),
        ms(p99),
        ms(m.samples.last().copied().unwrap_or_default()),
        TARGET.as_millis(),
        if m.failures.is_empty() && p99 < TARGET {
            "met"
        } else {
            "MISSED"
        }
    );
    if let Some(e) = m.failures.first() {
        println!("  first failure: {e}");
    }
    println!(
        "  daemon CPU during the flood: {:.2} s over {secs:.1} s ({:.0}% of one core); RSS {} KiB \
         before, {} KiB after; {} groups held after",
        m.cpu_ns as f64 / 1e9,
        m.cpu_ns as f64 / 1e9 / secs * 100.0,
        m.rss_before_kib,
        m.rss_after_kib,
        m.group_count
    );
    let d = |k: &str| m.stats[k].as_u64().unwrap_or(0);
    println!(
        "  classifier: rx_report_v3 +{} fast_path_refreshes +{} events_sent +{} events_ring_full \
         +{}; daemon_lost_v3_records +{}",
        d("rx_report_v3"),
        d("fast_path_refreshes"),
        d("events_sent"),
        d("events_ring_full"),
        d("daemon_lost_v3_records")
    );
}

fn main() {
    let r = report::Report::from_env();
    let seconds = r.pick(FLOOD_SECONDS, QUICK_FLOOD_SECONDS);
    const ID: &str = "control";
    r.scenario(
        ID,
        "Control socket under a report flood",
        &format!(
            "mgm on one interface; a host floods it with IGMPv3 reports from a raw socket as fast \
             as python sends them, for {seconds} s; meanwhile `mgm show interfaces` is asked \
             every 20 ms through the library client (connect, request, answer). Figure: every \
             request's time (a failure counts with its time), in ms."
        ),
    );
    for f in &FLOODS {
        let m = measure(f, seconds);
        report(f, &m);
        let measure = format!("`show interfaces` during the {}", f.label);
        let rate = m.sent / m.flood_time.as_secs_f64();
        r.figure(report::Figure {
            scenario: ID,
            measure: &measure,
            daemon: "mgm",
            peer: false,
            unit: "ms",
            better: report::Better::Lower,
            values: m.samples.iter().map(|d| d.as_secs_f64() * 1e3).collect(),
            x: None,
            note: Some(format!(
                "p99 {:.1} ms; {} failed; {rate:.0} reports/s offered",
                percentile(&m.samples, 0.99).as_secs_f64() * 1e3,
                m.failures.len()
            )),
        });
        let na = |peer: &str, why: &str| r.na(ID, &measure, peer, why, None);
        na("igmpproxy 0.3", "no control socket");
        na(
            "FRR 8.4 pimd+zebra",
            "not measured yet (its vty socket, through vtysh)",
        );
        na(
            "smcroute 2.5",
            "does not read IGMP (nothing to flood it with)",
        );
    }
}
