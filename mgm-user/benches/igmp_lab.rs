//! Daemon-level IGMP figures in the namespace lab (needs root; run by `cargo xtask bench`):
//! - leave latency: a host's last leave → the group gone from `mgm show groups`, with LMQI
//!   100 ms × LMQC 2 (LMQT 200 ms), median of several runs;
//! - daemon CPU time (all threads, /proc/PID/task/*/schedstat) while a host sends 10 000 IGMPv2
//!   refresh reports for a group the daemon holds, with the kernel fast path and without it
//!   (`--no-fast-path`), so the saving is measured, not assumed.
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
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
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
    let k = lab.start_mgm(&r, &[&rif], &args);
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

fn main() {
    leave_latency();
    refresh_cpu(false);
    refresh_cpu(true);
}
