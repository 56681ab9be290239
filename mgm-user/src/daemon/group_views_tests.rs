//! The chunked walk of `show_groups`: order, cursors, budgets, groups that come and go between
//! chunks, filters, and the chunks making one response line.
use super::*;
use crate::control::api::Response;
use crate::igmp::{IgmpConfig, NoFastPath};
use mgm_common::igmp::{checksum, parse, TYPE_V2_REPORT};

const T0: u64 = 1_000_000_000_000;

fn router(ifindex: u32) -> IgmpInterface {
    IgmpInterface::new(
        ifindex,
        Ipv4Addr::new(192, 0, 2, 1),
        IgmpConfig::default(),
        T0,
    )
    .0
}

fn join(r: &mut IgmpInterface, group: Ipv4Addr) {
    let mut b = [TYPE_V2_REPORT, 0, 0, 0, 0, 0, 0, 0];
    b[4..].copy_from_slice(&group.octets());
    let c = checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    let msg = parse(&b).expect("a v2 report");
    r.on_message(T0, Ipv4Addr::new(192, 0, 2, 10), group, &msg, &NoFastPath);
}

/// An IGMPv3 IS_IN record of `sources` sources (198.51.100.1 …) for `group`.
fn include(r: &mut IgmpInterface, group: Ipv4Addr, sources: u8) {
    let mut b = vec![0x22, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, sources];
    b.extend_from_slice(&group.octets());
    for s in 1..=sources {
        b.extend_from_slice(&[198, 51, 100, s]);
    }
    let c = checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    let msg = parse(&b).expect("a v3 report");
    let all_routers = Ipv4Addr::new(224, 0, 0, 22);
    r.on_message(
        T0,
        Ipv4Addr::new(192, 0, 2, 10),
        all_routers,
        &msg,
        &NoFastPath,
    );
}

fn g(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 1, 1, last)
}

/// Interfaces 2 (groups .3 .1 .2) and 5 (groups .9 .4).
fn lab() -> Vec<(u32, String, IgmpInterface)> {
    let mut a = router(2);
    for x in [3, 1, 2] {
        join(&mut a, g(x));
    }
    let mut b = router(5);
    for x in [9, 4] {
        join(&mut b, g(x));
    }
    vec![(2, "eth2".into(), a), (5, "eth5".into(), b)]
}

fn ports(
    lab: &[(u32, String, IgmpInterface)],
) -> impl Iterator<Item = (u32, &str, &IgmpInterface)> {
    lab.iter().map(|(i, n, r)| (*i, n.as_str(), r))
}

/// Walks everything `wanted` keeps, `budget` units a chunk: the rows of each chunk.
fn chunks(
    lab: &[(u32, String, IgmpInterface)],
    wanted: &Wanted,
    budget: usize,
) -> Vec<Vec<(u32, String)>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let mut rows = Vec::new();
        let next = walk_groups(
            ports(lab),
            &NoFastPath,
            wanted,
            after,
            budget,
            T0,
            &mut |r| rows.push((r.ifindex, r.group)),
        );
        out.push(rows);
        match next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
}

fn keys(rows: &[(u32, &str)]) -> Vec<(u32, String)> {
    rows.iter().map(|(i, g)| (*i, g.to_string())).collect()
}

#[test]
fn chunks_go_by_interface_then_group_and_resume_after_their_cursor() {
    let lab = lab();
    let all = keys(&[
        (2, "239.1.1.1"),
        (2, "239.1.1.2"),
        (2, "239.1.1.3"),
        (5, "239.1.1.4"),
        (5, "239.1.1.9"),
    ]);
    let whole = chunks(&lab, &Wanted::default(), usize::MAX);
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0], all);
    let by_two = chunks(&lab, &Wanted::default(), 2);
    assert_eq!(by_two.concat(), all, "the same rows, once each");
    // The cursor crosses from one interface to the next; the last chunk may be empty.
    assert_eq!(by_two[0], all[..2]);
    assert_eq!(by_two[1], all[2..4]);
    assert!(by_two.iter().all(|c| c.len() <= 2));
}

#[test]
fn groups_that_come_or_go_between_chunks_are_listed_once_or_not() {
    let mut lab = lab();
    let mut rows = Vec::new();
    let mut each = |r: GroupView| rows.push(r.group);
    let c = walk_groups(
        ports(&lab),
        &NoFastPath,
        &Wanted::default(),
        None,
        2,
        T0,
        &mut each,
    );
    assert_eq!(
        c,
        Some(GroupCursor {
            ifindex: 2,
            group: g(2)
        })
    );
    // Before the cursor (not listed now), after it (listed), and one listed already gone.
    lab[0].2 = {
        let mut fresh = router(2);
        for x in [0, 1, 3, 7] {
            join(&mut fresh, g(x));
        }
        fresh
    };
    let mut each = |r: GroupView| rows.push(r.group);
    let next = walk_groups(
        ports(&lab),
        &NoFastPath,
        &Wanted::default(),
        c,
        100,
        T0,
        &mut each,
    );
    assert_eq!(next, None);
    assert_eq!(
        rows,
        [
            "239.1.1.1",
            "239.1.1.2",
            "239.1.1.3",
            "239.1.1.7",
            "239.1.1.4",
            "239.1.1.9"
        ]
    );
}

#[test]
fn a_chunk_holds_at_least_one_group_and_sources_count_against_its_budget() {
    let mut lab = lab();
    // Each v2 group costs 1 and has no source: a budget of 1 is one row a chunk.
    let ones = chunks(&lab, &Wanted::default(), 1);
    assert!(ones.iter().take(5).all(|c| c.len() == 1), "{ones:?}");
    // A budget of 0 still moves on.
    assert_eq!(chunks(&lab, &Wanted::default(), 0).concat().len(), 5);
    // 239.1.1.5 and .6 with 3 sources each cost 4: a budget of 5 holds one of them and a v2
    // group, or the two v2 groups before them, never both.
    include(&mut lab[1].2, g(5), 3);
    include(&mut lab[1].2, g(6), 3);
    let on5 = Wanted {
        ifindex: Some(5),
        prefix: None,
    };
    let fives = chunks(&lab, &on5, 5);
    assert_eq!(
        fives,
        [
            keys(&[(5, "239.1.1.4"), (5, "239.1.1.5")]),
            keys(&[(5, "239.1.1.6"), (5, "239.1.1.9")]),
            vec![],
        ]
    );
}

#[test]
fn filters_keep_one_interface_and_one_prefix() {
    let lab = lab();
    let on5 = Wanted {
        ifindex: Some(5),
        prefix: None,
    };
    assert_eq!(
        chunks(&lab, &on5, 1).concat(),
        keys(&[(5, "239.1.1.4"), (5, "239.1.1.9")])
    );
    let low = Wanted {
        ifindex: None,
        prefix: Some("239.1.1.0/30".parse().unwrap()),
    };
    assert_eq!(
        chunks(&lab, &low, 1).concat(),
        keys(&[(2, "239.1.1.1"), (2, "239.1.1.2"), (2, "239.1.1.3")])
    );
}

#[test]
fn the_chunks_make_the_one_response_line_of_the_whole_answer() {
    let lab = lab();
    let wanted = Wanted::default();
    let mut line = String::new();
    let mut after = None;
    let mut pieces = 0;
    loop {
        let c = chunk(Some(4), after, |each| {
            walk_groups(ports(&lab), &NoFastPath, &wanted, after, 2, T0, each)
        });
        line.push_str(&c.text);
        pieces += 1;
        match c.next {
            Some(Cursor::Group(n)) => after = Some(n),
            other => {
                assert_eq!(other, None);
                break;
            }
        }
    }
    assert!(pieces >= 3, "{pieces}");
    assert!(
        line.ends_with("]}\n") && line.matches('\n').count() == 1,
        "{line}"
    );
    let mut whole = Vec::new();
    walk_groups(
        ports(&lab),
        &NoFastPath,
        &wanted,
        None,
        usize::MAX,
        T0,
        &mut |r| whole.push(r),
    );
    let expect = serde_json::to_string(&Response::ok(whole).with_id(Some(4))).unwrap() + "\n";
    assert_eq!(line, expect);
    // Nothing to list: the head and the tail.
    let none = Wanted {
        ifindex: Some(9),
        prefix: None,
    };
    let c = chunk(None, None, |each| {
        walk_groups(ports(&lab), &NoFastPath, &none, None, 2, T0, each)
    });
    assert_eq!(c.next, None);
    let empty: Response<Vec<GroupView>> = serde_json::from_str(&c.text).unwrap();
    assert_eq!(empty.data, Some(vec![]));
}
