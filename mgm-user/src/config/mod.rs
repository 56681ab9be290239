//! The resolved configuration of `mgm run` ([`RunConfig`]): the command line's flags over the
//! configuration file's keys (`mgm.toml(5)`, docs/configuration.md). `mgm run`, `mgm
//! check-config` and a reload build it the same way ([`resolve`]); a reload diffs two of them
//! ([`diff`]).
mod diff;
mod file;
mod keys;
mod resolve;
mod shadow;
#[cfg(test)]
mod tests;

pub use diff::{join_sg_text, join_text, plan, route_text, ReloadPlan};
pub use file::{ConfigError, FileConfig};
pub use keys::{global_key, Check, GlobalKey, ValueKind, GLOBAL_KEYS};
pub use resolve::{check_file, resolve, resolve_with, NoInterfaces};
pub use shadow::{shadowed, unapplied, Shadowed};

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::igmp::IgmpConfig;

/// The configuration file read when `--config` is absent (if it exists).
pub const DEFAULT_PATH: &str = "/etc/mgm/mgm.toml";

/// The `socket` key of configuration file `path`, for the clients (`mgm show`, `reload`, …):
/// `None` when the file cannot be read, is not TOML, or gives no non-empty string. Only that
/// key is looked at: a mistake elsewhere in the file (refused by the daemon's reload, which
/// then keeps running on the old file) must not move the clients off the socket.
pub fn socket_key(path: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(path).ok()?;
    let table: toml::Table = text.parse().ok()?;
    match table.get("socket")? {
        toml::Value::String(s) if !s.is_empty() => Some(PathBuf::from(s)),
        _ => None,
    }
}

/// Everything `mgm run` runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    /// The configuration file read (re-read on reload), if any.
    pub file: Option<PathBuf>,
    /// The managed (downstream) interfaces, in order: the file's, then the flags' others.
    pub interfaces: Vec<InterfaceConfig>,
    /// The IGMP settings every interface starts from (the proxy's robustness too).
    pub igmp: IgmpConfig,
    pub bpffs: PathBuf,
    pub socket: PathBuf,
    pub socket_group: Option<String>,
    /// `--socket-read-group`: members may read the state only (and the socket is open to all).
    pub socket_read_group: Option<String>,
    pub no_fast_path: bool,
    pub accept_off_link_reports: bool,
    pub mroute_table: Option<u32>,
    pub upstream: Option<String>,
    pub forward_upstream: bool,
    pub proxy_ssdp: bool,
    pub handler_deadline: Duration,
    /// `--mfc-reconcile-interval` (zero: off).
    pub mfc_reconcile_interval: Duration,
    /// `--max-mfes` (0: no bound).
    pub max_mfes: u32,
    pub metrics: Option<SocketAddr>,
    pub log: String,
    /// The file's static memberships (`mgm join` equivalents).
    pub joins: Vec<StaticJoin>,
    /// The file's static routes (`mgm route add` equivalents).
    pub routes: Vec<StaticRoute>,
}

/// One managed interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    pub name: String,
    pub igmp: IgmpConfig,
    /// The external handler the interface is left to (`protocol = "NAME"`).
    pub protocol: Option<String>,
}

/// A static membership: `interface` forwards `group` (from `source` only, when given).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StaticJoin {
    pub interface: String,
    pub group: Ipv4Addr,
    pub source: Option<Ipv4Addr>,
}

/// A static route (S,G) from `iif` to `oifs`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StaticRoute {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    pub iif: String,
    pub oifs: Vec<String>,
}

impl RunConfig {
    /// `--handler-deadline` in milliseconds.
    pub fn handler_deadline_ms(&self) -> u64 {
        u64::try_from(self.handler_deadline.as_millis()).unwrap_or(u64::MAX)
    }

    /// The interfaces with their IGMP settings (for sizing the maps).
    pub fn igmp_configs(&self) -> Vec<(String, IgmpConfig)> {
        self.interfaces
            .iter()
            .map(|i| (i.name.clone(), i.igmp.clone()))
            .collect()
    }

    /// The interfaces left to external handlers: interface name → protocol name.
    pub fn reserved(&self) -> std::collections::BTreeMap<String, String> {
        self.interfaces
            .iter()
            .filter_map(|i| Some((i.name.clone(), i.protocol.clone()?)))
            .collect()
    }

    /// One line for `mgm check-config`: counts of what the configuration holds.
    pub fn summary(&self) -> String {
        let n =
            |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
        let mut parts = vec![n(self.interfaces.len(), "interface", "interfaces")];
        if let Some(up) = &self.upstream {
            parts.push(format!("upstream {up}"));
        }
        parts.push(n(self.joins.len(), "static join", "static joins"));
        parts.push(n(self.routes.len(), "static route", "static routes"));
        parts.join(", ")
    }
}
