use super::*;
use crate::control::api::groups::{response_head, RESPONSE_TAIL};
use crate::manager::local::register_local;
use crate::manager::{quiet_manager_with_local, ManagerConfig, MembershipFlags, StaticRpf};

fn name(ifindex: u32) -> String {
    format!("eth{ifindex}")
}

/// `groups` (*,G)s joined by `local` on interfaces 1 and 2, and the last `late` of them on
/// interface 3 too.
fn table(groups: u32, late: u32) -> Manager {
    let (mut m, local) = quiet_manager_with_local();
    for i in 1..=3 {
        m.take_interface_ownership(0, local, IfKey::new(i)).unwrap();
    }
    for g in 0..groups {
        let sg = Sg::star_g(Ipv4Addr::from(0xEF00_0000 | g));
        let on = if g >= groups - late { 3 } else { 2 };
        for i in 1..=on {
            m.add_membership(0, local, sg, IfKey::new(i), MembershipFlags::JOIN_STATE)
                .unwrap();
        }
    }
    m.take_actions();
    m
}

/// The whole answer to `get_memberships` with `f`, chunk by chunk: the rows of its one line,
/// and the records each chunk visited.
fn answer(m: &mut Manager, f: &MembershipFilter) -> (Vec<MembershipView>, Vec<usize>) {
    let mut line = String::new();
    let mut visits = Vec::new();
    let mut after = None;
    loop {
        let (c, visited) = chunk(m, &name, Some(7), f, after.as_ref());
        line.push_str(&c.text);
        visits.push(visited);
        match c.next {
            Some(Cursor::Membership(next)) => after = Some(next),
            Some(other) => panic!("not a membership cursor: {other:?}"),
            None => break,
        }
    }
    assert!(line.starts_with(&response_head(Some(7))), "{line:.80}");
    assert!(line.ends_with(&format!("{RESPONSE_TAIL}\n")));
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    let rows = serde_json::from_value(v["data"].clone()).expect("membership rows");
    (rows, visits)
}

/// One unfiltered walk, then `f` applied to its rows.
fn walked_then_filtered(m: &mut Manager, f: &MembershipFilter) -> Vec<MembershipView> {
    let every = MembershipFilter::default();
    walk(m, &name, None, usize::MAX, usize::MAX, &every)
        .rows
        .into_iter()
        .filter(|r| {
            keeps(
                f,
                (r.group, r.source, &r.interface, r.next_hop, &r.protocol),
            )
        })
        .collect()
}

#[test]
fn a_filter_matching_nothing_visits_a_bounded_number_of_records_per_chunk() {
    // 2 × 20 000 records: more than two chunks' visits.
    let mut m = table(20_000, 0);
    let f = MembershipFilter {
        interface: Some("nosuch0".into()),
        ..MembershipFilter::default()
    };
    let (rows, visits) = answer(&mut m, &f);
    assert!(rows.is_empty());
    // At most 4 × 4 096 records a chunk, and the rest of an (S,G) (two records here), not the
    // table.
    assert!(
        visits.iter().all(|&v| v <= 4 * 4096 + 1),
        "records visited per chunk: {visits:?}"
    );
    // Each record once, but the last (S,G) of a chunk: the next one starts there again.
    let again = 2 * (visits.len() - 1);
    assert_eq!(visits.iter().sum::<usize>(), 40_000 + again, "{visits:?}");
}

#[test]
fn a_filtered_walk_over_short_and_empty_chunks_lists_what_one_walk_then_the_filter_does() {
    // Interface 3's records are in the table's last groups: the first chunks list none of them.
    let mut m = table(20_000, 300);
    for f in [
        MembershipFilter {
            interface: Some("eth3".into()),
            ..MembershipFilter::default()
        },
        MembershipFilter {
            interface: Some("eth2".into()),
            ..MembershipFilter::default()
        },
        MembershipFilter {
            protocol: Some("local".into()),
            ..MembershipFilter::default()
        },
        MembershipFilter::default(),
    ] {
        let (rows, visits) = answer(&mut m, &f);
        assert!(visits.len() >= 3, "{f:?}: {visits:?}");
        assert_eq!(rows, walked_then_filtered(&mut m, &f), "{f:?}");
    }
    let (rows, _) = answer(
        &mut m,
        &MembershipFilter {
            interface: Some("eth3".into()),
            ..MembershipFilter::default()
        },
    );
    assert_eq!(rows.len(), 300);
}

#[test]
fn records_apart_only_by_their_next_hop_are_each_walked_once() {
    let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let mut m = Manager::with_config(Box::new(rpf), ManagerConfig::default());
    let local = register_local(&mut m).unwrap();
    let sg = Sg::star_g(Ipv4Addr::new(239, 1, 1, 1));
    let hops = [
        Ipv4Addr::new(198, 51, 100, 9),
        Ipv4Addr::new(198, 51, 100, 2),
    ];
    for next_hop in hops {
        let iface = IfKey {
            ifindex: 1,
            next_hop,
        };
        m.take_interface_ownership(0, local, iface).unwrap();
        m.add_membership(0, local, sg, iface, MembershipFlags::JOIN_STATE)
            .unwrap();
    }
    let every = MembershipFilter::default();
    // A page of one record at a time, each after the one before.
    let mut paged = Vec::new();
    let mut after: Option<MembershipKey> = None;
    loop {
        let w = walk(&mut m, &name, after.as_ref(), 1, usize::MAX, &every);
        paged.extend(w.rows);
        match w.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let hops: Vec<_> = paged.iter().map(|r| r.next_hop).collect();
    assert_eq!(
        hops,
        [
            Some(Ipv4Addr::new(198, 51, 100, 2)),
            Some(Ipv4Addr::new(198, 51, 100, 9))
        ],
        "{paged:?}"
    );
    assert!(paged.iter().all(|r| r.interface == "eth1"));
}
