//! The floor: the least a router that reacts to IGMP can do, run as a peer so that every figure
//! of the reaction and slow-path scenarios has the machine's own bound beside it. It is this
//! bench binary run again (`compare floor-router UP LAN SOURCE`): one mroute socket, two VIFs,
//! and a loop that blocks in `recv` (no epoll, no timers, no other input), reads each IGMPv2
//! report and calls `MRT_ADD_MFC` for (SOURCE, group) from UP to LAN. No state, no checks, no
//! queries, leaves ignored, the kernel's upcalls read and dropped. Whatever it costs (CPU per
//! report, report → MFC) no daemon woken by a report on this machine can beat; the gap to it is
//! the daemon's own work.
#![allow(dead_code)]

use crate::procs::NsDaemon;
use crate::traffic::{raw_igmp_socket, try_setsockopt_ip};
use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

/// The first argument that makes the bench binary run as the floor router.
pub(crate) const ARG: &str = "floor-router";

pub(crate) struct FloorRouter {
    daemon: NsDaemon,
}

impl FloorRouter {
    /// Starts the floor router in `ns` between `up` and `lan`, adding (source, G) for each
    /// report; returns once its VIFs are in the kernel (10 s at most).
    pub(crate) fn start(
        ns: &str,
        dir: &Path,
        tag: &str,
        (up, lan): (&str, &str),
        source: Ipv4Addr,
    ) -> FloorRouter {
        let exe = std::env::current_exe().expect("the bench binary's path");
        let log = dir.join(format!("{tag}.log"));
        let args: Vec<OsString> = [ARG, up, lan, &source.to_string()].map(Into::into).into();
        let ready = |pid: u32| {
            let vifs =
                std::fs::read_to_string(format!("/proc/{pid}/net/ip_mr_vif")).unwrap_or_default();
            vifs.contains(up) && vifs.contains(lan)
        };
        let daemon = NsDaemon::start(
            ns,
            &exe.to_string_lossy(),
            args,
            log,
            Duration::from_secs(10),
            ready,
        );
        FloorRouter { daemon }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    pub(crate) fn log(&self) -> String {
        self.daemon.log()
    }

    /// The (S,G) entries it made: resolved entries of the kernel's MFC in its namespace.
    pub(crate) fn entries(&self) -> u64 {
        let cache = std::fs::read_to_string(format!("/proc/{}/net/ip_mr_cache", self.pid()))
            .unwrap_or_default();
        // Lines after the header; an entry with outgoing interfaces lists them as "vif:ttl".
        cache.lines().skip(1).filter(|l| l.contains(':')).count() as u64
    }
}

const MRT_INIT: libc::c_int = 200;
const MRT_ADD_VIF: libc::c_int = 202;
const MRT_ADD_MFC: libc::c_int = 204;
const VIFF_USE_IFINDEX: u8 = 0x8;
const IGMPV2_REPORT: u8 = 0x16;

/// `struct vifctl` with the ifindex member of its union.
#[repr(C)]
struct VifCtl {
    vifi: u16,
    flags: u8,
    threshold: u8,
    rate_limit: u32,
    ifindex: i32,
    remote: u32,
}

/// `struct mfcctl`.
#[repr(C)]
struct MfcCtl {
    origin: [u8; 4],
    group: [u8; 4],
    parent: u16,
    ttls: [u8; 32],
    pkt_cnt: u32,
    byte_cnt: u32,
    wrong_if: u32,
    expire: i32,
}

fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).expect("interface name");
    // SAFETY: a NUL-terminated name that lives for the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert!(i != 0, "no interface {name}");
    i
}

/// The floor router's process: `args` are UP LAN SOURCE. Runs until killed.
pub(crate) fn run(args: &[String]) -> ! {
    let [up, lan, source] = args else {
        panic!("usage: compare {ARG} UP LAN SOURCE");
    };
    let source: Ipv4Addr = source.parse().expect("SOURCE address");
    let sock = raw_igmp_socket();
    try_setsockopt_ip(&sock, MRT_INIT, &1i32).expect("MRT_INIT");
    for (vif, name) in [up, lan].into_iter().enumerate() {
        let ctl = VifCtl {
            vifi: vif as u16,
            flags: VIFF_USE_IFINDEX,
            threshold: 1,
            rate_limit: 0,
            ifindex: ifindex(name) as i32,
            remote: 0,
        };
        try_setsockopt_ip(&sock, MRT_ADD_VIF, &ctl).expect("MRT_ADD_VIF");
    }
    let mut buf = [0u8; 2048];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let Ok(n) = usize::try_from(n) else { continue };
        // An upcall carries protocol 0 in its IP header; a report is an IGMP message after it.
        if n < 20 || buf[9] != libc::IPPROTO_IGMP as u8 {
            continue;
        }
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        let Some(igmp) = buf.get(ihl..n) else {
            continue;
        };
        if igmp.len() < 8 || igmp[0] != IGMPV2_REPORT {
            continue;
        }
        let mut ttls = [0u8; 32];
        ttls[1] = 1;
        let mfc = MfcCtl {
            origin: source.octets(),
            group: [igmp[4], igmp[5], igmp[6], igmp[7]],
            parent: 0,
            ttls,
            pkt_cnt: 0,
            byte_cnt: 0,
            wrong_if: 0,
            expire: 0,
        };
        if let Err(e) = try_setsockopt_ip(&sock, MRT_ADD_MFC, &mfc) {
            eprintln!("MRT_ADD_MFC: {e}");
        }
    }
}
