//! `mgm run` as a daemon under test (shared by `compare` and `proxy_lab`): started in a
//! namespace with its own pin directory, socket and log, so it can be stopped and its process
//! reaped between runs; stopped (SIGTERM, then SIGKILL) on drop, its pins removed.
#![allow(dead_code)]

use crate::procs::{bpf_maps, NsDaemon};
use aya::maps::{MapInfo, MapType};
use mgm_user::control::{api::Request, client};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) struct MgmDaemon {
    daemon: NsDaemon,
    pub(crate) socket: PathBuf,
    pin_dir: PathBuf,
}

impl MgmDaemon {
    /// `mgm run ARGS` in namespace `ns`; its files are `dir/{tag}.sock|.log` and its pins
    /// `/sys/fs/bpf/mgm-test-{tag}`. Returns once it answers on its socket (15 s at most).
    pub(crate) fn start(ns: &str, dir: &Path, tag: &str, args: &[&str]) -> MgmDaemon {
        let socket = dir.join(format!("{tag}.sock"));
        let log = dir.join(format!("{tag}.log"));
        let pin_dir = PathBuf::from(format!("/sys/fs/bpf/mgm-test-{tag}"));
        let mut all: Vec<OsString> = vec!["run".into()];
        all.extend(args.iter().map(Into::into));
        all.extend(["--bpffs".into(), pin_dir.clone().into()]);
        all.extend(["--socket".into(), socket.clone().into()]);
        // Up once it answers on its socket.
        let ready =
            |_| client::request::<serde_json::Value>(&socket, Request::ShowInterfaces).is_ok();
        // `cargo xtask bench` measures the release build users get (MGM_BENCH_DAEMON): the bench
        // profile's own build of the binary has other symbol names, so lld cannot apply the
        // idle code layout to it (docs/memory.md, "Code pages").
        let program = std::env::var("MGM_BENCH_DAEMON")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mgm").to_string());
        let daemon = NsDaemon::start(ns, &program, all, log, Duration::from_secs(15), ready);
        MgmDaemon {
            daemon,
            socket,
            pin_dir,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    pub(crate) fn log(&self) -> String {
        self.daemon.log()
    }

    /// `mgm show stats` as JSON; `None` when the daemon does not answer.
    pub(crate) fn stats(&self) -> Option<serde_json::Value> {
        client::request::<serde_json::Value>(&self.socket, Request::ShowStats).ok()
    }

    /// A counter of `mgm show stats` (0 when unknown).
    pub(crate) fn counter(&self, name: &str) -> u64 {
        self.stats()
            .and_then(|s| s["counters"][name].as_u64().or_else(|| s[name].as_u64()))
            .unwrap_or(0)
    }

    /// Its BPF maps that live in kernel memory only, by name (`MGM_MEMBERS`, `MGM_SOURCES`,
    /// `MGM_IFACES` …), and the memory each uses now, in bytes (`procs::bpf_maps`): memory no
    /// VmRSS counts. The event ring is left out: the daemon maps it, so its pages are in the
    /// daemon's VmRSS already. Panics when `MGM_MEMBERS` is not among them: a reading without it
    /// would charge mgm nothing for its groups.
    pub(crate) fn kernel_maps(&self) -> Vec<(String, u64)> {
        let mut maps = Vec::new();
        for m in bpf_maps(self.pid()) {
            let info = MapInfo::from_id(m.id).ok();
            if info.as_ref().and_then(|i| i.map_type().ok()) == Some(MapType::RingBuf) {
                continue;
            }
            let name = info
                .as_ref()
                .and_then(|i| i.name_as_str().map(str::to_string))
                .unwrap_or_else(|| format!("map {}", m.id));
            maps.push((name, m.memlock));
        }
        assert!(
            maps.iter().any(|(n, _)| n == "MGM_MEMBERS"),
            "mgm (pid {}) holds no MGM_MEMBERS map: {maps:?}",
            self.pid()
        );
        maps
    }

    /// The groups held on `ifname` (`mgm show stats`).
    pub(crate) fn groups_on(&self, ifname: &str) -> Option<u64> {
        let s = self.stats()?;
        s["interfaces"]
            .as_array()?
            .iter()
            .find(|i| i["interface"] == ifname)?["groups"]
            .as_u64()
    }
}

impl Drop for MgmDaemon {
    fn drop(&mut self) {
        self.daemon.stop();
        let _ = std::fs::remove_dir_all(&self.pin_dir);
    }
}
