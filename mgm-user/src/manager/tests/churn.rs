//! Membership churn through IGMP and `local` (what `mgm run` does) over many groups, sources and
//! rounds: every round forwards to the joined interfaces and then leaves nothing behind.
use super::*;

#[test]
fn churn_through_igmp_and_local_ends_where_it_started() {
    const IFACES: u32 = 4;
    const GROUPS: u32 = 50;
    const SOURCES: u8 = 2;
    let (mut m, local) = quiet_manager_with_local();
    let igmp = m
        .register(
            "igmp",
            ClientKind::Igmp,
            IGMP_PROTOCOL_ID,
            ComponentId(1),
            Box::new(IgmpBridge::new(IgmpNotices::new())),
        )
        .unwrap();
    for i in 1..=IFACES {
        m.take_interface_ownership(0, local, ifk(i)).unwrap();
        m.take_interface_ownership(0, igmp, ifk(i)).unwrap();
    }
    let group = |g: u32| Ipv4Addr::from(0xEF01_0000 | g);
    let source = |s: u8| Ipv4Addr::new(192, 0, 2, 1 + s);
    for g in 0..GROUPS {
        for s in 0..SOURCES {
            m.new_packet(0, source(s), group(g), 1, &[]).unwrap();
        }
    }
    let oifs = |m: &Manager, now, s, g| -> Vec<u32> {
        m.mfe(now, source(s), group(g))
            .unwrap()
            .oifs
            .iter()
            .map(|i| i.ifindex)
            .collect()
    };
    for round in 0..3u64 {
        let now = round * SEC;
        for g in 0..GROUPS {
            for i in 2..=IFACES {
                m.add_membership(now, igmp, Sg::star_g(group(g)), ifk(i), J)
                    .unwrap();
            }
        }
        for g in 0..GROUPS {
            for s in 0..SOURCES {
                assert_eq!(oifs(&m, now, s, g), vec![2, 3, 4], "round {round}");
            }
        }
        for g in 0..GROUPS {
            for i in 2..=IFACES {
                m.delete_membership(now, igmp, Sg::star_g(group(g)), ifk(i), J)
                    .unwrap();
            }
        }
        for g in 0..GROUPS {
            for s in 0..SOURCES {
                assert!(oifs(&m, now, s, g).is_empty(), "round {round}");
            }
        }
        assert!(m.memberships().is_empty(), "round {round}");
        m.take_actions();
    }
}

#[test]
fn the_membership_table_gives_back_a_storms_capacity() {
    let mut m = Manager::new(Box::new(StaticRpf::new()));
    let local = register_local(&mut m).unwrap();
    m.take_interface_ownership(0, local, ifk(1)).unwrap();
    let group = |g: u32| Ipv4Addr::from(0xEF02_0000 | g);
    for g in 0..20_000 {
        m.add_membership(0, local, Sg::star_g(group(g)), ifk(1), J)
            .unwrap();
    }
    // Growing past 1024 slots freed the smaller tables it moved out of: worth giving back once.
    assert!(m.shrink_tables(), "the grown table's old ones were freed");
    assert!(!m.shrink_tables(), "a full table has nothing to give back");
    for g in 0..20_000 {
        m.delete_membership(0, local, Sg::star_g(group(g)), ifk(1), J)
            .unwrap();
    }
    assert!(m.shrink_tables(), "the storm's capacity stays");
    assert!(!m.shrink_tables(), "shrunk once, nothing left to give back");
    // Still a working table.
    m.add_membership(0, local, Sg::star_g(group(1)), ifk(1), J)
        .unwrap();
    assert_eq!(m.memberships().len(), 1);
}
