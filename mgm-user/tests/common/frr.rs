//! FRR's zebra and pimd (Debian package `frr`, which `cargo xtask setup` installs) in a network
//! namespace with private pid, socket, vty and log paths in a directory of their own: the foreign
//! router of `tests/ns_frr.rs` and a peer of the benchmark harness (`benches/compare`). Stopped on
//! drop.
#![allow(dead_code)]

use super::run;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub(crate) const PIMD: &str = "/usr/lib/frr/pimd";
pub(crate) const ZEBRA: &str = "/usr/lib/frr/zebra";

pub(crate) struct FrrDaemons {
    pub(crate) dir: PathBuf,
}

impl FrrDaemons {
    /// Starts zebra (no configuration) and pimd with `pimd_conf` in namespace `ns`, their files
    /// in `dir` (made, and given to the frr user they run as). Returns once both have forked.
    pub(crate) fn start(ns: &str, dir: &Path, pimd_conf: &str) -> FrrDaemons {
        assert!(
            Path::new(PIMD).exists(),
            "{PIMD} is missing: install the Debian package frr (cargo xtask setup does)"
        );
        std::fs::create_dir_all(dir).expect("FRR directory");
        // The daemons drop privileges to the frr user, which must write there.
        run(Command::new("chown").args(["frr:frr"]).arg(dir));
        let conf = dir.join("pimd.conf");
        std::fs::write(&conf, pimd_conf).expect("pimd config");
        let frr = FrrDaemons {
            dir: dir.to_path_buf(),
        };
        for (daemon, config) in [(ZEBRA, PathBuf::from("/dev/null")), (PIMD, conf)] {
            let name = Path::new(daemon)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("frr");
            run(Command::new("nsenter")
                .arg(format!("--net=/run/netns/{ns}"))
                .arg(daemon)
                .arg("-d")
                .arg("-i")
                .arg(dir.join(format!("{name}.pid")))
                .arg("-z")
                .arg(dir.join("zserv.api"))
                .arg("--vty_socket")
                .arg(dir)
                .arg("-f")
                .arg(config)
                .args(["-u", "frr", "-g", "frr"])
                .arg("--log")
                .arg(format!(
                    "file:{}",
                    dir.join(format!("{name}.log")).display()
                ))
                .current_dir(dir));
        }
        frr
    }

    /// A vtysh command's JSON answer; `None` when vtysh fails or does not answer JSON.
    pub(crate) fn vtysh(&self, command: &str) -> Option<Value> {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", command])
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The pid of `name` (zebra, pimd) from its pid file.
    pub(crate) fn pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(format!("{name}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops `name` and waits until it is gone (SIGKILL after 10 s): a pimd holding many
    /// groups takes a while to exit, and the mroute table is not free for the next router
    /// until it has.
    pub(crate) fn kill(&self, name: &str) {
        let pid_file = self.dir.join(format!("{name}.pid"));
        if let Some(pid) = self.pid(name) {
            super::process::stop_pid(pid, Duration::from_secs(10));
        }
        let _ = std::fs::remove_file(&pid_file);
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pimd.log")).unwrap_or_default()
    }
}

impl Drop for FrrDaemons {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- pimd log ---\n{}", self.log());
        }
        self.kill("pimd");
        self.kill("zebra");
        // Give them a moment to leave before the namespace goes.
        std::thread::sleep(Duration::from_millis(200));
    }
}
