//! 2. Latency: a report on the router's wire to the handler's read of its `local_join`.

use crate::forward::{mono_ns, ReportCapture};
use crate::handler::{Handler, Reader};
use crate::sender::{report_groups, v3_report, RawIgmp};
use crate::{HandlerLab, LAT_JOINS, LAT_SPACING, P50_GOAL, P99_GOAL};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(crate) fn latency() {
    let hl = HandlerLab::new(4096, false);
    let h = Handler::start(&hl.socket(), Reader::Client);
    let capture = ReportCapture::start(&hl.router, &hl.rif);
    let groups: Vec<Ipv4Addr> = (0..LAT_JOINS)
        .map(|i| Ipv4Addr::new(239, 30, (i / 250) as u8, (1 + i % 250) as u8))
        .collect();
    let ns = hl.host.clone();
    let to_send = groups.clone();
    let t0 = mono_ns();
    std::thread::spawn(move || {
        let sock = RawIgmp::open_in(&ns);
        for g in to_send {
            sock.send(&v3_report(std::iter::once(g)));
            std::thread::sleep(LAT_SPACING);
        }
    })
    .join()
    .expect("the sender thread");
    let start = Instant::now();
    while h.joins() < LAT_JOINS && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut on_wire: HashMap<Ipv4Addr, u64> = HashMap::new();
    let captured = capture.reports();
    // How late the capture thread had each frame: what a stamp taken on wake-up would add.
    let mut lag: Vec<Duration> = captured
        .iter()
        .map(|r| Duration::from_nanos(r.read_ns.saturating_sub(r.kernel_ns)))
        .collect();
    lag.sort();
    for r in &captured {
        for g in report_groups(&r.igmp) {
            on_wire.entry(g).or_insert(r.kernel_ns);
        }
    }
    let read: HashMap<Ipv4Addr, u64> = h
        .got()
        .into_iter()
        .filter(|g| g.kind == "local_join" && g.t >= t0)
        .filter_map(|g| Some((g.group?, g.t)))
        .collect();
    let mut samples: Vec<Duration> = groups
        .iter()
        .filter_map(|g| {
            let (w, r) = (on_wire.get(g)?, read.get(g)?);
            Some(Duration::from_nanos(r.saturating_sub(*w)))
        })
        .collect();
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "report on the router's wire -> handler reads local_join ({LAT_JOINS} joins of distinct \
         groups, one report each, {} ms apart; HandlerClient):",
        LAT_SPACING.as_millis()
    );
    println!(
        "  p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms; {} matched ({} reports \
         captured, {} local_join read) (goal p50 < {} ms, p99 < {} ms: {})",
        ms(p50),
        ms(percentile(&samples, 0.9)),
        ms(p99),
        ms(samples.last().copied().unwrap_or_default()),
        samples.len(),
        on_wire.len(),
        read.len(),
        P50_GOAL.as_millis(),
        P99_GOAL.as_millis(),
        if samples.len() == LAT_JOINS && p50 < P50_GOAL && p99 < P99_GOAL {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  (wire time: the kernel's receive stamp; the capture thread had the frames a median \
         {:.0} us, max {:.0} us later)",
        percentile(&lag, 0.5).as_secs_f64() * 1e6,
        lag.last().copied().unwrap_or_default().as_secs_f64() * 1e6
    );
}
