//! The IGMP router side against real Linux hosts (timers shortened so each test runs in seconds).
mod common;
#[path = "common/packet.rs"]
mod packet;

use common::{Lab, FAST, LMQT, SLACK};
use std::time::{Duration, Instant};

const GMI: Duration = Duration::from_secs(5);
const G: &str = "239.2.3.4";

/// A router on a LAN with `hosts` hosts (192.0.2.11, .12, …, interface prefixes h0, h1, …);
/// returns (lab, LAN namespace, router interface, host namespaces, daemon).
fn lan_with_hosts(hosts: usize) -> (Lab, String, String, Vec<String>, usize) {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r = lab.netns("r");
    let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.1/24"));
    let mut hns = Vec::new();
    for i in 0..hosts {
        let ns = lab.netns(&format!("h{i}"));
        lab.lan_port(
            &lan,
            (&ns, &format!("h{i}"), &format!("192.0.2.{}/24", 11 + i)),
        );
        hns.push(ns);
    }
    let k = lab.start_mgm(&r, &[&rif], FAST);
    lab.set_router(&r);
    (lab, lan, rif, hns, k)
}

#[test]
fn v3_and_v2_members_leave_one_at_a_time() {
    let (mut lab, _lan, rif, hns, k) = lan_with_hosts(2);
    let v2if = format!("h1{}", lab.id);
    lab.ns(
        &hns[1],
        &[
            "sysctl",
            "-qw",
            &format!("net.ipv4.conf.{v2if}.force_igmp_version=2"),
        ],
    );
    let mut v3 = lab.host(&hns[0]);
    let mut v2 = lab.host(&hns[1]);
    v3.cmd(&format!("join {G} 192.0.2.11"));
    v2.cmd(&format!("join {G} 192.0.2.12"));
    lab.wait_for(
        "group learned in v2 compatibility",
        Duration::from_secs(5),
        || {
            lab.group(k, &rif, G)
                .is_some_and(|g| g.compat_version == 2 && g.filter_mode == "exclude")
        },
    );

    v3.cmd(&format!("leave {G}"));
    std::thread::sleep(LMQT + SLACK);
    assert!(
        lab.group(k, &rif, G).is_some(),
        "group dropped while the v2 member remains"
    );

    v2.cmd(&format!("leave {G}"));
    let took = lab.wait_for("group gone after the last leave", LMQT + SLACK, || {
        lab.group(k, &rif, G).is_none()
    });
    eprintln!("last leave -> group gone in {took:?}");
}

#[test]
fn silent_member_ages_out_after_the_group_membership_interval() {
    let (mut lab, lan, rif, hns, k) = lan_with_hosts(1);
    let mut h = lab.host(&hns[0]);
    h.cmd(&format!("join {G} 192.0.2.11"));
    lab.wait_for("group learned", Duration::from_secs(5), || {
        lab.group(k, &rif, G).is_some()
    });
    let silenced = Instant::now();
    lab.disconnect(&lan, "h0");
    // Still there well before GMI...
    std::thread::sleep(GMI - Duration::from_secs(2));
    assert!(
        lab.group(k, &rif, G).is_some(),
        "group expired before the group membership interval"
    );
    // ...and gone soon after it.
    lab.wait_for(
        "silent member aged out",
        Duration::from_secs(2) + SLACK + Duration::from_secs(1),
        || lab.group(k, &rif, G).is_none(),
    );
    assert!(
        silenced.elapsed() >= GMI - Duration::from_millis(1100),
        "aged out too early: {:?}",
        silenced.elapsed()
    );
}

#[test]
fn leave_does_not_cut_another_receiver_on_the_link() {
    let (mut lab, _lan, rif, hns, k) = lan_with_hosts(2);
    let mut a = lab.host(&hns[0]);
    let mut b = lab.host(&hns[1]);
    a.cmd(&format!("join {G} 192.0.2.11"));
    b.cmd(&format!("join {G} 192.0.2.12"));
    lab.wait_for("group learned", Duration::from_secs(5), || {
        lab.group(k, &rif, G).is_some()
    });
    a.cmd(&format!("leave {G}"));
    // The querier's group-specific query makes b report again: the group must survive LMQT.
    let deadline = Instant::now() + LMQT + SLACK;
    while Instant::now() < deadline {
        assert!(
            lab.group(k, &rif, G).is_some(),
            "a leave cut the other receiver (quickleave bug)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let g = lab.group(k, &rif, G).unwrap();
    assert_eq!(g.last_reporter.as_deref(), Some("192.0.2.12"), "{g:?}");
    // The group-specific queries went out on Ethernet to the group's MAC without the router
    // making a neighbour entry for the group (thousands of leaves would churn its table).
    let neigh = lab.ns(
        &lab.netns_of_router(),
        &["ip", "-4", "neigh", "show", "nud", "all", "dev", &rif],
    );
    assert!(!neigh.contains(G), "a neighbour entry for {G}: {neigh}");
    assert!(
        !neigh.contains("224.0.0.1"),
        "a neighbour entry for all-hosts: {neigh}"
    );
}

#[test]
fn lower_address_is_querier_and_the_other_takes_over() {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r1 = lab.netns("r1");
    let r2 = lab.netns("r2");
    let if1 = lab.lan_port(&lan, (&r1, "ra", "192.0.2.1/24"));
    let if2 = lab.lan_port(&lan, (&r2, "rb", "192.0.2.2/24"));
    // Start the higher address first: it is querier until it hears the lower one.
    let k2 = lab.start_mgm(&r2, &[&if2], FAST);
    let k1 = lab.start_mgm(&r1, &[&if1], FAST);
    lab.wait_for("election settles", Duration::from_secs(5), || {
        let a = &lab.interfaces(k1)[0];
        let b = &lab.interfaces(k2)[0];
        a.querier && !b.querier && b.querier_address.as_deref() == Some("192.0.2.1")
    });
    let stopped = Instant::now();
    lab.stop_mgm(k1);
    let took = lab.wait_for("r2 takes over", Duration::from_secs(8), || {
        lab.interfaces(k2)[0].querier
    });
    // Other querier present interval: RV × QI + QRI/2 = 4.5 s after the last query heard.
    assert!(
        took >= Duration::from_millis(2400),
        "took over too early ({took:?}) after {:?}",
        stopped.elapsed()
    );
    eprintln!("takeover {took:?} after the querier stopped");
}

/// `querier=off` on the lower address: the other router is the querier, and when it stops
/// nobody takes over; the never-querier sends no query at all.
#[test]
fn a_never_querier_follows_the_other_router_and_never_queries() {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r1 = lab.netns("r1");
    let r2 = lab.netns("r2");
    let if1 = lab.lan_port(&lan, (&r1, "ra", "192.0.2.1/24"));
    let if2 = lab.lan_port(&lan, (&r2, "rb", "192.0.2.2/24"));
    let k1 = lab.start_mgm(&r1, &[&format!("{if1},querier=off")], FAST);
    let k2 = lab.start_mgm(&r2, &[&if2], FAST);
    lab.wait_for(
        "the higher address is querier",
        Duration::from_secs(5),
        || {
            let a = &lab.interfaces(k1)[0];
            let b = &lab.interfaces(k2)[0];
            !a.querier
                && a.never_querier
                && a.querier_address.as_deref() == Some("192.0.2.2")
                && b.querier
        },
    );
    lab.stop_mgm(k2);
    // Past the other querier present interval (4.5 s with these timers): still no querier.
    std::thread::sleep(Duration::from_secs(6));
    let a = &lab.interfaces(k1)[0];
    assert!(!a.querier, "{a:?}");
    assert_eq!(a.querier_address, None, "{a:?}");
    let log = lab.daemon_log(k1);
    assert!(
        !log.contains("query to"),
        "the never-querier sent a query:\n{log}"
    );
}

#[test]
fn source_specific_join_then_block_keeps_the_right_sources() {
    let (mut lab, _lan, rif, hns, k) = lan_with_hosts(1);
    let (s1, s2) = ("198.51.100.1", "198.51.100.2");
    let mut h = lab.host(&hns[0]);
    h.cmd("ifaddr 192.0.2.11");
    h.cmd(&format!("sjoin {G} {s1}"));
    h.cmd(&format!("sjoin {G} {s2}"));
    lab.wait_for("INCLUDE {S1,S2}", Duration::from_secs(5), || {
        lab.group(k, &rif, G).is_some_and(|g| {
            g.filter_mode == "include" && g.sources.iter().filter(|s| s.forwarding).count() == 2
        })
    });
    h.cmd(&format!("sleave {G} {s1}"));
    lab.wait_for(
        "S1 removed after its group-and-source query",
        LMQT + SLACK,
        || lab.group(k, &rif, G).is_some_and(|g| g.sources.len() == 1),
    );
    let g = lab.group(k, &rif, G).unwrap();
    assert_eq!(g.filter_mode, "include");
    assert_eq!(g.sources[0].source, s2);
    assert!(g.sources[0].forwarding);
}

#[test]
fn restart_readopts_memberships_from_the_pinned_maps() {
    let (mut lab, lan, rif, hns, k) = lan_with_hosts(1);
    let mut h = lab.host(&hns[0]);
    h.cmd(&format!("join {G} 192.0.2.11"));
    lab.wait_for("group learned", Duration::from_secs(5), || {
        lab.group(k, &rif, G).is_some()
    });
    // No report can reach the next daemon: what it knows comes from the maps.
    lab.disconnect(&lan, "h0");
    let before = lab.group(k, &rif, G).unwrap();
    let pins = lab.daemon(k).pin_dir.clone();
    assert!(lab.stop_mgm(k).success());
    let k2 = lab.start_mgm_pinned(&lab.netns_of_router(), &[&rif], FAST, pins);
    let after = lab
        .group(k2, &rif, G)
        .expect("membership lost across the restart");
    assert_eq!(after.filter_mode, "exclude");
    assert_eq!(after.last_reporter, before.last_reporter);
    assert!(
        after.expires_in_ms <= before.expires_in_ms,
        "{after:?} vs {before:?}"
    );
    // It still ages out on its own schedule.
    lab.wait_for("re-adopted group ages out", GMI + SLACK, || {
        lab.group(k2, &rif, G).is_none()
    });
}

#[test]
fn reports_from_off_link_sources_are_ignored_unless_accepted() {
    // (accept them, the router's interface has more subnets than the classifier holds: then the
    // daemon alone judges)
    for (accept, many_subnets) in [(false, false), (true, false), (false, true)] {
        let mut lab = Lab::new();
        let lan = lab.lan("lan");
        let r = lab.netns("r");
        let h = lab.netns("h");
        let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.1/24"));
        if many_subnets {
            for n in 1..=4 {
                lab.ns(
                    &r,
                    &[
                        "ip",
                        "addr",
                        "add",
                        &format!("198.51.100.{n}/32"),
                        "dev",
                        &rif,
                    ],
                );
            }
        }
        // The host's only address is on another subnet than the router's.
        lab.lan_port(&lan, (&h, "h", "203.0.113.77/24"));
        let mut extra = FAST.to_vec();
        if accept {
            extra.push("--accept-off-link-reports");
        }
        let k = lab.start_mgm(&r, &[&rif], &extra);
        let mut host = lab.host(&h);
        host.cmd(&format!("join {G} 203.0.113.77"));
        let stats = |lab: &Lab| {
            mgm_user::control::client::request::<serde_json::Value>(
                &lab.daemon(k).socket,
                mgm_user::control::api::Request::ShowStats,
            )
            .expect("stats")
        };
        if accept {
            lab.wait_for("off-link member accepted", Duration::from_secs(5), || {
                lab.group(k, &rif, G).is_some()
            });
        } else {
            // The classifier drops them before they reach the daemon, unless it cannot hold the
            // interface's subnets; then the daemon does.
            let counter = if many_subnets {
                "daemon_off_link_reports"
            } else {
                "ignored_off_link_source"
            };
            lab.wait_for("off-link reports counted", Duration::from_secs(5), || {
                stats(&lab)[counter].as_u64().unwrap_or(0) > 0
            });
            assert!(
                lab.group(k, &rif, G).is_none(),
                "off-link report created a group"
            );
        }
    }
}

/// A group-and-source query longer than one packet reaches the hosts of a 1400-byte link in
/// pieces that fit it: 400 sources go out as 341 + 59 (at 1500 bytes a piece, 366, would not
/// leave the router's end at all); and again once the link's MTU is lowered to 1280.
#[test]
fn a_long_source_query_reaches_a_small_mtu_link_in_pieces() {
    let mut lab = Lab::new();
    let lan = lab.lan("lan");
    let r = lab.netns("r");
    let h = lab.netns("h");
    let rif = lab.lan_port(&lan, (&r, "r", "192.0.2.1/24"));
    let hif = lab.lan_port(&lan, (&h, "h", "192.0.2.11/24"));
    for (ns, dev) in [(&r, &rif), (&h, &hif)] {
        lab.ns(ns, &["ip", "link", "set", dev, "mtu", "1400"]);
    }
    let k = lab.start_mgm(&r, &[&rif], FAST);
    lab.set_router(&r);
    let queried = packet::Capture::start("query capture", &h, &hif, |f, kept| {
        let p = f.packet;
        let ihl = usize::from(p.first().copied().unwrap_or(0) & 0x0f) * 4;
        if !f.outgoing && p.len() >= ihl + 12 && p[9] == 2 && p[ihl] == 0x11 {
            let sources: Vec<[u8; 4]> = p[ihl + 12..]
                .chunks_exact(4)
                .map(|s| [s[0], s[1], s[2], s[3]])
                .collect();
            kept.push((p.len(), sources));
        }
    });
    let flood = |scenario: &str, count: &str| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/report_flood.py");
        lab.ns(
            &h,
            &[
                "python3",
                script,
                "192.0.2.11",
                scenario,
                count,
                "1",
                "2000",
            ],
        );
    };
    // 239.1.0.1 in INCLUDE mode with 400 sources, one ALLOW each; then a leave: Q(G, A), whose
    // pieces must fit `mtu`.
    let leave_after_400_sources = |mtu: usize| {
        let before = queried.kept().len();
        flood("allow", "400");
        lab.wait_for("the group's 400 sources", Duration::from_secs(10), || {
            lab.group(k, &rif, "239.1.0.1")
                .is_some_and(|g| g.sources.len() == 400)
        });
        flood("to_in", "1");
        let queried_sources = || {
            let seen = queried.kept();
            let all: std::collections::BTreeSet<[u8; 4]> = seen[before..]
                .iter()
                .flat_map(|(_, s)| s.iter().copied())
                .collect();
            all.len()
        };
        lab.wait_for("every source queried", LMQT + SLACK, || {
            queried_sources() == 400
        });
        let seen = queried.kept();
        assert!(
            seen[before..].iter().all(|(len, _)| *len <= mtu),
            "{:?}",
            seen[before..]
                .iter()
                .map(|(len, s)| (len, s.len()))
                .collect::<Vec<_>>()
        );
        lab.wait_for("the group gone", LMQT + SLACK, || {
            lab.group(k, &rif, "239.1.0.1").is_none()
        });
    };
    leave_after_400_sources(1400);
    // The link's MTU changes while the router runs: the next query follows it (311 + 89).
    for (ns, dev) in [(&r, &rif), (&h, &hif)] {
        lab.ns(ns, &["ip", "link", "set", dev, "mtu", "1280"]);
    }
    lab.wait_for(
        "the router reads the new MTU",
        Duration::from_secs(5),
        || lab.daemon_log(k).contains("MTU 1280"),
    );
    leave_after_400_sources(1280);
}

/// Groups of [`a_burst_of_leaves_draws_every_group_specific_query`].
const BURST: usize = 300;

#[test]
fn a_burst_of_leaves_draws_every_group_specific_query() {
    // The queries of the leaves the daemon reads in one batch go out together (one `sendmmsg`
    // per interface): each group must still get its last-member queries, each its own packet.
    let (lab, _lan, rif, hns, k) = lan_with_hosts(1);
    let hif = format!("h0{}", lab.id);
    let queries = packet::Capture::start("query capture", &hns[0], &hif, |f, kept| {
        let p = f.packet;
        let ihl = usize::from(p.first().copied().unwrap_or(0) & 0x0f) * 4;
        if !f.outgoing && p.len() >= ihl + 8 && p[9] == 2 && p[ihl] == 0x11 {
            let group = [p[ihl + 4], p[ihl + 5], p[ihl + 6], p[ihl + 7]];
            // Sent to the group it asks about, with the IP checksum right.
            let sum = p[..ihl]
                .chunks(2)
                .fold(0u32, |s, w| s + u32::from(u16::from_be_bytes([w[0], w[1]])));
            let sum = (sum & 0xffff) + (sum >> 16);
            if group != [0; 4] && p[16..20] == group && sum & 0xffff == 0xffff {
                kept.push(std::net::Ipv4Addr::from(group));
            }
        }
    });
    let flood = |scenario: &str| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/report_flood.py");
        let n = BURST.to_string();
        lab.ns(
            &hns[0],
            &["python3", script, "192.0.2.11", scenario, &n, &n, "0"],
        );
    };
    flood("join");
    lab.wait_for(
        "every group of the burst held",
        Duration::from_secs(10),
        || lab.groups(k).iter().filter(|g| g.interface == rif).count() == BURST,
    );
    flood("leave");
    lab.wait_for(
        "every group gone after its last-member queries",
        LMQT + SLACK + Duration::from_secs(5),
        || lab.groups(k).iter().all(|g| g.interface != rif),
    );
    // The last-member query count is the robustness variable (2 in FAST).
    let seen = queries.kept().clone();
    let mut per_group = std::collections::BTreeMap::new();
    for g in &seen {
        *per_group.entry(*g).or_insert(0usize) += 1;
    }
    assert_eq!(
        per_group.len(),
        BURST,
        "groups queried: {}",
        per_group.len()
    );
    let off: Vec<_> = per_group.iter().filter(|(_, &n)| n != 2).collect();
    assert!(off.is_empty(), "groups not queried twice: {off:?}");
}
