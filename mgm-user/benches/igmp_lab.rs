//! Daemon-level IGMP figures in the namespace lab (needs root; run by `cargo xtask bench`):
//! - leave latency: a host's last leave → the group gone from `mgm show groups`, with LMQI 100 ms
//!   × LMQC 2 (LMQT 200 ms), median of several runs;
//! - daemon CPU time (user + system, from /proc) while a host sends 10 000 IGMPv2 refresh reports
//!   for a group the daemon already holds: the kernel fast path should absorb them.
#[path = "../tests/common/mod.rs"]
mod common;

use common::Lab;
use std::time::{Duration, Instant};

const G: &str = "239.9.9.9";

/// CPU time the process (all its threads) has run, in ns (/proc/PID/task/*/schedstat, field 1).
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

fn main() {
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
    let k = lab.start_mgm(
        &r,
        &[&rif],
        &[
            "--query-interval",
            "60s",
            "--last-member-query-interval",
            "100ms",
            "--last-member-query-count",
            "2",
        ],
    );

    // Leave latency.
    let mut host = lab.host(&h);
    let mut samples = Vec::new();
    for _ in 0..5 {
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
    println!(
        "leave latency (LMQT 200 ms): median {:.0} ms, min {:.0} ms, max {:.0} ms over {} runs",
        samples[samples.len() / 2].as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
        samples.len()
    );

    // CPU per 10 000 refresh reports.
    host.cmd(&format!("join {G} 192.0.2.11"));
    lab.wait_for("join", Duration::from_secs(5), || {
        lab.group(k, &rif, G).is_some()
    });
    std::thread::sleep(Duration::from_millis(500));
    let pid = lab.daemon(k).child.id();
    let before = cpu_ns(pid);
    let script = format!(
        "import socket,struct\n\
         def csum(b):\n s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return (~s)&0xffff\n\
         g=socket.inet_aton('{G}')\n\
         m=bytearray(struct.pack('!BBH4s',0x16,0,0,g)); struct.pack_into('!H',m,2,csum(bytes(m)))\n\
         s=socket.socket(socket.AF_INET,socket.SOCK_RAW,2)\n\
         s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_TTL,1)\n\
         s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('192.0.2.11'))\n\
         for i in range(10000): s.sendto(bytes(m),('{G}',0))\n"
    );
    let t = Instant::now();
    lab.ns(&h, &["python3", "-c", &script]);
    std::thread::sleep(Duration::from_millis(300));
    let after = cpu_ns(pid);
    let stats = mgm_user::control::client::request(
        &lab.daemon(k).socket,
        mgm_user::control::protocol::Request::ShowStats,
    )
    .expect("stats");
    println!(
        "daemon CPU for 10 000 IGMPv2 refresh reports: {:.2} ms (sent in {:.0} ms); classifier: rx_report_v2 {} fast_path_refreshes {} events_sent {}",
        (after - before) as f64 / 1e6,
        t.elapsed().as_secs_f64() * 1e3,
        stats["rx_report_v2"],
        stats["fast_path_refreshes"],
        stats["events_sent"]
    );
}
