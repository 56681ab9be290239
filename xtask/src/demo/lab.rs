//! The demo's lab: network namespaces joined by veth pairs (and one bridge), mgm in the router
//! namespace, test hosts, a handler, the event stream; everything removed when the lab is
//! dropped, whatever the exit path.
use super::interrupt;
use crate::util::run as run_cmd;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const ROUTER: &str = "mgm-demo-r";
pub(crate) const SOURCE_NS: &str = "mgm-demo-src";
pub(crate) const LAN1_NS: &str = "mgm-demo-lan1";
pub(crate) const PINS: &str = "/sys/fs/bpf/mgm-demo";
pub(crate) const SOCKET: &str = "/run/mgm/demo.sock";
pub(crate) const LOG: &str = "/tmp/mgm-demo.log";
/// `mgm run -i …`: demo-lan3 is left to the routing protocol `demo-pim`, a handler that comes
/// later.
pub(crate) const MGM_INTERFACES: [&str; 4] = [
    "demo-src",
    "demo-lan1",
    "demo-lan2",
    "demo-lan3,protocol=demo-pim",
];
/// Every namespace the lab makes (removed at the start too, should an earlier run have been
/// killed before it could clean up).
const NAMESPACES: [&str; 7] = [
    ROUTER,
    SOURCE_NS,
    LAN1_NS,
    "mgm-demo-h1",
    "mgm-demo-h2",
    "mgm-demo-h3",
    "mgm-demo-h4",
];

/// Lines a child printed, shared with the thread that reads them.
pub(crate) type Lines = Arc<Mutex<Vec<String>>>;

pub(crate) struct Lab {
    pub(crate) bin: PathBuf,
    children: Vec<Child>,
}

/// A process of the lab driven through its stdin; what it prints is collected in `lines`.
pub(crate) struct Driven {
    stdin: ChildStdin,
    pub(crate) lines: Lines,
}

impl Driven {
    /// Sends one command and waits for its `ok` (or fails with its `error`).
    pub(crate) fn cmd(&mut self, line: &str) -> Result<()> {
        let verb = line.split_whitespace().next().unwrap_or_default();
        let from = self.len();
        writeln!(self.stdin, "{line}").with_context(|| format!("host command '{line}'"))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let answer = self.since(from).into_iter().find(|l| {
                l.strip_prefix("ok ")
                    .or_else(|| l.strip_prefix("error "))
                    .is_some_and(|rest| rest.starts_with(verb))
            });
            match answer {
                Some(a) if a.starts_with("ok ") => return Ok(()),
                Some(a) => bail!("host command '{line}' failed: {a}"),
                None if Instant::now() > deadline => bail!("host command '{line}': no answer"),
                None => interrupt::pause(Duration::from_millis(20))?,
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lines.lock().map_or(0, |l| l.len())
    }

    pub(crate) fn since(&self, from: usize) -> Vec<String> {
        self.lines
            .lock()
            .map(|l| l.get(from..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }
}

/// Runs `cmd` in network namespace `ns` (`ip netns exec`).
pub(crate) fn ip_ns(ns: &str, args: &[&str]) -> Result<()> {
    run_cmd(Command::new("ip").args(["netns", "exec", ns]).args(args))
}

impl Lab {
    /// Makes the namespaces and links:
    ///
    /// ```text
    ///  source 192.0.2.10 ── demo-src ┐
    ///  h1 198.51.100.10 ┐            │
    ///                   ├ bridge ── demo-lan1 (198.51.100.1)   router mgm-demo-r, running mgm
    ///  h2 198.51.100.11 ┘            │
    ///  h3 203.0.113.10 ─── demo-lan2 (203.0.113.1/25)
    ///  h4 203.0.113.130 ── demo-lan3 (203.0.113.129/25)
    /// ```
    pub(crate) fn build(bin: &Path) -> Result<Lab> {
        let lab = Lab {
            bin: bin.to_path_buf(),
            children: Vec::new(),
        };
        lab.remove_namespaces();
        for ns in NAMESPACES {
            run_cmd(Command::new("ip").args(["netns", "add", ns]))?;
            ip_ns(ns, &["ip", "link", "set", "lo", "up"])?;
        }
        // The LAN: a bridge with IGMP snooping off, so the router sees every report.
        ip_ns(
            LAN1_NS,
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
        )?;
        ip_ns(LAN1_NS, &["ip", "link", "set", "br0", "up"])?;
        let direct = [
            ("demo-src", "192.0.2.1/24", SOURCE_NS, "192.0.2.10/24"),
            (
                "demo-lan2",
                "203.0.113.1/25",
                "mgm-demo-h3",
                "203.0.113.10/25",
            ),
            (
                "demo-lan3",
                "203.0.113.129/25",
                "mgm-demo-h4",
                "203.0.113.130/25",
            ),
        ];
        for (rif, raddr, hns, haddr) in direct {
            veth((ROUTER, rif), (hns, "eth0"))?;
            address(ROUTER, rif, raddr)?;
            address(hns, "eth0", haddr)?;
            default_route(hns, raddr)?;
        }
        veth((ROUTER, "demo-lan1"), (LAN1_NS, "r0"))?;
        address(ROUTER, "demo-lan1", "198.51.100.1/24")?;
        for (i, (hns, haddr)) in [
            ("mgm-demo-h1", "198.51.100.10/24"),
            ("mgm-demo-h2", "198.51.100.11/24"),
        ]
        .into_iter()
        .enumerate()
        {
            let port = format!("p{}", i + 1);
            veth((hns, "eth0"), (LAN1_NS, &port))?;
            address(hns, "eth0", haddr)?;
            default_route(hns, "198.51.100.1/24")?;
        }
        for port in ["r0", "p1", "p2"] {
            ip_ns(LAN1_NS, &["ip", "link", "set", port, "master", "br0", "up"])?;
        }
        // h3 speaks IGMPv2; the others the kernel's default, IGMPv3.
        ip_ns(
            "mgm-demo-h3",
            &["sysctl", "-qw", "net.ipv4.conf.eth0.force_igmp_version=2"],
        )?;
        Ok(lab)
    }

    /// Starts `mgm run` in the router namespace and waits for its control socket.
    pub(crate) fn start_mgm(&mut self) -> Result<()> {
        let log = std::fs::File::create(LOG).with_context(|| format!("creating {LOG}"))?;
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{ROUTER}"))
            .arg(&self.bin)
            .arg("run");
        for i in MGM_INTERFACES {
            cmd.args(["-i", i]);
        }
        cmd.args(["--bpffs", PINS, "--socket", SOCKET])
            // Short timers, so leaves take effect within a second (LMQT 2 x 200 ms).
            .args(["--query-interval", "10s", "--query-response-interval", "2s"])
            .args(["--last-member-query-interval", "200ms"])
            .stdout(Stdio::null())
            .stderr(log);
        self.spawn(cmd).context("starting mgm")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.mgm(&["show", "interfaces"]).is_err() {
            if Instant::now() > deadline {
                bail!("mgm did not come up; its log is {LOG}");
            }
            interrupt::pause(Duration::from_millis(100))?;
        }
        Ok(())
    }

    /// A client command of mgm against the lab's daemon; its output.
    pub(crate) fn mgm(&self, args: &[&str]) -> Result<String> {
        crate::util::output(
            Command::new(&self.bin)
                .args(args)
                .args(["--socket", SOCKET]),
        )
    }

    /// A host in namespace `ns` (the namespace tests' host script, built in), its address set.
    pub(crate) fn host(&mut self, ns: &str, addr: &str) -> Result<Driven> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, "python3", "-u", "-c"])
            .arg(include_str!("../../../mgm-user/tests/common/mcast_host.py"));
        let mut host = self
            .driven(cmd)
            .with_context(|| format!("starting a host in {ns}"))?;
        host.cmd(&format!("ifaddr {addr}"))?;
        Ok(host)
    }

    /// `mgm handler --name NAME --take IF`: a routing protocol in another process; its lines
    /// (one per callback) collected.
    pub(crate) fn handler(&mut self, name: &str, take: &str) -> Result<Lines> {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "handler", "--name", name, "--take", take, "--socket", SOCKET,
        ]);
        self.collect(cmd, true).context("starting mgm handler")
    }

    /// `mgm events --json`: every event, one JSON object per line.
    pub(crate) fn events(&mut self) -> Result<Lines> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["events", "--json", "--socket", SOCKET]);
        self.collect(cmd, false).context("starting mgm events")
    }

    fn driven(&mut self, mut cmd: Command) -> Result<Driven> {
        cmd.stdin(Stdio::piped());
        let lines: Lines = Arc::default();
        let stdin = self
            .spawn_reading(cmd, &lines, false)?
            .context("the child's stdin")?;
        Ok(Driven { stdin, lines })
    }

    fn collect(&mut self, mut cmd: Command, stderr_too: bool) -> Result<Lines> {
        cmd.stdin(Stdio::null());
        let lines: Lines = Arc::default();
        self.spawn_reading(cmd, &lines, stderr_too)?;
        Ok(lines)
    }

    /// Spawns `cmd` with its stdout (and stderr) read line by line into `lines`; returns its
    /// stdin if it was piped.
    fn spawn_reading(
        &mut self,
        mut cmd: Command,
        lines: &Lines,
        stderr_too: bool,
    ) -> Result<Option<ChildStdin>> {
        cmd.stdout(Stdio::piped());
        cmd.stderr(if stderr_too {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let child = self.spawn(cmd)?;
        let mut readers: Vec<Box<dyn std::io::Read + Send>> = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(Box::new(out));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(Box::new(err));
        }
        for r in readers {
            let lines = Arc::clone(lines);
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if let Ok(mut l) = lines.lock() {
                        l.push(line);
                    }
                }
            });
        }
        Ok(child.stdin.take())
    }

    /// Spawns a child of the lab in a process group of its own, so a Ctrl-C reaches the demo
    /// alone, which then stops its children in order.
    fn spawn(&mut self, mut cmd: Command) -> Result<&mut Child> {
        cmd.process_group(0);
        let child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
        self.children.push(child);
        let last = self.children.len() - 1;
        Ok(&mut self.children[last])
    }

    /// Packets each multicast interface of the router sent out (the kernel's VIF counters).
    pub(crate) fn packets_out(&self) -> Result<Vec<(String, u64)>> {
        let text = crate::util::output(Command::new("ip").args([
            "netns",
            "exec",
            ROUTER,
            "cat",
            "/proc/net/ip_mr_vif",
        ]))?;
        Ok(super::report::vif_packets_out(&text))
    }

    fn remove_namespaces(&self) {
        for ns in NAMESPACES {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Lab {
    /// Stops every child (the newest first: the hosts, the handler, then mgm, which detaches
    /// its classifier), then removes the namespaces and the pinned maps.
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            stop(c);
        }
        self.children.clear();
        self.remove_namespaces();
        let _ = std::fs::remove_dir_all(PINS);
    }
}

/// SIGTERM, then SIGKILL if it is still there after 3 s.
fn stop(c: &mut Child) {
    let Ok(pid) = i32::try_from(c.id()) else {
        return;
    };
    // SAFETY: kill(2) on the pid of a child we have not reaped yet (so it is ours).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if matches!(c.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn veth(a: (&str, &str), b: (&str, &str)) -> Result<()> {
    run_cmd(Command::new("ip").args([
        "link", "add", a.1, "netns", a.0, "type", "veth", "peer", "name", b.1, "netns", b.0,
    ]))
}

fn address(ns: &str, ifname: &str, addr: &str) -> Result<()> {
    ip_ns(ns, &["ip", "addr", "add", addr, "dev", ifname])?;
    ip_ns(ns, &["ip", "link", "set", ifname, "up"])
}

fn default_route(ns: &str, router: &str) -> Result<()> {
    let gw = router.split('/').next().unwrap_or_default();
    ip_ns(ns, &["ip", "route", "add", "default", "via", gw])
}
