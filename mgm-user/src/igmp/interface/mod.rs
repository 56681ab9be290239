//! The IGMP router of one interface: ties messages, deadlines, querier state and group state
//! together and turns every change into [`Action`]s.
//!
//! Contract with the shell:
//! - call [`IgmpInterface::on_message`] for every parsed IGMP message received on the interface
//!   (including our own queries looped back: they are recognised by source address and ignored),
//!   and [`IgmpInterface::on_deadline`] when [`IgmpInterface::next_deadline`] is reached;
//! - carry out the returned actions in order, and apply every map write/delete before the next
//!   call into the same interface (the next call reads the maps back through the view).

mod commit;
mod deadlines;
#[cfg(test)]
pub(crate) use deadlines::DUE_GROUPS_PER_CALL;
mod filters;
mod limits;
mod queries;
mod reconfigure;
mod records;
mod restore;
mod summary;

pub use queries::MAX_ADOPTED_QUERY_INTERVAL_FACTOR;
pub use summary::{GroupSummary, SourceSummary};

use crate::igmp::source_set::SourceSet;
use std::net::Ipv4Addr;

use mgm_common::igmp::{IgmpMessage, QueryVersion};
use mgm_common::maps::LinkSubnet;
use mgm_common::SourceState;

use super::action::{Action, RouterNotice};
use super::compat::HostInput;
use super::config::{IgmpConfig, Params};
use super::encode::QueryMessage;
use super::group::{Ctx, GroupQuery, GroupState, Queries};
use super::querier::{Querier, QuerierEvent};
use super::tracking::HostTracker;
use super::view::FastPathView;
use crate::dense_map::{DenseMap, FastHashMap, FastHashSet};
use deadlines::Deadlines;
use records::HostRecord;

/// A group address the router keeps state for: multicast, outside 224.0.0.0/24 (link-local
/// control groups such as 224.0.0.1 are never routed nor tracked).
pub(crate) fn is_trackable_group(g: Ipv4Addr) -> bool {
    g.is_multicast() && !(g.octets()[0] == 224 && g.octets()[1] == 0 && g.octets()[2] == 0)
}

/// A source address that can appear in a source list: not 0.0.0.0, broadcast or multicast.
pub(crate) fn is_valid_source(s: Ipv4Addr) -> bool {
    !(s.is_unspecified() || s.is_broadcast() || s.is_multicast())
}

/// The IGMP router state machine of one interface.
#[derive(Debug)]
pub struct IgmpInterface {
    ifindex: u32,
    config: IgmpConfig,
    querier: Querier,
    groups: DenseMap<GroupState>,
    /// Each group's next deadline (`GroupState::scheduled`), and entries it no longer has.
    heap: Deadlines,
    /// Groups whose map view was already adopted in the current call. The per-call tables and
    /// `hosts` use foldhash (`dense_map.rs` says why that is safe with keys from the network).
    touched: FastHashSet<Ipv4Addr>,
    /// Kernel refresh counts read when the groups of the current call were adopted, by (group,
    /// source or none for the group entry): what this call's writes carry (`commit.rs`).
    seen: FastHashMap<(Ipv4Addr, Option<Ipv4Addr>), u32>,
    /// Groups to write out at the end of the current call, in the order marked, repeats
    /// included (`commit` sorts them and drops the repeats; the buffer is kept between calls).
    dirty: Vec<Ipv4Addr>,
    /// The map writes of the current call, gathered in `commit` (the buffer is kept between
    /// calls).
    writes: Vec<Action>,
    /// A group's source entries as they must be written, built here and swapped with the
    /// group's (`commit.rs`): kept between calls, so a commit allocates nothing for it.
    written_scratch: crate::igmp::group_parts::WrittenSources,
    /// Groups each host keeps alive (the last reporter of each group; `limits.rs`). Bounded by
    /// the groups held: each group counts for one host.
    hosts: FastHashMap<Ipv4Addr, u32>,
    /// With quick leave, which host wants what of each group (`tracking.rs`); empty otherwise.
    tracking: HostTracker,
    /// Source records of every group.
    source_total: usize,
    /// Reports for new groups ignored because the interface holds `max_groups` already.
    refused_groups: u64,
    /// Reports for new groups ignored because their host holds `max_groups_per_host` already.
    refused_host_groups: u64,
    /// New sources ignored because their group holds `max_sources` records already.
    refused_sources: u64,
    /// New sources ignored because the interface holds `max_sources_total` records already.
    refused_sources_total: u64,
    /// Records ignored whole because the group filters refuse their group (`filters.rs`).
    refused_filtered_groups: u64,
    /// Sources dropped from records because the source filters refuse them.
    refused_filtered_sources: u64,
    /// Tables were shrunk, or the group table grew (freeing the smaller one), since
    /// [`IgmpInterface::take_shrunk`] last asked.
    shrunk: bool,
    /// The group table's capacity when the tables were last checked (`limits.rs`).
    groups_capacity: usize,
    /// The link's subnets: queries from elsewhere are foreign (none known: any unicast).
    subnets: Vec<LinkSubnet>,
    /// Queries ignored because their source cannot be a router on this link.
    foreign_queries: u64,
    /// Queries heard from other routers on the link (snooping switches' 0.0.0.0 included),
    /// foreign ones not.
    router_queries: u64,
    /// v1/v2 queries from other routers heard while running a newer version, not followed.
    older_queries: u64,
    /// Rate limits of the notices, one per kind ([`RouterNotice::kind`]).
    notice_limits: [crate::time::RateLimit; RouterNotice::KINDS],
}

impl IgmpInterface {
    /// Starts the router on `ifindex` with our address `our_addr` (the source of our queries
    /// and our identity in querier election). `config` should have passed
    /// [`IgmpConfig::validate`]. We start as querier and send the first startup query.
    pub fn new(
        ifindex: u32,
        our_addr: Ipv4Addr,
        config: IgmpConfig,
        now: u64,
    ) -> (Self, Vec<Action>) {
        let mut me = IgmpInterface {
            ifindex,
            querier: Querier::new(our_addr, config.version.clamp(1, 3)),
            config,
            groups: DenseMap::new(),
            heap: Deadlines::default(),
            touched: FastHashSet::default(),
            seen: FastHashMap::default(),
            dirty: Vec::new(),
            writes: Vec::new(),
            written_scratch: Default::default(),
            hosts: FastHashMap::default(),
            tracking: HostTracker::default(),
            source_total: 0,
            refused_groups: 0,
            refused_host_groups: 0,
            refused_sources: 0,
            refused_sources_total: 0,
            refused_filtered_groups: 0,
            refused_filtered_sources: 0,
            shrunk: false,
            groups_capacity: 0,
            subnets: Vec::new(),
            foreign_queries: 0,
            router_queries: 0,
            older_queries: 0,
            notice_limits: Default::default(),
        };
        me.querier.candidate = me.config.querier;
        me.tracking.set_enabled(me.config.quick_leave, now);
        let p = me.params();
        let ev = me.querier.start(
            now,
            p.startup_query_count,
            p.startup_query_interval,
            p.query_interval,
        );
        let mut out = Vec::new();
        me.querier_events(now, ev, &mut out);
        (me, out)
    }

    // ---- read accessors -------------------------------------------------------------------

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
    pub fn our_addr(&self) -> Ipv4Addr {
        self.querier.our_addr
    }
    pub fn config(&self) -> &IgmpConfig {
        &self.config
    }
    /// Reports from this link may have been lost before reaching the router (held back by the
    /// classifier's budget, or a full event ring) at `now`: quick leave may not trust the
    /// tracked hosts to be all the hosts for a Group Membership Interval (`tracking.rs`), so
    /// leaves run the RFC's last-member queries meanwhile. Nothing without quick leave.
    pub fn reports_lost(&mut self, now: u64) {
        let gmi = self.params().group_membership_interval;
        self.tracking.untrack_all(now.saturating_add(gmi));
    }
    /// Timer values in effect (configured, or adopted from the querier while non-querier).
    pub fn params(&self) -> Params {
        Params::derive(
            &self.config,
            if self.querier.is_querier {
                None
            } else {
                self.querier.adopted_robustness
            },
            if self.querier.is_querier {
                None
            } else {
                self.querier.adopted_query_interval
            },
        )
    }
    pub fn is_querier(&self) -> bool {
        self.querier.is_querier
    }
    /// The querier's address (ours when we are the querier).
    pub fn querier_address(&self) -> Option<Ipv4Addr> {
        self.querier.querier_address()
    }
    /// The IGMP version the interface runs now (configured, lowered by older queriers).
    pub fn version(&self, now: u64) -> u8 {
        self.querier.version(now)
    }
    /// Next general query deadline (querier only).
    pub fn next_general_query_ns(&self) -> Option<u64> {
        (self.querier.is_querier && self.querier.next_general_query != 0)
            .then_some(self.querier.next_general_query)
    }
    /// Other Querier Present timer deadline (non-querier only).
    pub fn other_querier_expires_ns(&self) -> Option<u64> {
        (!self.querier.is_querier && self.querier.other_querier_expires != 0)
            .then_some(self.querier.other_querier_expires)
    }
    /// Startup general queries still to send (the next scheduled one included).
    pub fn startup_queries_left(&self) -> u32 {
        self.querier.startup_left
    }
    /// Sets the link's subnets: queries from a source outside them, or from their network or
    /// broadcast address, are ignored (RFC 3376 §6.6.2 elects among the routers on the link).
    pub fn set_link_subnets(&mut self, subnets: &[LinkSubnet]) {
        self.subnets = subnets.to_vec();
    }
    /// Our address changed (the interface was re-addressed): the source of our queries and our
    /// identity in the querier election from now on. The groups, their timers and running
    /// queries stay. The election settles by itself (RFC 3376 §6.6.2): a router whose address
    /// is now lower than ours takes over when its Other Querier Present timer runs out (our
    /// queries no longer elect us there) and elects it here; a querier whose address is now
    /// higher than ours no longer elects itself here, so we take over when ours runs out.
    pub fn set_our_addr(&mut self, addr: Ipv4Addr) {
        self.querier.our_addr = addr;
    }
    /// Queries ignored because their source cannot be a router on this link.
    pub fn foreign_queries(&self) -> u64 {
        self.foreign_queries
    }
    /// Queries heard from other routers on the link (foreign ones not).
    pub fn router_queries(&self) -> u64 {
        self.router_queries
    }
    /// Older-version queries from other routers heard and not followed.
    pub fn older_queries(&self) -> u64 {
        self.older_queries
    }
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }
    pub fn group(&self, group: Ipv4Addr) -> Option<&GroupState> {
        self.groups.get(&group)
    }
    pub fn groups(&self) -> impl Iterator<Item = &GroupState> {
        self.groups.values()
    }
    /// The earliest deadline at which [`Self::on_deadline`] must be called.
    pub fn next_deadline(&self) -> Option<u64> {
        let q = self.querier.next_deadline();
        let g = self.heap.peek().map_or(0, |(t, _)| t);
        [q, g].into_iter().filter(|t| *t != 0).min()
    }

    // ---- inputs ---------------------------------------------------------------------------

    /// A parsed IGMP message received on this interface from `src` to `dst`.
    pub fn on_message(
        &mut self,
        now: u64,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        msg: &IgmpMessage<'_>,
        view: &dyn FastPathView,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.on_message_into(now, (src, dst), msg, view, &mut out);
        out
    }

    /// As [`Self::on_message`], appending the actions to `out` (a buffer the shell keeps, so a
    /// report allocates none).
    pub fn on_message_into(
        &mut self,
        now: u64,
        (src, dst): (Ipv4Addr, Ipv4Addr),
        msg: &IgmpMessage<'_>,
        view: &dyn FastPathView,
        out: &mut Vec<Action>,
    ) {
        self.run_due(now, view, out);
        match msg {
            IgmpMessage::Query(q) => self.handle_query(now, src, q, view, out),
            IgmpMessage::V1Report { group } => {
                if *group == dst {
                    self.host_input(
                        now,
                        HostRecord {
                            host: src,
                            group: *group,
                            input: HostInput::V1Report,
                            sources: SourceSet::new(),
                        },
                        view,
                        out,
                    );
                }
            }
            IgmpMessage::V2Report { group } => {
                if *group == dst {
                    self.host_input(
                        now,
                        HostRecord {
                            host: src,
                            group: *group,
                            input: HostInput::V2Report,
                            sources: SourceSet::new(),
                        },
                        view,
                        out,
                    );
                }
            }
            IgmpMessage::V2Leave { group } => {
                self.host_input(
                    now,
                    HostRecord {
                        host: src,
                        group: *group,
                        input: HostInput::V2Leave,
                        sources: SourceSet::new(),
                    },
                    view,
                    out,
                );
            }
            IgmpMessage::V3Report(r) => {
                for rec in r.records() {
                    let sources = rec.sources.filter(|s| is_valid_source(*s)).collect();
                    self.host_input(
                        now,
                        HostRecord {
                            host: src,
                            group: rec.group,
                            input: HostInput::V3Record(rec.record_type),
                            sources,
                        },
                        view,
                        out,
                    );
                }
            }
        }
        self.commit(now, view, out);
    }

    /// Handles everything due at or before `now`.
    pub fn on_deadline(&mut self, now: u64, view: &dyn FastPathView) -> Vec<Action> {
        let mut out = Vec::new();
        self.on_deadline_into(now, view, &mut out);
        out
    }

    /// As [`Self::on_deadline`], appending the actions to `out` (a buffer the shell keeps).
    pub fn on_deadline_into(&mut self, now: u64, view: &dyn FastPathView, out: &mut Vec<Action>) {
        self.run_due(now, view, out);
        self.commit(now, view, out);
    }

    // ---- internals ------------------------------------------------------------------------

    fn ctx<'a>(&self, now: u64, p: &'a Params) -> Ctx<'a> {
        Ctx {
            now,
            p,
            querier: self.querier.is_querier,
            can_query_group: self.querier.version(now) >= 2,
            max_sources: usize::try_from(self.config.max_sources).unwrap_or(usize::MAX),
            quick_leave: self.config.quick_leave,
            hosts: None,
        }
    }

    /// Adopts the fast path's extensions for `group`, once per call.
    fn adopt(&mut self, group: Ipv4Addr, view: &dyn FastPathView) {
        if !self.touched.insert(group) {
            return;
        }
        let ifindex = self.ifindex;
        // With quick leave every report reaches the daemon (the classifier's fast path is off).
        let fast = !self.config.quick_leave;
        if let Some(g) = self.groups.get_mut(&group) {
            if let Some(w) = g
                .written_member()
                .filter(|w| !(fast && refreshable(view, ifindex, w)))
            {
                // The classifier leaves these entries alone (no fast path on the interface, or
                // the group handed to the slow path): they hold what was written, counters
                // included. Nothing to read.
                self.seen.insert((group, None), w.fast_refreshes);
                for (s, ws) in g.written_sources() {
                    self.seen.insert((group, Some(*s)), ws.fast_refreshes);
                }
            } else if g.written_member().is_some() {
                // Read once: the refresh counts seen here are what the writes of this call
                // carry, so a kernel refresh landing after this read is not taken as seen.
                let member = view.member(ifindex, group);
                // On the stack for the common few sources: a report allocates nothing here.
                let sources: smallvec::SmallVec<[(Ipv4Addr, Option<SourceState>); 8]> = g
                    .sources
                    .iter()
                    .filter(|(_, r)| r.timer != 0)
                    .map(|(s, _)| (*s, view.source(ifindex, group, *s)))
                    .collect();
                self.seen
                    .insert((group, None), member.map_or(0, |m| m.fast_refreshes));
                for (s, st) in &sources {
                    self.seen
                        .insert((group, Some(*s)), st.map_or(0, |v| v.fast_refreshes));
                }
                g.adopt(member, |s| {
                    sources
                        .iter()
                        .find(|(k, _)| *k == s)
                        .and_then(|(_, st)| *st)
                });
            }
        }
    }

    fn run_due(&mut self, now: u64, view: &dyn FastPathView, out: &mut Vec<Action>) {
        // Interface level: older-version queriers first (the general query uses the version).
        if let Some((from, to)) = self.querier.expire_older_queriers(now) {
            self.querier_events(now, vec![QuerierEvent::VersionChanged(from, to)], out);
        }
        let p = self.params();
        let ev = self
            .querier
            .on_deadline(now, p.query_interval, p.startup_query_interval);
        self.querier_events(now, ev, out);

        self.expire_due_groups(now, view, out);
    }

    /// Turns a group's queries into SendQuery actions in the version the interface runs.
    fn group_queries(&self, now: u64, group: Ipv4Addr, qs: Queries, out: &mut Vec<Action>) {
        if qs.is_empty() {
            return;
        }
        let p = self.params();
        let version = self.querier.version(now);
        let base = QueryMessage {
            version: version_of(version),
            group,
            sources: Vec::new(),
            s_flag: false,
            max_resp_tenths: p.last_member_query_tenths(),
            qrv: p.robustness.min(255) as u8,
            qqic_secs: (p.query_interval / 1_000_000_000).min(u64::from(u32::MAX)) as u32,
        };
        match version {
            1 => {}
            2 => {
                // v2 has neither source lists nor the S flag: one Q(G) per transmission.
                out.push(Action::SendQuery {
                    ifindex: self.ifindex,
                    dst: group,
                    query: base,
                });
            }
            _ => {
                for q in qs {
                    let mut m = base.clone();
                    match q {
                        GroupQuery::Group { s_flag } => m.s_flag = s_flag,
                        GroupQuery::Sources { sources, s_flag } => {
                            m.sources = sources;
                            m.s_flag = s_flag;
                        }
                    }
                    out.push(Action::SendQuery {
                        ifindex: self.ifindex,
                        dst: group,
                        query: m,
                    });
                }
            }
        }
    }
}

/// Whether the classifier may have refreshed the entry written as `written` (and its sources)
/// since: not on an interface without fast path, nor while the group is handed to the slow
/// path (`MEMBER_FLAG_SLOW_PATH`, last-member queries running).
fn refreshable(view: &dyn FastPathView, ifindex: u32, written: &mgm_common::MemberState) -> bool {
    written.flags & mgm_common::maps::MEMBER_FLAG_SLOW_PATH == 0 && view.refreshes(ifindex)
}

fn version_of(v: u8) -> QueryVersion {
    match v {
        1 => QueryVersion::V1,
        2 => QueryVersion::V2,
        _ => QueryVersion::V3,
    }
}
