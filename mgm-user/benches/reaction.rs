//! Router reaction, measured from outside the daemon (needs root; run by `cargo bench -p mgm-user
//! --bench reaction` or `cargo xtask bench`).
//!
//! `mgm run -i ra -i rb -i rc --log info` (topology of `tests/common/forward.rs`). The source on
//! link A streams UDP at [`RATE`] datagrams/s to one group at a time (a thread of this bench
//! sleeping to absolute deadlines, timer slack 1 ns). Per trial a fresh group: the stream moves
//! to it, the router's negative MFC entry for it appears (the upcall), then the receiver on link B
//! joins (IP_ADD_MEMBERSHIP: its kernel sends the IGMPv3 report). Spans, all from stamps taken
//! outside the daemon:
//!
//! - **report**: the kernel's receive stamp of the report's frame on the router's interface `rb`
//!   (AF_PACKET + SO_TIMESTAMPNS in the router namespace, `tests/common/wire.rs`: stamped as the
//!   frame enters the stack, before tc ingress and the classifier). The capture drains its socket
//!   every millisecond instead of being woken by the frame: a reader woken by the report would
//!   compete for a CPU with the daemon woken by the same report;
//! - **MFC**: the kernel's notification of the changed MFC entry (RTM_NEWROUTE, family
//!   RTNL_FAMILY_IPMR, group RTNLGRP_IPV4_MROUTE) on a netlink socket in the router namespace
//!   (opened and decoded by `compare/mroute_watch.rs`, shared with the compare bench).
//!   Netlink messages carry no kernel stamp (SO_TIMESTAMPNS gives nothing on netlink), so a
//!   thread blocked in recv(2) stamps CLOCK_MONOTONIC when it returns: the span includes that
//!   thread's wake-up. The same thread's wake-up on a probe datagram sent to the router after
//!   each trial (its read time − the datagram's kernel stamp) is printed as the size of that
//!   bias. Not on the report itself: that thread is SCHED_FIFO, and woken by the report it would
//!   run before the daemon on the CPU they share;
//! - **first datagram**: the kernel's receive stamp of the first datagram of the group on the
//!   receiver's interface (AF_PACKET + SO_TIMESTAMPNS in the receiver's namespace). At
//!   [`RATE`] the next datagram is at most 1/RATE away (the largest gap seen is printed).
//!
//! Figures: p50/p90/p99/max over [`TRIALS`] joins. Then the receiver leaves, and the next trial
//! takes the next group.
// `forward.rs` and `wire.rs` each hold the shared AF_PACKET helper (`packet.rs`) as a module of
// their own, and this bench opens one socket with it too.
#![allow(clippy::duplicate_mod)]
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/forward.rs"]
mod forward;
#[path = "compare/mroute_watch.rs"]
mod mroute_watch;
#[path = "../tests/common/wire.rs"]
mod wire;

use forward::{mono_ns, ForwardLab};
use mgm_user::sys::sched::{self, LOOP_SLICE};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wire::{Seen, WireCapture};

const PORT: u16 = 5040;
/// Datagrams per second of the running stream.
const RATE: u64 = 20_000;
/// Joins measured (each a fresh group); `MGM_REACTION_TRIALS` sets another number.
const TRIALS: usize = 300;
/// The port of the MFC reader's wake-up probes, on the router's address on link B.
const PROBE_PORT: u16 = 5041;
const ROUTER_B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

fn main() {
    common::require_root();
    let mut fl = ForwardLab::new_with(["", "", ""], &["--log", "info"]);
    let rcv = fl.add_host('b', "rcv", 10);
    let host = fl.host(&rcv);
    let pid = fl.lab.daemon(fl.k).child.id() as libc::pid_t;
    let mut rig = Rig {
        // Drained every millisecond rather than woken by each report, which wakes the daemon.
        reports: WireCapture::start_polled(&fl.router, &fl.rb, PORT, Duration::from_millis(1)),
        stream: WireCapture::start(&rcv.ns, &rcv.ifname, PORT),
        mfc: MfcWatch::start(&fl.router),
        prober: open_prober(&format!("/run/netns/{}", rcv.ns)).expect("the MFC reader's prober"),
        sender: Sender::start(&fl.source.ns, forward::SOURCE.parse().expect("source")),
        host,
        rcv,
        fl,
    };
    let trials = std::env::var("MGM_REACTION_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(TRIALS);
    println!("router reaction: mgm pid {pid}");
    // Every other trial with the kernel's base slice for the daemon's loop (set from here):
    // both under the same load, interleaved.
    let mut runs = [Figures::default(), Figures::default()];
    for i in 0..trials {
        let base = i % 2 == 1;
        let slice = if base { Duration::ZERO } else { LOOP_SLICE };
        sched::set_slice(pid, slice).expect("the daemon's time slice");
        let g = Ipv4Addr::new(239, 77, (i / 200) as u8, (i % 200) as u8 + 1);
        runs[usize::from(base)].add(rig.trial(g));
    }
    let wakeups = rig.mfc.wakeups();
    drop(rig);
    println!(
        "router reaction: report on the router's wire (kernel stamp) -> MFC change and first \
         forwarded datagram; fresh group each join, stream {RATE} datagrams/s"
    );
    runs[0].print("mgm as deployed (loop slice 0.1 ms)");
    runs[1].print("mgm with the kernel's base slice");
    println!(
        "  the MFC reader's own wake-up (SCHED_FIFO), inside the MFC figures: {}",
        pct(&mut wakeups.clone())
    );
}

/// One trial's spans (ms) and the largest gap of the stream after it reached the receiver.
struct Trial {
    to_mfc: f64,
    to_datagram: f64,
    gap_ms: f64,
}

#[derive(Default)]
struct Figures {
    to_mfc: Vec<f64>,
    to_datagram: Vec<f64>,
    gap_ms: f64,
    missed: usize,
    negative: usize,
}

impl Figures {
    fn add(&mut self, t: Option<Trial>) {
        let Some(t) = t else {
            self.missed += 1;
            return;
        };
        if t.to_mfc < 0.0 || t.to_datagram < 0.0 {
            self.negative += 1;
        }
        self.to_mfc.push(t.to_mfc);
        self.to_datagram.push(t.to_datagram);
        self.gap_ms = self.gap_ms.max(t.gap_ms);
    }

    fn print(&mut self, what: &str) {
        println!(
            "  {what}: {} joins ({} without a figure, {} negative spans; largest stream gap \
             {:.3} ms)",
            self.to_mfc.len(),
            self.missed,
            self.negative,
            self.gap_ms
        );
        println!("    report -> MFC notification: {}", pct(&mut self.to_mfc));
        println!(
            "    report -> first datagram:   {}",
            pct(&mut self.to_datagram)
        );
    }
}

/// The lab and the instruments.
struct Rig {
    reports: WireCapture,
    stream: WireCapture,
    mfc: MfcWatch,
    /// Sends a datagram to the router's [`PROBE_PORT`] after each trial (the daemon idle).
    prober: UdpSocket,
    sender: Sender,
    host: common::Host,
    rcv: forward::HostEnd,
    fl: ForwardLab,
}

impl Rig {
    /// The stream moves to `g`; once the router holds its negative MFC entry, the receiver
    /// joins; then it leaves. `None` when a stamp is missing after 3 s.
    fn trial(&mut self, g: Ipv4Addr) -> Option<Trial> {
        let since = mono_ns();
        self.sender.to(g);
        if self
            .mfc
            .wait(g, since, |n| n.oifs == 0, Duration::from_secs(3))
            .is_none()
        {
            panic!("no negative MFC entry for {g}\n{}", self.fl.diagnostics());
        }
        // The stream runs to the group for a while before the join.
        std::thread::sleep(Duration::from_millis(5));
        self.stream.clear();
        let joined = mono_ns();
        self.host.cmd(&format!("join {g} {}", self.rcv.addr));
        let deadline = Instant::now() + Duration::from_secs(3);
        let found = loop {
            let report = self.reports.first(since, |s| s == Seen::Join(g));
            let added = self.mfc.first(g, since, |n| n.oifs > 0);
            let dgrams = self.stream.datagrams(g, joined);
            // A few datagrams more than the first, for the gaps of the running stream.
            if let (Some(r), Some(a), true) = (report, added, dgrams.len() >= 50) {
                break Some((r, a, dgrams));
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        self.host.cmd(&format!("leave {g}"));
        self.mfc.forget_before(since);
        std::thread::sleep(Duration::from_millis(5));
        self.reports.clear();
        let _ = self.prober.send_to(b"probe", (ROUTER_B, PROBE_PORT));
        let (r, a, dgrams) = found?;
        let gap = dgrams
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .max()
            .unwrap_or(0);
        let span = |t: u64| (t as f64 - r as f64) / 1e6;
        Some(Trial {
            to_mfc: span(a.at),
            to_datagram: span(dgrams[0]),
            gap_ms: gap as f64 / 1e6,
        })
    }
}

/// p50/p90/p99/max of `v` (ms).
fn pct(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "no figure".to_string();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {}",
        at(0.5),
        at(0.9),
        at(0.99),
        v[v.len() - 1],
        v.len()
    )
}

/// Makes the calling thread SCHED_FIFO (priority 50): the MFC reader is an instrument, whose own
/// wake-up must weigh as little as can be in the figures of the daemon (which runs as deployed,
/// SCHED_OTHER). Not the stream's sender: at its rate, it would keep the daemon from the CPU.
fn realtime(what: &str) {
    let p = libc::sched_param { sched_priority: 50 };
    // SAFETY: sched_setscheduler on the calling thread (0) with a live sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &p) } != 0 {
        eprintln!(
            "{what}: SCHED_FIFO refused ({}); its wake-up weighs in the figures",
            std::io::Error::last_os_error()
        );
    }
}

// ---- the stream -----------------------------------------------------------------------------

/// A UDP stream from the source's namespace at [`RATE`] to the group set last (none at first).
struct Sender {
    group: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    fn start(ns: &str, source: Ipv4Addr) -> Sender {
        let group = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (group.clone(), stop.clone());
        let path = format!("/run/netns/{ns}");
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let thread = std::thread::spawn(move || {
            let sock = match open_sender(&path, source) {
                Ok(sock) => {
                    let _ = ready_tx.send(Ok(()));
                    sock
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let interval = 1_000_000_000 / RATE;
            let mut next = mono_ns();
            let payload = [0u8; 64];
            while !s.load(Ordering::Relaxed) {
                next += interval;
                sleep_until_mono(next);
                let group = Ipv4Addr::from(g.load(Ordering::Relaxed));
                if !group.is_unspecified() {
                    let _ = sock.send_to(&payload, (group, PORT));
                }
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("stream sender: {e}"),
            Err(_) => panic!("stream sender did not start"),
        }
        Sender {
            group,
            stop,
            thread: Some(thread),
        }
    }

    fn to(&self, group: Ipv4Addr) {
        self.group.store(u32::from(group), Ordering::Relaxed);
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP socket in the namespace at `path` (the calling thread enters it), multicast out of the
/// interface holding `source`, TTL 8; the thread's timer slack 1 ns.
fn open_sender(path: &str, source: Ipv4Addr) -> Result<UdpSocket, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns {path}: {e}"))?;
    // SAFETY: prctl(PR_SET_TIMERSLACK) with a plain integer argument.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let sock = UdpSocket::bind((source, 0)).map_err(|e| format!("bind {source}: {e}"))?;
    sock.set_multicast_ttl_v4(8)
        .map_err(|e| format!("IP_MULTICAST_TTL: {e}"))?;
    let addr = libc::in_addr {
        s_addr: u32::from(source).to_be(),
    };
    // SAFETY: `addr` is a live in_addr of the size passed.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&addr as *const libc::in_addr).cast(),
            std::mem::size_of::<libc::in_addr>() as u32,
        )
    };
    if r < 0 {
        return Err(format!(
            "IP_MULTICAST_IF: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(sock)
}

/// Sleeps until CLOCK_MONOTONIC reaches `ns`.
fn sleep_until_mono(ns: u64) {
    let ts = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: `ts` is a valid timespec; no remainder is asked for with TIMER_ABSTIME.
    unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    };
}

// ---- the kernel's MFC notifications ---------------------------------------------------------

/// One RTM_NEWROUTE of the IPv4 multicast routing table.
#[derive(Clone, Copy, Debug)]
struct MfcChange {
    /// CLOCK_MONOTONIC ns when the reader returned with it.
    at: u64,
    group: Ipv4Addr,
    oifs: usize,
}

/// The router namespace's MFC changes, read by a thread blocked in recv(2).
struct MfcWatch {
    changes: Arc<Mutex<Vec<MfcChange>>>,
    /// The same thread's wake-up on probe datagrams arriving at the router between trials: its
    /// return from poll(2) − the datagram's kernel stamp (ns).
    wakeups: Arc<Mutex<Vec<u64>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MfcWatch {
    /// Watches the MFC of namespace `ns`, and the probe datagrams to its [`PROBE_PORT`] for the
    /// reader's own wake-up. Not the reports themselves: woken by the same frame as the daemon,
    /// at a real-time priority, the reader would take the CPU from the daemon it measures.
    fn start(ns: &str) -> MfcWatch {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let wakeups = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, w, s) = (changes.clone(), wakeups.clone(), stop.clone());
        let path = format!("/run/netns/{ns}");
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let thread = std::thread::spawn(move || {
            realtime("MFC watch");
            // The thread is in the router's namespace now: the probe socket is opened there.
            let opened = mroute_watch::open(&path).and_then(|nl| {
                let pk = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PROBE_PORT))
                    .map_err(|e| format!("bind the probe port {PROBE_PORT}: {e}"))?;
                nix::sys::socket::setsockopt(
                    &pk,
                    nix::sys::socket::sockopt::ReceiveTimestampns,
                    &true,
                )
                .map_err(|e| format!("SO_TIMESTAMPNS: {e}"))?;
                Ok((nl, pk))
            });
            let (nl, pk) = match opened {
                Ok(fds) => {
                    let _ = ready_tx.send(Ok(()));
                    fds
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            read_until_stopped(&nl, &pk, &c, &w, &s);
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("MFC watch: {e}"),
            Err(_) => panic!("MFC watch did not start"),
        }
        MfcWatch {
            changes,
            wakeups,
            stop,
            thread: Some(thread),
        }
    }

    /// The first change of `group` at or after `since` for which `f` holds.
    fn first(
        &self,
        group: Ipv4Addr,
        since: u64,
        f: impl Fn(&MfcChange) -> bool,
    ) -> Option<MfcChange> {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.at >= since && c.group == group && f(c))
            .copied()
    }

    /// [`Self::first`], waiting up to `timeout` for it.
    fn wait(
        &self,
        group: Ipv4Addr,
        since: u64,
        f: impl Fn(&MfcChange) -> bool,
        timeout: Duration,
    ) -> Option<MfcChange> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(c) = self.first(group, since, &f) {
                return Some(c);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The reader's wake-ups so far (ms).
    fn wakeups(&self) -> Vec<f64> {
        self.wakeups
            .lock()
            .unwrap()
            .iter()
            .map(|&w| w as f64 / 1e6)
            .collect()
    }

    fn forget_before(&self, t: u64) {
        self.changes.lock().unwrap().retain(|c| c.at >= t);
    }
}

impl Drop for MfcWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The MFC reader's loop: MFC changes from the netlink socket `nl`, stamped when poll(2)
/// returns; its own wake-ups from the probe datagrams on `pk`; until `stop`.
fn read_until_stopped(
    nl: &OwnedFd,
    pk: &UdpSocket,
    changes: &Mutex<Vec<MfcChange>>,
    wakeups: &Mutex<Vec<u64>>,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 1 << 16];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [
            libc::pollfd {
                fd: nl.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: pk.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a live array of two pollfd.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, 100) };
        let at = mono_ns();
        if r <= 0 {
            continue;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // SAFETY: `buf` is a live writable buffer of the given length; nl is valid.
            let n = unsafe {
                libc::recv(
                    nl.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                let seen = mroute_watch::parse(&buf[..n as usize]);
                changes.lock().unwrap().extend(
                    seen.into_iter()
                        .map(|(_, group, oifs)| MfcChange { at, group, oifs }),
                );
            }
        }
        if fds[1].revents & libc::POLLIN != 0 {
            if let Some(k) = probe_kernel_stamp(pk, &mut buf) {
                wakeups.lock().unwrap().push(at.saturating_sub(k));
            }
        }
    }
}

/// Reads one probe datagram from `pk`: the kernel's receive stamp of its frame (taken where
/// the AF_PACKET stamps of the reports are, as it enters the stack), CLOCK_MONOTONIC ns.
fn probe_kernel_stamp(pk: &UdpSocket, buf: &mut [u8]) -> Option<u64> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn};
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn>(
        pk.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_DONTWAIT,
    )
    .ok()?;
    let stamp = msg.cmsgs().ok()?.find_map(|m| match m {
        ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
        _ => None,
    })?;
    wire::realtime_to_monotonic((stamp.tv_sec() as u64) * 1_000_000_000 + stamp.tv_nsec() as u64)
}

/// A UDP socket in the receiver's namespace that sends the MFC reader's probes to the router.
fn open_prober(path: &str) -> Result<UdpSocket, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    // A thread of its own enters the namespace; the socket stays in it after the thread ends.
    std::thread::spawn(move || {
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("setns: {e}"))?;
        UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|e| format!("bind: {e}"))
    })
    .join()
    .map_err(|_| "the prober's thread panicked".to_string())?
}
