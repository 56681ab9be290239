//! Daemons as processes: stopping one we started, and what /proc says about its CPU and its
//! namespace's raw sockets (shared by `compare` and `proxy_lab`).
#![allow(dead_code)]

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// SIGTERM to a child of ours, up to 5 s for it to go, then SIGKILL; reaped either way.
pub(crate) fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// How long the threads of `pid` have waited on a run queue, ns (/proc/PID/task/*/schedstat,
/// second field).
pub(crate) fn process_wait_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// The `drops` column summed over the raw sockets of the netns of `pid`.
pub(crate) fn raw_drops(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/net/raw"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

/// Waits until `ready` holds for a daemon just started as `child` (polled every 20 ms); panics
/// with its log if it exits first or `timeout` passes.
pub(crate) fn wait_started(
    child: &mut Child,
    what: &str,
    timeout: Duration,
    log: impl Fn() -> String,
    mut ready: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) at start:\n{}", log());
        }
        assert!(
            Instant::now() < deadline,
            "{what} was not up in {timeout:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a pid file (a daemon that forks: FRR's), waiting up to 10 s for it.
pub(crate) fn read_pid_file(path: &std::path::Path) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return Some(pid);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
