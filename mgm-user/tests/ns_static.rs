//! Static entries of the built-in protocol `static` (`mgm join`, `mgm leave`, `mgm route`):
//! they forward a real stream between namespaces with no IGMP host at all.
//!
//! Topology: `common/forward.rs` (router with links A (the source 192.0.2.10), B, C).
mod common;
#[path = "common/forward.rs"]
mod forward;

use forward::{ForwardLab, Sniffer};
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

const GJ: Ipv4Addr = Ipv4Addr::new(239, 9, 1, 1);
const GR: Ipv4Addr = Ipv4Addr::new(239, 9, 2, 2);
const PORT: u16 = 5009;
const WAIT: Duration = Duration::from_secs(10);

/// Runs `mgm ARGS --socket S`: `Ok(())` when it succeeds, else `Err(its stderr)`.
fn mgm_run(fl: &ForwardLab, args: &[&str]) -> Result<(), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_mgm"))
        .args(args)
        .arg("--socket")
        .arg(fl.socket())
        .output()
        .expect("mgm");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

fn mgm(fl: &ForwardLab, args: &[&str]) {
    if let Err(e) = mgm_run(fl, args) {
        panic!("mgm {args:?}: {e}");
    }
}

fn mgm_err(fl: &ForwardLab, args: &[&str]) -> String {
    mgm_run(fl, args).expect_err("mgm should fail")
}

#[test]
fn mgm_join_and_mgm_route_forward_a_stream_without_any_igmp_host() {
    common::require_root();
    let mut fl = ForwardLab::new();
    let (ra, rb, rc) = (fl.ra.clone(), fl.rb.clone(), fl.rc.clone());
    let on_b = fl.add_host('b', "onb", 10);
    let on_c = fl.add_host('c', "onc", 10);
    let sniff_b = Sniffer::start(&on_b.ns, &on_b.ifname, GJ, PORT);
    let sniff_c = Sniffer::start(&on_c.ns, &on_c.ifname, GR, PORT);
    let src_addr = fl.source.addr.clone();
    // A static route is in the kernel before any packet: (S, GR) from A to C.
    mgm(
        &fl,
        &[
            "route",
            "add",
            "--source",
            &src_addr,
            "--group",
            &GR.to_string(),
            "--iif",
            &ra,
            "--oif",
            &rc,
        ],
    );
    let m = fl.mfe(&GR.to_string()).expect("the static route's MFE");
    assert_eq!(
        (m.iif.as_str(), m.oifs.clone()),
        (ra.as_str(), vec![rc.clone()])
    );
    assert_eq!(m.protocol.as_deref(), Some("static"));
    assert!(
        m.expires_in_ms.is_null(),
        "never ages: {:?}",
        m.expires_in_ms
    );
    let k = fl
        .kernel_mroute(&GR.to_string())
        .expect("in the kernel MFC");
    assert_eq!(k.iif, ra);
    // A static join of GJ on B: a receiver that never leaves.
    mgm(&fl, &["join", "-i", &rb, "-g", &GJ.to_string()]);
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("send {GJ} {PORT} 3000 10"));
    let mut s2 = fl.host(&src);
    s2.cmd(&format!("send {GR} {PORT} 3000 10"));
    fl.wait_for("the joined stream reaches B", WAIT, || sniff_b.count() > 5);
    fl.wait_for("the routed stream reaches C", WAIT, || sniff_c.count() > 5);
    assert!(
        fl.lab.groups(fl.k).is_empty(),
        "no IGMP host joined anything"
    );
    assert!(fl.protocols().iter().any(|p| p.name == "static"));
    // Leave and delete: both streams stop.
    mgm(&fl, &["leave", "-i", &rb, "-g", &GJ.to_string()]);
    mgm(
        &fl,
        &[
            "route",
            "del",
            "--source",
            &src_addr,
            "--group",
            &GR.to_string(),
        ],
    );
    assert!(fl
        .kernel_mroute(&GR.to_string())
        .is_none_or(|k| k.oifs.is_empty()));
    std::thread::sleep(Duration::from_millis(300));
    let (b, c) = (sniff_b.count(), sniff_c.count());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sniff_b.count(), b, "B stopped after the static leave");
    assert!(
        sniff_c.count() <= c + 1,
        "C stopped after the route was deleted"
    );
    // Bad input names what is wrong.
    let e = mgm_err(&fl, &["join", "-i", "nosuch0", "-g", &GJ.to_string()]);
    assert!(e.contains("no managed interface nosuch0"), "{e}");
    let e = mgm_err(
        &fl,
        &[
            "route",
            "add",
            "--source",
            &src_addr,
            "--group",
            &GR.to_string(),
            "--iif",
            &ra,
            "--oif",
            &ra,
        ],
    );
    assert!(e.contains("both the incoming and an outgoing"), "{e}");
    let e = mgm_err(&fl, &["leave", "-i", &rb, "-g", &GJ.to_string()]);
    assert!(e.contains("not found"), "{e}");
}
