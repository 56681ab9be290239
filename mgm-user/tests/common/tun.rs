//! tun devices for the tests: links without an Ethernet header (`ARPHRD_NONE`, as WireGuard and
//! PPP links are), made in a network namespace, and a relay that joins two of them into one
//! point-to-point IPv4 link between two namespaces (what the test process reads from one device
//! it writes into the other, both ways). A device lives as long as its file descriptor: dropping
//! the [`Tun`] deletes it. [`Capture`] records the IPv4 packets seen on an interface.
#![allow(dead_code)]

#[path = "packet.rs"]
mod packet;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

/// One tun device (IPv4 packets, no packet information header).
pub(crate) struct Tun {
    fd: OwnedFd,
    pub(crate) name: String,
}

impl Tun {
    /// Creates tun device `name` in namespace `netns` (a name under /run/netns). The device is
    /// down and has no address; it goes away when the `Tun` is dropped.
    pub(crate) fn create(netns: &str, name: &str) -> Tun {
        let path = format!("/run/netns/{netns}");
        let name = name.to_string();
        std::thread::scope(|s| {
            s.spawn(|| {
                // The device is made in the namespace of whoever opens /dev/net/tun.
                let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                Tun::open_here(&name)
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// Creates tun device `name` in the calling thread's namespace.
    pub(crate) fn open_here(name: &str) -> Tun {
        assert!(
            name.len() < libc::IFNAMSIZ,
            "interface name too long: {name}"
        );
        // SAFETY: open(2) of a constant, NUL-terminated path.
        let raw = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        assert!(
            raw >= 0,
            "open /dev/net/tun: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero ifreq is valid; the name (shorter than IFNAMSIZ) and the flags
        // are filled in below.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
            *dst = src as libc::c_char;
        }
        ifr.ifr_ifru.ifru_flags = IFF_TUN | IFF_NO_PI;
        // SAFETY: TUNSETIFF reads and writes one ifreq, which `ifr` is.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut ifr) };
        assert!(
            rc == 0,
            "TUNSETIFF {name}: {}",
            std::io::Error::last_os_error()
        );
        Tun {
            fd,
            name: name.to_string(),
        }
    }

    /// Hands one IPv4 packet to the kernel as received on the device.
    pub(crate) fn inject(&self, packet: &[u8]) {
        // SAFETY: `packet` is valid for its length; the fd is open.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), packet.as_ptr().cast(), packet.len()) };
        assert_eq!(
            n,
            packet.len() as isize,
            "write to {}: {}",
            self.name,
            std::io::Error::last_os_error()
        );
    }
}

/// Joins two tun devices into one link: every packet the kernel sends out of one is received
/// on the other. Keeps the IPv4 packets that went each way, for the test to look at. Stops
/// (and closes both devices, deleting them) on drop.
pub(crate) struct Relay {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Packets carried from `a` to `b`, and from `b` to `a`.
    pub(crate) a_to_b: Arc<Mutex<Vec<Vec<u8>>>>,
    pub(crate) b_to_a: Arc<Mutex<Vec<Vec<u8>>>>,
    carried: Arc<AtomicUsize>,
}

impl Relay {
    pub(crate) fn start(a: Tun, b: Tun) -> Relay {
        let stop = Arc::new(AtomicBool::new(false));
        let a_to_b = Arc::new(Mutex::new(Vec::new()));
        let b_to_a = Arc::new(Mutex::new(Vec::new()));
        let carried = Arc::new(AtomicUsize::new(0));
        let (s, ab, ba, c) = (
            stop.clone(),
            a_to_b.clone(),
            b_to_a.clone(),
            carried.clone(),
        );
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::Relaxed) {
                let mut fds = [
                    libc::pollfd {
                        fd: a.fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    },
                    libc::pollfd {
                        fd: b.fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    },
                ];
                // SAFETY: `fds` is a valid array of two pollfd.
                let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, 50) };
                if n <= 0 {
                    continue;
                }
                for (i, (from, to, log)) in [(&a, &b, &ab), (&b, &a, &ba)].into_iter().enumerate() {
                    if fds[i].revents & libc::POLLIN == 0 {
                        continue;
                    }
                    // SAFETY: `buf` is writable for its length; the fd is open.
                    let n = unsafe {
                        libc::read(from.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                    };
                    if n <= 0 {
                        continue;
                    }
                    let packet = &buf[..n as usize];
                    // A device that is down refuses the write (EIO): the packet is lost, as on
                    // a link whose far end is not up yet.
                    // SAFETY: `packet` is valid for its length; the fd is open.
                    let _ = unsafe {
                        libc::write(to.fd.as_raw_fd(), packet.as_ptr().cast(), packet.len())
                    };
                    log.lock().unwrap().push(packet.to_vec());
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Relay {
            stop,
            thread: Some(thread),
            a_to_b,
            b_to_a,
            carried,
        }
    }

    /// Packets carried so far, both ways.
    pub(crate) fn carried(&self) -> usize {
        self.carried.load(Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The IGMP message of an IPv4 packet, if it is one.
pub(crate) fn igmp_of(packet: &[u8]) -> Option<&[u8]> {
    if packet.len() < 20 || packet[0] >> 4 != 4 || packet[9] != 2 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    packet.get(ihl..)
}

/// Captures the packets that arrive on or leave an interface in a namespace: an AF_PACKET
/// socket (SOCK_DGRAM, so packets start at the network header on any kind of link; all
/// protocols, since only those taps see outgoing packets) bound to the interface, read on a
/// thread that entered the namespace. Stops on drop.
pub(crate) struct Capture {
    packets: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    pub(crate) fn start(netns: &str, ifname: &str) -> Capture {
        let packets = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let path = format!("/run/netns/{netns}");
        let dev = ifname.to_string();
        let (p, s) = (packets.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let fd = match packet::open_packet_socket(&path, &dev, libc::ETH_P_ALL as u16) {
                Ok(fd) => {
                    let _ = ready_tx.send(Ok(()));
                    fd
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::Relaxed) {
                // SAFETY: `buf` is writable for its length; the fd is open.
                let n =
                    unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n > 0 {
                    p.lock().unwrap().push(buf[..n as usize].to_vec());
                }
            }
        });
        match ready_rx.recv_timeout(std::time::Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("capture on {ifname} in {netns}: {e}"),
            Err(_) => panic!("capture on {ifname} in {netns} did not start"),
        }
        Capture {
            packets,
            stop,
            thread: Some(thread),
        }
    }

    /// The IGMP messages captured so far (type first), in order.
    pub(crate) fn igmp(&self) -> Vec<Vec<u8>> {
        self.packets
            .lock()
            .unwrap()
            .iter()
            .filter_map(|p| igmp_of(p).map(<[u8]>::to_vec))
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
