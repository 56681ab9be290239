//! smcroute 2.5 (Debian package `smcroute`, which `cargo xtask setup` installs): static multicast
//! routes, no IGMP router. A peer where static routes are the work (idle cost); `smcrouted -n -N
//! -f CONF -u SOCK -P PID -l notice` in a namespace, the router's interfaces enabled as VIFs.
//! Stopped (SIGTERM, then SIGKILL) on drop.
#![allow(dead_code)]

use crate::procs::NsDaemon;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

pub(crate) const SMCROUTED: &str = "/usr/sbin/smcrouted";

pub(crate) struct Smcroute {
    daemon: NsDaemon,
}

impl Smcroute {
    /// Starts smcrouted in `ns` with `ifaces` as VIFs and `routes` (smcroute.conf `mroute` lines);
    /// returns once the VIFs are in the kernel (10 s at most).
    pub(crate) fn start(
        ns: &str,
        dir: &Path,
        tag: &str,
        ifaces: &[&str],
        routes: &[String],
    ) -> Smcroute {
        assert!(
            Path::new(SMCROUTED).exists(),
            "{SMCROUTED} is missing: install the Debian package smcroute (cargo xtask setup does)"
        );
        let conf = dir.join(format!("{tag}.conf"));
        let log = dir.join(format!("{tag}.log"));
        let mut text: String = ifaces
            .iter()
            .map(|i| format!("phyint {i} enable\n"))
            .collect();
        for r in routes {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(&conf, text).expect("write smcroute.conf");
        let mut args: Vec<OsString> = ["-n", "-N", "-l", "notice", "-f"].map(Into::into).into();
        args.push(conf.into());
        args.push("-u".into());
        args.push(dir.join(format!("{tag}.sock")).into());
        args.push("-P".into());
        args.push(dir.join(format!("{tag}.pid")).into());
        // Up once its VIFs are in the kernel.
        let ready = |pid: u32| {
            let vifs =
                std::fs::read_to_string(format!("/proc/{pid}/net/ip_mr_vif")).unwrap_or_default();
            ifaces.iter().all(|i| vifs.contains(*i))
        };
        let daemon = NsDaemon::start(ns, SMCROUTED, args, log, Duration::from_secs(10), ready);
        Smcroute { daemon }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    pub(crate) fn log(&self) -> String {
        self.daemon.log()
    }
}
