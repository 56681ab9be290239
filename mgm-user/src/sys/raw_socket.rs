//! Raw IPv4 sockets, made one way for every user (the mroute socket, the query senders), the
//! send-only packet sockets queries leave through on Ethernet links, and the one `setsockopt`
//! helper for options nix does not wrap (ipmr's `MRT_*`, socket filters).
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

/// `socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)`: protocol 0, so it
/// receives nothing; it only sends IPv4 packets, the kernel adding the link-layer header.
pub(crate) fn open_packet_sender() -> io::Result<OwnedFd> {
    let kind = libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
    // SAFETY: a plain socket(2) call with integer arguments; no memory is passed.
    let raw = unsafe { libc::socket(libc::AF_PACKET, kind, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Sends the IPv4 packet `ip` out of interface `ifindex` to link-layer address `mac`, on a
/// packet socket from [`open_packet_sender`] (the kernel writes the Ethernet header, source
/// address the interface's).
pub(crate) fn send_packet(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    mac: [u8; 6],
    ip: &[u8],
) -> io::Result<()> {
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?;
    // SAFETY: an all-zero sockaddr_ll is a valid value; the fields that matter are set below.
    let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    to.sll_family = libc::AF_PACKET as u16;
    to.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    to.sll_addr[..6].copy_from_slice(&mac);
    // SAFETY: `ip` is valid for `ip.len()` bytes and `to` is a sockaddr_ll of the length given,
    // both live across the call, which only reads them; `fd` is a valid open fd.
    let r = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            ip.as_ptr().cast(),
            ip.len(),
            0,
            (&to as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
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

/// `SO_MEMINFO` (asm-generic/socket.h): the socket's memory figures, `SK_MEMINFO_VARS` u32s.
const SO_MEMINFO: libc::c_int = 55;
const SK_MEMINFO_VARS: usize = 9;

/// Packets the kernel dropped because the socket's receive buffer was full, since the socket
/// was made: `SO_MEMINFO`'s `SK_MEMINFO_DROPS` (what a socket filter refuses is not counted).
pub(crate) fn receive_drops(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut info = [0u32; SK_MEMINFO_VARS];
    let mut len = size_of::<[u32; SK_MEMINFO_VARS]>() as libc::socklen_t;
    // SAFETY: `info` is writable for `len` bytes and both live across the call; the kernel
    // writes at most `len` bytes and stores the length it wrote in `len`. `fd` is a valid fd.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let drops = libc::SK_MEMINFO_DROPS as usize;
    if (len as usize) < (drops + 1) * size_of::<u32>() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("SO_MEMINFO gave {len} bytes, too short for the drop count"),
        ));
    }
    Ok(info[drops])
}
