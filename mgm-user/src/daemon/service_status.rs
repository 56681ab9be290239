//! The one line systemd shows for the service (`systemctl status mgm`, `STATUS=`): how many
//! interfaces the daemon manages, which listed ones it awaits, where its control socket is.
//! Sent with `READY=1`, then again whenever it changes: an awaited interface came, a managed one
//! went, a reload listed or unlisted one. Looked at after link changes, signals and control
//! requests, never on the report path.

use std::path::{Path, PathBuf};

use super::state::Daemon;

pub(crate) struct ServiceStatus {
    socket: PathBuf,
    /// The line systemd has now.
    sent: String,
}

impl ServiceStatus {
    /// The line at readiness, to send with `READY=1`.
    pub(crate) fn at_start(daemon: &Daemon, socket: &Path) -> Self {
        let mut s = Self {
            socket: socket.to_path_buf(),
            sent: String::new(),
        };
        s.sent = s.line(daemon);
        s
    }

    pub(crate) fn sent(&self) -> &str {
        &self.sent
    }

    /// The line as it should read now, when it differs from the one systemd has (which it
    /// then becomes).
    pub(crate) fn changed(&mut self, daemon: &Daemon) -> Option<&str> {
        let now = self.line(daemon);
        if now == self.sent {
            return None;
        }
        self.sent = now;
        Some(&self.sent)
    }

    fn line(&self, daemon: &Daemon) -> String {
        let (managed, waiting) = interfaces(daemon);
        status_line(managed, &waiting, &self.socket)
    }
}

/// How many interfaces are managed (the upstream included), and the listed ones awaited.
fn interfaces(daemon: &Daemon) -> (usize, Vec<String>) {
    let managed = daemon.igmp.managed();
    let mut waiting: Vec<String> = daemon
        .hotplug
        .wanted()
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !managed.iter().any(|(_, m)| m == *name))
        .cloned()
        .collect();
    let mut count = managed.len();
    if let Some(w) = &daemon.upstream_wanted {
        if daemon.upstream.is_some() {
            count += 1;
        } else {
            waiting.push(w.name.clone());
        }
    }
    (count, waiting)
}

fn status_line(managed: usize, waiting: &[String], socket: &Path) -> String {
    let mut status = format!(
        "managing {managed} interface{}",
        if managed == 1 { "" } else { "s" }
    );
    if !waiting.is_empty() {
        status.push_str(&format!(", waiting for {}", waiting.join(", ")));
    }
    status.push_str(&format!("; control socket {}", socket.display()));
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_what_is_managed_and_awaited() {
        let sock = Path::new("/run/mgm/mgm.sock");
        assert_eq!(
            status_line(1, &["ppp0".into()], sock),
            "managing 1 interface, waiting for ppp0; control socket /run/mgm/mgm.sock"
        );
        assert_eq!(
            status_line(2, &[], sock),
            "managing 2 interfaces; control socket /run/mgm/mgm.sock"
        );
        assert_eq!(
            status_line(0, &["eth1".into(), "eth2".into()], sock),
            "managing 0 interfaces, waiting for eth1, eth2; control socket /run/mgm/mgm.sock"
        );
    }
}
