//! The ipmr shell against the real kernel, in throwaway network namespaces.
//!
//! Topology: namespace `host` (h1 192.0.2.2/24) ─veth─ namespace `router` (r1 192.0.2.1/24,
//! d2 198.51.100.1/24) ─veth─ `host` (h2, no address: the receiving link). The router runs an [`MrouteSocket`] driven by the manager with
//! the built-in `local` protocol and an IGMP client; the host sends UDP to 239.1.2.3.
//!
//! Needs root (CAP_NET_ADMIN): without it these tests fail, they do not skip. Namespaces are
//! removed by a guard, also when a test fails.
use mgm_user::daemon::forwarding::{dispatch_upcall, sync};
use mgm_user::manager::igmp_bridge::{IgmpBridge, IgmpNotices};
use mgm_user::manager::local::register_local;
use mgm_user::manager::{
    ClientKind, ComponentId, EventKind, IfKey, Manager, MembershipFlags, Sg, IGMP_PROTOCOL_ID,
};
use mgm_user::sys::fib::FibRpf;
use mgm_user::sys::mroute::MrouteSocket;
use mgm_user::sys::upcall::UpcallKind;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const GRP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the ipmr tests need root (CAP_NET_ADMIN) to create network namespaces and to become \
         the kernel's multicast router; run them as root"
    );
}

/// A named network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "mgm-ipmr-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        run(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }
    fn ip(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        run(&v)
    }
    /// Runs `f` on a thread inside the namespace.
    fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                setns(file, CloneFlags::CLONE_NEWNET).expect("setns into the test namespace");
                f()
            })
            .join()
            .expect("namespace thread panicked")
        })
    }
    fn proc_net(&self, file: &str) -> String {
        let p = format!("/proc/thread-self/net/{file}");
        self.enter(|| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {p}: {e}")))
    }
    fn ifindex(&self, name: &str) -> u32 {
        self.enter(|| nix::net::if_::if_nametoindex(name).expect("if_nametoindex"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// router and host namespaces, wired as in the module doc.
fn lab() -> (Netns, Netns) {
    let router = Netns::new("r");
    let host = Netns::new("h");
    router.ip(&[
        "link", "add", "r1", "type", "veth", "peer", "name", "h1", "netns", &host.name,
    ]);
    router.ip(&["addr", "add", "192.0.2.1/24", "dev", "r1"]);
    router.ip(&["link", "set", "r1", "up"]);
    router.ip(&[
        "link", "add", "d2", "type", "veth", "peer", "name", "h2", "netns", &host.name,
    ]);
    router.ip(&["link", "set", "d2", "up"]);
    router.ip(&["addr", "add", "198.51.100.1/24", "dev", "d2"]);
    host.ip(&["link", "set", "h2", "up"]);
    host.ip(&["addr", "add", "192.0.2.2/24", "dev", "h1"]);
    host.ip(&["link", "set", "h1", "up"]);
    host.ip(&["route", "add", "224.0.0.0/4", "dev", "h1"]);
    (router, host)
}

fn send(host: &Netns, n: usize) {
    send_via(host, n, None)
}

/// Sends from SRC; `via` forces the link (SO_BINDTODEVICE), else the source address picks h1.
fn send_via(host: &Netns, n: usize, via: Option<&str>) {
    host.enter(|| {
        let s = UdpSocket::bind((SRC, 0)).expect("bind UDP in host");
        if let Some(dev) = via {
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::BindToDevice, &dev.into())
                .expect("SO_BINDTODEVICE");
        }
        s.set_multicast_ttl_v4(8).unwrap();
        for _ in 0..n {
            s.send_to(b"mgm ipmr test", (GRP, 5000))
                .expect("send multicast");
        }
    });
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tx_packets(ns: &Netns, dev: &str) -> u64 {
    let dev_file = ns.proc_net("dev");
    let line = dev_file
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{dev}:")))
        .unwrap_or_else(|| panic!("{dev} not in /proc/net/dev"));
    let f: Vec<&str> = line.split(':').nth(1).unwrap().split_whitespace().collect();
    f[9].parse().unwrap()
}

fn now() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap()
}

#[test]
fn manager_drives_the_kernel_mfc() {
    require_root();
    let (router, host) = lab();
    let r1 = router.ifindex("r1");
    let d2 = router.ifindex("d2");
    let (mut sock, fib) = router.enter(|| {
        (
            MrouteSocket::open(None).expect("open mroute socket"),
            FibRpf::new().expect("open rtnetlink"),
        )
    });

    let mut mgr = Manager::new(Box::new(fib));
    let local = register_local(&mut mgr).unwrap();
    let notices = IgmpNotices::new();
    let igmp = mgr
        .register(
            "igmp",
            ClientKind::Igmp,
            IGMP_PROTOCOL_ID,
            ComponentId(0),
            Box::new(IgmpBridge::new(notices.clone())),
        )
        .unwrap();
    for i in [r1, d2] {
        mgr.take_interface_ownership(now(), local, IfKey::new(i))
            .unwrap();
        mgr.take_interface_ownership(now(), igmp, IfKey::new(i))
            .unwrap();
    }
    let errs = sync(&mut mgr, &mut sock);
    assert!(errs.is_empty(), "{errs:?}");
    let vifs = router.proc_net("ip_mr_vif");
    assert!(vifs.contains("r1") && vifs.contains("d2"), "{vifs}");

    // The first packet: a NOCACHE upcall from the VIF of r1.
    send(&host, 1);
    let mut buf = [0u8; 2048];
    let (up, n) = wait_for("the NOCACHE upcall", || sock.recv_upcall(&mut buf).unwrap());
    assert_eq!(up.kind, UpcallKind::NoCache);
    assert_eq!((up.source, up.group), (SRC, GRP));
    assert_eq!(sock.ifindex_of(up.vif), Some(r1));
    let header = buf[..n].to_vec();
    dispatch_upcall(&mut mgr, &sock, &up, &header, now()).unwrap();
    let errs = sync(&mut mgr, &mut sock);
    assert!(errs.is_empty(), "{errs:?}");
    // Nobody joined: a negative entry (RPF through the FIB found r1).
    let mfe = mgr.mfe(now(), SRC, GRP).unwrap();
    assert_eq!((mfe.iif, mfe.oifs.len()), (IfKey::new(r1), 0));
    let cache = router.proc_net("ip_mr_cache");
    let grp_hex = format!("{:08X}", u32::from_ne_bytes(GRP.octets()));
    assert!(cache.contains(&grp_hex), "{cache}");

    // A receiver appears on d2: IGMP → local join → local's membership → OIL d2 at once.
    mgr.add_membership(
        now(),
        igmp,
        Sg::star_g(GRP),
        IfKey::new(d2),
        MembershipFlags::JOIN_STATE,
    )
    .unwrap();
    let errs = sync(&mut mgr, &mut sock);
    assert!(errs.is_empty(), "{errs:?}");
    let kinds: Vec<EventKind> = mgr.take_events().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::LocalJoin) && kinds.contains(&EventKind::MfeUpdate));
    let shown = router.ip(&["mroute", "show"]);
    assert!(
        shown.contains("(192.0.2.2,239.1.2.3)") || shown.contains("(192.0.2.2, 239.1.2.3)"),
        "{shown}"
    );
    assert!(
        shown.contains("Iif: r1") && shown.contains("Oifs: d2"),
        "{shown}"
    );

    // Traffic is forwarded out of d2 and counted.
    let before = tx_packets(&router, "d2");
    send(&host, 5);
    let c = wait_for("the MFC counters", || {
        let c = sock.counters(SRC, GRP).unwrap();
        (c.packets >= 5).then_some(c)
    });
    assert!(c.bytes > 0);
    let after = tx_packets(&router, "d2");
    assert!(after >= before + 5, "d2 tx {before} → {after}");
    mgr.on_traffic(now(), SRC, GRP, c).unwrap();
    assert_eq!(mgr.mfe(now(), SRC, GRP).unwrap().packets, c.packets);

    // (S,G) arriving on d2, an OIL interface: the kernel drops it, counts wrong_if and sends
    // WRONGVIF (MRT_ASSERT); the manager hands it to the owner of d2.
    run(&[
        "ip",
        "netns",
        "exec",
        &router.name,
        "sysctl",
        "-qw",
        "net.ipv4.conf.all.rp_filter=0",
    ]);
    run(&[
        "ip",
        "netns",
        "exec",
        &router.name,
        "sysctl",
        "-qw",
        "net.ipv4.conf.d2.rp_filter=0",
    ]);
    send_via(&host, 1, Some("h2"));
    let (up, n) = wait_for("the WRONGVIF upcall", || {
        sock.recv_upcall(&mut buf).unwrap()
    });
    assert_eq!(up.kind, UpcallKind::WrongVif);
    assert_eq!(
        (up.source, up.group, sock.ifindex_of(up.vif)),
        (SRC, GRP, Some(d2))
    );
    let header = buf[..n].to_vec();
    dispatch_upcall(&mut mgr, &sock, &up, &header, now()).unwrap();
    let ev: Vec<_> = mgr.take_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (ev[0].kind, &*ev[0].protocol, ev[0].interface),
        (EventKind::WrongInterface, "local", Some(IfKey::new(d2)))
    );
    let c = wait_for("the wrong_if counter", || {
        let c = sock.counters(SRC, GRP).unwrap();
        (c.wrong_if >= 1).then_some(c)
    });
    assert!(c.wrong_if >= 1);

    // Leave: back to a negative entry.
    mgr.delete_membership(
        now(),
        igmp,
        Sg::star_g(GRP),
        IfKey::new(d2),
        MembershipFlags::JOIN_STATE,
    )
    .unwrap();
    let errs = sync(&mut mgr, &mut sock);
    assert!(errs.is_empty(), "{errs:?}");
    let shown = router.ip(&["mroute", "show"]);
    assert!(!shown.contains("Oifs: d2"), "{shown}");

    // Shutdown removes our MFC entries and VIFs, then MRT_DONE.
    sock.close().expect("cleanup");
    let cache = router.proc_net("ip_mr_cache");
    assert!(!cache.contains(&grp_hex), "{cache}");
    let vifs = router.proc_net("ip_mr_vif");
    assert!(!vifs.contains("r1") && !vifs.contains("d2"), "{vifs}");
    drop(host);
    drop(router);
}

#[test]
fn one_controller_per_table_and_igmp_is_filtered() {
    require_root();
    let (router, host) = lab();
    let r1 = router.ifindex("r1");
    let (mut sock, second) = router.enter(|| {
        let a = MrouteSocket::open(None).expect("open mroute socket");
        let b = MrouteSocket::open(None);
        (a, b)
    });
    let err = format!("{:#}", second.expect_err("a second MRT_INIT must fail"));
    assert!(
        err.contains("MRT_INIT") && err.contains("already controls"),
        "{err}"
    );
    sock.add_vif(0, r1).unwrap();
    // The host joins a group: its IGMP reports reach the raw IGMP socket (v2: sent to the
    // routable group, which ipmr hands to the mroute socket; v3: to 224.0.0.22, which the
    // router has joined here as pimd does). The filter keeps them out.
    run(&[
        "ip",
        "netns",
        "exec",
        &host.name,
        "sysctl",
        "-qw",
        "net.ipv4.conf.h1.force_igmp_version=2",
    ]);
    let _v3_listener = router.enter(|| {
        let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        s.join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 22), &Ipv4Addr::new(192, 0, 2, 1))
            .unwrap();
        s
    });
    host.enter(|| {
        let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 5001)).unwrap();
        s.join_multicast_v4(&Ipv4Addr::new(239, 9, 9, 9), &SRC)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    let mut buf = [0u8; 2048];
    assert_eq!(
        sock.recv_raw(&mut buf).unwrap(),
        None,
        "an IGMP packet got through"
    );
    // While an upcall does.
    sock.add_vif(1, router.ifindex("d2")).unwrap();
    send(&host, 1);
    let n = wait_for("the NOCACHE upcall", || sock.recv_raw(&mut buf).unwrap());
    assert_eq!(buf[9], 0, "upcalls have IP protocol 0");
    assert!(n >= 20, "short upcall: {n} bytes");
    // A VIF beyond MAXVIFS is refused with the limit named.
    let e = format!("{:#}", sock.add_vif(32, r1).unwrap_err());
    assert!(e.contains("32") && e.contains("MAXVIFS"), "{e}");
    // A table, when the kernel has multiple-table support.
    let t = router.enter(|| MrouteSocket::open(Some(100)));
    match t {
        Ok(t) => t.close().unwrap(),
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains("MRT_TABLE"), "{e}");
        }
    }
    sock.close().unwrap();
}

#[test]
fn counters_by_incoming_interface_keep_what_moved_and_deleted_entries_counted() {
    require_root();
    let (router, host) = lab();
    let (r1, d2) = (router.ifindex("r1"), router.ifindex("d2"));
    let mut sock = router.enter(|| MrouteSocket::open(None).expect("open mroute socket"));
    sock.add_vif(0, r1).unwrap();
    sock.add_vif(1, d2).unwrap();
    let by_iif = |sock: &MrouteSocket, ifindex: u32| {
        sock.counters_by_iif()
            .get(&ifindex)
            .copied()
            .unwrap_or_default()
    };
    sock.set_mfc(SRC, GRP, r1, &[d2]).unwrap();
    assert_eq!(sock.mfc_count(), 1);
    send(&host, 5);
    wait_for("5 packets on r1", || {
        (by_iif(&sock, r1).packets == 5).then_some(())
    });
    assert_eq!(by_iif(&sock, r1).forwarded(), 5);
    assert!(by_iif(&sock, r1).bytes >= 5 * 28);
    // Updated in place (another OIL): the counts stay.
    sock.set_mfc(SRC, GRP, r1, &[]).unwrap();
    assert_eq!(by_iif(&sock, r1).packets, 5);
    // The route moves: the entry now expects d2. What it counted on r1 stays r1's; packets
    // still coming on r1 are wrong-interface packets of d2's entry.
    sock.set_mfc(SRC, GRP, d2, &[r1]).unwrap();
    send(&host, 3);
    wait_for("3 wrong-interface packets", || {
        (by_iif(&sock, d2).wrong_if == 3).then_some(())
    });
    assert_eq!(by_iif(&sock, r1).packets, 5, "r1 keeps its count");
    assert_eq!(by_iif(&sock, d2).forwarded(), 0);
    send_via(&host, 2, Some("h2"));
    wait_for("2 packets on d2", || {
        (by_iif(&sock, d2).forwarded() == 2).then_some(())
    });
    // Deleted: nothing is lost.
    let before = sock.counters_by_iif();
    sock.del_mfc(SRC, GRP).unwrap();
    assert_eq!(sock.mfc_count(), 0);
    assert_eq!(sock.counters_by_iif(), before);
    assert_eq!(by_iif(&sock, d2).packets, 5);
    // The counts of an interface that goes are handed over.
    assert_eq!(sock.take_retired(r1).map(|c| c.packets), Some(5));
    assert_eq!(by_iif(&sock, r1).packets, 0);
    sock.close().unwrap();
}
