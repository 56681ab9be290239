//! The configuration file on a box that changes under it, and the keys of a reload:
//!
//! - a `[[join]]` on an interface that is not there at start waits for it (`mgm show
//!   interfaces` says so), is made when the interface is made (the stream reaches it: the MFE's
//!   and the kernel's OIL hold it), withdrawn when it is deleted, and made again when it is
//!   made anew; a `[[route]]` to that interface likewise (listed as waiting too);
//! - an `mgm join` on an interface that is deleted waits for it the same way, until `mgm leave`;
//! - a reload changing `log` changes the level at once (the daemon's log shows it);
//! - a reload changing a key that needs a restart answers with the key's name; one changing a
//!   file value that a flag of the command line overrides answers with the key and the flag.
//!
//! Topology: router `r` with link B 198.51.100.0/24 to the source (.10) and link A
//! 192.0.2.0/24 to a receiver namespace, made and deleted while mgm runs.
mod common;
#[path = "common/forward.rs"]
mod forward;

use common::{Lab, FAST};
use forward::{parse_ip_mroute, show_mfe, Sniffer};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

const G: Ipv4Addr = Ipv4Addr::new(239, 43, 0, 1);
/// The file's static route (S, G_ROUTE) from B to A.
const G_ROUTE: &str = "239.43.0.2";
const PORT: u16 = 5043;
const WAIT: Duration = Duration::from_secs(10);

use common::mgm_client as mgm;

/// The outgoing interfaces of G's MFE in `mgm show mfe` and in the kernel's MFC (empty when
/// there is no entry).
fn oils(lab: &Lab, r: &str, socket: &Path) -> (Vec<String>, Vec<String>) {
    let g = G.to_string();
    let mgm = show_mfe(socket)
        .into_iter()
        .find(|m| m.group == g)
        .map(|m| m.oifs)
        .unwrap_or_default();
    let kernel = parse_ip_mroute(&lab.ns(r, &["ip", "-json", "mroute", "show"]))
        .into_iter()
        .find(|m| m.group == g)
        .map(|m| m.oifs)
        .unwrap_or_default();
    (mgm, kernel)
}

/// The OIL of the file's static route in `mgm show mfe` (`None`: no entry).
fn route_oil(socket: &Path) -> Option<Vec<String>> {
    show_mfe(socket)
        .into_iter()
        .find(|m| m.group == G_ROUTE)
        .map(|m| m.oifs)
}

/// The static entries waiting for `name` that `mgm show interfaces --json` lists under `key`
/// (`waiting_joins`: the file's joins, `waiting_command_joins`: `mgm join`'s,
/// `waiting_routes`: the file's routes).
fn waiting(socket: &Path, name: &str, key: &str) -> Vec<String> {
    let rows = forward::mgm_json(socket, &["show", "interfaces", "--json"]);
    let row = rows
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["interface"] == name).cloned())
        .unwrap_or_else(|| panic!("no row of {name}: {rows}"));
    serde_json::from_value(row[key].clone()).unwrap_or_else(|e| panic!("{key}: {e}: {row}"))
}

/// The `[[join]]`s waiting for `name`.
fn waiting_joins(socket: &Path, name: &str) -> Vec<String> {
    waiting(socket, name, "waiting_joins")
}

#[test]
fn a_file_join_follows_its_interface_as_it_comes_goes_and_comes_back() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let src = lab.netns("src");
    let rcv = lab.netns("rcv");
    let (rb, _) = lab.link(
        (&r, "rb", "198.51.100.1/24"),
        (&src, "hs", "198.51.100.10/24"),
    );
    lab.ns(
        &src,
        &["ip", "route", "add", "default", "via", "198.51.100.1"],
    );
    let ra = format!("ra{}", lab.id);
    let file = lab.dir.join("mgm.toml");
    std::fs::write(
        &file,
        format!(
            "[[interface]]\nname = \"{rb}\"\n\n[[interface]]\nname = \"{ra}\"\n\n\
             [[join]]\ninterface = \"{ra}\"\ngroup = \"{G}\"\n\n\
             [[route]]\nsource = \"198.51.100.10\"\ngroup = \"{G_ROUTE}\"\niif = \"{rb}\"\n\
             oif = [\"{ra}\"]\n"
        ),
    )
    .unwrap();
    let file_arg = file.display().to_string();
    let mut extra = vec!["--config", file_arg.as_str()];
    extra.extend(FAST);
    let k = lab.start_mgm(&r, &[], &extra);
    let socket = lab.daemon(k).socket.clone();
    assert!(
        lab.daemon_log(k).contains(&format!(
            "static join (*, {G}) on {ra} waits for {ra}: not managed now, made when it is"
        )),
        "{}",
        lab.daemon_log(k)
    );
    assert_eq!(waiting_joins(&socket, &ra), [format!("(*, {G})")]);
    let route = format!("(198.51.100.10, {G_ROUTE}) {rb} -> {ra}");
    assert_eq!(
        waiting(&socket, &ra, "waiting_routes"),
        std::slice::from_ref(&route)
    );
    assert!(
        waiting(&socket, &rb, "waiting_routes").is_empty(),
        "{rb} is managed"
    );
    let text = String::from_utf8_lossy(&mgm(&socket, &["show", "interfaces"]).stdout).into_owned();
    for line in [
        format!("static join (*, {G}) on {ra} (configuration file): waiting for the interface"),
        format!("static route {route} (configuration file): waiting for {ra}"),
    ] {
        assert!(text.contains(&line), "{line}\n{text}");
    }
    // The source sends all along (10 ms apart); no host on A ever joins.
    let mut source = lab.host(&src);
    source.cmd(&format!("send {G} {PORT} 0 10"));
    lab.wait_for("the stream's MFE, with no receiver yet", WAIT, || {
        show_mfe(&socket).iter().any(|m| m.group == G.to_string())
    });
    assert_eq!(oils(&lab, &r, &socket), (vec![], vec![]), "nobody wants G");

    // A is made: managed, the file's join made on it, the stream forwarded to it.
    let (made, ha) = lab.link((&r, "ra", "192.0.2.1/24"), (&rcv, "ha", "192.0.2.10/24"));
    assert_eq!(made, ra);
    let sniff = Sniffer::start(&rcv, &ha, G, PORT);
    let want = (vec![ra.clone()], vec![ra.clone()]);
    lab.wait_for(
        "the join's OIL on A (mgm's MFE and the kernel's)",
        WAIT,
        || oils(&lab, &r, &socket) == want,
    );
    lab.wait_for("the stream reaches A", WAIT, || sniff.count() > 5);
    lab.wait_for("the file's route made once A is", WAIT, || {
        route_oil(&socket) == Some(vec![ra.clone()])
    });
    assert!(
        waiting_joins(&socket, &ra).is_empty(),
        "made: no longer waiting"
    );
    assert!(waiting(&socket, &ra, "waiting_routes").is_empty());
    assert!(
        lab.groups(k).is_empty(),
        "no IGMP host joined: the join is the file's"
    );

    // A is deleted: the join is withdrawn with it (no stale OIL, waiting again).
    lab.ns(&r, &["ip", "link", "del", &ra]);
    lab.wait_for("the join withdrawn with A", WAIT, || {
        oils(&lab, &r, &socket) == (vec![], vec![])
    });
    assert!(
        lab.daemon_log(k).contains(&format!(
            "static join (*, {G}) on {ra}: withdrawn, the interface is gone (the file's: made \
             again when it is back)"
        )),
        "{}",
        lab.daemon_log(k)
    );
    assert_eq!(waiting_joins(&socket, &ra), [format!("(*, {G})")]);
    assert_eq!(
        waiting(&socket, &ra, "waiting_routes"),
        std::slice::from_ref(&route)
    );
    assert!(
        route_oil(&socket).is_none_or(|o| o.is_empty()),
        "{:?}",
        route_oil(&socket)
    );

    // A is made anew (another ifindex): the join is made again.
    let (_, ha) = lab.link((&r, "ra", "192.0.2.1/24"), (&rcv, "ha", "192.0.2.10/24"));
    let sniff = Sniffer::start(&rcv, &ha, G, PORT);
    lab.wait_for("the join's OIL on the new A", WAIT, || {
        oils(&lab, &r, &socket) == want
    });
    lab.wait_for("the stream reaches the new A", WAIT, || sniff.count() > 5);
    lab.wait_for("the file's route made again on the new A", WAIT, || {
        route_oil(&socket) == Some(vec![ra.clone()])
    });
    let status = lab.stop_mgm(k);
    assert!(status.success(), "{status}\n{}", lab.daemon_log(k));
}

/// `mgm join` on an interface that is then deleted waits for it as the file's joins do: listed
/// in `mgm show interfaces`, made again (the MFE's and the kernel's OIL) when the interface is
/// made anew; `mgm leave` removes one that waits.
#[test]
fn an_mgm_join_waits_for_its_deleted_interface_and_comes_back() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let src = lab.netns("src");
    let rcv = lab.netns("rcv");
    let (rb, _) = lab.link(
        (&r, "rb", "198.51.100.1/24"),
        (&src, "hs", "198.51.100.10/24"),
    );
    lab.ns(
        &src,
        &["ip", "route", "add", "default", "via", "198.51.100.1"],
    );
    let (ra, ha) = lab.link((&r, "ra", "192.0.2.1/24"), (&rcv, "ha", "192.0.2.10/24"));
    let k = lab.start_mgm(&r, &[&rb, &ra], FAST);
    let socket = lab.daemon(k).socket.clone();
    let g = G.to_string();
    // A second join, on a group nobody sends to: left while it waits.
    let left = "239.43.0.3";
    for group in [g.as_str(), left] {
        let out = mgm(&socket, &["join", "-i", &ra, "-g", group]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut source = lab.host(&src);
    source.cmd(&format!("send {G} {PORT} 0 10"));
    let sniff = Sniffer::start(&rcv, &ha, G, PORT);
    let want = (vec![ra.clone()], vec![ra.clone()]);
    lab.wait_for("the join's OIL on A", WAIT, || {
        oils(&lab, &r, &socket) == want
    });
    lab.wait_for("the stream reaches A", WAIT, || sniff.count() > 5);
    assert!(waiting(&socket, &ra, "waiting_command_joins").is_empty());

    // A is deleted: both joins are withdrawn and wait for it.
    lab.ns(&r, &["ip", "link", "del", &ra]);
    lab.wait_for("the joins withdrawn with A", WAIT, || {
        oils(&lab, &r, &socket) == (vec![], vec![])
    });
    let log = lab.daemon_log(k);
    assert!(
        log.contains(&format!(
            "static join (*, {G}) on {ra}: withdrawn, the interface is gone (made with mgm join: \
             made again when it is back)"
        )),
        "{log}"
    );
    assert_eq!(
        waiting(&socket, &ra, "waiting_command_joins"),
        [format!("(*, {G})"), format!("(*, {left})")]
    );
    let text = String::from_utf8_lossy(&mgm(&socket, &["show", "interfaces"]).stdout).into_owned();
    let line = format!("static join (*, {G}) on {ra} (mgm join): waiting for the interface");
    assert!(text.contains(&line), "{text}");
    // `mgm leave` removes a join that waits.
    let out = mgm(&socket, &["leave", "-i", &ra, "-g", left]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        waiting(&socket, &ra, "waiting_command_joins"),
        [format!("(*, {G})")]
    );

    // A is made anew (another ifindex): the join that still waits is made again.
    let (_, ha) = lab.link((&r, "ra", "192.0.2.1/24"), (&rcv, "ha", "192.0.2.10/24"));
    let sniff = Sniffer::start(&rcv, &ha, G, PORT);
    lab.wait_for("the join's OIL on the new A", WAIT, || {
        oils(&lab, &r, &socket) == want
    });
    lab.wait_for("the stream reaches the new A", WAIT, || sniff.count() > 5);
    assert!(waiting(&socket, &ra, "waiting_command_joins").is_empty());
    let log = lab.daemon_log(k);
    assert!(
        log.contains(&format!(
            "static join (*, {G}) on {ra} (mgm join): made again, the interface is back"
        )),
        "{log}"
    );
    assert!(
        !log.contains(&format!(
            "static join (*, {left}) on {ra} (mgm join): made again"
        )),
        "left while it waited: {log}"
    );
    // `mgm leave` of a join that is made (not waiting) still deletes it.
    let out = mgm(&socket, &["leave", "-i", &ra, "-g", &g]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lab.wait_for("the join left", WAIT, || {
        oils(&lab, &r, &socket).0.is_empty()
    });
    let status = lab.stop_mgm(k);
    assert!(status.success(), "{status}\n{}", lab.daemon_log(k));
}

#[test]
fn a_reload_changes_the_log_level_and_names_the_keys_it_cannot_apply() {
    let mut lab = Lab::new();
    let r = lab.netns("r");
    let h = lab.netns("h");
    let (rb, _) = lab.link(
        (&r, "rb", "198.51.100.1/24"),
        (&h, "hb", "198.51.100.10/24"),
    );
    let file = lab.dir.join("mgm.toml");
    let write = |log: &str, deadline: &str, more: &str| {
        std::fs::write(
            &file,
            format!(
                "log = \"{log}\"\nhandler-deadline = \"{deadline}\"\n{more}\n\
                 [[interface]]\nname = \"{rb}\"\n"
            ),
        )
        .unwrap();
    };
    write("info", "100ms", "");
    let file_arg = file.display().to_string();
    // No MGM_LOG: the file's `log` is the level. --handler-deadline overrides the file's.
    let k = lab.spawn_mgm_env(
        &r,
        &[],
        &["--config", &file_arg, "--handler-deadline", "50ms"],
        &[("MGM_LOG", "".as_ref()), ("RUST_LOG", "".as_ref())],
        false,
    );
    lab.wait_answering(k);
    let socket = lab.daemon(k).socket.clone();
    // Each control request is logged at debug.
    let debug_line = "control: show_interfaces from";
    assert!(mgm(&socket, &["show", "interfaces"]).status.success());
    assert!(
        !lab.daemon_log(k).contains(debug_line),
        "info: no debug lines yet\n{}",
        lab.daemon_log(k)
    );

    // `log` reloads: debug lines from then on.
    write("debug", "100ms", "");
    let out = mgm(&socket, &["reload"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("log info -> debug"), "{text}");
    assert!(mgm(&socket, &["show", "interfaces"]).status.success());
    lab.wait_for("a debug line after the reload", WAIT, || {
        lab.daemon_log(k).contains(debug_line)
    });

    // A key that needs a restart: refused, naming it; nothing changes.
    write("debug", "100ms", "metrics = \"127.0.0.1:9599\"");
    let out = mgm(&socket, &["reload"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        err.contains("metrics changed (None -> Some(127.0.0.1:9599)): it needs a restart"),
        "{err}"
    );

    // A file value the command line overrides: applied never, and said so.
    write("debug", "300ms", "");
    let out = mgm(&socket, &["reload"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains(
            "warning: handler-deadline: the file's value changed (\"100ms\" -> \"300ms\") but \
             --handler-deadline on the command line wins: not applied"
        ),
        "{text}"
    );
    let status = lab.stop_mgm(k);
    assert!(status.success(), "{status}\n{}", lab.daemon_log(k));
}
