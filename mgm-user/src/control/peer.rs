//! Who is on the other end of a control connection (SO_PEERCRED, SO_PEERGROUPS, read when it
//! connects), and what it may do: change state (root, the daemon's own user, a member of the
//! control socket's group), only read it (a member of `--socket-read-group`), or nothing.
use super::api::Request;
use nix::unistd::Gid;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use tokio::net::UnixStream;

/// Refused state changes are logged at most once a minute (a read-only peer could otherwise
/// fill the journal), with how many were held back.
static REFUSED_LOG: std::sync::Mutex<crate::time::RateLimit> =
    std::sync::Mutex::new(crate::time::RateLimit::new());

/// What a client may do on the control socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every request: root, the daemon's user, the socket's group.
    Full,
    /// `mgm show` and `mgm events`: `--socket-read-group` (and, without one, any client the
    /// socket file's mode let in).
    ReadOnly,
    /// Refused at connect: with `--socket-read-group` the socket is open to everyone, and the
    /// daemon turns away whoever is in neither group.
    None,
}

/// The groups the control socket grants rights to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketGroups {
    /// `--socket-group` (the daemon's group when absent): every request.
    pub full: Option<Gid>,
    /// `--socket-read-group`: reading only.
    pub read: Option<Gid>,
}

/// The credentials of a connected client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    pub access: Access,
}

impl Peer {
    /// The peer of `stream`, judged against `groups`. A peer whose credentials cannot be read
    /// gets the least: nothing with a read group, reading without one.
    pub fn of(stream: &UnixStream, groups: SocketGroups) -> Peer {
        match stream.peer_cred() {
            Ok(c) => {
                let supplementary = peer_groups(stream.as_fd()).unwrap_or_else(|e| {
                    log::debug!("control: cannot read a client's groups (SO_PEERGROUPS): {e}");
                    Vec::new()
                });
                let member = |g: Gid| c.gid() == g.as_raw() || supplementary.contains(&g.as_raw());
                let access = if c.uid() == 0
                    || c.uid() == nix::unistd::geteuid().as_raw()
                    || groups.full.is_some_and(member)
                {
                    Access::Full
                } else {
                    least(groups, groups.read.is_some_and(member))
                };
                Peer {
                    uid: c.uid(),
                    gid: c.gid(),
                    pid: c.pid(),
                    access,
                }
            }
            Err(e) => {
                log::warn!("control: cannot read a client's credentials: {e}");
                Peer {
                    uid: u32::MAX,
                    gid: u32::MAX,
                    pid: None,
                    access: least(groups, false),
                }
            }
        }
    }

    /// Whether this peer may send requests that change state.
    pub fn may_change_state(&self) -> bool {
        self.access == Access::Full
    }

    /// Whether this peer may send `request`; logs it (state changes at info, with the peer).
    pub(crate) fn admit(&self, request: &Request) -> std::result::Result<(), String> {
        let peer = self;
        if request.reads_only() {
            log::debug!("control: {} from {peer}", request.command());
            return Ok(());
        }
        if !peer.may_change_state() {
            let now = crate::time::monotonic_ns().unwrap_or(0);
            let allowed = REFUSED_LOG
                .lock()
                .map_or(Some(0), |mut limit| limit.allow(now));
            if let Some(held) = allowed {
                log::warn!(
                    "control: {} refused to {peer} ({held} more refused since the last such \
                     line)",
                    request.command()
                );
            }
            return Err(format!(
                "permission denied: {} changes state and needs root, the daemon's user or the \
                 control socket's group",
                request.command()
            ));
        }
        // Registrations, ownership and static entries at info (with the peer); a handler's
        // frequent requests (memberships, answers, MFE changes) at debug.
        if matches!(
            request,
            Request::Register(_)
                | Request::Deregister
                | Request::TakeInterface { .. }
                | Request::ReleaseInterface { .. }
                | Request::StaticJoin(_)
                | Request::StaticLeave(_)
                | Request::StaticRouteAdd(_)
                | Request::StaticRouteDel(_)
                | Request::Reload
        ) {
            log::info!("control: {} from {peer}", request.command());
        } else {
            log::debug!("control: {} from {peer}", request.command());
        }
        Ok(())
    }
}

/// What a peer that is not privileged gets: reading when in the read group, or when there is
/// no read group (then the socket's mode, 0660, is what kept strangers out).
fn least(groups: SocketGroups, in_read_group: bool) -> Access {
    if in_read_group || groups.read.is_none() {
        Access::ReadOnly
    } else {
        Access::None
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

/// The supplementary groups of the process that connected (`SO_PEERGROUPS`, Linux ≥ 4.13),
/// as they were when it connected: no look at `/proc`, whose pid may be another process's by
/// the time it is read.
fn peer_groups(fd: BorrowedFd<'_>) -> std::io::Result<Vec<u32>> {
    let mut groups = vec![0u32; 64];
    loop {
        let mut len = (groups.len() * size_of::<u32>()) as libc::socklen_t;
        // SAFETY: `groups` is writable for `len` bytes and both live across the call; the
        // kernel writes at most `len` bytes and stores the length it needs or wrote in `len`.
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let needed = len as usize / size_of::<u32>();
        if r == 0 {
            groups.truncate(needed);
            return Ok(groups);
        }
        let e = std::io::Error::last_os_error();
        // ERANGE: `len` now says how much room the list needs (at most NGROUPS_MAX, 65536).
        if e.raw_os_error() != Some(libc::ERANGE) || needed <= groups.len() || needed > 65_536 {
            return Err(e);
        }
        groups.resize(needed, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer_of_ourselves(groups: SocketGroups) -> Peer {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        let s = UnixStream::from_std(a).unwrap();
        Peer::of(&s, groups)
    }

    #[test]
    fn our_own_process_is_privileged_on_its_socket() {
        let p = peer_of_ourselves(SocketGroups::default());
        assert!(p.may_change_state(), "the daemon's own user: {p}");
        assert_eq!(p.pid, Some(std::process::id() as i32));
    }

    #[test]
    fn the_peers_groups_are_read_from_the_socket() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let ours = nix::unistd::getgroups().unwrap();
        let mut read = peer_groups(a.as_fd()).unwrap();
        let mut want: Vec<u32> = ours.iter().map(|g| g.as_raw()).collect();
        read.sort_unstable();
        want.sort_unstable();
        assert_eq!(read, want);
    }

    #[test]
    fn without_privilege_the_read_group_decides() {
        let read = SocketGroups {
            full: None,
            read: Some(Gid::from_raw(4)),
        };
        assert_eq!(least(read, true), Access::ReadOnly);
        assert_eq!(least(read, false), Access::None);
        assert_eq!(least(SocketGroups::default(), false), Access::ReadOnly);
    }
}
