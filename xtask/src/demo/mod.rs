//! `cargo xtask demo [--keep]` (and `cargo xtask run` without arguments): what mgm exists for,
//! live. A router namespace running mgm, a source sending a numbered stream, three LANs with
//! receivers; hosts join (IGMPv2, IGMPv3 with and without sources) and leave one at a time, a
//! routing protocol in another process (`mgm handler`) takes a link, a static receiver comes
//! and goes. Each step says what happens and why, then shows the events, the forwarding entry
//! and the stream counted on each link and by each receiver, and checks the stream reaches
//! exactly the links with receivers (the demo fails otherwise). `--keep` leaves the lab
//! running for `mgm show` and `mgm events` until Ctrl-C. Everything is removed on every way
//! out: the end, an error, Ctrl-C.
mod interrupt;
mod lab;
mod report;
mod story;

use crate::build;
use crate::setup::{self, Needs};
use anyhow::{bail, Result};
use lab::MGM_INTERFACES;
use lab::{Lab, LAN1_NS, LOG, PINS, ROUTER, SOCKET, SOURCE_NS};
use std::time::Duration;
use story::{Receiver, Story, GROUP, PORT, SOURCE};

pub(crate) fn run(keep: bool) -> Result<()> {
    setup::ensure(Needs::ALL)?;
    let bin = build::build_all(true)?;
    let _lock = interrupt::lock()?;
    interrupt::catch();
    let started = std::time::Instant::now();
    println!("== building the lab (network namespaces {ROUTER}, {SOURCE_NS}, {LAN1_NS}, mgm-demo-h1..h4)");
    let result = Lab::build(&bin).and_then(|lab| play(lab, keep, started));
    // The lab is gone here (dropped inside `play` or on its error).
    match &result {
        Ok(()) => println!("== lab removed"),
        Err(_) if interrupt::interrupted() => {
            println!("\n== interrupted; lab removed");
            std::process::exit(130);
        }
        Err(_) => println!("\n== the demo failed; lab removed (mgm's log: {LOG})"),
    }
    result
}

fn play(mut lab: Lab, keep: bool, started: std::time::Instant) -> Result<()> {
    lab.start_mgm()?;
    let events = lab.events()?;
    let mut receivers = Vec::new();
    for (name, ns, addr, link) in [
        ("h1", "mgm-demo-h1", "198.51.100.10", "demo-lan1"),
        ("h2", "mgm-demo-h2", "198.51.100.11", "demo-lan1"),
        ("h3", "mgm-demo-h3", "203.0.113.10", "demo-lan2"),
        ("h4", "mgm-demo-h4", "203.0.113.130", "demo-lan3"),
    ] {
        let mut host = lab.host(ns, addr)?;
        host.cmd(&format!("recv {PORT}"))?;
        receivers.push(Receiver { name, link, host });
    }
    let source = lab.host(SOURCE_NS, SOURCE)?;
    print_intro(&lab)?;
    let mut story = Story::new(lab, source, events, receivers);
    story.play()?;
    if !story.surprises.is_empty() {
        bail!(
            "the demo did not go as told: {}",
            story.surprises.join("; ")
        );
    }
    println!(
        "\n== every step went as told ({:.0} s in all)",
        started.elapsed().as_secs_f64()
    );
    if keep {
        keep_running(&mut story)?;
    }
    println!("== tearing the lab down");
    drop(story);
    Ok(())
}

fn print_intro(lab: &Lab) -> Result<()> {
    let run: Vec<String> = MGM_INTERFACES.iter().map(|i| format!("-i {i}")).collect();
    println!(
        "
  source 192.0.2.10 ─────────── demo-src  ─┐
  h1 198.51.100.10 (IGMPv3) ─┬─ demo-lan1 ─┤
  h2 198.51.100.11 (IGMPv3) ─┘             ├─ router {ROUTER}
  h3 203.0.113.10  (IGMPv2) ─── demo-lan2 ─┤  mgm run {}
  h4 203.0.113.130 (IGMPv3) ─── demo-lan3 ─┘  (log: {LOG})
",
        run.join(" ")
    );
    println!(
        "{}",
        story::wrap(
            "mgm learns from IGMP which groups have receivers on which links, tells the \
             routing protocol that owns each link through callbacks (local_join and \
             local_leave for receivers on its links, join_alert and prune_alert to the owner \
             of the incoming link when an entry gains its first or loses its last outgoing \
             link), and keeps the kernel's forwarding entries in step. Here the protocol \
             `local` owns every link but demo-lan3, left to a routing protocol that comes \
             later. The interfaces as mgm sees them (mgm show interfaces):",
            ""
        )
    );
    for l in lab.mgm(&["show", "interfaces"])?.lines() {
        println!("    {l}");
    }
    Ok(())
}

/// `--keep`: two hosts join again, the commands to try are printed, and the lab runs until
/// Ctrl-C.
fn keep_running(story: &mut Story) -> Result<()> {
    story.receiver("h1")?.cmd(&format!("join {GROUP}"))?;
    story.receiver("h3")?.cmd(&format!("join {GROUP}"))?;
    let bin = story.lab.bin.display().to_string();
    println!(
        "\n== the lab keeps running: h1 and h3 joined {GROUP} again, the source still sends.\n\
         Try, as root, in another terminal:\n\
         \x20 {bin} show groups --socket {SOCKET}\n\
         \x20 {bin} show mfe --socket {SOCKET}\n\
         \x20 {bin} show interfaces --socket {SOCKET}\n\
         \x20 {bin} events --socket {SOCKET}          (then, in a third one, make something happen:)\n\
         \x20 {bin} join -i demo-lan3 -g 239.1.1.2 --socket {SOCKET}\n\
         \x20 nsenter --net=/run/netns/{ROUTER} ip mroute show\n\
         \x20 nsenter --net=/run/netns/{ROUTER} {bin} show groups --socket {SOCKET}\n\
         \x20 bpftool map dump pinned {PINS}/MGM_MEMBERS\n\
         \x20 nsenter --net=/run/netns/{ROUTER} ip link set demo-lan2 down   (then show interfaces)\n\
         mgm's log: {LOG}\n\
         Press Ctrl-C to tear the lab down."
    );
    while !interrupt::interrupted() {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!();
    Ok(())
}
