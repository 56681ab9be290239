//! Raw IPv4 sockets, made one way for every user (the mroute socket, the query senders), and
//! the one `setsockopt` helper for options nix does not wrap (ipmr's `MRT_*`, socket filters).
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC [| SOCK_NONBLOCK], protocol)`.
pub(crate) fn open_raw(protocol: libc::c_int, nonblocking: bool) -> io::Result<OwnedFd> {
    let mut kind = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
    if nonblocking {
        kind |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: a plain socket(2) call with integer arguments; no memory is passed.
    let raw = unsafe { libc::socket(libc::AF_INET, kind, protocol) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `setsockopt(fd, level, name, val, sizeof *val)`.
pub(crate) fn set_opt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` points to an initialised `T` of exactly `size_of::<T>()` bytes that lives
    // across the call; the kernel only reads `optlen` bytes from it. `fd` is a valid open fd.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
