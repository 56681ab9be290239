//! A route towards a source that moves while its stream runs: the MFE must follow the route
//! (WRONGVIF → RPF again → entry rebuilt on the new incoming interface), not keep dropping the
//! stream as wrong-interface traffic until the source stops.
mod common;

use common::{Lab, FAST};
use mgm_user::control::{api::Request, client};
use std::time::Duration;

const G: &str = "239.6.6.6";
const SRC: &str = "192.0.2.50";

fn mfe_iif(lab: &Lab, k: usize) -> Option<String> {
    let v: serde_json::Value = client::request(&lab.daemon(k).socket, Request::ShowMfe).ok()?;
    v.as_array()?
        .iter()
        .find(|m| m["source"] == SRC && m["group"] == G)
        .and_then(|m| m["iif"].as_str().map(str::to_string))
}

#[test]
fn stream_follows_a_moved_route() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let a = lab.netns("a");
    let b = lab.netns("b");
    let c = lab.netns("c");
    let (ra, _) = lab.link((&r, "ra", "192.0.2.1/24"), (&a, "ha", "192.0.2.50/24"));
    let (rb, hb) = lab.link((&r, "rb", "198.51.100.1/24"), (&b, "hb", "198.51.100.2/24"));
    let (rc, _) = lab.link((&r, "rc", "203.0.113.1/24"), (&c, "hc", "203.0.113.2/24"));
    // Host b can send as the same source address (the source moved behind another link).
    lab.ns(&b, &["ip", "addr", "add", "192.0.2.50/32", "dev", &hb]);
    lab.ns(&a, &["ip", "route", "add", "default", "via", "192.0.2.1"]);
    lab.ns(
        &b,
        &["ip", "route", "add", "default", "via", "198.51.100.1"],
    );
    lab.ns(&c, &["ip", "route", "add", "default", "via", "203.0.113.1"]);
    lab.ns(&r, &["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"]);
    for i in [&ra, &rb, &rc] {
        lab.ns(
            &r,
            &["sysctl", "-qw", &format!("net.ipv4.conf.{i}.rp_filter=0")],
        );
    }
    let k = lab.start_mgm(&r, &[&ra, &rb, &rc], FAST);

    let mut receiver = lab.host(&c);
    receiver.cmd("recv 5000");
    receiver.cmd(&format!("join {G} 203.0.113.2"));
    lab.wait_for("receiver joined", Duration::from_secs(5), || {
        lab.group(k, &rc, G).is_some()
    });

    let mut via_a = lab.host(&a);
    via_a.cmd(&format!("ifaddr {SRC}"));
    via_a.cmd(&format!("srcaddr {SRC}"));
    via_a.cmd(&format!("send {G} 5000 20 20"));
    lab.wait_for(
        "stream via ra reaches the receiver",
        Duration::from_secs(5),
        || receiver.received_count() >= 10,
    );
    assert_eq!(mfe_iif(&lab, k).as_deref(), Some(ra.as_str()));
    std::thread::sleep(Duration::from_millis(500)); // the first stream is over
    let before = receiver.received_count();

    // The route towards the source moves to rb, and the stream now arrives there.
    lab.ns(
        &r,
        &[
            "ip",
            "route",
            "add",
            &format!("{SRC}/32"),
            "via",
            "198.51.100.2",
            "dev",
            &rb,
        ],
    );
    let mut via_b = lab.host(&b);
    via_b.cmd("ifaddr 198.51.100.2");
    via_b.cmd(&format!("srcaddr {SRC}"));
    via_b.cmd(&format!("send {G} 5000 100 20"));
    let took = lab.wait_for(
        "stream via rb reaches the receiver",
        Duration::from_secs(4),
        || receiver.received_count() >= before + 10,
    );
    assert_eq!(
        mfe_iif(&lab, k).as_deref(),
        Some(rb.as_str()),
        "MFE still on the old interface"
    );
    eprintln!("route moved -> stream back at the receiver in {took:?}");
    // The WRONGVIFs the kernel queued while the entry still had the old incoming interface
    // are not the kernel's MFC out of step with mgm's.
    let stats: serde_json::Value =
        client::request(&lab.daemon(k).socket, Request::ShowStats).expect("mgm show stats");
    assert_eq!(
        stats["mfc_desyncs"].as_u64(),
        Some(0),
        "a route move counted as a desync\n{}",
        lab.daemon_log(k)
    );
}

#[test]
fn stream_that_started_before_its_route_is_forwarded_once_the_route_exists() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let a = lab.netns("a");
    let c = lab.netns("c");
    let (ra, ha) = lab.link((&r, "ra", "192.0.2.1/24"), (&a, "ha", "192.0.2.50/24"));
    let (rc, _) = lab.link((&r, "rc", "203.0.113.1/24"), (&c, "hc", "203.0.113.2/24"));
    // The source sends from an address the router has no route to (yet).
    let late = "198.51.100.77";
    lab.ns(
        &a,
        &["ip", "addr", "add", &format!("{late}/32"), "dev", &ha],
    );
    lab.ns(&a, &["ip", "route", "add", "default", "via", "192.0.2.1"]);
    lab.ns(&c, &["ip", "route", "add", "default", "via", "203.0.113.1"]);
    lab.ns(&r, &["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"]);
    for i in [&ra, &rc] {
        lab.ns(
            &r,
            &["sysctl", "-qw", &format!("net.ipv4.conf.{i}.rp_filter=0")],
        );
    }
    let k = lab.start_mgm(&r, &[&ra, &rc], FAST);
    let mut receiver = lab.host(&c);
    receiver.cmd("recv 5000");
    receiver.cmd(&format!("join {G} 203.0.113.2"));
    lab.wait_for("receiver joined", Duration::from_secs(5), || {
        lab.group(k, &rc, G).is_some()
    });

    let mut source = lab.host(&a);
    source.cmd("ifaddr 192.0.2.50");
    source.cmd(&format!("srcaddr {late}"));
    source.cmd(&format!("send {G} 5000 150 200")); // 30 s of stream
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        receiver.received_count(),
        0,
        "forwarded without a route towards the source"
    );
    // Now the route appears: within the negative entry's short life the stream gets through.
    lab.ns(
        &r,
        &[
            "ip",
            "route",
            "add",
            &format!("{late}/32"),
            "via",
            "192.0.2.50",
            "dev",
            &ra,
        ],
    );
    let bound = Duration::from_secs(u64::from(mgm_user::manager::REJECTED_MFE_TIMEOUT_S) + 3);
    let took = lab.wait_for("stream forwarded after the route appeared", bound, || {
        receiver.received_count() >= 3
    });
    eprintln!("route appeared -> stream at the receiver in {took:?}");
}
