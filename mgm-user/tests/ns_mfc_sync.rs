//! The kernel's MFC changed behind mgm's back (rtnetlink `RTM_DELROUTE` / `RTM_NEWROUTE` of
//! family `RTNL_FAMILY_IPMR` from another program, `common/mfc_netlink.py`), on the topology of
//! `ns_forward` (`common/forward.rs`): a running stream's entry deleted comes back at its next
//! packet and counts as a desync; an entry changed or added comes back as mgm has it, or goes,
//! at the periodic reconcile, and counts as a repair.
mod common;
#[path = "common/forward.rs"]
mod forward;

use forward::{ForwardLab, SOURCE};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

const G: &str = "239.7.7.7";
const PORT: u16 = 5007;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Changes the router's MFC from outside mgm (see `common/mfc_netlink.py`).
fn mfc_netlink(fl: &ForwardLab, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/mfc_netlink.py");
    let out = Command::new("ip")
        .args(["netns", "exec", &fl.router, "python3"])
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "mfc_netlink.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn counter(fl: &ForwardLab, name: &str) -> u64 {
    let stats = forward::mgm_json(&fl.socket(), &["show", "stats", "--json"]);
    stats[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no {name} in mgm show stats: {stats}"))
}

/// A receiver on B joined, the stream from A running and forwarded: returns the receiver.
fn stream_to_b(fl: &mut ForwardLab) -> (common::Host, common::Host) {
    let rcv = fl.add_host('b', "rcv", 10);
    let rb = fl.rb.clone();
    let mut r = fl.host(&rcv);
    r.cmd(&format!("recv {PORT}"));
    r.cmd(&format!("join {G} {}", rcv.addr));
    fl.wait_for("IGMP learns the group on B", Duration::from_secs(5), || {
        fl.lab.group(fl.k, &rb, G).is_some()
    });
    let src = fl.source.clone();
    let mut s = fl.host(&src);
    s.cmd(&format!("send {G} {PORT} 3000 10"));
    fl.wait_for(
        "the receiver gets the stream",
        Duration::from_secs(3),
        || r.received_count() > 0,
    );
    fl.wait_for(
        "the kernel holds (S,G) to B",
        Duration::from_secs(2),
        || {
            fl.kernel_mroute(G)
                .is_some_and(|m| m.oifs == vec![rb.clone()])
        },
    );
    (r, s)
}

#[test]
fn a_running_streams_entry_deleted_behind_mgms_back_comes_back_as_a_desync() {
    common::require_root();
    let _serial = serial();
    let mut fl = ForwardLab::new_with(["", "", ""], &["--mfc-reconcile-interval", "0"]);
    let (r, _s) = stream_to_b(&mut fl);
    assert_eq!(counter(&fl, "mfc_desyncs"), 0, "{}", fl.diagnostics());

    mfc_netlink(&fl, &["del", SOURCE, G]);
    let received = r.received_count();
    // The next packet finds no entry: NOCACHE for an (S,G) mgm holds installed.
    fl.wait_for("the desync counted", Duration::from_secs(3), || {
        counter(&fl, "mfc_desyncs") >= 1
    });
    let rb = fl.rb.clone();
    fl.wait_for(
        "the entry back in the kernel",
        Duration::from_secs(2),
        || {
            fl.kernel_mroute(G)
                .is_some_and(|m| m.oifs == vec![rb.clone()] && m.state == "resolved")
        },
    );
    fl.wait_for(
        "the stream back at the receiver",
        Duration::from_secs(3),
        || r.received_count() > received + 10,
    );
    assert!(
        fl.daemon_log().contains("kernel MFC out of step"),
        "{}",
        fl.daemon_log()
    );
    assert_eq!(counter(&fl, "mfc_repairs"), 0, "the reconcile is off");
    assert!(
        fl.mfe(G).is_some_and(|m| m.packets > 0),
        "the new entry counts: {}",
        fl.diagnostics()
    );
}

#[test]
fn the_reconcile_restores_a_changed_entry_and_deletes_one_not_mgms() {
    common::require_root();
    let _serial = serial();
    let mut fl = ForwardLab::new_with(["", "", ""], &["--mfc-reconcile-interval", "1s"]);
    let (r, _s) = stream_to_b(&mut fl);
    let ra = fl.ra.clone();
    // The stream's entry loses its outgoing interface: packets still arrive on the incoming
    // one, so no upcall tells; and an entry mgm never made.
    mfc_netlink(&fl, &["set", SOURCE, G, &ra]);
    mfc_netlink(&fl, &["set", SOURCE, "239.7.7.8", &ra]);
    fl.wait_for(
        "the foreign entry in the kernel",
        Duration::from_secs(1),
        || fl.kernel_mroute("239.7.7.8").is_some(),
    );
    let received = r.received_count();
    let rb = fl.rb.clone();
    fl.wait_for("both repaired", Duration::from_secs(5), || {
        counter(&fl, "mfc_repairs") >= 2
    });
    fl.wait_for("the entry as mgm has it", Duration::from_secs(2), || {
        fl.kernel_mroute(G)
            .is_some_and(|m| m.oifs == vec![rb.clone()])
    });
    assert!(
        fl.kernel_mroute("239.7.7.8").is_none(),
        "{}",
        fl.diagnostics()
    );
    fl.wait_for(
        "the stream back at the receiver",
        Duration::from_secs(3),
        || r.received_count() > received + 10,
    );
    assert_eq!(counter(&fl, "mfc_desyncs"), 0, "{}", fl.diagnostics());
    let log = fl.daemon_log();
    assert!(log.contains("kernel MFC repaired"), "{log}");
    // In step again: later reconciles find nothing.
    let repairs = counter(&fl, "mfc_repairs");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(counter(&fl, "mfc_repairs"), repairs, "{}", fl.diagnostics());
}
