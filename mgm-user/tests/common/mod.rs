//! Namespace lab for the integration tests: uniquely named network namespaces joined by veth
//! pairs, an mgm daemon in the router namespace (network namespace only, so its pins land in the
//! host's /sys/fs/bpf), and test hosts whose own Linux stacks join groups. Everything is removed
//! on drop, also when the test fails. Needs root: without it the tests fail, they do not skip.
#![allow(dead_code)]

pub(crate) mod frr;
pub(crate) mod process;
pub(crate) mod tcx;

use mgm_user::control::{
    api::{AttachState, GroupView, InterfaceRole, InterfaceView, Request},
    client,
};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Short IGMP timers for the namespace tests: QI 2 s, QRI 1 s, LMQI 200 ms × 2 → GMI 5 s,
/// LMQT 400 ms, other-querier-present 4.5 s.
pub(crate) const FAST: &[&str] = &[
    "--robustness",
    "2",
    "--query-interval",
    "2s",
    "--query-response-interval",
    "1s",
    "--last-member-query-interval",
    "200ms",
    "--last-member-query-count",
    "2",
    "--startup-query-interval",
    "500ms",
];
pub(crate) const LMQT: Duration = Duration::from_millis(400);
/// Scheduling slack on top of a protocol timer (shared CPUs, debug builds).
pub(crate) const SLACK: Duration = Duration::from_millis(1500);

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub(crate) fn require_root() {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "this test needs root (network namespaces, eBPF); run it through `cargo xtask test` as root"
    );
}

pub(crate) fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) struct Lab {
    pub(crate) id: String,
    namespaces: Vec<String>,
    daemons: Vec<Daemon>,
    hosts: Vec<Child>,
    pub(crate) dir: PathBuf,
    router: Option<String>,
}

pub(crate) struct Daemon {
    pub(crate) child: Child,
    pub(crate) socket: PathBuf,
    pub(crate) pin_dir: PathBuf,
    pub(crate) log: PathBuf,
}

impl Lab {
    pub(crate) fn new() -> Self {
        require_root();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("{:x}{:x}", std::process::id() & 0xffff, n);
        let dir = std::env::temp_dir().join(format!("mgm-test-{id}"));
        std::fs::create_dir_all(&dir).expect("create test dir");
        Lab {
            id,
            namespaces: Vec::new(),
            daemons: Vec::new(),
            hosts: Vec::new(),
            dir,
            router: None,
        }
    }

    /// Remembers the router namespace of a one-router lab.
    pub(crate) fn set_router(&mut self, ns: &str) {
        self.router = Some(ns.to_string());
    }

    pub(crate) fn netns_of_router(&self) -> String {
        self.router.clone().expect("set_router first")
    }

    /// Creates namespace `mgmt-ID-ROLE` with lo up; returns its name.
    pub(crate) fn netns(&mut self, role: &str) -> String {
        let name = format!("mgmt-{}-{role}", self.id);
        run(Command::new("ip").args(["netns", "add", &name]));
        self.namespaces.push(name.clone());
        self.ns(&name, &["ip", "link", "set", "lo", "up"]);
        name
    }

    /// Runs a command in a namespace (fresh mount namespace; fine for anything but bpffs).
    pub(crate) fn ns(&self, ns: &str, args: &[&str]) -> String {
        run(Command::new("ip").args(["netns", "exec", ns]).args(args))
    }

    /// A veth pair between two namespaces with an address on each end. Interface names are
    /// `{prefix}{id}` (≤ 15 characters).
    pub(crate) fn link(&self, a: (&str, &str, &str), b: (&str, &str, &str)) -> (String, String) {
        let an = format!("{}{}", a.1, self.id);
        let bn = format!("{}{}", b.1, self.id);
        run(Command::new("ip").args([
            "link", "add", &an, "netns", a.0, "type", "veth", "peer", "name", &bn, "netns", b.0,
        ]));
        for (ns, ifn, addr) in [(a.0, &an, a.2), (b.0, &bn, b.2)] {
            self.ns(ns, &["ip", "addr", "add", addr, "dev", ifn]);
            self.ns(ns, &["ip", "link", "set", ifn, "up"]);
        }
        (an, bn)
    }

    /// A LAN: a namespace holding bridge `br0` with IGMP snooping off (so queries and reports reach
    /// every port, as on a hub). Returns the namespace name.
    pub(crate) fn lan(&mut self, role: &str) -> String {
        let ns = self.netns(role);
        self.ns(
            &ns,
            &[
                "ip",
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        self.ns(&ns, &["ip", "link", "set", "br0", "up"]);
        ns
    }

    /// Connects `(ns, prefix, addr)` to the LAN's bridge; returns the interface name in `ns`.
    pub(crate) fn lan_port(&self, lan: &str, end: (&str, &str, &str)) -> String {
        let port = format!("p{}{}", end.1, self.id);
        let ifn = format!("{}{}", end.1, self.id);
        run(Command::new("ip").args([
            "link", "add", &port, "netns", lan, "type", "veth", "peer", "name", &ifn, "netns",
            end.0,
        ]));
        self.ns(lan, &["ip", "link", "set", &port, "master", "br0"]);
        self.ns(lan, &["ip", "link", "set", &port, "up"]);
        self.ns(end.0, &["ip", "addr", "add", end.2, "dev", &ifn]);
        self.ns(end.0, &["ip", "link", "set", &ifn, "up"]);
        ifn
    }

    /// Silences a host without a leave: takes its port (made by `lan_port` with `prefix`) off the
    /// LAN's bridge. The host keeps its membership and carrier; nothing it sends arrives.
    pub(crate) fn disconnect(&self, lan: &str, prefix: &str) {
        self.ns(
            lan,
            &[
                "ip",
                "link",
                "set",
                &format!("p{prefix}{}", self.id),
                "nomaster",
            ],
        );
    }

    /// Starts `mgm run` in `ns` (network namespace only) on `ifaces`, with its own pin directory
    /// and socket, and waits until it answers.
    pub(crate) fn start_mgm(&mut self, ns: &str, ifaces: &[&str], extra: &[&str]) -> usize {
        let pin_dir = PathBuf::from(format!(
            "/sys/fs/bpf/mgm-test-{}-{}",
            self.id,
            self.daemons.len()
        ));
        self.start_mgm_pinned(ns, ifaces, extra, pin_dir)
    }

    /// Like `start_mgm`, with the maps pinned in `pin_dir` (e.g. an earlier daemon's).
    pub(crate) fn start_mgm_pinned(
        &mut self,
        ns: &str,
        ifaces: &[&str],
        extra: &[&str],
        pin_dir: PathBuf,
    ) -> usize {
        let k = self.daemons.len();
        let socket = self.dir.join(format!("mgm{k}.sock"));
        let log = self.dir.join(format!("mgm{k}.log"));
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{ns}"))
            .arg(env!("CARGO_BIN_EXE_mgm"))
            .arg("run");
        for i in ifaces {
            cmd.args(["-i", i]);
        }
        cmd.arg("--bpffs")
            .arg(&pin_dir)
            .arg("--socket")
            .arg(&socket)
            .args(extra);
        cmd.env("MGM_LOG", "debug,aya=warn,aya_obj=warn,aya_log=warn");
        let logf = std::fs::File::create(&log).expect("daemon log file");
        cmd.stdout(Stdio::null()).stderr(logf);
        let child = cmd.spawn().expect("spawn mgm run");
        self.daemons.push(Daemon {
            child,
            socket: socket.clone(),
            pin_dir,
            log,
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if client::request::<Vec<InterfaceView>>(&socket, Request::ShowInterfaces).is_ok() {
                return k;
            }
            if let Ok(Some(status)) = self.daemons[k].child.try_wait() {
                panic!(
                    "mgm run exited ({status}) before answering:\n{}",
                    self.daemon_log(k)
                );
            }
            assert!(
                Instant::now() < deadline,
                "mgm run did not answer in 15 s:\n{}",
                self.daemon_log(k)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts `mgm run` like `start_mgm`, with `env` added to its environment (an empty value
    /// removes the variable), and returns at once, without waiting for it to answer (see
    /// `wait_answering`). With `journal`, its stderr (the log file) is presented as the journal:
    /// JOURNAL_STREAM names the log file's device and inode, as systemd does for the stream it
    /// connects.
    pub(crate) fn spawn_mgm_env(
        &mut self,
        ns: &str,
        ifaces: &[&str],
        extra: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
        journal: bool,
    ) -> usize {
        use std::os::unix::fs::MetadataExt;
        let k = self.daemons.len();
        let pin_dir = PathBuf::from(format!("/sys/fs/bpf/mgm-test-{}-{k}", self.id));
        let socket = self.dir.join(format!("mgm{k}.sock"));
        let log = self.dir.join(format!("mgm{k}.log"));
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{ns}"))
            .arg(env!("CARGO_BIN_EXE_mgm"))
            .arg("run");
        for i in ifaces {
            cmd.args(["-i", i]);
        }
        cmd.arg("--bpffs")
            .arg(&pin_dir)
            .arg("--socket")
            .arg(&socket)
            .args(extra);
        cmd.env("MGM_LOG", "debug,aya=warn,aya_obj=warn,aya_log=warn");
        for (key, value) in env {
            // An empty value removes the variable (MGM_LOG: the file's `log` then applies).
            if value.is_empty() {
                cmd.env_remove(key);
            } else {
                cmd.env(key, value);
            }
        }
        let logf = std::fs::File::create(&log).expect("daemon log file");
        if journal {
            let meta = logf.metadata().expect("stat the log file");
            cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
        } else {
            cmd.env_remove("JOURNAL_STREAM");
        }
        cmd.stdout(Stdio::null()).stderr(logf);
        let child = cmd.spawn().expect("spawn mgm run");
        self.daemons.push(Daemon {
            child,
            socket,
            pin_dir,
            log,
        });
        k
    }

    /// Waits until daemon `k` answers on its control socket (15 s at most).
    pub(crate) fn wait_answering(&mut self, k: usize) {
        let socket = self.daemons[k].socket.clone();
        let deadline = Instant::now() + Duration::from_secs(15);
        while client::request::<Vec<InterfaceView>>(&socket, Request::ShowInterfaces).is_err() {
            if let Ok(Some(status)) = self.daemons[k].child.try_wait() {
                panic!(
                    "mgm run exited ({status}) before answering:\n{}",
                    self.daemon_log(k)
                );
            }
            assert!(
                Instant::now() < deadline,
                "mgm run did not answer in 15 s:\n{}",
                self.daemon_log(k)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn daemon(&self, k: usize) -> &Daemon {
        &self.daemons[k]
    }

    pub(crate) fn daemon_log(&self, k: usize) -> String {
        std::fs::read_to_string(&self.daemons[k].log).unwrap_or_default()
    }

    /// Sends SIGTERM to daemon `k` once and waits for it to exit; returns its exit status. Fails
    /// the test when it has not exited in 10 s (it is then killed).
    pub(crate) fn stop_mgm(&mut self, k: usize) -> std::process::ExitStatus {
        let stopped = process::stop_child(&mut self.daemons[k].child, Duration::from_secs(10));
        assert!(!stopped.killed, "mgm did not stop on SIGTERM in 10 s");
        stopped.status
    }

    /// The interfaces daemon `k` manages: `mgm show interfaces` without the awaited ones and
    /// the proxy's upstream.
    pub(crate) fn interfaces(&self, k: usize) -> Vec<InterfaceView> {
        self.all_interfaces(k)
            .into_iter()
            .filter(|i| i.state == AttachState::Attached && i.role == InterfaceRole::Router)
            .collect()
    }

    /// Every row of `mgm show interfaces`: managed, awaited, the proxy's upstream.
    pub(crate) fn all_interfaces(&self, k: usize) -> Vec<InterfaceView> {
        client::request(&self.daemons[k].socket, Request::ShowInterfaces).expect("show interfaces")
    }

    /// The group's entry on interface `ifname`, if the daemon holds it.
    pub(crate) fn group(&self, k: usize, ifname: &str, group: &str) -> Option<GroupView> {
        self.groups(k)
            .into_iter()
            .find(|g| g.interface == ifname && g.group == group)
    }

    pub(crate) fn groups(&self, k: usize) -> Vec<GroupView> {
        let mut rows = Vec::new();
        client::stream(
            &self.daemons[k].socket,
            Request::ShowGroups(Default::default()),
            |row| {
                rows.push(row);
                Ok(())
            },
        )
        .expect("show groups");
        rows
    }

    /// Polls `cond` every 50 ms until it holds or `timeout` passes; returns the time it took.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut() -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            if cond() {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                let logs: String = (0..self.daemons.len())
                    .map(|k| self.daemon_log(k))
                    .collect();
                panic!("timed out after {timeout:?} waiting for {what}\ndaemon logs:\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts a test host's multicast stack in `ns` (see mcast_host.py).
    pub(crate) fn host(&mut self, ns: &str) -> Host {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/mcast_host.py");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-u"])
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn test host");
        let stdin = child.stdin.take().expect("host stdin");
        let stdout = child.stdout.take().expect("host stdout");
        let (tx, acks) = channel();
        let received = Arc::new(Mutex::new(Vec::new()));
        let rx_log = received.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("rx ") {
                    let ns: u64 = rest
                        .split(' ')
                        .next()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    rx_log.lock().unwrap().push(ns);
                } else if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = child.id();
        self.hosts.push(child);
        Host {
            stdin,
            acks,
            received,
            pid,
        }
    }
}

pub(crate) struct Host {
    stdin: ChildStdin,
    acks: Receiver<String>,
    /// CLOCK_MONOTONIC ns of each datagram received (after `recv PORT`).
    pub(crate) received: Arc<Mutex<Vec<u64>>>,
    pub(crate) pid: u32,
}

impl Host {
    /// Sends one command and waits for its "ok".
    pub(crate) fn cmd(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to host");
        self.stdin.flush().expect("flush host");
        let verb = line.split_whitespace().next().unwrap_or("");
        let answer = self
            .acks
            .recv_timeout(Duration::from_secs(5))
            .expect("host answers");
        assert_eq!(answer, format!("ok {verb}"), "host command `{line}`");
    }

    pub(crate) fn received_count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let failing = std::thread::panicking();
        for (k, d) in self.daemons.iter_mut().enumerate() {
            process::stop_child(&mut d.child, Duration::from_secs(5));
            if failing {
                eprintln!(
                    "--- daemon {k} log ---\n{}",
                    std::fs::read_to_string(&d.log).unwrap_or_default()
                );
            }
            let _ = std::fs::remove_dir_all(&d.pin_dir);
        }
        for h in &mut self.hosts {
            let _ = h.kill();
            let _ = h.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `v3_flood.py` in `ns`: up to `count` IGMPv3 IS_IN reports from `src` with `sources`
/// sources each over `groups` groups, for at most `seconds`. Wait on the child for its end; it
/// prints "sent N in S s".
pub(crate) fn spawn_v3_flood(
    ns: &str,
    src: &str,
    count: usize,
    seconds: f64,
    sources: usize,
    groups: usize,
) -> Child {
    spawn_v3_flood_mode(ns, src, count, seconds, sources, groups, "include")
}

/// Like [`spawn_v3_flood`], with IS_EX records when `mode` is "exclude" (joins, with no source:
/// a group flood).
pub(crate) fn spawn_v3_flood_mode(
    ns: &str,
    src: &str,
    count: usize,
    seconds: f64,
    sources: usize,
    groups: usize,
    mode: &str,
) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/v3_flood.py");
    Command::new("ip")
        .args(["netns", "exec", ns, "python3"])
        .arg(script)
        .args([
            src.to_string(),
            count.to_string(),
            seconds.to_string(),
            sources.to_string(),
            groups.to_string(),
            mode.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn v3_flood.py")
}

/// CPU time process `pid` (all its threads) has run, in ns (/proc/PID/task/*/schedstat).
pub(crate) fn process_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Resident set size of process `pid` in KiB (VmRSS), 0 when unknown.
pub(crate) fn process_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// `mgm ARGS --socket SOCKET`: a client command against a running daemon, its output captured.
pub(crate) fn mgm_client(socket: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(args)
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .output()
        .expect("run mgm")
}
