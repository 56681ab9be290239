//! Host records: what one host's report or leave does to the group it names (the limits and
//! filters first, then the group's state machine, RFC 3376 §6.4).
use super::{is_trackable_group, IgmpInterface};
use crate::igmp::action::Action;
use crate::igmp::compat::{translate, HostInput};
use crate::igmp::group::{GroupState, Queries};
use crate::igmp::source_set::SourceSet;
use crate::igmp::tracking::Report;
use crate::igmp::view::FastPathView;
use std::net::Ipv4Addr;

/// One host's record about one group: an IGMPv3 group record, or an IGMPv1/v2 report or leave
/// (no sources).
pub(super) struct HostRecord {
    /// The reporting host (the packet's source address).
    pub host: Ipv4Addr,
    pub group: Ipv4Addr,
    pub input: HostInput,
    pub sources: SourceSet,
}

impl IgmpInterface {
    /// One host's record about one group (an IGMPv1/v2 report or leave counts as one), at
    /// `now`: the limits and filters, then the group's state machine (RFC 3376 §6.4).
    pub(super) fn host_input(
        &mut self,
        now: u64,
        record: HostRecord,
        view: &dyn FastPathView,
        out: &mut Vec<Action>,
    ) {
        let HostRecord {
            host: src,
            group,
            input,
            sources,
        } = record;
        if !is_trackable_group(group) {
            return;
        }
        // The filters come before anything else: a refused group makes no state at all.
        let Some(sources) = self.filter_record(now, src, group, sources, out) else {
            return;
        };
        self.adopt(group, view);
        let p = self.params();
        let existed = self.groups.contains_key(&group);
        if !existed {
            // No state is INCLUDE({}): what leaves it so makes nothing to refuse.
            if !creates_state(input, &sources) {
                return;
            }
            if !self.may_create(now, src, group, out) {
                return;
            }
        }
        let (mut ctx, total_bound) = (self.ctx(now, &p), self.source_bound(group));
        ctx.max_sources = ctx.max_sources.min(total_bound);
        if self.tracking.enabled() {
            let r = Report::new(now, &p, ctx.max_sources);
            self.tracking
                .record(r, (group, existed), src, input, &sources);
            self.tracking.decide(group, &mut ctx);
        }
        let iface_version = self.querier.version(now);
        let g = self
            .groups
            .get_or_insert_with(group, || GroupState::new(group));
        let before = g.sources.len();
        let ohpi = now.saturating_add(p.older_host_present_interval);
        match input {
            HostInput::V1Report => g.set_v1_host_timer(ohpi),
            HostInput::V2Report => g.v2_host_timer = ohpi,
            _ => {}
        }
        let compat = g.compat(now).min(iface_version);
        let mut queries = Queries::new();
        let mut refused = 0;
        if let Some((rt, srcs)) = translate(compat, input, sources) {
            refused = g.apply_record(&ctx, rt, &srcs, &mut queries);
            if input != HostInput::V2Leave {
                g.last_reporter = src;
            }
        }
        self.source_total = (self.source_total + g.sources.len()).saturating_sub(before);
        let empty = g.is_empty();
        self.hold(group);
        if refused > 0 {
            let total = total_bound < self.config.max_sources as usize;
            self.sources_refused(now, src, group, refused, total, out);
        }
        if !existed && empty {
            // Nothing to keep (e.g. a leave or BLOCK for a group without state).
            self.groups.remove(&group);
            self.tracking.forget(group);
            return;
        }
        self.dirty.push(group);
        self.group_queries(now, group, queries, out);
    }
}

/// Whether `input` makes state for a group that has none (INCLUDE({})): reports and EXCLUDE
/// records do, INCLUDE-side records with sources do; leaves, BLOCK, TO_IN({}) and unknown
/// records do not (RFC 3376 §6.4, rows 1, 5, 6, 8 from INCLUDE({})).
fn creates_state(input: HostInput, sources: &SourceSet) -> bool {
    use mgm_common::igmp::RecordType;
    match input {
        HostInput::V1Report | HostInput::V2Report => true,
        HostInput::V2Leave => false,
        HostInput::V3Record(RecordType::IsExclude | RecordType::ToExclude) => true,
        HostInput::V3Record(
            RecordType::IsInclude | RecordType::AllowNew | RecordType::ToInclude,
        ) => !sources.is_empty(),
        HostInput::V3Record(RecordType::BlockOld | RecordType::Unknown(_)) => false,
    }
}
