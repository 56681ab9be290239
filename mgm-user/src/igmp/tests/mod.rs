//! Host tests of the IGMP router with a fake clock and a fake copy of the maps.
//!
//! Defaults (RFC): QI 125 s, QRI 10 s, RV 2 → GMI 260 s, OQPI 255 s, OHPI 260 s; LMQI 1 s,
//! LMQC 2 → LMQT 2 s; startup: 2 queries, 31.25 s apart.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::Ipv4Addr;

use mgm_common::igmp::{self, checksum, QueryVersion};
use mgm_common::maps::LinkSubnet;
use mgm_common::{MemberState, SourceState};

use super::*;

mod compat;
mod fastpath;
mod filters;
mod limits;
mod membership;
mod querier;
mod retransmit;
mod rows;
mod sources;
mod timers;
mod tracking;

pub(super) const SEC: u64 = 1_000_000_000;
pub(super) const MS: u64 = 1_000_000;
pub(super) const GMI: u64 = 260 * SEC;
pub(super) const LMQT: u64 = 2 * SEC;
pub(super) const LMQI: u64 = SEC;
pub(super) const T0: u64 = 1_000 * SEC;
pub(super) const IFINDEX: u32 = 7;

pub(super) const US: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub(super) const LOWER_ROUTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 5);
pub(super) const HIGHER_ROUTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
pub(super) const H1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
pub(super) const H2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
pub(super) const G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
pub(super) const G2: Ipv4Addr = Ipv4Addr::new(239, 2, 2, 2);
pub(super) const S1: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
pub(super) const S2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
pub(super) const S3: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 3);
pub(super) const S4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 4);
pub(super) const S5: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 5);

/// IGMPv3 record types by their short names (RFC 3376 §6.4).
pub(super) use mgm_common::igmp::{
    ALLOW_NEW_SOURCES as ALLOW, BLOCK_OLD_SOURCES as BLOCK, CHANGE_TO_EXCLUDE_MODE as TO_EX,
    CHANGE_TO_INCLUDE_MODE as TO_IN, MODE_IS_EXCLUDE as IS_EX, MODE_IS_INCLUDE as IS_IN,
};

/// A fake MGM_MEMBERS / MGM_SOURCES that applies the actions like the shell would.
#[derive(Default)]
pub(super) struct MapView {
    pub members: RefCell<HashMap<(u32, Ipv4Addr), MemberState>>,
    pub sources: RefCell<HashMap<(u32, Ipv4Addr, Ipv4Addr), SourceState>>,
}

impl FastPathView for MapView {
    fn member(&self, ifindex: u32, group: Ipv4Addr) -> Option<MemberState> {
        self.members.borrow().get(&(ifindex, group)).copied()
    }
    fn source(&self, ifindex: u32, group: Ipv4Addr, source: Ipv4Addr) -> Option<SourceState> {
        self.sources
            .borrow()
            .get(&(ifindex, group, source))
            .copied()
    }
}

impl MapView {
    pub(super) fn apply(&self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::WriteMember {
                    ifindex,
                    group,
                    state,
                    ..
                } => {
                    self.members.borrow_mut().insert((*ifindex, *group), *state);
                }
                Action::DeleteMember { ifindex, group } => {
                    assert!(
                        self.members
                            .borrow_mut()
                            .remove(&(*ifindex, *group))
                            .is_some(),
                        "delete of a member never written: {group}"
                    );
                }
                Action::WriteSource {
                    ifindex,
                    group,
                    source,
                    state,
                    ..
                } => {
                    self.sources
                        .borrow_mut()
                        .insert((*ifindex, *group, *source), *state);
                }
                Action::DeleteSource {
                    ifindex,
                    group,
                    source,
                } => {
                    assert!(
                        self.sources
                            .borrow_mut()
                            .remove(&(*ifindex, *group, *source))
                            .is_some(),
                        "delete of a source never written: {group} {source}"
                    );
                }
                _ => {}
            }
        }
    }

    /// The kernel fast path: a refresh extends expiries in place.
    pub(super) fn extend_group(&self, group: Ipv4Addr, to: u64, reporter: Ipv4Addr) {
        let mut m = self.members.borrow_mut();
        let e = m.get_mut(&(IFINDEX, group)).expect("member in map");
        e.group_expires_ns = to;
        e.last_reporter = reporter.octets();
        e.fast_refreshes += 1;
    }

    pub(super) fn extend_source(&self, group: Ipv4Addr, source: Ipv4Addr, to: u64) {
        let mut m = self.sources.borrow_mut();
        let e = m.get_mut(&(IFINDEX, group, source)).expect("source in map");
        e.expires_ns = to;
        e.fast_refreshes += 1;
    }

    pub(super) fn member_of(&self, group: Ipv4Addr) -> Option<MemberState> {
        self.member(IFINDEX, group)
    }

    pub(super) fn source_of(&self, group: Ipv4Addr, source: Ipv4Addr) -> Option<SourceState> {
        self.source(IFINDEX, group, source)
    }
}

/// The interface under test, its clock and its maps.
pub(super) struct Rig {
    pub iface: IgmpInterface,
    pub view: MapView,
    pub now: u64,
}

impl Rig {
    pub(super) fn new() -> (Rig, Vec<Action>) {
        Rig::with(IgmpConfig::default())
    }

    pub(super) fn with(cfg: IgmpConfig) -> (Rig, Vec<Action>) {
        cfg.validate().expect("test config valid");
        let (iface, a) = IgmpInterface::new(IFINDEX, US, cfg, T0);
        let rig = Rig {
            iface,
            view: MapView::default(),
            now: T0,
        };
        rig.view.apply(&a);
        (rig, a)
    }

    /// A querier rig whose startup actions are discarded.
    pub(super) fn querier() -> Rig {
        Rig::new().0
    }

    /// A rig that heard a v3 general query from a lower router and is therefore non-querier.
    pub(super) fn non_querier() -> Rig {
        let mut r = Rig::querier();
        r.query_v3(LOWER_ROUTER, Ipv4Addr::UNSPECIFIED, false, &[], 100, 2, 125);
        assert!(!r.iface.is_querier());
        r
    }

    pub(super) fn feed(&mut self, src: Ipv4Addr, dst: Ipv4Addr, bytes: &[u8]) -> Vec<Action> {
        let msg = igmp::parse(bytes).expect("test message parses");
        let a = self.iface.on_message(self.now, src, dst, &msg, &self.view);
        self.view.apply(&a);
        self.check_invariants();
        a
    }

    pub(super) fn report(
        &mut self,
        src: Ipv4Addr,
        records: &[(u8, Ipv4Addr, &[Ipv4Addr])],
    ) -> Vec<Action> {
        let b = v3_report(records);
        self.feed(src, igmp::ALL_V3_ROUTERS, &b)
    }

    /// One v3 record from H1.
    pub(super) fn rec(&mut self, rtype: u8, group: Ipv4Addr, sources: &[Ipv4Addr]) -> Vec<Action> {
        self.report(H1, &[(rtype, group, sources)])
    }

    pub(super) fn v2_report(&mut self, src: Ipv4Addr, group: Ipv4Addr) -> Vec<Action> {
        self.feed(src, group, &simple(igmp::TYPE_V2_REPORT, 0, group))
    }

    pub(super) fn v1_report(&mut self, src: Ipv4Addr, group: Ipv4Addr) -> Vec<Action> {
        self.feed(src, group, &simple(igmp::TYPE_V1_REPORT, 0, group))
    }

    pub(super) fn leave(&mut self, src: Ipv4Addr, group: Ipv4Addr) -> Vec<Action> {
        self.feed(
            src,
            igmp::ALL_ROUTERS,
            &simple(igmp::TYPE_V2_LEAVE, 0, group),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn query_v3(
        &mut self,
        src: Ipv4Addr,
        group: Ipv4Addr,
        s_flag: bool,
        sources: &[Ipv4Addr],
        max_resp_tenths: u32,
        qrv: u8,
        qqic_secs: u32,
    ) -> Vec<Action> {
        let q = QueryMessage {
            version: QueryVersion::V3,
            group,
            sources: sources.to_vec(),
            s_flag,
            max_resp_tenths,
            qrv,
            qqic_secs,
        };
        let dst = if group.is_unspecified() {
            igmp::ALL_SYSTEMS
        } else {
            group
        };
        self.feed(src, dst, &q.encode())
    }

    pub(super) fn query_v2(
        &mut self,
        src: Ipv4Addr,
        group: Ipv4Addr,
        max_resp_tenths: u8,
    ) -> Vec<Action> {
        let dst = if group.is_unspecified() {
            igmp::ALL_SYSTEMS
        } else {
            group
        };
        self.feed(
            src,
            dst,
            &simple(igmp::TYPE_MEMBERSHIP_QUERY, max_resp_tenths, group),
        )
    }

    pub(super) fn query_v1(&mut self, src: Ipv4Addr) -> Vec<Action> {
        self.feed(
            src,
            igmp::ALL_SYSTEMS,
            &simple(igmp::TYPE_MEMBERSHIP_QUERY, 0, Ipv4Addr::UNSPECIFIED),
        )
    }

    /// Runs every deadline up to and including `t`, returning (time, action) pairs.
    pub(super) fn run_until(&mut self, t: u64) -> Vec<(u64, Action)> {
        let mut all = Vec::new();
        let mut rounds = 0;
        while let Some(d) = self.iface.next_deadline() {
            rounds += 1;
            assert!(
                rounds < 100_000,
                "deadlines do not make progress (stuck at {d})"
            );
            assert!(d >= self.now, "deadline {d} in the past (now {})", self.now);
            if d > t {
                break;
            }
            self.now = d;
            let a = self.iface.on_deadline(d, &self.view);
            self.view.apply(&a);
            self.check_invariants();
            all.extend(a.into_iter().map(|a| (d, a)));
        }
        self.now = t;
        all
    }

    pub(super) fn group(&self, g: Ipv4Addr) -> &GroupState {
        self.iface
            .group(g)
            .unwrap_or_else(|| panic!("no state for {g}"))
    }

    pub(super) fn has_group(&self, g: Ipv4Addr) -> bool {
        self.iface.group(g).is_some()
    }

    /// Source timer (0 = excluded); panics when there is no record.
    pub(super) fn st(&self, g: Ipv4Addr, s: Ipv4Addr) -> u64 {
        self.group(g)
            .sources
            .get(&s)
            .unwrap_or_else(|| panic!("no record for {s} in {g}"))
            .timer
    }

    pub(super) fn source_list(&self, g: Ipv4Addr) -> Vec<Ipv4Addr> {
        self.group(g).sources.keys().copied().collect()
    }

    /// X (running timers) and Y (timer 0) of a group.
    pub(super) fn xy(&self, g: Ipv4Addr) -> (Vec<Ipv4Addr>, Vec<Ipv4Addr>) {
        let gs = self.group(g);
        (
            gs.sources
                .iter()
                .filter(|(_, r)| r.timer != 0)
                .map(|(s, _)| *s)
                .collect(),
            gs.sources
                .iter()
                .filter(|(_, r)| r.timer == 0)
                .map(|(s, _)| *s)
                .collect(),
        )
    }

    /// The maps always mirror the state exactly.
    pub(super) fn check_invariants(&self) {
        let mut groups = 0;
        for g in self.iface.groups() {
            groups += 1;
            let m = self
                .view
                .member_of(g.group)
                .expect("every group is in the map");
            assert_eq!(m.filter_mode, g.mode.as_map());
            assert_eq!(m.source_count as usize, g.sources.len());
            // The fast path may have extended expiries that we adopt only when we next touch
            // the group: the map is never behind us.
            if g.mode == FilterMode::Exclude {
                assert!(m.group_expires_ns >= g.group_timer);
            } else {
                assert_eq!(m.group_expires_ns, 0);
            }
            assert!(m.v2_host_expires_ns >= g.v2_host_timer);
            // A group still due (past the budget of the last call) has not seen its compat
            // timers expire yet.
            let due = g.scheduled != 0 && g.scheduled <= self.now;
            if !due
                && m.v1_host_expires_ns == g.v1_host_timer()
                && m.v2_host_expires_ns == g.v2_host_timer
            {
                assert_eq!(m.compat_version, g.compat(self.now));
            }
            for (s, r) in &g.sources {
                let st = self
                    .view
                    .source_of(g.group, *s)
                    .expect("every source is in the map");
                if r.timer == 0 {
                    assert_eq!(st.expires_ns, 0, "excluded source {s} of {}", g.group);
                } else {
                    assert!(st.expires_ns >= r.timer, "source {s} of {}", g.group);
                }
            }
        }
        assert_eq!(self.view.members.borrow().len(), groups, "no stray members");
        let n_sources: usize = self.iface.groups().map(|g| g.sources.len()).sum();
        assert_eq!(
            self.iface.source_count(),
            n_sources,
            "source total kept exactly"
        );
        let mut held: HashMap<Ipv4Addr, u32> = HashMap::new();
        for g in self.iface.groups() {
            let h = g.holder().expect("every group counts for a host");
            assert_eq!(h, g.last_reporter, "a group counts for its last reporter");
            *held.entry(h).or_insert(0) += 1;
        }
        assert_eq!(self.iface.host_count(), held.len());
        for (h, n) in held {
            assert_eq!(self.iface.groups_of_host(h), n, "groups of {h}");
        }
        assert_eq!(
            self.view.sources.borrow().len(),
            n_sources,
            "no stray sources"
        );
    }
}

pub(super) fn simple(t: u8, code: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut b = vec![t, code, 0, 0];
    b.extend_from_slice(&group.octets());
    let c = checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    b
}

pub(super) fn v3_report(records: &[(u8, Ipv4Addr, &[Ipv4Addr])]) -> Vec<u8> {
    let mut b = vec![igmp::TYPE_V3_REPORT, 0, 0, 0, 0, 0];
    b.extend_from_slice(&(records.len() as u16).to_be_bytes());
    for (t, g, srcs) in records {
        b.extend_from_slice(&[*t, 0]);
        b.extend_from_slice(&(srcs.len() as u16).to_be_bytes());
        b.extend_from_slice(&g.octets());
        for s in *srcs {
            b.extend_from_slice(&s.octets());
        }
    }
    let c = checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    b
}

/// The queries among `actions`, as (dst, message).
pub(super) fn queries(actions: &[Action]) -> Vec<(Ipv4Addr, QueryMessage)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendQuery { dst, query, .. } => Some((*dst, query.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn timed_queries(actions: &[(u64, Action)]) -> Vec<(u64, QueryMessage)> {
    actions
        .iter()
        .filter_map(|(t, a)| match a {
            Action::SendQuery { query, .. } => Some((*t, query.clone())),
            _ => None,
        })
        .collect()
}

/// Compact form of a group-specific query: (sources, s_flag).
pub(super) fn gsq(q: &QueryMessage) -> (Vec<Ipv4Addr>, bool) {
    assert!(!q.is_general());
    (q.sources.clone(), q.s_flag)
}

/// The membership deltas among `actions`.
pub(super) fn deltas(actions: &[Action]) -> Vec<(Ipv4Addr, Option<Ipv4Addr>, MembershipChange)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Membership {
                group,
                source,
                change,
                ..
            } => Some((*group, *source, *change)),
            _ => None,
        })
        .collect()
}

pub(super) fn timed_deltas(
    actions: &[(u64, Action)],
) -> Vec<(u64, Option<Ipv4Addr>, MembershipChange)> {
    actions
        .iter()
        .filter_map(|(t, a)| match a {
            Action::Membership { source, change, .. } => Some((*t, *source, *change)),
            _ => None,
        })
        .collect()
}

pub(super) fn untimed(actions: Vec<(u64, Action)>) -> Vec<Action> {
    actions.into_iter().map(|(_, a)| a).collect()
}

pub(super) use MembershipChange::{Block, Join, Leave, Unblock};
