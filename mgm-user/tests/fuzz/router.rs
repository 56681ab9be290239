//! The IGMP router of one interface (`mgm_user::igmp::IgmpInterface`) fed random sequences of
//! reports, leaves and queries (from hosts, routers, a snooping switch and foreign sources) on a
//! fake clock, through the real parser. Small limits so they are hit; a second run adds group
//! and source filters and quick leave.
use super::seeds::{record, seal, v3_report};
use mgm_common::igmp::{
    parse, TYPE_MEMBERSHIP_QUERY, TYPE_V1_REPORT, TYPE_V2_LEAVE, TYPE_V2_REPORT,
};
use mgm_common::maps::LinkSubnet;
use mgm_common::{MemberState, SourceState};
use mgm_user::igmp::{Action, FastPathView, IgmpConfig, IgmpInterface, MembershipChange};
use proptest::collection::vec;
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

const IFINDEX: u32 = 3;
const US: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const SEC: u64 = 1_000_000_000;
const MAX_GROUPS: u32 = 4;
const MAX_SOURCES: u32 = 3;

/// Who sends: hosts on the link, a lower and a higher router, a snooping switch (0.0.0.0),
/// foreign sources (loopback, off-link, the subnet's broadcast address).
const SENDERS: [Ipv4Addr; 8] = [
    Ipv4Addr::new(192, 0, 2, 21),
    Ipv4Addr::new(192, 0, 2, 22),
    Ipv4Addr::new(192, 0, 2, 5),
    Ipv4Addr::new(192, 0, 2, 20),
    Ipv4Addr::UNSPECIFIED,
    Ipv4Addr::new(127, 0, 0, 1),
    Ipv4Addr::new(203, 0, 113, 7),
    Ipv4Addr::new(192, 0, 2, 255),
];

fn group(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 1, 0, i)
}

#[derive(Clone, Debug)]
enum Input {
    /// Time passes (ms); due deadlines run.
    Wait(u32),
    V1Report(usize, u8),
    V2Report(usize, u8),
    Leave(usize, u8),
    /// (record type, group, number of sources) per record.
    V3Report(usize, Vec<(u8, u8, u8)>),
    /// Version 1..=3, group (0: general), S flag, QRV, QQIC, sources.
    Query(usize, u8, u8, bool, u8, u8, u8),
}

fn input() -> impl Strategy<Value = Input> {
    let who = 0..SENDERS.len();
    let g = 0..6u8;
    prop_oneof![
        3 => (0..30_000u32).prop_map(Input::Wait),
        1 => (who.clone(), g.clone()).prop_map(|(w, g)| Input::V1Report(w, g)),
        2 => (who.clone(), g.clone()).prop_map(|(w, g)| Input::V2Report(w, g)),
        2 => (who.clone(), g.clone()).prop_map(|(w, g)| Input::Leave(w, g)),
        5 => (who.clone(), vec((1..=6u8, g.clone(), 0..5u8), 1..4))
            .prop_map(|(w, r)| Input::V3Report(w, r)),
        2 => (who, 1..=3u8, 0..6u8, any::<bool>(), 0..8u8, any::<u8>(), 0..4u8)
            .prop_map(|(w, v, g, s, qrv, qqic, n)| Input::Query(w, v, g, s, qrv, qqic, n)),
    ]
}

fn bytes_of(input: &Input) -> Option<(Ipv4Addr, Ipv4Addr, Vec<u8>)> {
    let simple = |t: u8, code: u8, g: Ipv4Addr| {
        let mut b = vec![t, code, 0, 0];
        b.extend_from_slice(&g.octets());
        seal(&mut b);
        b
    };
    Some(match *input {
        Input::Wait(_) => return None,
        Input::V1Report(w, g) => (SENDERS[w], group(g), simple(TYPE_V1_REPORT, 0, group(g))),
        Input::V2Report(w, g) => (SENDERS[w], group(g), simple(TYPE_V2_REPORT, 0, group(g))),
        Input::Leave(w, g) => (
            SENDERS[w],
            Ipv4Addr::new(224, 0, 0, 2),
            simple(TYPE_V2_LEAVE, 0, group(g)),
        ),
        Input::V3Report(w, ref recs) => {
            let records: Vec<Vec<u8>> = recs.iter().map(|&(t, g, n)| record(t, 0, g, n)).collect();
            (
                SENDERS[w],
                Ipv4Addr::new(224, 0, 0, 22),
                v3_report(&records),
            )
        }
        Input::Query(w, v, g, s, qrv, qqic, n) => {
            let grp = if g == 0 {
                Ipv4Addr::UNSPECIFIED
            } else {
                group(g)
            };
            let dst = if g == 0 {
                Ipv4Addr::new(224, 0, 0, 1)
            } else {
                grp
            };
            let mut b = match v {
                1 => simple(TYPE_MEMBERSHIP_QUERY, 0, Ipv4Addr::UNSPECIFIED),
                2 => simple(TYPE_MEMBERSHIP_QUERY, 10, grp),
                _ => {
                    let mut b = vec![TYPE_MEMBERSHIP_QUERY, 10, 0, 0];
                    b.extend_from_slice(&grp.octets());
                    b.extend_from_slice(&[u8::from(s) << 3 | qrv, qqic, 0, n]);
                    for i in 0..n {
                        b.extend_from_slice(&[198, 51, 100, i]);
                    }
                    b
                }
            };
            seal(&mut b);
            (SENDERS[w], dst, b)
        }
    })
}

/// The maps as the shell keeps them, plus what the manager was told.
#[derive(Default)]
struct Shell {
    members: RefCell<HashMap<Ipv4Addr, MemberState>>,
    sources: RefCell<HashMap<(Ipv4Addr, Ipv4Addr), SourceState>>,
    joined: BTreeSet<(Ipv4Addr, Option<Ipv4Addr>)>,
    blocked: BTreeSet<(Ipv4Addr, Ipv4Addr)>,
}

impl FastPathView for Shell {
    fn member(&self, _: u32, group: Ipv4Addr) -> Option<MemberState> {
        self.members.borrow().get(&group).copied()
    }
    fn source(&self, _: u32, group: Ipv4Addr, source: Ipv4Addr) -> Option<SourceState> {
        self.sources.borrow().get(&(group, source)).copied()
    }
}

impl Shell {
    fn apply(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::WriteMember { group, state, .. } => {
                    self.members.borrow_mut().insert(group, state);
                }
                Action::DeleteMember { group, .. } => {
                    let gone = self.members.borrow_mut().remove(&group);
                    assert!(gone.is_some(), "delete of {group}, never written");
                    let orphans = self.sources.borrow().keys().any(|(g, _)| *g == group);
                    assert!(!orphans, "{group} deleted before its sources");
                }
                Action::WriteSource {
                    group,
                    source,
                    state,
                    ..
                } => {
                    self.sources.borrow_mut().insert((group, source), state);
                }
                Action::DeleteSource { group, source, .. } => {
                    let gone = self.sources.borrow_mut().remove(&(group, source));
                    assert!(
                        gone.is_some(),
                        "delete of ({source},{group}), never written"
                    );
                }
                Action::Membership {
                    group,
                    source,
                    change,
                    ..
                } => self.told(group, source, change),
                _ => {}
            }
        }
    }

    /// Every delta is the counterpart of the state before it: no double join, no leave of
    /// what was never joined.
    fn told(&mut self, group: Ipv4Addr, source: Option<Ipv4Addr>, change: MembershipChange) {
        let fresh = match (change, source) {
            (MembershipChange::Join, _) => self.joined.insert((group, source)),
            (MembershipChange::Leave, _) => self.joined.remove(&(group, source)),
            (MembershipChange::Block, Some(s)) => self.blocked.insert((group, s)),
            (MembershipChange::Unblock, Some(s)) => self.blocked.remove(&(group, s)),
            (_, None) => false,
        };
        assert!(
            fresh,
            "{change:?} ({source:?},{group}) does not follow the state"
        );
    }
}

fn check(iface: &IgmpInterface, shell: &Shell) {
    // What the filters refuse is never in the maps.
    let cfg = iface.config();
    for g in shell.members.borrow().keys() {
        assert!(
            cfg.group_filter.accepts(*g),
            "filtered group {g} in the map"
        );
    }
    for (g, s) in shell.sources.borrow().keys() {
        assert!(
            cfg.source_filter.accepts(*s),
            "filtered source ({s},{g}) in the map"
        );
    }
    let groups: BTreeSet<Ipv4Addr> = iface.groups().map(|g| g.group).collect();
    let mapped: BTreeSet<Ipv4Addr> = shell.members.borrow().keys().copied().collect();
    assert_eq!(
        groups, mapped,
        "MGM_MEMBERS differs from the router's groups"
    );
    assert!(iface.group_count() <= MAX_GROUPS as usize);
    for g in iface.groups() {
        assert!(
            g.sources.len() <= MAX_SOURCES as usize,
            "{} sources",
            g.sources.len()
        );
    }
}

fn small_limits() -> IgmpConfig {
    IgmpConfig {
        max_groups: MAX_GROUPS,
        max_sources: MAX_SOURCES,
        query_interval: Duration::from_secs(20),
        query_response_interval: Duration::from_secs(2),
        ..IgmpConfig::default()
    }
}

/// Group 5 denied; of the sources 198.51.100.0..=3 the records list, .2 denied; quick leave.
fn filtered_quick_leave() -> IgmpConfig {
    let p = |s: &str| s.parse().unwrap();
    let mut cfg = small_limits();
    cfg.group_filter.deny = vec![p("239.1.0.5/32")];
    cfg.source_filter.allow = vec![p("198.51.100.0/30")];
    cfg.source_filter.deny = vec![p("198.51.100.2/32")];
    cfg.quick_leave = true;
    cfg
}

fn run(inputs: &[Input], cfg: IgmpConfig) {
    let mut now = 1_000 * SEC;
    let mut shell = Shell::default();
    let (mut iface, actions) = IgmpInterface::new(IFINDEX, US, cfg, now);
    iface.set_link_subnets(&[LinkSubnet {
        network: [192, 0, 2, 0],
        prefix_len: 24,
        _pad: [0; 3],
    }]);
    shell.apply(actions);
    let advance = |iface: &mut IgmpInterface, shell: &mut Shell, to: u64| {
        while let Some(d) = iface.next_deadline().filter(|d| *d <= to) {
            let a = iface.on_deadline(d, shell);
            shell.apply(a);
            check(iface, shell);
        }
    };
    for input in inputs {
        if let Input::Wait(ms) = input {
            now += u64::from(*ms) * 1_000_000;
        }
        advance(&mut iface, &mut shell, now);
        if let Some((src, dst, bytes)) = bytes_of(input) {
            let msg = parse(&bytes).expect("the harness builds valid messages");
            let a = iface.on_message(now, src, dst, &msg, &shell);
            shell.apply(a);
            check(&iface, &shell);
        }
    }
    // Silence: every membership ages out, and the manager hears the end of each one.
    advance(&mut iface, &mut shell, now + 3_600 * SEC);
    assert_eq!(iface.group_count(), 0);
    assert!(shell.members.borrow().is_empty() && shell.sources.borrow().is_empty());
    assert!(shell.joined.is_empty(), "never left: {:?}", shell.joined);
    assert!(
        shell.blocked.is_empty(),
        "never unblocked: {:?}",
        shell.blocked
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_reports_queries_and_silence(inputs in vec(input(), 1..60)) {
        run(&inputs, small_limits());
    }

    #[test]
    fn with_filters_and_quick_leave(inputs in vec(input(), 1..60)) {
        run(&inputs, filtered_quick_leave());
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}
