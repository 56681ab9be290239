//! igmpproxy 0.3 (the Debian package, which `cargo xtask setup` installs) as a daemon under test
//! (shared by `compare` and `proxy_lab`): `igmpproxy -d CONF` in a namespace (foreground, log on
//! stderr at its default level, warnings), one upstream and its downstreams with `ratelimit 0
//! threshold 1`, no quickleave. Stopped (SIGTERM, then SIGKILL) on drop.
#![allow(dead_code)]

use crate::procs::NsDaemon;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub(crate) const IGMPPROXY: &str = "/usr/sbin/igmpproxy";

pub(crate) struct IgmpProxy {
    daemon: NsDaemon,
}

impl IgmpProxy {
    /// Starts igmpproxy in `ns` with `upstream` (sources in `altnet` are accepted there) and
    /// `downstreams`; its files are `dir/{tag}.conf|.log`. Returns once its VIFs are in the
    /// kernel (10 s at most).
    pub(crate) fn start(
        ns: &str,
        dir: &Path,
        tag: &str,
        upstream: &str,
        altnet: &str,
        downstreams: &[&str],
    ) -> IgmpProxy {
        Self::start_with(ns, dir, tag, (upstream, altnet), downstreams, false)
    }

    /// [`Self::start`], with its `quickleave` option when `quickleave` holds.
    pub(crate) fn start_with(
        ns: &str,
        dir: &Path,
        tag: &str,
        (upstream, altnet): (&str, &str),
        downstreams: &[&str],
        quickleave: bool,
    ) -> IgmpProxy {
        let conf = dir.join(format!("{tag}.conf"));
        let log = dir.join(format!("{tag}.log"));
        let mut text = if quickleave { "quickleave\n" } else { "" }.to_string();
        text.push_str(&format!(
            "phyint {upstream} upstream ratelimit 0 threshold 1\n    altnet {altnet}\n"
        ));
        for d in downstreams {
            text.push_str(&format!("phyint {d} downstream ratelimit 0 threshold 1\n"));
        }
        std::fs::write(&conf, text).expect("write igmpproxy.conf");
        // Up once its VIFs are in the kernel.
        let ready = |pid: u32| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let vifs =
                std::fs::read_to_string(format!("/proc/{pid}/net/ip_mr_vif")).unwrap_or_default();
            comm.trim() == "igmpproxy"
                && std::iter::once(&upstream)
                    .chain(downstreams)
                    .all(|i| vifs.contains(*i))
        };
        let args = [Path::new("-d"), conf.as_path()];
        let daemon = NsDaemon::start(ns, IGMPPROXY, args, log, Duration::from_secs(10), ready);
        IgmpProxy { daemon }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    pub(crate) fn log(&self) -> String {
        self.daemon.log()
    }

    /// The groups it has joined on `upstream` (its membership per downstream group: the
    /// kernel's /proc/net/igmp of its namespace).
    pub(crate) fn groups_joined(&self, upstream: &str) -> u64 {
        let text =
            std::fs::read_to_string(format!("/proc/{}/net/igmp", self.pid())).unwrap_or_default();
        let mut on = false;
        let mut n = 0;
        for line in text.lines().skip(1) {
            if !line.starts_with('\t') {
                // "1\tpu        :     3      V2" (224.0.0.1 is listed as 010000E0)
                on = line.split_whitespace().nth(1) == Some(upstream);
            } else if on && !line.trim().starts_with("010000E0") {
                n += 1;
            }
        }
        n
    }
}

/// igmpproxy's version line; panics with the set-up command when it is not installed.
pub(crate) fn version() -> String {
    if !Path::new(IGMPPROXY).exists() {
        panic!("igmpproxy is not installed ({IGMPPROXY}); `cargo xtask setup` installs it");
    }
    let out = Command::new(IGMPPROXY)
        .arg("-h")
        .output()
        .expect("run igmpproxy -h");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find(|l| l.starts_with("igmpproxy "))
        .unwrap_or("igmpproxy (version unknown)")
        .trim()
        .to_string()
}
