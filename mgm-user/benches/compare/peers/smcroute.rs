//! smcroute 2.5 (Debian package `smcroute`, which `cargo xtask setup` installs): static multicast
//! routes, no IGMP router. A peer where static routes are the work (idle cost); `smcrouted -n -N
//! -f CONF -u SOCK -P PID -l notice` in a namespace, the router's interfaces enabled as VIFs.
//! Stopped (SIGTERM, then SIGKILL) on drop.
#![allow(dead_code)]

use crate::procs::{stop_child, wait_started};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) const SMCROUTED: &str = "/usr/sbin/smcrouted";

pub(crate) struct Smcroute {
    pub(crate) child: Child,
    log: PathBuf,
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
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{ns}"))
            .arg(SMCROUTED)
            .args(["-n", "-N", "-l", "notice", "-f"])
            .arg(&conf)
            .arg("-u")
            .arg(dir.join(format!("{tag}.sock")))
            .arg("-P")
            .arg(dir.join(format!("{tag}.pid")))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("smcroute log file"))
            .spawn()
            .expect("spawn smcrouted");
        let mut p = Smcroute { child, log };
        let (pid, log) = (p.child.id(), p.log.clone());
        let ready = || {
            let vifs =
                std::fs::read_to_string(format!("/proc/{pid}/net/ip_mr_vif")).unwrap_or_default();
            ifaces.iter().all(|i| vifs.contains(*i))
        };
        let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
        wait_started(
            &mut p.child,
            "smcrouted",
            Duration::from_secs(10),
            read_log,
            ready,
        );
        p
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Smcroute {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}
