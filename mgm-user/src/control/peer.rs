//! Who is on the other end of a control connection (SO_PEERCRED), and whether it may change
//! state: root, the daemon's own user, or a member of the control socket's group.
use nix::unistd::Gid;
use std::fmt;
use tokio::net::UnixStream;

/// The credentials of a connected client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// Root, the daemon's user, or in the socket's group (primary or supplementary).
    pub privileged: bool,
}

impl Peer {
    /// The peer of `stream`; `group` is the control socket's group. A peer whose credentials
    /// cannot be read is unprivileged.
    pub fn of(stream: &UnixStream, group: Option<Gid>) -> Peer {
        match stream.peer_cred() {
            Ok(c) => {
                let pid = c.pid();
                let privileged = c.uid() == 0
                    || c.uid() == nix::unistd::geteuid().as_raw()
                    || group.is_some_and(|g| {
                        c.gid() == g.as_raw()
                            || pid.is_some_and(|p| supplementary_groups(p).contains(&g.as_raw()))
                    });
                Peer {
                    uid: c.uid(),
                    gid: c.gid(),
                    pid,
                    privileged,
                }
            }
            Err(e) => {
                log::warn!("control: cannot read a client's credentials: {e}");
                Peer {
                    uid: u32::MAX,
                    gid: u32::MAX,
                    pid: None,
                    privileged: false,
                }
            }
        }
    }

    /// Whether this peer may send requests that change state.
    pub fn may_change_state(&self) -> bool {
        self.privileged
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {} gid {}", self.uid, self.gid)?;
        if let Some(pid) = self.pid {
            write!(f, " pid {pid}")?;
        }
        Ok(())
    }
}

/// The supplementary groups of process `pid` (the `Groups:` line of its status), empty when
/// they cannot be read.
fn supplementary_groups(pid: i32) -> Vec<u32> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    parse_groups(&status)
}

fn parse_groups(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplementary_groups_come_from_the_status_groups_line() {
        let status = "Name:\tpy\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 1001 \nNgid:\t0\n";
        assert_eq!(parse_groups(status), vec![4, 24, 1001]);
        assert!(parse_groups("Name:\tx\nGroups:\t\n").is_empty());
        assert!(parse_groups("garbage").is_empty());
    }

    #[test]
    fn our_own_process_is_privileged_on_its_socket() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        let s = UnixStream::from_std(a).unwrap();
        let p = Peer::of(&s, None);
        assert!(p.may_change_state(), "the daemon's own user: {p}");
        assert_eq!(p.pid, Some(std::process::id() as i32));
    }
}
