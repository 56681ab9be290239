//! A wire capture for the namespace lab (used by `benches/proxy_lab.rs`, next to `common/mod.rs`):
//! every IGMP message and every UDP datagram to one port that arrives on an interface, each with
//! the kernel's receive stamp of its frame (AF_PACKET with SO_TIMESTAMPNS, moved to
//! CLOCK_MONOTONIC as `forward::ReportCapture` does). Put on a LAN's listening port (a namespace
//! that only listens), it sees the hosts' reports and the router's datagrams on that LAN as they
//! cross it, so spans between them are measured from outside the daemons.
#![allow(dead_code)]

use std::net::Ipv4Addr;
#[path = "packet.rs"]
mod packet;

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a captured frame carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A membership report naming `group` (v1/v2 report; v3 IS_EX, TO_EX, or ALLOW/IS_IN with
    /// sources).
    Join(Ipv4Addr),
    /// A leave of `group` (v2 leave; v3 TO_IN {} or IS_IN {}).
    Leave(Ipv4Addr),
    /// A query (0.0.0.0 for a general query).
    Query(Ipv4Addr),
    /// A UDP datagram to `group` and the capture's port.
    Datagram(Ipv4Addr),
}

/// One captured frame: CLOCK_MONOTONIC ns of its kernel receive stamp and what it carried (an
/// IGMPv3 report with several records gives one entry per record, same stamp).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamped {
    pub(crate) ns: u64,
    pub(crate) seen: Seen,
}

pub(crate) struct WireCapture {
    frames: Arc<Mutex<Vec<Stamped>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WireCapture {
    /// Captures what arrives on `ifname` in namespace `ns` (not what it sends): IGMP and UDP to
    /// `port`.
    pub(crate) fn start(ns: &str, ifname: &str, port: u16) -> WireCapture {
        Self::start_with(ns, ifname, port, None)
    }

    /// [`Self::start`], but the reader is never woken by a frame: it drains the socket every
    /// `every` (the stamps are the kernel's, taken at arrival). For a capture on a daemon's own
    /// interface, whose reader would otherwise compete for a CPU with the daemon woken by the
    /// same frame.
    pub(crate) fn start_polled(ns: &str, ifname: &str, port: u16, every: Duration) -> WireCapture {
        Self::start_with(ns, ifname, port, Some(every))
    }

    fn start_with(ns: &str, ifname: &str, port: u16, polled: Option<Duration>) -> WireCapture {
        use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};
        let frames = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let path = format!("/run/netns/{ns}");
        let ifname = ifname.to_string();
        let (f, s) = (frames.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let opened = open(&path, &ifname).and_then(|fd| {
                setsockopt(&fd, sockopt::ReceiveTimestampns, &true)
                    .map(|()| fd)
                    .map_err(|e| format!("SO_TIMESTAMPNS: {e}"))
            });
            let fd = match opened {
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
            let ns = |t: nix::sys::time::TimeSpec| {
                (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64
            };
            let flags = match polled {
                Some(_) => MsgFlags::MSG_DONTWAIT,
                None => MsgFlags::empty(),
            };
            while !s.load(Ordering::Relaxed) {
                let mut iov = [std::io::IoSliceMut::new(&mut buf)];
                let Ok(msg) = recvmsg::<nix::sys::socket::LinkAddr>(
                    fd.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    flags,
                ) else {
                    // Nothing queued (polled), timeout (SO_RCVTIMEO) or EINTR.
                    if let Some(every) = polled {
                        std::thread::sleep(every);
                    }
                    continue;
                };
                // Frames this end sends are not on their way in.
                if msg
                    .address
                    .is_some_and(|a| a.pkttype() == libc::PACKET_OUTGOING)
                {
                    continue;
                }
                let n = msg.bytes;
                let stamp = msg.cmsgs().ok().and_then(|mut c| {
                    c.find_map(|m| match m {
                        ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
                        _ => None,
                    })
                });
                let Some(stamp) = stamp else { continue };
                let seen = decode(&buf[..n], port);
                if seen.is_empty() {
                    continue;
                }
                let Some(at) = realtime_to_monotonic(ns(stamp)) else {
                    continue;
                };
                let mut v = f.lock().unwrap();
                v.extend(seen.into_iter().map(|seen| Stamped { ns: at, seen }));
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("wire capture on {ns}: {e}"),
            Err(_) => panic!("wire capture on {ns} did not start"),
        }
        WireCapture {
            frames,
            stop,
            thread: Some(thread),
        }
    }

    /// Everything captured so far, in arrival order.
    pub(crate) fn frames(&self) -> Vec<Stamped> {
        self.frames.lock().unwrap().clone()
    }

    /// The stamp of the first frame at or after `since` for which `f` holds.
    pub(crate) fn first(&self, since: u64, f: impl Fn(Seen) -> bool) -> Option<u64> {
        self.frames
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.ns >= since && f(s.seen))
            .map(|s| s.ns)
    }

    /// The stamp of the last frame for which `f` holds.
    pub(crate) fn last(&self, f: impl Fn(Seen) -> bool) -> Option<u64> {
        self.frames
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| f(s.seen))
            .map(|s| s.ns)
    }

    /// The stamps of the datagrams to `group` at or after `since`.
    pub(crate) fn datagrams(&self, group: Ipv4Addr, since: u64) -> Vec<u64> {
        self.frames
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.ns >= since && s.seen == Seen::Datagram(group))
            .map(|s| s.ns)
            .collect()
    }

    /// Forgets what was captured (a long run at 1 000 datagrams/s need not keep it all).
    pub(crate) fn clear(&self) {
        self.frames.lock().unwrap().clear();
    }
}

impl Drop for WireCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A CLOCK_REALTIME stamp (ns; the kernel's receive stamps are on that clock) on
/// CLOCK_MONOTONIC: moved by its age, the realtime clock read between two monotonic reads less
/// than 5 µs apart (a reader preempted between its reads would otherwise move it by as much as it
/// waited); a clock step during the read would spoil it, NTP slewing not measurably.
pub(crate) fn realtime_to_monotonic(stamp_ns: u64) -> Option<u64> {
    use nix::time::{clock_gettime, ClockId};
    let ns = |t: nix::sys::time::TimeSpec| (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64;
    let mut best = None;
    for _ in 0..10 {
        let before = ns(clock_gettime(ClockId::CLOCK_MONOTONIC).ok()?);
        let rt = ns(clock_gettime(ClockId::CLOCK_REALTIME).ok()?);
        let after = ns(clock_gettime(ClockId::CLOCK_MONOTONIC).ok()?);
        let mono = before + (after - before) / 2;
        best = Some(mono.saturating_sub(rt.saturating_sub(stamp_ns)));
        if after - before < 5_000 {
            break;
        }
    }
    best
}

/// What an IPv4 packet carries: IGMP messages (one entry per v3 record) or a UDP datagram to
/// `port`; nothing for anything else.
fn decode(p: &[u8], port: u16) -> Vec<Seen> {
    let mut out = Vec::new();
    if p.len() < 20 || p[0] >> 4 != 4 {
        return out;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let Some(m) = p.get(ihl..) else { return out };
    let addr = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    match p[9] {
        17 if m.len() >= 4 && u16::from_be_bytes([m[2], m[3]]) == port => {
            out.push(Seen::Datagram(dst));
        }
        2 if m.len() >= 8 => match m[0] {
            0x11 => out.push(Seen::Query(addr(&m[4..8]))),
            0x12 | 0x16 => out.push(Seen::Join(addr(&m[4..8]))),
            0x17 => out.push(Seen::Leave(addr(&m[4..8]))),
            0x22 => {
                let n = usize::from(u16::from_be_bytes([m[6], m[7]]));
                let mut at = 8;
                for _ in 0..n {
                    let Some(r) = m.get(at..at + 8) else { break };
                    let sources = usize::from(u16::from_be_bytes([r[2], r[3]]));
                    let g = addr(&r[4..8]);
                    match (r[0], sources) {
                        // MODE_IS_INCLUDE / CHANGE_TO_INCLUDE without sources: a leave.
                        (1 | 3, 0) => out.push(Seen::Leave(g)),
                        // BLOCK_OLD_SOURCES: neither.
                        (6, _) => {}
                        _ => out.push(Seen::Join(g)),
                    }
                    at += 8 + sources * 4 + usize::from(r[1]) * 4;
                }
            }
            _ => {}
        },
        _ => {}
    }
    out
}

/// An AF_PACKET socket (cooked, IPv4) bound to `ifname` in the namespace at `netns_path`,
/// entered by the calling thread (which stays there), with a 100 ms receive timeout and a large
/// receive buffer.
fn open(netns_path: &str, ifname: &str) -> Result<OwnedFd, String> {
    let fd = packet::open_packet_socket(netns_path, ifname, libc::ETH_P_IP as u16)?;
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
