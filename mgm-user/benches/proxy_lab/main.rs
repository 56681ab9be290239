//! mgm as an IGMP proxy (`mgm run --upstream`, RFC 4605) against igmpproxy 0.3 (the Debian
//! package), in the same namespace lab, one daemon at a time (needs root and
//! `/usr/sbin/igmpproxy`, which `cargo xtask setup` installs; run by `cargo bench -p mgm-user
//! --bench proxy_lab` or `cargo xtask bench`).
//!
//! ```text
//!  src 192.0.2.10 ── [up] ── 198.51.100.0/24 ── [px] ─┬─ LAN 1 203.0.113.0/26  (h1, flood, mon1)
//!                  us    uu                   pu      └─ LAN 2 203.0.113.64/26 (h2, mon2)
//! ```
//! `up` is an mgm router (querier, built-in `local`; LMQ 200 ms × 2 so that it prunes quickly
//! between trials); `px` runs the proxy under test with upstream `pu` and downstreams `da`, `db`:
//! igmpproxy (`phyint pu upstream ratelimit 0 threshold 1 altnet 192.0.2.0/24`, `phyint da|db
//! downstream ratelimit 0 threshold 1`, no quickleave; `igmpproxy -d CONF`: foreground, log on
//! stderr at its default level, warnings), or mgm (`mgm run -i da -i db --upstream pu --log warn
//! --max-groups-per-host 4096`). h1 and h2 are IGMPv2 hosts (the kernel's own stack,
//! `force_igmp_version=2`: igmpproxy queries in v2 and reads v3 reports only roughly);
//! `mon1`, `mon2` only listen on their LAN (bridges without snooping: every frame reaches them),
//! and the spans are taken there, from the kernel's receive stamp of each frame
//! (`tests/common/wire.rs`).
//!
//! Each join/leave trial has a fresh daemon and a fresh group (nothing one trial leaves behind,
//! in the proxy or upstream, touches the next); each CPU and RSS run a fresh daemon and fresh
//! groups. Figures: median (min–max) over the trials, and mgm's median / igmpproxy's.
//!
//! 1. Join → first datagram: the source streams UDP to the group at 1 000 datagrams/s. h1 joins
//!    (the first receiver anywhere: the proxy must join upstream and the upstream router start
//!    forwarding), then h2 joins on LAN 2 (the stream already reaches the proxy: only its
//!    forwarding grows). Span: the host's report on its LAN → the first datagram on that LAN. The
//!    first is split where the proxy's report reaches the upstream router (`uu`) and where the
//!    stream reaches the proxy (`pu`), stamped the same way.
//! 2. Leave → stream stops: h2 leaves (LAN 1 still has a member), then h1 leaves (the last
//!    member). Span: the leave on the LAN → the last datagram on that LAN (then 1 s of quiet; a
//!    stream still flowing 60 s after the leave is counted apart). Also LAN 1's longest gap while
//!    LAN 2 is left, next to the longest gap of the stream reaching the proxy. igmpproxy's
//!    last-member timers are fixed (src/igmpproxy.h, config.c: last member query interval =
//!    query response interval = 10 s, count = robustness = 2): mgm runs once with the same
//!    (`--last-member-query-interval 10s --last-member-query-count 2`), once with its RFC 3376
//!    defaults (1 s × 2).
//! 3. Daemon CPU under refresh load: 1 000 groups joined by a flood host on LAN 1 (raw socket,
//!    one report each, 1 000/s, repeated until the upstream router holds them all), then
//!    refreshed for 10 s at 1 000 reports/s, then for 10 s at 10 000 reports/s (v2 reports;
//!    IGMPv3 reports with one IS_EX {} record), groups in turn; the daemon's CPU time over each
//!    (all its threads, /proc/PID/task/*/schedstat), with the reports dropped on its socket
//!    (igmpproxy) or its event ring (mgm). mgm's refreshes of known groups are absorbed by its
//!    classifier in the kernel (the fast path, in the sender's softirq, not the daemon's CPU):
//!    also run with `--no-fast-path`.
//! 4. RSS with 1 000 groups: h1 joins 1 000 groups; once the upstream router holds all 1 000
//!    from the proxy, the daemon's VmRSS (and at start, idle).
//!
//! `MGM_BENCH_ONLY=latency,cpu,rss` runs only those parts (1-2, 3, 4); `MGM_BENCH_DAEMON` is
//! the mgm binary measured (`target/release/mgm`, the build users get, as `cargo xtask bench`
//! passes it; the bench profile's own build otherwise).
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../compare/peers/igmpproxy.rs"]
mod igmpproxy;
#[path = "../compare/peers/mgm.rs"]
mod mgm_daemon;
#[path = "../compare/procs.rs"]
mod procs;
#[path = "../compare/traffic.rs"]
mod traffic;
#[path = "../../tests/common/wire.rs"]
mod wire;

mod cpu;
mod join_leave;
mod lab;
mod rss;
mod tables;

use cpu::{cpu_run, CpuRuns};
use join_leave::{latency, Latency};
use lab::ProxyLab;
use rss::{rss_run, Rss};
use std::net::Ipv4Addr;
use std::time::Duration;

const PORT: u16 = 5030;
const SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const FLOOD_HOST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 20);
/// The stream: one datagram per ms.
const STREAM_INTERVAL: Duration = Duration::from_millis(1);
/// Join/leave trials per daemon.
const TRIALS: usize = 5;
/// CPU runs per daemon and IGMP version; RSS runs per daemon.
const CPU_TRIALS: usize = 3;
const RSS_TRIALS: usize = 3;
const REFRESH_GROUPS: usize = 1000;
/// Refresh loads, one after the other on the same daemon and groups: one igmpproxy keeps up
/// with, and the 10 000 reports/s target.
const REFRESH_RATES: [f64; 2] = [1_000.0, 10_000.0];
const REFRESH_SECONDS: f64 = 10.0;
/// Reports per second while the groups are first joined.
const WARM_UP_RATE: f64 = 1000.0;
const RSS_GROUPS: usize = 1000;
/// A link has stopped when it saw no datagram of the stream for this long.
const QUIET: Duration = Duration::from_millis(1000);
/// A leave after which the stream still flows this long counts as not acted on.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(60);

/// The upstream router: quick to prune (between trials), room for every group the runs leave
/// behind (each run takes fresh groups; the proxy's state is not carried over).
const UP_ARGS: &[&str] = &[
    "--log",
    "warn",
    "--last-member-query-interval",
    "200ms",
    "--last-member-query-count",
    "2",
    "--max-groups",
    "65536",
    "--max-groups-per-host",
    "65536",
];
/// Every mgm proxy run: as quiet as igmpproxy (warnings), and one host may hold the bench's
/// 1 000 groups (the per-host guard is 512 by default; igmpproxy has none).
/// No budget in the classifier (igmpproxy has none): the floods reach the daemon whole.
const MGM_ARGS: &[&str] = &[
    "--log",
    "warn",
    "--max-groups-per-host",
    "4096",
    "--max-reports-per-second",
    "0",
];
/// igmpproxy 0.3's last-member timers: 10 s × 2.
const LMQ_AS_IGMPPROXY: &[&str] = &[
    "--last-member-query-interval",
    "10s",
    "--last-member-query-count",
    "2",
];

#[derive(Clone, Copy)]
enum Kind {
    Igmpproxy,
    Mgm(&'static [&'static str]),
}

#[derive(Clone, Copy)]
struct Variant {
    label: &'static str,
    kind: Kind,
}

const IGMPPROXY_V: Variant = Variant {
    label: "igmpproxy 0.3",
    kind: Kind::Igmpproxy,
};
const MGM_MATCHED: Variant = Variant {
    label: "mgm, LMQ 10 s x 2",
    kind: Kind::Mgm(LMQ_AS_IGMPPROXY),
};
const MGM_RFC: Variant = Variant {
    label: "mgm, RFC LMQ 1 s x 2",
    kind: Kind::Mgm(&[]),
};
const MGM: Variant = Variant {
    label: "mgm",
    kind: Kind::Mgm(&[]),
};
const MGM_SLOW: Variant = Variant {
    label: "mgm --no-fast-path",
    kind: Kind::Mgm(&["--no-fast-path"]),
};

fn main() {
    common::require_root();
    let version = igmpproxy::version();
    println!(
        "proxy_lab: mgm --upstream against {version}, same namespace lab, one daemon at a time"
    );

    let only = std::env::var("MGM_BENCH_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|o| o == part);

    // 1 and 2.
    let lat_variants: &[Variant] = if wanted("latency") {
        &[IGMPPROXY_V, MGM_MATCHED, MGM_RFC]
    } else {
        &[]
    };
    let lat: Vec<(Variant, Latency)> = lat_variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            eprintln!("join/leave: {} ...", v.label);
            (*v, latency(v, i as u8))
        })
        .collect();

    // 3. A lab per daemon (the upstream router keeps what each run left).
    let mut run = 0;
    let mut cpu: Vec<(Variant, CpuRuns)> = Vec::new();
    let cpu_variants: &[Variant] = if wanted("cpu") {
        &[IGMPPROXY_V, MGM, MGM_SLOW]
    } else {
        &[]
    };
    for &v in cpu_variants {
        let mut pl = ProxyLab::new();
        let mut runs = CpuRuns::default();
        for _ in 0..CPU_TRIALS {
            for (i, version) in [2u8, 3].into_iter().enumerate() {
                for (j, c) in cpu_run(&mut pl, &v, version, run).into_iter().enumerate() {
                    eprintln!(
                        "  {} v{version}: {} reports in {:.2} s, daemon CPU {:.1} ms (waited \
                         {:.1} ms for a CPU), {} dropped",
                        v.label,
                        c.sent,
                        c.took.as_secs_f64(),
                        c.cpu_ms,
                        c.wait_ms,
                        c.dropped
                    );
                    runs[i][j].push(c);
                }
                run += 1;
            }
        }
        cpu.push((v, runs));
    }

    // 4.
    let mut rss: Vec<(Variant, Vec<Rss>)> = Vec::new();
    let rss_variants: &[Variant] = if wanted("rss") {
        &[IGMPPROXY_V, MGM]
    } else {
        &[]
    };
    for &v in rss_variants {
        let mut pl = ProxyLab::new();
        let runs = (0..RSS_TRIALS)
            .map(|_| {
                let x = rss_run(&mut pl, &v, run);
                run += 1;
                eprintln!(
                    "  {} RSS: {:.0} KiB idle, {:.0} KiB with {RSS_GROUPS} groups",
                    v.label, x.idle_kib, x.held_kib
                );
                x
            })
            .collect();
        rss.push((v, runs));
    }

    tables::print(&lat, &cpu, &rss);
}
