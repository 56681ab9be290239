//! Daemon-level IGMP figures in the namespace lab (needs root; run by `cargo xtask bench`):
//! - leave latency: a host's last leave → the group gone from `mgm show groups`, with LMQI
//!   100 ms × LMQC 2 (LMQT 200 ms), median of several runs;
//! - daemon CPU time (all threads, /proc/PID/task/*/schedstat) while a host sends 10 000 IGMPv2
//!   refresh reports for a group the daemon holds, with the kernel fast path and without it
//!   (`--no-fast-path`), so the saving is measured, not assumed;
//! - the slow path: daemon CPU time per state-changing report (`--no-fast-path`, so every report
//!   goes up), over paced floods of joins of new groups, refreshes, leaves, IGMPv3 source
//!   additions and source blocks (`report_flood.py`); and the daemon's anonymous memory per
//!   group held (RssAnon before and after the joins).
#[path = "../tests/common/mod.rs"]
mod common;

use common::Lab;
use mgm_user::control::{api::Request, client};
use std::time::{Duration, Instant};

const G: &str = "239.9.9.9";
const REPORTS: usize = 10_000;

/// CPU time the process (all its threads) has run, in ns.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// A router and one IGMPv2 host on a LAN; returns (lab, router interface, host ns, daemon).
fn lab(extra: &[&str]) -> (Lab, String, String, usize) {
    lab_logging(extra, None)
}

/// As [`lab`]; with `log`, the daemon's `MGM_LOG` (the lab's default is debug).
fn lab_logging(extra: &[&str], log: Option<&str>) -> (Lab, String, String, usize) {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    // The LAN stands for a switch: its bridge runs no netfilter hooks (br_netfilter is on by
    // default in a new namespace). The bridge's work on a query the daemon sends is done in the
    // daemon's sendto (softirq on its own CPU time): with the hooks it was ~13 % of the daemon's
    // CPU per leave, the lab's work, not the router's.
    for key in ["iptables", "ip6tables", "arptables"] {
        let kv = format!("net.bridge.bridge-nf-call-{key}=0");
        lab.ns(&lan, &["sysctl", "-qew", &kv]); // -e: absent without br_netfilter
    }
    let r = lab.netns("r");
    let h = lab.netns("h");
    let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.1/24"));
    let hif = lab.lan_port(&lan, (&h, "h", "192.0.2.11/24"));
    lab.ns(
        &h,
        &[
            "sysctl",
            "-qw",
            &format!("net.ipv4.conf.{hif}.force_igmp_version=2"),
        ],
    );
    let mut args = vec![
        "--query-interval",
        "60s",
        "--last-member-query-interval",
        "100ms",
        "--last-member-query-count",
        "2",
    ];
    args.extend_from_slice(extra);
    let k = match log {
        None => lab.start_mgm(&r, &[&rif], &args),
        Some(level) => {
            let env = [("MGM_LOG", std::ffi::OsStr::new(level))];
            let k = lab.spawn_mgm_env(&r, &[&rif], &args, &env, false);
            lab.wait_answering(k);
            k
        }
    };
    (lab, rif, h, k)
}

fn leave_latency() {
    let (mut lab, rif, h, k) = lab(&[]);
    let mut host = lab.host(&h);
    let mut samples = Vec::new();
    for _ in 0..7 {
        host.cmd(&format!("join {G} 192.0.2.11"));
        lab.wait_for("join", Duration::from_secs(5), || {
            lab.group(k, &rif, G).is_some()
        });
        let t = Instant::now();
        host.cmd(&format!("leave {G}"));
        lab.wait_for("leave", Duration::from_secs(5), || {
            lab.group(k, &rif, G).is_none()
        });
        samples.push(t.elapsed());
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "leave latency (LMQT 200 ms): median {:.0} ms, min {:.0} ms, max {:.0} ms over {} runs \
         (includes the 50 ms polling of `mgm show groups`)",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

fn refresh_cpu(no_fast_path: bool) {
    let extra: &[&str] = if no_fast_path {
        &["--no-fast-path"]
    } else {
        &[]
    };
    let (mut lab, rif, h, k) = lab(extra);
    let mut host = lab.host(&h);
    host.cmd(&format!("join {G} 192.0.2.11"));
    lab.wait_for("join", Duration::from_secs(5), || {
        lab.group(k, &rif, G).is_some()
    });
    std::thread::sleep(Duration::from_millis(500));
    let pid = lab.daemon(k).child.id();
    let stats_before =
        client::request::<serde_json::Value>(&lab.daemon(k).socket, Request::ShowStats)
            .expect("stats");
    let before = cpu_ns(pid);
    let script = format!(
        "import socket,struct\n\
         def csum(b):\n s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return (~s)&0xffff\n\
         g=socket.inet_aton('{G}')\n\
         m=bytearray(struct.pack('!BBH4s',0x16,0,0,g)); struct.pack_into('!H',m,2,csum(bytes(m)))\n\
         s=socket.socket(socket.AF_INET,socket.SOCK_RAW,2)\n\
         s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_TTL,1)\n\
         s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('192.0.2.11'))\n\
         for i in range({REPORTS}): s.sendto(bytes(m),('{G}',0))\n"
    );
    let t = Instant::now();
    lab.ns(&h, &["python3", "-c", &script]);
    std::thread::sleep(Duration::from_millis(500));
    let after = cpu_ns(pid);
    let stats = client::request::<serde_json::Value>(&lab.daemon(k).socket, Request::ShowStats)
        .expect("stats");
    let delta = |k: &str| stats[k].as_u64().unwrap_or(0) - stats_before[k].as_u64().unwrap_or(0);
    println!(
        "daemon CPU for {REPORTS} IGMPv2 refresh reports, fast path {}: {:.2} ms ({:.2} us/report; \
         sent in {:.0} ms); classifier: rx_report_v2 +{} fast_path_refreshes +{} events_sent +{}",
        if no_fast_path { "off" } else { "on " },
        (after - before) as f64 / 1e6,
        (after - before) as f64 / 1e3 / REPORTS as f64,
        t.elapsed().as_secs_f64() * 1e3,
        delta("rx_report_v2"),
        delta("fast_path_refreshes"),
        delta("events_sent")
    );
}

/// Anonymous resident memory of process `pid` in KiB (RssAnon: the heap, not the maps).
fn rss_anon_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Groups of the slow-path floods, reports per scenario, and their pace (reports per second).
const SLOW_GROUPS: usize = 10_000;
const SLOW_REPORTS: usize = 20_000;
const SLOW_RATE: u32 = 10_000;

/// One paced flood of `scenario` from the host; the daemon's CPU time it caused, once the
/// daemon is done with it (timers it started included: `settle`).
fn flood_cpu(
    lab: &Lab,
    (h, k): (&str, usize),
    scenario: &str,
    (count, rate): (usize, u32),
    settle: Duration,
) {
    let pid = lab.daemon(k).child.id();
    let stats = || {
        client::request::<serde_json::Value>(&lab.daemon(k).socket, Request::ShowStats)
            .expect("stats")
    };
    let before_stats = stats();
    // MGM_BENCH_PERF=DIR: a `perf record -g` of the daemon per scenario, for profiling.
    let perf = std::env::var("MGM_BENCH_PERF").ok().map(|dir| {
        std::process::Command::new("perf")
            .args(["record", "-q", "-g", "-p", &pid.to_string(), "-o"])
            .arg(format!("{dir}/perf-{scenario}.data"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("perf record")
    });
    // MGM_BENCH_MALLOC=1: the daemon's libc malloc calls over the flood, counted by a uprobe
    // (made first: `perf probe -x LIBC malloc`; docs/memory.md).
    let mallocs = std::env::var_os("MGM_BENCH_MALLOC").map(|_| {
        std::process::Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                "probe_libc:malloc",
                "-p",
                &pid.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("perf stat")
    });
    let before = cpu_ns(pid);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/report_flood.py");
    let groups = SLOW_GROUPS.to_string();
    let sent = lab.ns(
        h,
        &[
            "python3",
            script,
            "192.0.2.11",
            scenario,
            &count.to_string(),
            &groups,
            &rate.to_string(),
        ],
    );
    std::thread::sleep(settle);
    let after = cpu_ns(pid);
    if let Some(perf) = mallocs {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &perf.id().to_string()])
            .status();
        let out = perf.wait_with_output().expect("perf stat");
        let text = String::from_utf8_lossy(&out.stderr);
        let n: u64 = text
            .lines()
            .find(|l| l.contains("probe_libc:malloc"))
            .and_then(|l| l.split(',').next()?.trim().parse().ok())
            .unwrap_or(0);
        println!(
            "slow path, {scenario:>7}: {n} mallocs over {count} reports ({:.2} per report)",
            n as f64 / count as f64
        );
    }
    let after_stats = stats();
    if let Some(mut perf) = perf {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &perf.id().to_string()])
            .status();
        let _ = perf.wait();
    }
    let delta =
        |k: &str| after_stats[k].as_u64().unwrap_or(0) - before_stats[k].as_u64().unwrap_or(0);
    println!(
        "slow path, {scenario:>7}: {:.2} us/report over {count} reports at {} \
         ({:.1} ms daemon CPU; {}; classifier events_sent +{} ring_full +{})",
        (after - before) as f64 / 1e3 / count as f64,
        if rate == 0 {
            "full speed".to_string()
        } else {
            format!("{rate}/s")
        },
        (after - before) as f64 / 1e6,
        sent.trim(),
        delta("events_sent"),
        delta("events_ring_full"),
    );
}

/// The slow path: every report goes up (`--no-fast-path`); CPU per report by scenario, memory
/// per group.
fn slow_path() {
    let limit = (2 * SLOW_GROUPS).to_string();
    let extra = [
        "--no-fast-path",
        // The daemon's cost per report is measured: every report reaches it, no budget.
        "--max-reports-per-second",
        "0",
        "--max-groups",
        &limit,
        "--max-groups-per-host",
        &limit,
    ];
    // Logging as deployed (info): the lab's debug logging would be measured too.
    let (lab, rif, h, k) = lab_logging(&extra, Some("info"));
    std::thread::sleep(Duration::from_millis(500));
    let pid = lab.daemon(k).child.id();
    let settle = Duration::from_millis(1500);
    let rss0 = rss_anon_kib(pid);
    let d = (h.as_str(), k);
    flood_cpu(&lab, d, "join", (SLOW_GROUPS, SLOW_RATE), settle);
    // Before `mgm show groups`: what the groups hold, not what answering the listing left.
    let rss1 = rss_anon_kib(pid);
    let held = lab.groups(k).iter().filter(|g| g.interface == rif).count();
    let rss2 = rss_anon_kib(pid);
    let per_group = |rss: u64| (rss.saturating_sub(rss0) * 1024) as f64 / held.max(1) as f64;
    println!(
        "memory: {held} groups held, daemon RssAnon {rss0} KiB -> {rss1} KiB: {:.0} bytes per \
         group ({rss2} KiB after `mgm show groups`: {:.0} bytes per group)",
        per_group(rss1),
        per_group(rss2)
    );
    flood_cpu(&lab, d, "refresh", (SLOW_REPORTS, SLOW_RATE), settle);
    // Unpaced: the ring fills faster than the loop wakes, so events come in batches.
    flood_cpu(&lab, d, "refresh", (SLOW_REPORTS, 0), settle);
    flood_cpu(&lab, d, "leave", (SLOW_GROUPS, SLOW_RATE), settle);
    flood_cpu(&lab, d, "allow", (SLOW_REPORTS, SLOW_RATE), settle);
    flood_cpu(&lab, d, "block", (SLOW_REPORTS, SLOW_RATE), settle);
}

fn main() {
    if std::env::args().any(|a| a == "slow-path") {
        slow_path();
        return;
    }
    leave_latency();
    refresh_cpu(false);
    refresh_cpu(true);
    slow_path();
}
