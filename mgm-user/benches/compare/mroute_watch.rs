//! The kernel's multicast routing notifications (rtnetlink group RTNLGRP_IPV4_MROUTE: an
//! RTM_NEWROUTE of family RTNL_FAMILY_IPMR each time an MFC entry is added or changed), stamped,
//! so that "report → MFC" is timed from the kernel's side, whatever daemon installs the entry.
//! Netlink carries no stamp (a netlink socket gives no SO_TIMESTAMPNS control message: the
//! socket asks for one all the same, and uses it should a kernel give one), so the stamp is when
//! the listening thread returns from recvmsg (CLOCK_MONOTONIC), an upper bound on when the
//! kernel changed the entry. The thread runs SCHED_FIFO so that it wakes at once on a loaded
//! machine.
//!
//! Shared by the compare bench ([`MrouteWatch`]) and the reaction bench (`benches/reaction.rs`
//! includes this file by `#[path]`: it reads the listener of [`open`] in its own thread, next
//! to its wake-up probe, and decodes with [`parse`]).
#![allow(dead_code)]

use nix::sys::socket::{
    bind, recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, MsgFlags,
    NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// RTMGRP_IPV4_MROUTE: the legacy bit of group RTNLGRP_IPV4_MROUTE (5).
const RTMGRP_IPV4_MROUTE: u32 = 0x20;
const RTNL_FAMILY_IPMR: u8 = 128;
const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_MULTIPATH: u16 = 9;

/// One MFC notification: when, for which (source, group), with how many outgoing interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MfcChange {
    pub(crate) ns: u64,
    pub(crate) source: Ipv4Addr,
    pub(crate) group: Ipv4Addr,
    pub(crate) oifs: usize,
}

pub(crate) struct MrouteWatch {
    seen: Arc<Mutex<Vec<MfcChange>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MrouteWatch {
    /// Listens in namespace `ns`.
    pub(crate) fn start(ns: &str) -> MrouteWatch {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (v, s) = (seen.clone(), stop.clone());
        let path = format!("/run/netns/{ns}");
        let thread = std::thread::spawn(move || {
            realtime();
            let fd = match open(&path) {
                Ok(fd) => {
                    let _ = ready_tx.send(Ok(()));
                    fd
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut buf = vec![0u8; 1 << 16];
            let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
            while !s.load(Ordering::Relaxed) {
                let mut iov = [std::io::IoSliceMut::new(&mut buf)];
                let Ok(msg) = recvmsg::<NetlinkAddr>(
                    fd.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::empty(),
                ) else {
                    continue; // timeout or EINTR
                };
                let woke = mgm_user::time::monotonic_ns().expect("CLOCK_MONOTONIC");
                let n = msg.bytes;
                let stamp = msg.cmsgs().ok().and_then(|mut c| {
                    c.find_map(|m| match m {
                        ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
                        _ => None,
                    })
                });
                let at = stamp.and_then(|t| to_monotonic(t, woke)).unwrap_or(woke);
                let changes = parse(&buf[..n]);
                let mut out = v.lock().unwrap();
                out.extend(changes.into_iter().map(|(source, group, oifs)| MfcChange {
                    ns: at,
                    source,
                    group,
                    oifs,
                }));
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("mroute watch in {ns}: {e}"),
            Err(_) => panic!("mroute watch in {ns} did not start"),
        }
        MrouteWatch {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The first change to `group` at or after `since` that forwards somewhere.
    pub(crate) fn first_forwarding(&self, group: Ipv4Addr, since: u64) -> Option<MfcChange> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.ns >= since && c.group == group && c.oifs > 0)
            .copied()
    }

    /// Every change to `group` at or after `since`, in arrival order.
    pub(crate) fn changes(&self, group: Ipv4Addr, since: u64) -> Vec<MfcChange> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.ns >= since && c.group == group)
            .copied()
            .collect()
    }

    pub(crate) fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl Drop for MrouteWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Makes the calling thread SCHED_FIFO (priority 50), when allowed; the stamps are only later
/// without it.
fn realtime() {
    let param = libc::sched_param { sched_priority: 50 };
    // SAFETY: `param` is a live sched_param; pid 0 is the calling thread.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if r != 0 {
        eprintln!(
            "mroute watch: SCHED_FIFO refused ({}): its stamps may lag",
            std::io::Error::last_os_error()
        );
    }
}

/// A realtime receive stamp moved to CLOCK_MONOTONIC; `None` for a zero stamp.
fn to_monotonic(t: nix::sys::time::TimeSpec, mono_now: u64) -> Option<u64> {
    let ns = |t: nix::sys::time::TimeSpec| (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64;
    let rt = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME).ok()?;
    let stamp = ns(t);
    (stamp != 0).then(|| mono_now.saturating_sub(ns(rt).saturating_sub(stamp)))
}

/// A NETLINK_ROUTE socket in the namespace at `netns_path` (the calling thread enters it),
/// member of RTNLGRP_IPV4_MROUTE, with SO_TIMESTAMPNS, a 100 ms receive timeout and an 8 MiB
/// receive buffer.
pub(crate) fn open(netns_path: &str) -> Result<std::os::fd::OwnedFd, String> {
    let f = std::fs::File::open(netns_path).map_err(|e| format!("open {netns_path}: {e}"))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns {netns_path}: {e}"))?;
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .map_err(|e| format!("netlink socket: {e}"))?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, RTMGRP_IPV4_MROUTE))
        .map_err(|e| format!("bind RTMGRP_IPV4_MROUTE: {e}"))?;
    setsockopt(&fd, sockopt::ReceiveTimestampns, &true)
        .map_err(|e| format!("SO_TIMESTAMPNS: {e}"))?;
    setsockopt(
        &fd,
        sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(0, 100_000),
    )
    .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
    setsockopt(&fd, sockopt::RcvBufForce, &(8 << 20))
        .map_err(|e| format!("SO_RCVBUFFORCE: {e}"))?;
    Ok(fd)
}

/// The (source, group, outgoing interfaces) of each IPMR RTM_NEWROUTE in a netlink datagram.
pub(crate) fn parse(mut b: &[u8]) -> Vec<(Ipv4Addr, Ipv4Addr, usize)> {
    let mut out = Vec::new();
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let kind = u16::from_ne_bytes([b[4], b[5]]);
        if len < 16 || len > b.len() {
            break;
        }
        let msg = &b[16..len];
        // struct rtmsg is 12 bytes; its first byte is the family.
        if kind == libc::RTM_NEWROUTE && msg.len() >= 12 && msg[0] == RTNL_FAMILY_IPMR {
            let (mut src, mut grp, mut oifs) = (Ipv4Addr::UNSPECIFIED, None, 0);
            for (t, v) in attrs(&msg[12..]) {
                match (t, v.len()) {
                    (RTA_SRC, 4) => src = Ipv4Addr::new(v[0], v[1], v[2], v[3]),
                    (RTA_DST, 4) => grp = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
                    (RTA_MULTIPATH, _) => oifs = nexthops(v),
                    _ => {}
                }
            }
            if let Some(g) = grp {
                out.push((src, g, oifs));
            }
        }
        b = b.get((len + 3) & !3..).unwrap_or(&[]);
    }
    out
}

/// Route attributes: (type, payload), 4-byte aligned.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let t = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((t, &b[4..len]));
        b = b.get((len + 3) & !3..).unwrap_or(&[]);
    }
    out
}

/// The number of `struct rtnexthop` entries (8-byte header with its own length) in RTA_MULTIPATH.
fn nexthops(mut b: &[u8]) -> usize {
    let mut n = 0;
    while b.len() >= 8 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        if len < 8 || len > b.len() {
            break;
        }
        n += 1;
        b = b.get((len + 3) & !3..).unwrap_or(&[]);
    }
    n
}
