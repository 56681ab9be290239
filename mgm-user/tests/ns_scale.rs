//! Scale, against the real daemon: 100 000 groups and 1 000 000 sources on two LANs (50 000
//! INCLUDE groups of 10 sources each), every one held by the daemon and by the kernel's maps,
//! with no map write failed; then `mgm show groups` streams them all, and its filters narrow
//! them in the daemon.
mod common;
#[path = "common/scale.rs"]
mod scale;

use mgm_common::{MemberKey, MemberState, SourceKey, SourceState};
use mgm_user::control::{
    api::{GroupFilter, GroupView, Request},
    client,
};
use scale::{converge, cpu_time, map_entries, scale_lab, stats, GROUPS_PER_LAN, SOURCES_PER_GROUP};
use std::time::Instant;

#[test]
fn a_hundred_thousand_groups_and_a_million_sources_are_held_and_listed() {
    let s = scale_lab();
    let (lab, k) = (&s.lab, s.k);
    let cpu0 = cpu_time(lab, k);
    let start = Instant::now();
    let rounds = converge(&s, 8);
    let converged = start.elapsed();
    let cpu = cpu_time(lab, k) - cpu0;
    let st = stats(lab, k);
    eprintln!(
        "100 000 groups / 1 000 000 sources held in {:.2} s ({rounds} rounds), daemon CPU {:.2} \
         s, RSS {} MB, ring drops {}",
        converged.as_secs_f64(),
        cpu.as_secs_f64(),
        st["daemon_rss_bytes"] >> 20,
        st["events_ring_full"]
    );
    assert_eq!(
        st["daemon_map_write_errors"], 0,
        "every map write succeeded"
    );
    let total_groups = s.lans.len() * GROUPS_PER_LAN as usize;
    assert_eq!(
        map_entries::<MemberKey, MemberState>(lab, k, "MGM_MEMBERS"),
        total_groups
    );
    assert_eq!(
        map_entries::<SourceKey, SourceState>(lab, k, "MGM_SOURCES"),
        total_groups * SOURCES_PER_GROUP as usize
    );

    // `mgm show groups` streams all of them, in order, each with its sources.
    let socket = &lab.daemon(k).socket;
    let t = Instant::now();
    let mut rows = 0usize;
    let mut last: Option<(u32, std::net::Ipv4Addr)> = None;
    client::stream(
        socket,
        Request::ShowGroups(GroupFilter::default()),
        |g: GroupView| {
            let key = (g.ifindex, g.group.parse().expect("group address"));
            assert!(last < Some(key), "rows in order: {last:?} then {key:?}");
            assert_eq!(g.sources.len(), SOURCES_PER_GROUP as usize, "{g:?}");
            last = Some(key);
            rows += 1;
            Ok(())
        },
    )
    .expect("show groups");
    eprintln!(
        "show groups: {rows} rows in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(rows, total_groups);

    // The filters, applied in the daemon: one interface, one /24 of its groups.
    let (rif, _, _, octet) = &s.lans[1];
    let mut narrowed = Vec::new();
    let filter = GroupFilter {
        interface: Some(rif.clone()),
        group: Some(format!("239.{octet}.1.0/24")),
    };
    client::stream(socket, Request::ShowGroups(filter), |g: GroupView| {
        narrowed.push(g);
        Ok(())
    })
    .expect("show groups, filtered");
    assert_eq!(narrowed.len(), 256);
    assert!(narrowed
        .iter()
        .all(|g| g.interface == *rif && g.group.starts_with(&format!("239.{octet}.1."))));
}
