//! `cargo xtask run`: with arguments, runs the mgm binary with them; without, the demo lab:
//! a router namespace running mgm on three links (a source host and two receivers, one speaking
//! IGMPv3, one IGMPv2), receivers joining a group, a source sending to it, and the state shown
//! with `mgm show` and bpftool. Everything is removed at the end, also on Ctrl-C or failure.
use crate::build;
use crate::setup::{self, Needs};
use crate::util::{output, run as run_cmd, workspace_root};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const NS: [&str; 4] = ["mgm-demo-r", "mgm-demo-src", "mgm-demo-rx1", "mgm-demo-rx2"];
const PINS: &str = "/sys/fs/bpf/mgm-demo";
const SOCKET: &str = "/run/mgm/demo.sock";
const GROUP: &str = "239.1.1.1";

pub(crate) fn run(args: &[String]) -> Result<()> {
    setup::ensure(Needs::ALL)?;
    let bin = build::build_all(true)?;
    if !args.is_empty() {
        return run_cmd(Command::new(&bin).args(args));
    }
    let mut lab = DemoLab {
        children: Vec::new(),
        pipes: Vec::new(),
    };
    let result = lab.play(&bin);
    lab.teardown();
    result
}

struct DemoLab {
    children: Vec<Child>,
    /// The test hosts' command pipes: a host whose stdin closes exits (and leaves its groups).
    pipes: Vec<std::process::ChildStdin>,
}

fn ip_ns(ns: &str, args: &[&str]) -> Result<()> {
    run_cmd(Command::new("ip").args(["netns", "exec", ns]).args(args))
}

impl DemoLab {
    fn play(&mut self, bin: &Path) -> Result<()> {
        self.teardown();
        for ns in NS {
            run_cmd(Command::new("ip").args(["netns", "add", ns]))?;
            ip_ns(ns, &["ip", "link", "set", "lo", "up"])?;
        }
        // router side name, host side name, router address, host address
        let links = [
            ("demo-src", "eth0", "192.0.2.1/24", "192.0.2.10/24", NS[1]),
            (
                "demo-rx1",
                "eth0",
                "198.51.100.1/24",
                "198.51.100.10/24",
                NS[2],
            ),
            (
                "demo-rx2",
                "eth0",
                "203.0.113.1/24",
                "203.0.113.10/24",
                NS[3],
            ),
        ];
        for (rif, hif, raddr, haddr, hns) in links {
            run_cmd(Command::new("ip").args([
                "link", "add", rif, "netns", NS[0], "type", "veth", "peer", "name", hif, "netns",
                hns,
            ]))?;
            ip_ns(NS[0], &["ip", "addr", "add", raddr, "dev", rif])?;
            ip_ns(NS[0], &["ip", "link", "set", rif, "up"])?;
            ip_ns(hns, &["ip", "addr", "add", haddr, "dev", hif])?;
            ip_ns(hns, &["ip", "link", "set", hif, "up"])?;
            let gw = raddr.split('/').next().unwrap_or_default();
            ip_ns(hns, &["ip", "route", "add", "default", "via", gw])?;
        }
        ip_ns(
            NS[3],
            &["sysctl", "-qw", "net.ipv4.conf.eth0.force_igmp_version=2"],
        )?;
        println!(
            "== lab: router {} with links demo-src, demo-rx1 (IGMPv3 host), demo-rx2 (IGMPv2 host)",
            NS[0]
        );

        let log = std::fs::File::create("/tmp/mgm-demo.log").context("daemon log")?;
        let daemon = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", NS[0]))
            .arg(bin)
            .args(["run", "-i", "demo-src", "-i", "demo-rx1", "-i", "demo-rx2"])
            .args(["--bpffs", PINS, "--socket", SOCKET])
            .args(["--query-interval", "10s", "--query-response-interval", "2s"])
            .stderr(log)
            .spawn()
            .context("starting mgm")?;
        self.children.push(daemon);
        wait_for_socket(bin)?;
        println!("== mgm runs in {} (log: /tmp/mgm-demo.log)", NS[0]);

        let script = workspace_root().join("mgm-user/tests/common/mcast_host.py");
        for (ns, addr) in [(NS[2], "198.51.100.10"), (NS[3], "203.0.113.10")] {
            let mut host = self.host(ns, &script)?;
            writeln!(host, "join {GROUP} {addr}")?;
            writeln!(host, "recv 5000")?;
            self.pipes.push(host);
        }
        let mut source = self.host(NS[1], &script)?;
        writeln!(source, "ifaddr 192.0.2.10")?;
        writeln!(source, "send {GROUP} 5000 200 50")?;
        self.pipes.push(source);
        println!("== receivers joined {GROUP}; the source sends to it (UDP 5000, 20/s)");
        std::thread::sleep(Duration::from_secs(3));

        for what in [
            ["show", "interfaces"],
            ["show", "groups"],
            ["show", "protocols"],
            ["show", "mfe"],
            ["show", "stats"],
        ] {
            println!("\n$ mgm {}", what.join(" "));
            print!(
                "{}",
                output(Command::new(bin).args(what).args(["--socket", SOCKET]))?
            );
        }
        println!("\n$ bpftool map dump pinned {PINS}/MGM_MEMBERS");
        print!(
            "{}",
            output(
                Command::new("bpftool")
                    .args(["map", "dump", "pinned"])
                    .arg(format!("{PINS}/MGM_MEMBERS"))
            )?
        );
        println!("\n$ ip mroute show   (in {})", NS[0]);
        print!(
            "{}",
            output(Command::new("ip").args(["netns", "exec", NS[0], "ip", "mroute", "show"]))?
        );
        Ok(())
    }

    fn host(&mut self, ns: &str, script: &PathBuf) -> Result<std::process::ChildStdin> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-u"])
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting a test host in {ns}"))?;
        let stdin = child.stdin.take().context("host stdin")?;
        self.children.push(child);
        Ok(stdin)
    }

    fn teardown(&mut self) {
        self.pipes.clear();
        for c in self.children.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
        self.children.clear();
        for ns in NS {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(PINS);
    }
}

fn wait_for_socket(bin: &Path) -> Result<()> {
    for _ in 0..100 {
        let ok = Command::new(bin)
            .args(["show", "interfaces", "--socket", SOCKET])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("mgm did not come up; see /tmp/mgm-demo.log")
}
