//! Real kernel forwarding through the daemon: `mgm run -i ra -i rb -i rc` (the built-in protocol
//! `local` on every interface) routes multicast between three links, checked through the
//! operator contract (`mgm show mfe --json`, `mgm show protocols --json`, `mgm events --json`,
//! the `mgm` binary) and the kernel's own view (`ip -json mroute show`).
//!
//! Topology (see `common/forward.rs`): router `r` with link A 192.0.2.0/24 (the source host,
//! 192.0.2.10), link B 198.51.100.0/24 and link C 203.0.113.0/24, each a bridge LAN; hosts have
//! a default route via the router. The source sends UDP to 239.7.7.7 (TTL 8) every 10 ms. A
//! sniffer (AF_PACKET) on a host's interface counts the datagrams that reach its link whatever the
//! host joined. Short IGMP timers (LMQT 400 ms). The tests run one at a time: two of them
//! print a join's latency (no test asserts on time).
mod common;
#[path = "common/forward.rs"]
mod forward;

use forward::{first_after, mono_ns, ForwardLab, Sniffer, LMQT, SLACK, SOURCE};
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const G: &str = "239.7.7.7";
const GA: Ipv4Addr = Ipv4Addr::new(239, 7, 7, 7);
const PORT: u16 = 5007;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the stream: 3000 datagrams, one every 10 ms (30 s, longer than any test).
/// Returns the source host and the CLOCK_MONOTONIC time just before the send command.
fn start_stream(fl: &mut ForwardLab) -> (common::Host, u64) {
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    let t = mono_ns();
    s.cmd(&format!("send {G} {PORT} 3000 10"));
    (s, t)
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[test]
fn forwards_only_to_the_joined_link_and_stops_after_the_leave() {
    let _serial = serial();
    let mut fl = ForwardLab::new();
    let rcv = fl.add_host('b', "rcv", 10);
    let by = fl.add_host('c', "by", 10);
    let (ra, rb) = (fl.ra.clone(), fl.rb.clone());
    let mut r = fl.host(&rcv);
    let mut b = fl.host(&by);
    r.cmd(&format!("recv {PORT}"));
    b.cmd(&format!("recv {PORT}"));
    let sniff_b = Sniffer::start(&rcv.ns, &rcv.ifname, GA, PORT);
    let sniff_c = Sniffer::start(&by.ns, &by.ifname, GA, PORT);
    let t_start = Instant::now();

    r.cmd(&format!("join {G} {}", rcv.addr));
    fl.wait_for("IGMP learns the group on B", Duration::from_secs(5), || {
        fl.lab.group(fl.k, &rb, G).is_some()
    });
    let (_src, t_send) = start_stream(&mut fl);

    // The receiver on B gets the stream, from its first datagram on (the kernel holds it in the
    // unresolved queue while the daemon handles the NOCACHE upcall).
    fl.wait_for(
        "the receiver on B gets datagrams",
        Duration::from_secs(3),
        || r.received_count() > 0,
    );
    let first = first_after(&r.received.lock().unwrap(), t_send).unwrap();
    eprintln!("new source: send command -> first datagram at the receiver: {first:?}");

    // The kernel holds (S,G) with Iif A and Oifs B only.
    fl.wait_for(
        "ip mroute shows (S,G) with Iif A, Oifs B",
        Duration::from_secs(2),
        || {
            fl.kernel_mroute(G)
                .is_some_and(|m| m.iif == ra && m.oifs == vec![rb.clone()])
        },
    );
    let km = fl.kernel_mroute(G).unwrap();
    assert_eq!(km.state, "resolved", "{km:?}\n{}", fl.ip_mroute_text());

    // The daemon shows the same MFE, owned by `local`, with traffic counted.
    fl.wait_for(
        "mgm show mfe: (S,G) iif A, oifs [B], packets > 0",
        Duration::from_secs(3),
        || fl.mfe(G).is_some_and(|m| m.packets > 0),
    );
    let m = fl.mfe(G).unwrap();
    assert_eq!(m.iif, ra, "{m:?}");
    assert_eq!(m.oifs, vec![rb.clone()], "{m:?}");
    assert_eq!(m.protocol.as_deref(), Some("local"), "{m:?}");
    assert!(m.bytes >= m.packets, "{m:?}");
    assert_eq!(m.wrong_if, 0, "{m:?}");
    assert!(
        m.expires_in_ms.as_u64().is_some_and(|e| e > 0) || m.expires_in_ms.is_null(),
        "expires_in_ms should be a positive number (or null for never): {m:?}"
    );

    // A second of stream: the bystander on C sees none of it, on its socket or on the wire.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        sniff_b.count() > 50,
        "link B saw only {} datagrams in ~1 s",
        sniff_b.count()
    );
    assert_eq!(
        b.received_count(),
        0,
        "the bystander on C (not joined) received datagrams\n{}",
        fl.diagnostics()
    );
    assert_eq!(
        sniff_c.count(),
        0,
        "datagrams of {G} were forwarded onto link C, where nobody joined\n{}",
        fl.diagnostics()
    );

    // The events tell the story of the new source: rpf → creation_alert (B) → mfe_add.
    let ev = fl.events().all();
    let pos = |kind: &str, iface: Option<&str>| {
        ev.iter().position(|e| {
            e.kind() == kind
                && e.group() == G
                && e.source() == Some(SOURCE)
                && iface.is_none_or(|i| e.interface() == i)
        })
    };
    let rpf = pos("rpf", Some(&ra));
    // The creation alert goes to the owner of B (`local`); its event names the MFE's incoming
    // interface, as the MGM callback's arguments do.
    let creation = pos("creation_alert", None);
    let add = pos("mfe_add", None);
    assert!(
        rpf.is_some() && creation.is_some() && add.is_some(),
        "expected rpf (A), creation_alert and mfe_add for ({SOURCE},{G}) in mgm events: \
         rpf {rpf:?} creation_alert {creation:?} mfe_add {add:?}\n{}",
        fl.diagnostics()
    );
    assert!(
        rpf < creation && creation < add,
        "callback order: rpf {rpf:?} < creation_alert {creation:?} < mfe_add {add:?}\n{}",
        fl.diagnostics()
    );
    assert!(
        fl.events()
            .find(t_start, |e| e.kind() == "local_join"
                && e.interface() == rb
                && e.group() == G
                && e.source().is_none()
                && e.protocol() == "local")
            .is_some(),
        "no local_join (local, B, *, {G}) in mgm events\n{}",
        fl.diagnostics()
    );

    // The receiver leaves: local_leave within LMQT + slack, then the stream stops reaching B.
    let t_leave = Instant::now();
    r.cmd(&format!("leave {G}"));
    let took = fl.wait_for("local_leave (B, *, G) in mgm events", LMQT + SLACK, || {
        fl.events()
            .find(t_leave, |e| {
                e.kind() == "local_leave"
                    && e.interface() == rb
                    && e.group() == G
                    && e.source().is_none()
            })
            .is_some()
    });
    eprintln!("leave -> local_leave in mgm events: {took:?} (LMQT {LMQT:?})");
    fl.wait_for(
        "(S,G) left with no Oifs in the kernel and in mgm show mfe",
        Duration::from_millis(500),
        || {
            fl.kernel_mroute(G).is_some_and(|m| m.oifs.is_empty())
                && fl.mfe(G).is_some_and(|m| m.oifs.is_empty())
        },
    );
    std::thread::sleep(Duration::from_millis(100));
    let (n1, p1) = (sniff_b.count(), fl.mfe(G).map_or(0, |m| m.packets));
    std::thread::sleep(Duration::from_secs(1));
    let (n2, p2) = (sniff_b.count(), fl.mfe(G).map_or(0, |m| m.packets));
    assert!(
        p2 > p1 + 50,
        "the source stopped sending? MFE packets {p1} -> {p2}"
    );
    assert_eq!(
        n2,
        n1,
        "the stream still reaches link B after the leave ({} more datagrams in 1 s)\n{}",
        n2 - n1,
        fl.diagnostics()
    );
    assert_eq!(
        sniff_c.count(),
        0,
        "link C got datagrams\n{}",
        fl.diagnostics()
    );
}

/// The join command → first datagram on the receiver, printed: tests assert no time (the
/// router's part is measured by `benches/reaction.rs`, from kernel stamps).
fn measure_join(fl: &ForwardLab, h: &mut common::Host, addr: &str, iface: &str) -> Duration {
    let t_ev = Instant::now();
    let t0 = mono_ns();
    h.cmd(&format!("join {G} {addr}"));
    fl.wait_for(
        "the late receiver gets datagrams",
        Duration::from_secs(3),
        || h.received_count() > 0,
    );
    let times = h.received.lock().unwrap().clone();
    let lat = first_after(&times, t0).expect("a datagram after the join");
    // The daemon's local_join (time_ns is CLOCK_MONOTONIC, as the hosts' rx stamps).
    let report = fl
        .events()
        .find(t_ev, |e| {
            e.kind() == "local_join" && e.interface() == iface && e.group() == G
        })
        .and_then(|e| e.json["time_ns"].as_u64());
    match report.and_then(|r| times.iter().find(|&&t| t >= r).map(|t| t - r)) {
        Some(d) => eprintln!(
            "join command -> first datagram: {:.1} ms (local_join event -> first datagram {:.1} ms)",
            lat.as_secs_f64() * 1e3,
            d as f64 / 1e6
        ),
        None => eprintln!(
            "join command -> first datagram: {:.1} ms (no local_join with time_ns seen)",
            lat.as_secs_f64() * 1e3
        ),
    }
    lat
}

#[test]
fn second_receiver_joining_mid_stream_gets_packets() {
    let _serial = serial();
    let mut fl = ForwardLab::new();
    let first = fl.add_host('b', "rcv", 10);
    let late = fl.add_host('c', "late", 11);
    let (rb, rc) = (fl.rb.clone(), fl.rc.clone());
    let mut r1 = fl.host(&first);
    let mut r2 = fl.host(&late);
    r1.cmd(&format!("recv {PORT}"));
    r2.cmd(&format!("recv {PORT}"));
    r1.cmd(&format!("join {G} {}", first.addr));
    fl.wait_for("IGMP learns the group on B", Duration::from_secs(5), || {
        fl.lab.group(fl.k, &rb, G).is_some()
    });
    let _src = start_stream(&mut fl);
    fl.wait_for(
        "the first receiver gets the stream",
        Duration::from_secs(3),
        || r1.received_count() > 0,
    );
    fl.wait_for("MFE with Oifs [B]", Duration::from_secs(2), || {
        fl.mfe(G).is_some_and(|m| m.oifs == vec![rb.clone()])
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        r2.received_count(),
        0,
        "the second receiver got datagrams before joining"
    );

    let lat = measure_join(&fl, &mut r2, &late.addr, &rc);
    eprintln!("second receiver (new link C) joining mid-stream: {lat:?}");
    fl.wait_for("MFE Oifs {B, C}", Duration::from_secs(1), || {
        fl.mfe(G)
            .is_some_and(|m| sorted(&m.oifs) == sorted(&[rb.clone(), rc.clone()]))
            && fl
                .kernel_mroute(G)
                .is_some_and(|m| sorted(&m.oifs) == sorted(&[rb.clone(), rc.clone()]))
    });
    let n = r1.received_count();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        r1.received_count() > n,
        "the first receiver stopped receiving"
    );
}

#[test]
fn first_receiver_joining_an_unwanted_stream_gets_packets() {
    let _serial = serial();
    let mut fl = ForwardLab::new();
    let rcv = fl.add_host('b', "rcv", 10);
    let by = fl.add_host('c', "by", 10);
    let (ra, rb) = (fl.ra.clone(), fl.rb.clone());
    let mut r = fl.host(&rcv);
    r.cmd(&format!("recv {PORT}"));
    let sniff_b = Sniffer::start(&rcv.ns, &rcv.ifname, GA, PORT);
    let sniff_c = Sniffer::start(&by.ns, &by.ifname, GA, PORT);
    let _src = start_stream(&mut fl);

    // Nobody wants it: a negative entry (no Oifs) in the daemon and in the kernel, so the
    // kernel stops queueing the stream as unresolved.
    fl.wait_for(
        "a negative MFE (S,G) with Iif A and no Oifs",
        Duration::from_secs(3),
        || {
            fl.mfe(G).is_some_and(|m| m.iif == ra && m.oifs.is_empty())
                && fl
                    .kernel_mroute(G)
                    .is_some_and(|m| m.iif == ra && m.oifs.is_empty())
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sniff_b.count(),
        0,
        "datagrams reached B before anyone joined"
    );
    assert_eq!(sniff_c.count(), 0, "datagrams reached C");

    let lat = measure_join(&fl, &mut r, &rcv.addr, &rb);
    eprintln!("first receiver joining a negative entry mid-stream: {lat:?}");
    fl.wait_for("Oifs [B]", Duration::from_secs(1), || {
        fl.mfe(G).is_some_and(|m| m.oifs == vec![rb.clone()])
            && fl
                .kernel_mroute(G)
                .is_some_and(|m| m.oifs == vec![rb.clone()])
    });
    assert_eq!(
        sniff_c.count(),
        0,
        "datagrams reached C\n{}",
        fl.diagnostics()
    );
}

#[test]
fn local_owns_every_interface_and_shutdown_removes_what_it_made() {
    let _serial = serial();
    let mut fl = ForwardLab::new();
    let (ra, rb, rc) = (fl.ra.clone(), fl.rb.clone(), fl.rc.clone());
    let protocols = fl.protocols();
    let local = protocols
        .iter()
        .find(|p| p.name == "local")
        .unwrap_or_else(|| panic!("no protocol `local` in mgm show protocols: {protocols:?}"));
    assert_eq!(
        sorted(&local.interfaces),
        sorted(&[ra.clone(), rb.clone(), rc.clone()]),
        "{local:?}"
    );
    assert!(
        local.protocol_id.is_number() && local.component_id.is_number(),
        "{local:?}"
    );

    // Make an MFE, then stop the daemon: its MFEs and VIFs go, nothing else is left.
    let rcv = fl.add_host('b', "rcv", 10);
    let mut r = fl.host(&rcv);
    r.cmd(&format!("join {G} {}", rcv.addr));
    let _src = start_stream(&mut fl);
    fl.wait_for("(S,G) in the kernel", Duration::from_secs(3), || {
        fl.kernel_mroute(G).is_some()
    });
    let vifs = fl.lab.ns(&fl.router, &["cat", "/proc/net/ip_mr_vif"]);
    assert!(vifs.lines().count() >= 4, "three VIFs expected:\n{vifs}");
    let status = fl.lab.stop_mgm(fl.k);
    assert!(
        status.success(),
        "mgm run exited with {status}\n{}",
        fl.daemon_log()
    );
    let left = fl.lab.ns(&fl.router, &["ip", "mroute", "show"]);
    assert!(
        left.trim().is_empty(),
        "MFC entries left after shutdown:\n{left}"
    );
    let vifs = fl.lab.ns(&fl.router, &["cat", "/proc/net/ip_mr_vif"]);
    assert_eq!(vifs.lines().count(), 1, "VIFs left after shutdown:\n{vifs}");
}

/// Stops or resumes a process (the daemon), as a busy daemon would look to the kernel.
fn signal(pid: u32, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) takes plain integers; the pid is our own child, not yet reaped.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        r,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// A burst of new sources while the daemon is busy: each new (S,G) sends one NOCACHE upcall,
/// which waits in the mroute socket's receive buffer until the daemon reads it. An upcall the
/// buffer has no room for is dropped, and the kernel throws its unresolved entry out with it:
/// the stream's packets are lost until a later one finds room (here, one datagram per group:
/// never). The kernel's default buffer (`net.core.rmem_default`, 208 KiB) holds about 270.
#[test]
fn a_burst_of_new_sources_loses_no_upcall() {
    const BURST: usize = 1500;
    let _serial = serial();
    let mut fl = ForwardLab::new();
    // A receiver's reports reach the mroute socket too (a raw IGMP socket), refused by its
    // filter: not counted as dropped upcalls.
    let rcv = fl.add_host('b', "rcv", 10);
    let rb = fl.rb.clone();
    let mut r = fl.host(&rcv);
    r.cmd(&format!("join 239.8.0.1 {}", rcv.addr));
    fl.wait_for("IGMP learns the group on B", Duration::from_secs(5), || {
        fl.lab.group(fl.k, &rb, "239.8.0.1").is_some()
    });
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    let pid = fl.lab.daemon(fl.k).child.id();
    signal(pid, libc::SIGSTOP);
    s.cmd(&format!("sweep 239.8.0.1 {BURST} {PORT}"));
    signal(pid, libc::SIGCONT);
    fl.wait_for(
        "an MFE in the kernel for every new (S,G)",
        Duration::from_secs(8),
        || fl.kernel_mroutes().len() >= BURST,
    );
    let stats = forward::mgm_json(&fl.socket(), &["show", "stats", "--json"]);
    assert_eq!(
        stats["daemon_upcalls_dropped"].as_u64(),
        Some(0),
        "mgm show stats: {stats}"
    );
}
