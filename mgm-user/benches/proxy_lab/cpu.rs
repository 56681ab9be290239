//! 3: the daemon's CPU while 1 000 groups are refreshed, at each rate.

use crate::common::process_cpu_ns;
use crate::lab::{ProxyLab, Running};
use crate::procs::{process_wait_ns, raw_drops};
use crate::traffic::{groups, send_reports};
use crate::{Variant, FLOOD_HOST, REFRESH_GROUPS, REFRESH_RATES, REFRESH_SECONDS, WARM_UP_RATE};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// By IGMP version (2, 3), then by refresh rate: the runs.
pub(crate) type CpuRuns = [[Vec<CpuRun>; 2]; 2];

pub(crate) struct CpuRun {
    /// Daemon CPU over the refresh period, ms.
    pub(crate) cpu_ms: f64,
    /// Time its threads waited for a CPU over the period (runnable, not running), ms: the
    /// shared CPUs' share in what it could not do.
    pub(crate) wait_ms: f64,
    /// Reports sent and the period's length.
    pub(crate) sent: usize,
    pub(crate) took: Duration,
    /// Packets dropped on the raw sockets of the proxy namespace (igmpproxy's socket queue
    /// overflowing) and, for mgm, reports its event ring could not take.
    pub(crate) dropped: u64,
}

pub(crate) fn ring_full(r: &Running) -> u64 {
    match r {
        Running::Igmpproxy(_) => 0,
        Running::Mgm(p) => p.counter("events_ring_full"),
    }
}

pub(crate) fn cpu_run(pl: &mut ProxyLab, v: &Variant, version: u8, run: usize) -> [CpuRun; 2] {
    let r = pl.start(v.kind);
    let pid = pl.pid(&r);
    std::thread::sleep(Duration::from_millis(500));
    let gs = groups(run, REFRESH_GROUPS);
    // The state to refresh, proxied upstream: each group once per round, at a pace igmpproxy
    // takes without overflowing its socket, until the upstream router holds them all.
    let want: BTreeSet<Ipv4Addr> = gs.iter().copied().collect();
    for round in 0.. {
        send_reports(&pl.flood, FLOOD_HOST, version, &gs, gs.len(), WARM_UP_RATE);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) && !pl.upstream_groups().is_superset(&want) {
            std::thread::sleep(Duration::from_millis(100));
        }
        if pl.upstream_groups().is_superset(&want) {
            break;
        }
        assert!(
            round < 10,
            "{}: {} of {} groups upstream after {round} rounds\n{}",
            v.label,
            pl.upstream_groups().intersection(&want).count(),
            want.len(),
            pl.log(&r)
        );
    }
    let out = REFRESH_RATES.map(|rate| {
        std::thread::sleep(Duration::from_secs(1));
        let (cpu0, wait0) = (process_cpu_ns(pid), process_wait_ns(pid));
        let (drops0, ring0) = (raw_drops(pid), ring_full(&r));
        let total = (rate * REFRESH_SECONDS) as usize;
        let (sent, took) = send_reports(&pl.flood, FLOOD_HOST, version, &gs, total, rate);
        // What is queued is handled.
        std::thread::sleep(Duration::from_millis(300));
        let cpu_ms = (process_cpu_ns(pid) - cpu0) as f64 / 1e6;
        let wait_ms = (process_wait_ns(pid) - wait0) as f64 / 1e6;
        let dropped = raw_drops(pid) - drops0 + ring_full(&r) - ring0;
        CpuRun {
            cpu_ms,
            wait_ms,
            sent,
            took,
            dropped,
        }
    });
    pl.stop(r);
    out
}
