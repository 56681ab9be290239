//! Traffic for the namespace labs (shared by `compare`, `proxy_lab` and `handler_lab`): a UDP
//! stream from a source host, and IGMP reports from a host's raw socket at a set rate.
#![allow(dead_code)]

use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) fn mono_ns() -> u64 {
    mgm_user::time::monotonic_ns().expect("CLOCK_MONOTONIC")
}

/// Enters namespace `ns` (the calling thread stays there).
pub(crate) fn enter(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("open the netns");
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// UDP from `source` (in namespace `ns`) to `group:port`, one datagram every `interval`, until
/// dropped.
pub(crate) struct Stream {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The send time of every datagram (CLOCK_MONOTONIC ns, as its payload carries it).
    sent: Arc<std::sync::Mutex<Vec<u64>>>,
}

impl Stream {
    pub(crate) fn start(
        ns: &str,
        source: Ipv4Addr,
        group: Ipv4Addr,
        port: u16,
        interval: Duration,
    ) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = sent.clone();
        let ns = ns.to_string();
        let thread = std::thread::spawn(move || {
            enter(&ns);
            // The default timer slack (50 µs) would stretch each 100 µs sleep by up to half.
            let slack_ns: libc::c_ulong = 1;
            // SAFETY: PR_SET_TIMERSLACK takes a plain integer and changes only this thread.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack_ns) };
            let sock = UdpSocket::bind((source, 0)).expect("bind the source");
            sock.set_multicast_ttl_v4(8).expect("multicast TTL");
            let mut next = Instant::now();
            let mut i: u64 = 0;
            while !s.load(Ordering::Relaxed) {
                // The send time rides along (CLOCK_MONOTONIC, the same in every namespace): a
                // capture tells the live stream from datagrams a kernel held and sent later.
                let at = mono_ns();
                let payload = format!("lab {i} {at}");
                if sock.send_to(payload.as_bytes(), (group, port)).is_ok() {
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(at);
                }
                i += 1;
                next += interval;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else if now - next > interval * 5 {
                    next = now; // fell behind (scheduling): no burst to catch up
                }
            }
        });
        Stream {
            stop,
            thread: Some(thread),
            sent,
        }
    }

    /// The send times of the datagrams sent between `from` and `to` (CLOCK_MONOTONIC ns).
    pub(crate) fn sent_between(&self, from: u64, to: u64) -> Vec<u64> {
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.iter()
            .copied()
            .filter(|&t| t >= from && t <= to)
            .collect()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The Internet checksum of an IGMP message (its checksum field zero).
pub(crate) fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s >> 16) + (s & 0xffff);
    }
    !(s as u16)
}

/// A report for `group`: IGMPv2 (to the group), or IGMPv3 with one MODE_IS_EXCLUDE {} record (to
/// 224.0.0.22). Returns the message and its destination.
pub(crate) fn report(version: u8, group: Ipv4Addr) -> (Vec<u8>, Ipv4Addr) {
    let (mut m, dst) = if version == 2 {
        let mut m = vec![0x16, 0, 0, 0];
        m.extend_from_slice(&group.octets());
        (m, group)
    } else {
        let mut m = vec![0x22, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0];
        m.extend_from_slice(&group.octets());
        (m, Ipv4Addr::new(224, 0, 0, 22))
    };
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    (m, dst)
}

/// `setsockopt(IPPROTO_IP, opt, v)`.
pub(crate) fn try_setsockopt_ip<T>(fd: &OwnedFd, opt: i32, v: &T) -> std::io::Result<()> {
    // SAFETY: `v` is a live value of the size passed; the fd is valid.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IP,
            opt,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as u32,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn setsockopt_ip<T>(fd: &OwnedFd, opt: i32, v: &T) {
    if let Err(e) = try_setsockopt_ip(fd, opt, v) {
        panic!("setsockopt {opt}: {e}");
    }
}

/// Sends `total` reports (`version` 2 or 3) from host `from` in namespace `ns`, for `groups` in
/// turn, at `rate` per second (Router Alert, TTL 1); returns how many went out and over how long.
pub(crate) fn send_reports(
    ns: &str,
    from: Ipv4Addr,
    version: u8,
    groups: &[Ipv4Addr],
    total: usize,
    rate: f64,
) -> (usize, Duration) {
    let msgs: Vec<(Vec<u8>, Ipv4Addr)> = groups.iter().map(|&g| report(version, g)).collect();
    send_messages(ns, from, msgs, total, rate)
}

/// An IGMPv2 leave for `group` (to 224.0.0.2).
pub(crate) fn leave(group: Ipv4Addr) -> (Vec<u8>, Ipv4Addr) {
    let mut m = vec![0x17, 0, 0, 0];
    m.extend_from_slice(&group.octets());
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    (m, Ipv4Addr::new(224, 0, 0, 2))
}

/// Sends `total` of the IGMP messages `msgs` (message, destination) in turn as
/// [`send_reports`] does.
pub(crate) fn send_messages(
    ns: &str,
    from: Ipv4Addr,
    msgs: Vec<(Vec<u8>, Ipv4Addr)>,
    total: usize,
    rate: f64,
) -> (usize, Duration) {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter(&ns);
        let fd = igmp_socket(from);
        let start = Instant::now();
        let mut sent = 0usize;
        while sent < total {
            let due = ((start.elapsed().as_secs_f64() * rate) as usize + 1).min(total);
            while sent < due {
                let (m, dst) = &msgs[sent % msgs.len()];
                // A full socket buffer at a high rate: wait a little and send again.
                if !send_to(&fd, m, *dst) {
                    std::thread::sleep(Duration::from_micros(50));
                    continue;
                }
                sent += 1;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        (sent, start.elapsed())
    })
    .join()
    .expect("report sender")
}

/// A flood of IGMPv2 reports from host `from` in namespace `ns`, each for a fresh pseudo-random
/// group of 239.128.0.0/9 (`seed` picks the sequence), at `rate` per second (`None`: as fast as
/// the sender thread can), until stopped.
pub(crate) struct Flood {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(usize, Duration)>>,
}

impl Flood {
    pub(crate) fn start(ns: &str, from: Ipv4Addr, rate: Option<f64>, seed: u32) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let ns = ns.to_string();
        let thread = std::thread::spawn(move || {
            enter(&ns);
            let fd = igmp_socket(from);
            // xorshift32: a group per report, none of the lab's other groups (239.0–127.x).
            let mut x = seed.max(1);
            let start = Instant::now();
            let mut sent = 0usize;
            while !s.load(Ordering::Relaxed) {
                let due = rate.map_or(sent + 64, |r| (start.elapsed().as_secs_f64() * r) as usize);
                while sent < due {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let g = Ipv4Addr::from(0xef80_0000 | (x & 0x007f_ffff));
                    let (m, dst) = report(2, g);
                    if send_to(&fd, &m, dst) {
                        sent += 1;
                    } else {
                        // A full socket buffer: wait a little and send another.
                        std::thread::sleep(Duration::from_micros(50));
                    }
                }
                if rate.is_some() {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            (sent, start.elapsed())
        });
        Flood {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the flood; returns the reports sent and over how long.
    pub(crate) fn stop(mut self) -> (usize, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A raw IGMP socket (panics when it cannot be made).
pub(crate) fn raw_igmp_socket() -> OwnedFd {
    // SAFETY: plain socket(2) call with constant arguments.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_IGMP) };
    assert!(
        raw >= 0,
        "raw IGMP socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// A raw IGMP socket sending from `from` (Router Alert, TTL 1, no loopback).
fn igmp_socket(from: Ipv4Addr) -> OwnedFd {
    let fd = raw_igmp_socket();
    setsockopt_ip(&fd, libc::IP_OPTIONS, &[0x94u8, 4, 0, 0]);
    setsockopt_ip(&fd, libc::IP_MULTICAST_TTL, &1i32);
    setsockopt_ip(&fd, libc::IP_MULTICAST_LOOP, &0i32);
    let ifaddr = libc::in_addr {
        s_addr: u32::from(from).to_be(),
    };
    setsockopt_ip(&fd, libc::IP_MULTICAST_IF, &ifaddr);
    fd
}

/// Sends IGMP message `m` to `dst`; false when it did not go out whole.
fn send_to(fd: &OwnedFd, m: &[u8], dst: Ipv4Addr) -> bool {
    // SAFETY: zeroed sockaddr_in is a valid value; the fields are filled below.
    let mut to: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    to.sin_family = libc::AF_INET as u16;
    to.sin_addr.s_addr = u32::from(dst).to_be();
    // SAFETY: `m` and `to` are live buffers of the sizes passed; the fd is valid.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            m.as_ptr().cast(),
            m.len(),
            0,
            (&to as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    n == m.len() as isize
}

/// `count` groups of set `set`: 239.(50+set).x.y, 250 to a /24 (y in 1..=250).
pub(crate) fn groups(set: usize, count: usize) -> Vec<Ipv4Addr> {
    (0..count)
        .map(|i| {
            let block = 50 + set + i / 62_500;
            let i = i % 62_500;
            Ipv4Addr::new(239, block as u8, (i / 250) as u8, (1 + i % 250) as u8)
        })
        .collect()
}
