//! `--max-mfes` against a LAN host that sweeps groups (one datagram to each of many groups):
//! past the bound the router makes no entry nobody wants (the kernel drops their packets after
//! holding them unresolved for 10 s), counts the refusals in `mgm show stats`, and still makes
//! the entry of a refused group a host then joins: at once, at the join (the refused (S,G)s are
//! remembered), not at the kernel's next upcall.
//!
//! Then `mgm show mfe`, streamed by the daemon a chunk at a time, over more entries than one
//! chunk holds (static routes, made through the control socket).
//!
//! Topology: `common/forward.rs` (router `r`, links A, B, C; the source host on A).
mod common;
#[path = "common/forward.rs"]
mod forward;

use forward::ForwardLab;
use mgm_user::control::api::handler::StaticRouteArgs;
use mgm_user::control::api::Request;
use mgm_user::control::client;
use std::net::Ipv4Addr;
use std::time::Duration;

const MAX: usize = 5;
const SWEEP: usize = 40;
const PORT: u16 = 5011;
const G0: &str = "239.9.0.1";
/// The sweep's last group: refused.
const REFUSED: &str = "239.9.0.40";
/// Another refused group, joined without a stream.
const REFUSED_QUIET: &str = "239.9.0.39";

/// Resolved entries in the kernel's MFC (`ip mroute show`; unresolved ones are the kernel's
/// queue, not mgm's).
fn resolved(fl: &ForwardLab) -> usize {
    fl.kernel_mroutes()
        .iter()
        .filter(|m| m.state == "resolved")
        .count()
}

fn refused(fl: &ForwardLab) -> u64 {
    forward::mgm_json(&fl.socket(), &["show", "stats", "--json"])["daemon_mfes_refused"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_group_sweep_stops_at_max_mfes_and_a_joined_refused_group_still_forwards() {
    let mut fl = ForwardLab::new_with(["", "", ""], &["--max-mfes", &MAX.to_string()]);
    let rcv = fl.add_host('b', "rcv", 10);
    let rb = fl.rb.clone();
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("sweep {G0} {SWEEP} {PORT}"));
    // Nobody wants any of them: MAX entries, the rest refused and counted.
    let mut most = 0;
    fl.wait_for(
        "the refusals of the groups past the bound",
        Duration::from_secs(8),
        || {
            most = most.max(resolved(&fl));
            refused(&fl) >= (SWEEP - MAX) as u64
        },
    );
    most = most.max(resolved(&fl));
    assert_eq!(most, MAX, "{}", fl.ip_mroute_text());
    assert_eq!(fl.mfes().len(), MAX);
    assert_eq!(refused(&fl), (SWEEP - MAX) as u64);
    assert!(
        fl.daemon_log().contains("max-mfes"),
        "no refusal notice\n{}",
        fl.daemon_log()
    );
    // A host joins a refused group: the entry is in the kernel as soon as the join is seen,
    // forwarding to the host's link, past the bound.
    let mut r = fl.host(&rcv);
    r.cmd(&format!("join {REFUSED_QUIET} {}", rcv.addr));
    fl.wait_for(
        "the join of a refused group",
        Duration::from_secs(10),
        || joined(&fl, REFUSED_QUIET, &rb),
    );
    assert!(
        fl.kernel_mroute(REFUSED_QUIET)
            .is_some_and(|m| m.state == "resolved" && m.oifs == vec![rb.clone()]),
        "made at the join: {}",
        fl.ip_mroute_text()
    );
    assert_eq!(fl.mfes().len(), MAX + 1);
    assert_eq!(refused(&fl), (SWEEP - MAX) as u64, "no refusal more");
    // A stream to a refused group, and a host joins it: it forwards past the bound.
    r.cmd(&format!("recv {PORT}"));
    s.cmd(&format!("send {REFUSED} {PORT} 3000 10"));
    r.cmd(&format!("join {REFUSED} {}", rcv.addr));
    fl.wait_for(
        "the receiver of a refused group gets the stream",
        Duration::from_secs(20),
        || r.received_count() > 0,
    );
    assert!(
        fl.kernel_mroute(REFUSED)
            .is_some_and(|m| m.oifs == vec![rb.clone()]),
        "{}",
        fl.ip_mroute_text()
    );
    assert_eq!(fl.mfes().len(), MAX + 2);
}

/// Whether `mgm show groups` holds `group` on `interface`.
fn joined(fl: &ForwardLab, group: &str, interface: &str) -> bool {
    let v = forward::mgm_json(&fl.socket(), &["show", "groups", "--json"]);
    v.as_array().is_some_and(|rows| {
        rows.iter()
            .any(|g| g["group"] == group && g["interface"] == interface)
    })
}

/// Static routes made: more than one chunk of `show_mfe` (1 024 entries).
const ROUTES: u32 = 1_300;

#[test]
fn show_mfe_lists_more_entries_than_a_chunk_holds_once_each_in_order() {
    let fl = ForwardLab::new_with(["", "", ""], &["--max-mfes", "2000"]);
    let source: Ipv4Addr = forward::SOURCE.parse().unwrap();
    let first = u32::from(Ipv4Addr::new(239, 10, 0, 1));
    // Added from the last group down: the table's order is not the order of creation.
    for i in (0..ROUTES).rev() {
        let route = StaticRouteArgs {
            source,
            group: Ipv4Addr::from(first + i),
            iif: fl.ra.clone(),
            oifs: vec![fl.rb.clone()],
        };
        let _: serde_json::Value =
            client::request(&fl.socket(), Request::StaticRouteAdd(route)).unwrap();
    }
    let rows = fl.mfes();
    assert_eq!(rows.len(), ROUTES as usize);
    let keys: Vec<(Ipv4Addr, Ipv4Addr)> = rows
        .iter()
        .map(|m| (m.group.parse().unwrap(), m.source.parse().unwrap()))
        .collect();
    let want: Vec<(Ipv4Addr, Ipv4Addr)> = (0..ROUTES)
        .map(|i| (Ipv4Addr::from(first + i), source))
        .collect();
    assert_eq!(keys, want, "every entry once, by group then source");
    assert!(rows
        .iter()
        .all(|m| m.iif == fl.ra && m.oifs == [fl.rb.clone()]));
    // The table: a header and one line per entry.
    let out = common::mgm_client(&fl.socket(), &["show", "mfe"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        ROUTES as usize + 1,
        "{}",
        &text[..400.min(text.len())]
    );
    assert!(lines[0].starts_with("SOURCE"), "{}", lines[0]);
    assert!(lines[1].contains("239.10.0.1 "), "{}", lines[1]);
    assert!(
        lines[ROUTES as usize].contains("239.10.5.20 "),
        "{}",
        lines[ROUTES as usize]
    );
}
