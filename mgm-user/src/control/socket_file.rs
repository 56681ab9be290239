//! The control socket's file: where it may be created, what may be replaced, who may connect.
//!
//! The socket is `srw-rw----` (0660) whatever the umask, owned by the daemon's user and by the
//! group given with `--socket-group` (the daemon's group by default): only they can connect.
//! With `--socket-read-group` it is `srw-rw-rw-` (0666): anyone can connect, and the daemon
//! judges each connection by its credentials (`peer.rs`), refusing whoever is in neither group.
//! An existing path is replaced only when it is a socket no daemon answers on (a crash's
//! leftover); a regular file, a directory or a live daemon's socket is refused.
//!
//! Why 0666 with a read group, and not 0660 with a group set by `chown`: `connect(2)` on a
//! Unix socket needs write permission on its file, and a file has one group. Two groups (full
//! and read) cannot both be let in by the mode bits: the file's group admits one of them, and
//! a directory around the socket can only narrow (a path's every directory must be searchable:
//! the groups intersect, they do not unite). Only a POSIX ACL could name both, and whether one
//! holds depends on the file system the socket lives on. So the file lets everyone connect and
//! the daemon decides, which is safe because:
//! - the credentials judged are the kernel's, taken when the client connects (`SO_PEERCRED`,
//!   `SO_PEERGROUPS`): a client cannot choose them, and a connection handed to another process
//!   keeps its connector's (as a member relaying for a stranger could with 0660 too);
//! - a peer in neither group is turned away at accept, before anything it sends is read and
//!   before it takes a connection slot: one error line written without waiting for it
//!   (`try_write`), the refusal logged at most once a minute (`server.rs`);
//! - a peer whose credentials cannot be read gets no access when a read group is set (`peer.rs`);
//! - the socket is created owner-only (umask 0177 around `bind`) and opened only after its
//!   group is set, so no one connects before the mode says so.
//!
//! What a stranger can still do is connect and be refused at once, over and over: the accept
//! loop is the control server's own thread, not the daemon loop, and the listen backlog it
//! could fill is as open to any member of either group.
use anyhow::{bail, Context, Result};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{Gid, Group};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

/// The control socket's permission bits: read and write for owner and group, nothing else.
pub const SOCKET_MODE: u32 = 0o660;
/// With a read-only group: anyone may connect; the daemon turns strangers away.
pub const SOCKET_MODE_OPEN: u32 = 0o666;

/// The group named by `--socket-group` or `--socket-read-group` (`flag`): a group name or a
/// numeric gid.
pub fn resolve_group(name: &str, flag: &str) -> Result<Gid> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(Gid::from_raw(gid));
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => bail!("unknown group '{name}' for {flag}"),
        Err(e) => bail!("cannot look up group '{name}' for {flag}: {e}"),
    }
}

/// Makes sure `path` may be bound: its directory exists, and nothing but a stale socket is in
/// the way (which is removed).
pub fn clear_path(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    };
    if !meta.file_type().is_socket() {
        bail!(
            "{} exists and is not a socket; refusing to replace it (remove it or choose another \
             --socket path)",
            path.display()
        );
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        bail!("another mgm daemon is running: {} answers", path.display());
    }
    std::fs::remove_file(path)
        .with_context(|| format!("cannot remove the stale socket {}", path.display()))
}

/// Binds `path` with mode [`SOCKET_MODE`] ([`SOCKET_MODE_OPEN`] when `open`: a read-only group
/// was given) and group `group` (the daemon's own when `None`). The socket is created
/// owner-only (umask 0177 around bind), then given its group, then opened: at no point can
/// anyone connect before the mode says so.
pub fn bind(
    path: &Path,
    group: Option<Gid>,
    open: bool,
) -> Result<std::os::unix::net::UnixListener> {
    clear_path(path)?;
    let old = umask(Mode::from_bits_truncate(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    umask(old);
    let listener = bound.with_context(|| format!("cannot listen on {}", path.display()))?;
    if let Some(gid) = group {
        nix::unistd::chown(path, None, Some(gid)).with_context(|| {
            format!(
                "cannot give {} to group {gid} (--socket-group)",
                path.display()
            )
        })?;
    }
    let mode = if open { SOCKET_MODE_OPEN } else { SOCKET_MODE };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("mgm-sock-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_regular_file_in_the_way_is_refused_and_kept() {
        let d = temp_dir("file");
        let path = d.join("precious.conf");
        std::fs::write(&path, "keep me").unwrap();
        let e = format!("{:#}", bind(&path, None, false).unwrap_err());
        assert!(
            e.contains("precious.conf") && e.contains("not a socket"),
            "{e}"
        );
        assert!(!e.contains('\n'), "one-line error: {e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
        let dir = d.join("adir");
        std::fs::create_dir(&dir).unwrap();
        assert!(bind(&dir, None, false).is_err());
        assert!(dir.is_dir());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let d = temp_dir("stale");
        let path = d.join("mgm.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let live = bind(&path, None, false).expect("stale socket replaced");
        let e = format!("{:#}", bind(&path, None, false).unwrap_err());
        assert!(e.contains("another mgm daemon"), "{e}");
        drop(live);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_mode_is_0660_whatever_the_umask() {
        let d = temp_dir("mode");
        let path = d.join("mgm.sock");
        let old = umask(Mode::empty());
        let l = bind(&path, Some(Gid::current()), false);
        umask(old);
        let _l = l.unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.mode() & 0o7777, SOCKET_MODE);
        assert_eq!(meta.gid(), Gid::current().as_raw());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn with_a_read_group_the_mode_is_0666_and_the_group_is_still_set() {
        let d = temp_dir("open");
        let path = d.join("mgm.sock");
        let old = umask(Mode::from_bits_truncate(0o077));
        let l = bind(&path, Some(Gid::current()), true);
        umask(old);
        let _l = l.unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o7777, SOCKET_MODE_OPEN);
        assert_eq!(meta.gid(), Gid::current().as_raw());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn groups_resolve_by_name_or_number_and_unknown_ones_are_named() {
        assert_eq!(
            resolve_group("0", "--socket-group").unwrap(),
            Gid::from_raw(0)
        );
        assert_eq!(
            resolve_group("root", "--socket-group").unwrap(),
            Gid::from_raw(0)
        );
        let e = format!(
            "{:#}",
            resolve_group("no-such-group-mgm", "--socket-group").unwrap_err()
        );
        assert!(e.contains("no-such-group-mgm"), "{e}");
    }
}
