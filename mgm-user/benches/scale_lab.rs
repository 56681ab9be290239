//! 100 000 groups and 1 000 000 sources in the namespace lab (needs root; run by `cargo xtask
//! bench`): two LANs, a host on each reporting 50 000 IGMPv3 INCLUDE groups of 10 sources.
//! - convergence: the first report sent → every group and source held (polled every 20 ms
//!   through `mgm show interfaces`), at the rate the hosts offer, with the daemon's CPU time
//!   (all threads, /proc/PID/task/*/schedstat) and the reports the ring had no room for;
//! - the daemon's resident set holding them;
//! - `mgm show groups` (table and `--json`) of all of them: wall time, the client's peak
//!   resident set (getrusage of the child), the daemon's resident set growth while it answers
//!   (sampled every 2 ms).
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/scale.rs"]
mod scale;

use scale::{everything, held, scale_lab, send_round, stats};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// CPU time the process (all its threads) has run, in ns.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// VmRSS of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Runs `mgm show groups ARGS` to /dev/null: (wall time, client peak RSS in KiB, daemon RSS
/// growth in KiB while it answered).
fn show_groups(socket: &std::path::Path, daemon: u32, args: &[&str]) -> (Duration, u64, u64) {
    let base = rss_kib(daemon);
    let peak = Arc::new(AtomicU64::new(base));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(daemon), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_mgm"))
        .args(["show", "groups"])
        .args(args)
        .arg("--socket")
        .arg(socket)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("mgm show groups");
    let wall = t.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    assert!(out.status.success(), "{out:?}");
    let client: u64 = String::from_utf8_lossy(&out.stderr)
        .trim()
        .lines()
        .last()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    (
        wall,
        client,
        peak.load(Ordering::Relaxed).saturating_sub(base),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // BURST reports a millisecond per host, each of 16 records of 10 sources.
    for burst in [2u32, 8] {
        let s = scale_lab();
        let (lab, k) = (&s.lab, s.k);
        let pid = lab.daemon(k).child.id();
        let want = everything(&s);
        let rss0 = rss_kib(pid);
        let cpu0 = cpu_ns(pid);
        let t = Instant::now();
        let mut rounds = 0;
        let mut converged = None;
        while rounds < 8 && converged.is_none() {
            rounds += 1;
            // Poll while the round is handled: the first look that sees everything held.
            let stop = AtomicBool::new(false);
            let seen = std::thread::scope(|sc| {
                let poll = sc.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        if held(lab, k).as_ref() == Some(&want) {
                            return Some(t.elapsed());
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    None
                });
                let settled = send_round(&s, burst);
                // Nothing more comes from this round: the poller has seen it all, or never will.
                stop.store(settled.as_ref() != Some(&want), Ordering::Relaxed);
                if settled.as_ref() == Some(&want) {
                    poll.join().ok().flatten()
                } else {
                    None
                }
            });
            converged = seen;
        }
        let cpu = Duration::from_nanos(cpu_ns(pid) - cpu0);
        let st = stats(lab, k);
        let Some(converged) = converged else {
            println!("burst {burst}/ms: not everything held after {rounds} rounds");
            continue;
        };
        println!(
            "100 000 groups / 1 000 000 sources, {burst} reports/ms per host offered: all held \
             after {:.2} s ({rounds} round(s)); daemon CPU {:.2} s; ring full {}; map write \
             errors {}; RSS {} MiB at start, {} MiB holding them",
            converged.as_secs_f64(),
            cpu.as_secs_f64(),
            st["events_ring_full"],
            st["daemon_map_write_errors"],
            rss0 >> 10,
            rss_kib(pid) >> 10,
        );
        if burst != 8 {
            continue;
        }
        let socket = lab.daemon(k).socket.clone();
        for (what, args) in [("table", &[][..]), ("--json", &["--json"][..])] {
            let mut runs: Vec<(Duration, u64, u64)> =
                (0..3).map(|_| show_groups(&socket, pid, args)).collect();
            runs.sort();
            let (wall, client, daemon) = runs[1];
            println!(
                "mgm show groups {what}, 100 000 groups / 1 000 000 sources (median of 3): \
                 {:.2} s, client peak RSS {} MiB, daemon RSS +{} KiB while answering",
                wall.as_secs_f64(),
                client >> 10,
                daemon
            );
        }
    }
}
