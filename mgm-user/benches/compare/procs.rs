//! Daemons as processes: starting one in a namespace and stopping it, and what /proc says about
//! its CPU, its BPF maps and its namespace's raw sockets (shared by `compare` and `proxy_lab`).
#![allow(dead_code)]

use crate::common::process::stop_child;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon we started in a network namespace, in the foreground, its stderr in a log file.
/// Stopped (SIGTERM, then SIGKILL) on drop.
pub(crate) struct NsDaemon {
    child: Child,
    log: PathBuf,
}

impl NsDaemon {
    /// Runs `program ARGS` in namespace `ns` (nsenter execs it: the pid is the daemon's), stderr
    /// to `log`. Returns once `ready(pid)` holds (polled every 20 ms); panics with its log if it
    /// exits first or `timeout` passes.
    pub(crate) fn start<I, S>(
        ns: &str,
        program: &str,
        args: I,
        log: PathBuf,
        timeout: Duration,
        mut ready: impl FnMut(u32) -> bool,
    ) -> NsDaemon
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let name = Path::new(program)
            .file_name()
            .map_or(program.into(), |n| n.to_string_lossy());
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{ns}"))
            .arg(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(&log)
                    .unwrap_or_else(|e| panic!("{name} log file {}: {e}", log.display())),
            )
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let mut d = NsDaemon { child, log };
        let pid = d.pid();
        wait_started(
            &mut d.child,
            &name,
            timeout,
            || read_log(&d.log),
            || ready(pid),
        );
        d
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log so far.
    pub(crate) fn log(&self) -> String {
        read_log(&self.log)
    }

    /// Stops it now (SIGTERM, then SIGKILL after 5 s); nothing when it is already gone.
    pub(crate) fn stop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(5));
    }
}

impl Drop for NsDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
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

/// A BPF map a process holds open, as the kernel accounts it (`/proc/PID/fdinfo/FD`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct HeldMap {
    /// The kernel's id of the map (`map_id`).
    pub(crate) id: u32,
    /// `memlock`: since Linux 6.4 the kernel memory the map uses now (a hash map without
    /// preallocation: its buckets and the elements it holds), not counted in the VmRSS of any
    /// process.
    pub(crate) memlock: u64,
}

/// The BPF maps `pid` holds open, each once however many descriptors it has for it.
pub(crate) fn bpf_maps(pid: u32) -> Vec<HeldMap> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut maps = std::collections::BTreeMap::new();
    for fd in fds.filter_map(|f| f.ok()) {
        let is_map =
            std::fs::read_link(fd.path()).is_ok_and(|t| t == Path::new("anon_inode:bpf-map"));
        if !is_map {
            continue;
        }
        let info = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
        if let Some(m) = std::fs::read_to_string(info)
            .ok()
            .as_deref()
            .and_then(held_map)
        {
            maps.insert(m.id, m);
        }
    }
    maps.into_values().collect()
}

/// `map_id` and `memlock` of a map's fdinfo.
fn held_map(fdinfo: &str) -> Option<HeldMap> {
    let field = |name: &str| {
        fdinfo
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(HeldMap {
        id: u32::try_from(field("map_id")?).ok()?,
        memlock: field("memlock")?,
    })
}

/// Waits until `ready` holds for a daemon just started as `child` (polled every 20 ms); panics
/// with its log if it exits first or `timeout` passes.
fn wait_started(
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
