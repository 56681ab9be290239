//! A restart keeps forwarding: memberships re-adopted from the pinned maps feed the manager, so a
//! stream reaches a link whose only member cannot report again (it is silent; only the pinned
//! state knows about it). Without re-adoption the link would get nothing until a report.
mod common;
#[path = "common/forward.rs"]
mod forward;

use common::Lab;
use forward::Sniffer;
use std::net::Ipv4Addr;
use std::time::Duration;

const G: &str = "239.7.1.1";
/// Slow queries (GMI 21 s): the re-adopted membership must not age out during the test.
const SLOW: &[&str] = &["--query-interval", "10s", "--query-response-interval", "1s"];

#[test]
fn forwarding_resumes_after_a_restart_from_pinned_memberships() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let src = lab.netns("src");
    let lan = lab.lan("lan");
    let rx = lab.netns("rx");
    let (ra, _) = lab.link((&r, "ra", "192.0.2.1/24"), (&src, "sa", "192.0.2.10/24"));
    let rb = lab.lan_port(&lan, (&r, "rb", "198.51.100.1/24"));
    let hb = lab.lan_port(&lan, (&rx, "hb", "198.51.100.10/24"));
    lab.ns(&src, &["ip", "route", "add", "default", "via", "192.0.2.1"]);
    let k = lab.start_mgm(&r, &[&ra, &rb], SLOW);
    let pins = lab.daemon(k).pin_dir.clone();

    // The member joins, then goes silent: its leave never reaches the router, and afterwards it
    // holds no membership, so it will answer no query.
    let mut member = lab.host(&rx);
    member.cmd(&format!("join {G} 198.51.100.10"));
    lab.wait_for("membership learned", Duration::from_secs(5), || {
        lab.group(k, &rb, G).is_some()
    });
    lab.disconnect(&lan, "hb");
    member.cmd(&format!("leave {G}"));
    std::thread::sleep(Duration::from_millis(200));
    lab.ns(
        &lan,
        &[
            "ip",
            "link",
            "set",
            &format!("phb{}", lab.id),
            "master",
            "br0",
        ],
    );

    assert!(lab.stop_mgm(k).success());
    let k2 = lab.start_mgm_pinned(&r, &[&ra, &rb], SLOW, pins);
    assert!(lab.group(k2, &rb, G).is_some(), "membership not re-adopted");

    let sniffer = Sniffer::start(&rx, &hb, G.parse::<Ipv4Addr>().unwrap(), 5000);
    let mut source = lab.host(&src);
    source.cmd("ifaddr 192.0.2.10");
    source.cmd(&format!("send {G} 5000 40 25"));
    lab.wait_for(
        "stream forwarded to the re-adopted member's link",
        Duration::from_secs(3),
        || sniffer.count() >= 5,
    );
}

/// Counters, the event ring and the interface settings pinned by an mgm version with another
/// layout (here a one-counter MGM_STATS and a shorter MGM_IFACES value) are replaced at start, not a reason to refuse it; membership maps are kept.
#[test]
fn counters_pinned_by_another_version_are_replaced() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (ra, _) = lab.link((&r, "ra", "192.0.2.1/24"), (&h, "ha", "192.0.2.10/24"));
    let pins = std::path::PathBuf::from(format!("/sys/fs/bpf/mgm-test-{}-old", lab.id));
    std::fs::create_dir_all(&pins).expect("pin directory");
    let old = pins.join("MGM_STATS");
    common::run(
        std::process::Command::new("bpftool")
            .args(["map", "create"])
            .arg(&old)
            .args([
                "type",
                "percpu_array",
                "key",
                "4",
                "value",
                "8",
                "entries",
                "1",
                "name",
                "MGM_STATS",
            ]),
    );
    // The interface settings of the version before the classifier's budget (56 bytes).
    let old_ifaces = pins.join("MGM_IFACES");
    common::run(
        std::process::Command::new("bpftool")
            .args(["map", "create"])
            .arg(&old_ifaces)
            .args([
                "type",
                "hash",
                "key",
                "4",
                "value",
                "56",
                "entries",
                "256",
                "name",
                "MGM_IFACES",
            ]),
    );
    let k = lab.start_mgm_pinned(&r, &[&ra], &[], pins.clone());
    let dump = common::run(
        std::process::Command::new("bpftool")
            .args(["-j", "map", "show", "pinned"])
            .arg(&old_ifaces),
    );
    let info: serde_json::Value = serde_json::from_str(&dump).expect("bpftool JSON");
    assert_eq!(
        info["bytes_value"],
        std::mem::size_of::<mgm_common::IfaceSettings>(),
        "the old MGM_IFACES is still pinned: {info}"
    );
    let dump = common::run(
        std::process::Command::new("bpftool")
            .args(["-j", "map", "show", "pinned"])
            .arg(&old),
    );
    let info: serde_json::Value = serde_json::from_str(&dump).expect("bpftool JSON");
    assert_ne!(
        info["bytes_value"], 8,
        "the old MGM_STATS is still pinned: {info}"
    );
    assert!(
        lab.daemon_log(k).contains("MGM_STATS pinned in"),
        "the replacement is not logged:\n{}",
        lab.daemon_log(k)
    );
}
