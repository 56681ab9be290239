//! An AF_PACKET socket on one interface of a namespace, and the capture thread that reads it
//! with the kernel's receive stamps (shared by `forward.rs`, `wire.rs` and `tun.rs`).
#![allow(dead_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// An AF_PACKET SOCK_DGRAM socket for `protocol` (an ETH_P_* value, host order) bound to
/// `ifname` in namespace `netns_path` (the calling thread enters it), with a 100 ms receive
/// timeout.
pub(crate) fn open_packet_socket(
    netns_path: &str,
    ifname: &str,
    protocol: u16,
) -> Result<OwnedFd, String> {
    let f = std::fs::File::open(netns_path).map_err(|e| format!("open {netns_path}: {e}"))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns {netns_path}: {e}"))?;
    let ifindex = nix::net::if_::if_nametoindex(ifname)
        .map_err(|e| format!("if_nametoindex {ifname}: {e}"))?;
    let proto = protocol.to_be();
    // SAFETY: plain socket(2) call with constant arguments.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(proto)) };
    if raw < 0 {
        return Err(format!(
            "socket(AF_PACKET): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: zeroed sockaddr_ll is a valid value; we fill the fields bind needs.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if r < 0 {
        return Err(format!(
            "bind AF_PACKET to {ifname}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    // SAFETY: `tv` is a valid timeval of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    if r < 0 {
        return Err(format!("SO_RCVTIMEO: {}", std::io::Error::last_os_error()));
    }
    Ok(fd)
}

/// A frame read by a [`Capture`]: the IPv4 packet it carried, the kernel's receive stamp of the
/// frame (CLOCK_REALTIME ns: taken as it enters the stack on that interface, before tc ingress
/// and the classifier; see [`realtime_to_monotonic`]) and whether this end sent it.
pub(crate) struct Frame<'a> {
    pub(crate) packet: &'a [u8],
    pub(crate) stamp_ns: u64,
    pub(crate) outgoing: bool,
}

/// What crosses one interface of a namespace, read on a thread of its own (which enters the
/// namespace) from an AF_PACKET socket with kernel receive stamps and an 8 MiB receive buffer;
/// `keep` turns each frame into the entries kept (none for a frame of no interest). Stopped on
/// drop.
pub(crate) struct Capture<T> {
    kept: Arc<Mutex<Vec<T>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Capture<T> {
    /// Starts capturing on `ifname` in namespace `ns`; returns once the socket is bound (panics
    /// naming `what` when it cannot be, or not in 5 s).
    pub(crate) fn start(
        what: &str,
        ns: &str,
        ifname: &str,
        keep: impl FnMut(Frame<'_>, &mut Vec<T>) + Send + 'static,
    ) -> Capture<T> {
        Self::start_with(what, ns, ifname, None, keep)
    }

    /// [`Self::start`], but the reader is never woken by a frame: it drains the socket every
    /// `every` (the stamps are the kernel's, taken at arrival). For a capture on a daemon's own
    /// interface, whose reader would otherwise compete for a CPU with the daemon woken by the
    /// same frame.
    pub(crate) fn start_polled(
        what: &str,
        ns: &str,
        ifname: &str,
        every: Duration,
        keep: impl FnMut(Frame<'_>, &mut Vec<T>) + Send + 'static,
    ) -> Capture<T> {
        Self::start_with(what, ns, ifname, Some(every), keep)
    }

    fn start_with(
        what: &str,
        ns: &str,
        ifname: &str,
        polled: Option<Duration>,
        mut keep: impl FnMut(Frame<'_>, &mut Vec<T>) + Send + 'static,
    ) -> Capture<T> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, LinkAddr, MsgFlags};
        let kept = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let path = format!("/run/netns/{ns}");
        let ifname = ifname.to_string();
        let (k, s) = (kept.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let fd = match open_stamped(&path, &ifname) {
                Ok(fd) => {
                    let _ = ready_tx.send(Ok(()));
                    fd
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut buf = [0u8; 2048];
            let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
            let mut fresh = Vec::new();
            let flags = match polled {
                Some(_) => MsgFlags::MSG_DONTWAIT,
                None => MsgFlags::empty(),
            };
            while !s.load(Ordering::Relaxed) {
                let mut iov = [std::io::IoSliceMut::new(&mut buf)];
                let Ok(msg) = recvmsg::<LinkAddr>(fd.as_raw_fd(), &mut iov, Some(&mut cmsg), flags)
                else {
                    // Nothing queued (polled), timeout (SO_RCVTIMEO) or EINTR.
                    if let Some(every) = polled {
                        std::thread::sleep(every);
                    }
                    continue;
                };
                let outgoing = msg
                    .address
                    .is_some_and(|a| a.pkttype() == libc::PACKET_OUTGOING);
                let stamp = msg.cmsgs().ok().and_then(|mut c| {
                    c.find_map(|m| match m {
                        ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
                        _ => None,
                    })
                });
                let (Some(stamp), n) = (stamp, msg.bytes) else {
                    continue;
                };
                let frame = Frame {
                    packet: &buf[..n],
                    stamp_ns: timespec_ns(stamp),
                    outgoing,
                };
                keep(frame, &mut fresh);
                if !fresh.is_empty() {
                    k.lock().unwrap().append(&mut fresh);
                }
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{what} on {ns}: {e}"),
            Err(_) => panic!("{what} on {ns} did not start"),
        }
        Capture {
            kept,
            stop,
            thread: Some(thread),
        }
    }

    /// What was kept so far, in arrival order.
    pub(crate) fn kept(&self) -> MutexGuard<'_, Vec<T>> {
        self.kept.lock().unwrap()
    }
}

impl<T> Drop for Capture<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn timespec_ns(t: nix::sys::time::TimeSpec) -> u64 {
    (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64
}

/// A CLOCK_REALTIME stamp (ns; the kernel's receive stamps are on that clock) on
/// CLOCK_MONOTONIC: moved by its age, the realtime clock read between two monotonic reads less
/// than 5 µs apart (a reader preempted between its reads would otherwise move it by as much as it
/// waited); a clock step during the read would spoil it, NTP slewing not measurably.
pub(crate) fn realtime_to_monotonic(stamp_ns: u64) -> Option<u64> {
    use nix::time::{clock_gettime, ClockId};
    let mut best = None;
    for _ in 0..10 {
        let before = timespec_ns(clock_gettime(ClockId::CLOCK_MONOTONIC).ok()?);
        let rt = timespec_ns(clock_gettime(ClockId::CLOCK_REALTIME).ok()?);
        let after = timespec_ns(clock_gettime(ClockId::CLOCK_MONOTONIC).ok()?);
        let mono = before + (after - before) / 2;
        best = Some(mono.saturating_sub(rt.saturating_sub(stamp_ns)));
        if after - before < 5_000 {
            break;
        }
    }
    best
}

/// An IPv4 AF_PACKET socket on `ifname` in the namespace at `netns_path` (see
/// [`open_packet_socket`]) with kernel receive stamps (SO_TIMESTAMPNS) and an 8 MiB receive
/// buffer.
fn open_stamped(netns_path: &str, ifname: &str) -> Result<OwnedFd, String> {
    let fd = open_packet_socket(netns_path, ifname, libc::ETH_P_IP as u16)?;
    nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::ReceiveTimestampns, &true)
        .map_err(|e| format!("SO_TIMESTAMPNS: {e}"))?;
    let rcvbuf: libc::c_int = 8 << 20;
    // SAFETY: `rcvbuf` is a live c_int of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&rcvbuf as *const libc::c_int).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    if r < 0 {
        return Err(format!(
            "setsockopt SO_RCVBUFFORCE: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(fd)
}
