//! The upstream host: on its upstream interface an RFC 4605 proxy takes the host's part of IGMP
//! for the merged downstream memberships. One interface state, the merged wish per group,
//! reported as an IGMPv3 host would (RFC 3376 §5), or as an IGMPv2 / IGMPv1 host while an older querier is heard
//! (RFC 3376 §7.2, RFC 2236 §3). Pure: `now` is CLOCK_MONOTONIC ns passed in, delays come from
//! a [`Jitter`], messages go out as [`HostAction`]s.
//!
//! # State changes (§5.1)
//!
//! A change of a group's filter sends a state-change report at once and [`HostConfig::robustness`]
//! − 1 more at random delays in (0, Unsolicited Report Interval), one delay drawn after each
//! transmission. Records, by the change:
//!
//! | old | new | records |
//! |---|---|---|
//! | INCLUDE(A) | INCLUDE(B) | ALLOW(B−A), BLOCK(A−B) (empty ones left out) |
//! | EXCLUDE(A) | EXCLUDE(B) | ALLOW(A−B), BLOCK(B−A) |
//! | INCLUDE(A) | EXCLUDE(B) | TO_EX(B) |
//! | EXCLUDE(A) | INCLUDE(B) | TO_IN(B) |
//!
//! A join is `INCLUDE({})` → `EXCLUDE({})`: TO_EX({}); a leave from EXCLUDE is TO_IN({}). A
//! change while retransmissions are pending is merged into them: a filter-mode change makes the
//! pending report a TO_IN / TO_EX of the current state (source changes pending before it are
//! dropped, the record carries the whole state); a source change adds its sources to those
//! pending, and every transmission reports them from the current state (ALLOW for the ones
//! forwarded now, BLOCK for the others), or, while a filter-mode change is pending, is carried
//! by its TO_IN / TO_EX record. Either way the merged report goes out at once and the count
//! starts again at the robustness (each change is in at least that many reports).
//!
//! # Query responses (§5.2)
//!
//! A query is never answered at once. Max Resp Time comes from the query (v1: 10 s); 0 is read as
//! 100 ms, the field's unit. With state to report, one delay is drawn in (0, Max Resp Time), then
//! the first rule that applies: (1) a general-query response pending no later: nothing more;
//! (2) a general query: the interface timer is set to the delay (replacing a later one);
//! (3) a group(-and-source) query and nothing pending for the group: the group timer, with the
//! queried sources; (4) something pending and a group query, or a pending group query: one group
//! response at the earlier time, no source list; (5) else the source lists are united, at the
//! earlier time. A source list longer than one record of a report carries (365 sources at the
//! default [`HostConfig::max_report_len`]) is given up for the group answer of (4), a superset
//! of it. When it fires: a general response is IS_IN / IS_EX of every group; a group
//! response IS_IN / IS_EX of that group; a group-and-source response IS_IN(A∩B) in INCLUDE(B),
//! IS_IN(A−B) in EXCLUDE(B), nothing when empty. Groups without state are not reported; a group
//! answer due together with the general response is left to it (it carries the whole state).
//!
//! # Older queriers (§7.2.1)
//!
//! An IGMPv1 query (any: v1 has no group queries) sets the IGMPv1 Querier Present timer, an
//! IGMPv2 general query the IGMPv2 one, to the Older Version Querier Present Timeout: the
//! querier's robustness × its query interval + that query's Max Resp Time (the robustness and
//! query interval are the last non-zero QRV and QQIC heard in a v3 query, else
//! [`HostConfig::robustness`] and 125 s). Compatibility mode: v1 while the v1 timer runs, else v2
//! while the v2 timer runs, else v3; never above [`HostConfig::max_version`]. Changing modes
//! cancels every pending response and retransmission.
//!
//! In v1/v2 mode a group is joined or not: any filter but `INCLUDE({})` is a join (the sources
//! cannot be expressed). A join sends a report to the group at once and robustness − 1 more as
//! above; a leave cancels them and sends one leave to 224.0.0.2 (v2) or nothing (v1). A query
//! sets a timer per group it covers to a random delay in (0, Max Resp Time) unless the one
//! running is due sooner than Max Resp Time (RFC 2236 §3); it fires one report. A v3 query heard
//! in these modes is answered the same way (its source list ignored); only general queries
//! count for the timers above, and a v1 query is always general. Report suppression (optional)
//! is not done: the host does not listen to other hosts' reports.
//!
//! # Draws and order
//!
//! Tests script the [`Jitter`]: delays are drawn, in group order, only when used: after each
//! state-change transmission that leaves retransmissions, once per v3 query with state to
//! report, once per group whose v1/v2 timer is (re)set. Within a call, state-change reports go
//! first, then current-state reports; v3 records are packed into as few reports as fit
//! ([`MAX_REPORT_LEN`]).
//!
//! Link-local groups (224.0.0.0/24) and non-multicast addresses are never reported.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use mgm_common::igmp::{Query, QueryVersion, RecordType, ALL_ROUTERS, ALL_V3_ROUTERS};

use super::merge::Filter;
use super::report::{
    encode_v3, sources_per_record, v1_report, v2_leave, v2_report, ReportRecord, MAX_REPORT_LEN,
};
use super::rng::{Jitter, SplitMix64};

const SEC: u64 = 1_000_000_000;
/// A tenth of a second, the unit of Max Resp Time.
const TENTH: u64 = 100_000_000;
/// The querier's Query Interval assumed until a v3 query gives its QQIC (RFC 3376 §8.2).
pub const DEFAULT_QUERY_INTERVAL_NS: u64 = 125 * SEC;

/// The host's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Transmissions of each state change (RFC 3376 §8.1; 0 is read as 1). Default 2.
    pub robustness: u32,
    /// Retransmissions of a state change are spread over (0, this) (§8.11; v3's 1 s, used in
    /// v1/v2 mode too).
    pub unsolicited_report_interval_ns: u64,
    /// Highest IGMP version spoken (1–3; out of range is clamped). Default 3.
    pub max_version: u8,
    /// Largest IGMP message sent: the upstream link's MTU less the 24-byte IPv4 header with
    /// Router Alert. Default [`MAX_REPORT_LEN`] (a 1500-byte MTU).
    pub max_report_len: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            robustness: 2,
            unsolicited_report_interval_ns: SEC,
            max_version: 3,
            max_report_len: MAX_REPORT_LEN,
        }
    }
}

/// What the daemon does for the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostAction {
    /// Send `igmp` (the IGMP message, checksummed) to `dst` on the upstream interface, in an IPv4
    /// header with TTL 1 and Router Alert: v3 reports to 224.0.0.22, v1/v2 reports to the group,
    /// v2 leaves to 224.0.0.2.
    Send { dst: Ipv4Addr, igmp: Vec<u8> },
}

/// Pending state-change retransmissions of a group.
#[derive(Clone, Debug)]
struct Change {
    /// Transmissions still to make (≥ 1 while pending).
    left: u32,
    /// When the next one is due.
    at: u64,
    /// What each transmission carries (v3; v1/v2 reports carry the group only).
    records: Pending,
}

/// The records a pending v3 state change sends.
#[derive(Clone, Debug)]
enum Pending {
    /// A filter-mode change: TO_IN / TO_EX of the current state.
    FilterMode,
    /// Source-list changes: the sources with retransmission state, as ALLOW / BLOCK.
    Sources(BTreeSet<Ipv4Addr>),
}

/// A pending response to a group(-and-source) query (v3), or to any query (v1/v2).
#[derive(Clone, Debug)]
struct Answer {
    at: u64,
    /// Queried sources; empty: the whole group.
    sources: BTreeSet<Ipv4Addr>,
}

#[derive(Clone, Debug, Default)]
struct Entry {
    /// The interface state for the group (`INCLUDE({})` while a leave is retransmitted).
    wish: Filter,
    change: Option<Change>,
    answer: Option<Answer>,
}

/// The host side of the proxy on its upstream interface. See the module docs.
#[derive(Debug)]
pub struct UpstreamHost<R = SplitMix64> {
    cfg: HostConfig,
    rng: R,
    groups: BTreeMap<Ipv4Addr, Entry>,
    /// The interface timer: a pending response to a general query (v3).
    general_at: Option<u64>,
    /// Older Version Querier Present timers (absolute ns; 0 = not running).
    v1_until: u64,
    v2_until: u64,
    /// The compatibility mode in force at the last call.
    mode: u8,
    /// The querier's QRV and query interval from its last v3 query (0 = not heard).
    querier_qrv: u8,
    querier_qi_ns: u64,
}

impl UpstreamHost<SplitMix64> {
    /// A host with no groups, in IGMPv3 mode (or `cfg.max_version`), delays drawn from a
    /// [`SplitMix64`] seeded with `rng_seed`.
    pub fn new(cfg: HostConfig, rng_seed: u64) -> Self {
        UpstreamHost::with_jitter(cfg, SplitMix64::new(rng_seed))
    }
}

impl<R: Jitter> UpstreamHost<R> {
    /// A host with no groups drawing its delays from `rng`.
    pub fn with_jitter(cfg: HostConfig, rng: R) -> Self {
        UpstreamHost {
            cfg,
            rng,
            groups: BTreeMap::new(),
            general_at: None,
            v1_until: 0,
            v2_until: 0,
            mode: cfg.max_version.clamp(1, 3),
            querier_qrv: 0,
            querier_qi_ns: 0,
        }
    }

    /// The settings it was made with.
    pub fn config(&self) -> &HostConfig {
        &self.cfg
    }

    /// The upstream link's MTU changed: the reports from now on are at most `len` bytes.
    pub fn set_max_report_len(&mut self, len: usize) {
        self.cfg.max_report_len = len;
    }

    /// The merged wish for `group` changed (`Filter::none()` = leave): state-change report(s) now,
    /// retransmissions scheduled, pending changes merged (module docs). The same wish again, a
    /// link-local or non-multicast group: nothing.
    pub fn set_group(&mut self, group: Ipv4Addr, wish: Filter, now: u64) -> Vec<HostAction> {
        if !reportable(group) {
            return Vec::new();
        }
        self.refresh_mode(now);
        let old = self
            .groups
            .get(&group)
            .map(|e| e.wish.clone())
            .unwrap_or_default();
        if old == wish {
            return Vec::new();
        }
        let rv = self.cfg.robustness.max(1);
        let mode = self.mode;
        let entry = self.groups.entry(group).or_default();
        entry.wish = wish;
        if entry.wish.is_none() {
            entry.answer = None;
        }
        let mut out = Vec::new();
        if mode == 3 {
            let ch = entry.change.get_or_insert_with(|| Change {
                left: 0,
                at: now,
                records: Pending::Sources(BTreeSet::new()),
            });
            if old.is_exclude() != entry.wish.is_exclude() {
                ch.records = Pending::FilterMode;
            } else if let Pending::Sources(pending) = &mut ch.records {
                pending.extend(old.sources().symmetric_difference(entry.wish.sources()));
            }
            ch.left = rv;
        } else if old.is_none() {
            entry.change = Some(Change {
                left: rv,
                at: now,
                records: Pending::Sources(BTreeSet::new()),
            });
        } else if entry.wish.is_none() {
            entry.change = None;
            if mode == 2 {
                out.push(HostAction::Send {
                    dst: ALL_ROUTERS,
                    igmp: v2_leave(group),
                });
            }
            self.groups.remove(&group);
            return out;
        } else {
            // Joined before and after: nothing a v1/v2 querier could tell apart.
            return out;
        }
        let mut records = Vec::new();
        self.transmit_change(group, now, &mut records, &mut out);
        out.extend(send_v3(&records, self.cfg.max_report_len));
        out
    }

    /// A query heard on the upstream link: compatibility timers first (§7.2.1), then a response
    /// scheduled (§5.2; module docs). Never sends at once: responses come from
    /// [`Self::on_deadline`].
    pub fn on_query(&mut self, query: &Query<'_>, now: u64) -> Vec<HostAction> {
        self.refresh_mode(now);
        let mrt = (u64::from(query.max_resp_tenths()) * TENTH).max(TENTH);
        let general = query.is_general() || query.version == QueryVersion::V1;
        match query.version {
            QueryVersion::V1 => self.v1_until = now + self.older_querier_timeout(mrt),
            QueryVersion::V2 if general => self.v2_until = now + self.older_querier_timeout(mrt),
            QueryVersion::V2 => {}
            QueryVersion::V3 => {
                if query.qrv != 0 {
                    self.querier_qrv = query.qrv;
                }
                let qqi = u64::from(query.qqi_secs()) * SEC;
                if qqi != 0 {
                    self.querier_qi_ns = qqi;
                }
            }
        }
        self.refresh_mode(now);
        if self.mode == 3 {
            self.schedule_v3_answer(query, general, mrt, now);
        } else {
            let targets: Vec<Ipv4Addr> = if general {
                self.joined().collect()
            } else {
                self.joined().filter(|g| *g == query.group).collect()
            };
            for g in targets {
                let Some(entry) = self.groups.get_mut(&g) else {
                    continue;
                };
                match &entry.answer {
                    Some(a) if a.at.saturating_sub(now) <= mrt => {}
                    _ => {
                        entry.answer = Some(Answer {
                            at: now + self.rng.delay(mrt),
                            sources: BTreeSet::new(),
                        })
                    }
                }
            }
        }
        Vec::new()
    }

    /// The §5.2 rules for a query heard in v3 mode.
    fn schedule_v3_answer(&mut self, query: &Query<'_>, general: bool, mrt: u64, now: u64) {
        let has_state = if general {
            self.joined().next().is_some()
        } else {
            self.groups
                .get(&query.group)
                .is_some_and(|e| !e.wish.is_none())
        };
        if !has_state {
            return;
        }
        let at = now + self.rng.delay(mrt);
        if self.general_at.is_some_and(|t| t <= at) {
            return; // rule 1
        }
        if general {
            self.general_at = Some(at); // rule 2
            return;
        }
        let sources: BTreeSet<Ipv4Addr> = query.sources.collect();
        let Some(entry) = self.groups.get_mut(&query.group) else {
            return;
        };
        let answer = match &mut entry.answer {
            None => entry.answer.insert(Answer { at, sources }), // rule 3
            Some(a) => {
                a.at = a.at.min(at);
                if sources.is_empty() || a.sources.is_empty() {
                    a.sources.clear(); // rule 4
                } else {
                    a.sources.extend(sources); // rule 5
                }
                a
            }
        };
        // More sources than one record carries: the group answer, the superset rule 4 gives, so
        // that queries cannot grow a pending answer (and the answer's reports) without bound.
        if answer.sources.len() > sources_per_record(self.cfg.max_report_len) {
            answer.sources.clear();
        }
    }

    /// Everything due at `now`: retransmissions, then query responses.
    pub fn on_deadline(&mut self, now: u64) -> Vec<HostAction> {
        self.refresh_mode(now);
        let mut out = Vec::new();
        let mut records = Vec::new();
        let due: Vec<Ipv4Addr> = self
            .groups
            .iter()
            .filter(|(_, e)| e.change.as_ref().is_some_and(|c| c.at <= now))
            .map(|(g, _)| *g)
            .collect();
        for g in due {
            self.transmit_change(g, now, &mut records, &mut out);
        }
        out.extend(send_v3(&records, self.cfg.max_report_len));

        let mut current = Vec::new();
        let general = self.general_at.is_some_and(|t| t <= now);
        if general {
            self.general_at = None;
            for (g, e) in &self.groups {
                if !e.wish.is_none() {
                    current.push(current_state(*g, &e.wish));
                }
            }
        }
        let mode = self.mode;
        for (g, e) in self.groups.iter_mut() {
            let Some(a) = e.answer.take_if(|a| a.at <= now) else {
                continue;
            };
            if e.wish.is_none() {
                continue;
            }
            match mode {
                3 if general => {} // the general response has the group's whole state
                3 => current.extend(answer_record(*g, &e.wish, &a.sources)),
                _ => out.push(old_report(mode, *g)),
            }
        }
        out.extend(send_v3(&current, self.cfg.max_report_len));
        out
    }

    /// The earliest time [`Self::on_deadline`] has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        let max = self.cfg.max_version.clamp(1, 3);
        let timers = [
            (self.v1_until != 0 && max > 1).then_some(self.v1_until),
            (self.v2_until != 0 && max > 2).then_some(self.v2_until),
            self.general_at,
        ];
        let per_group = self.groups.values().flat_map(|e| {
            [
                e.change.as_ref().map(|c| c.at),
                e.answer.as_ref().map(|a| a.at),
            ]
        });
        timers.into_iter().chain(per_group).flatten().min()
    }

    /// The host compatibility mode in force at `now` (1, 2 or 3).
    pub fn version(&self, now: u64) -> u8 {
        let compat = if self.v1_until > now {
            1
        } else if self.v2_until > now {
            2
        } else {
            3
        };
        compat.min(self.cfg.max_version.clamp(1, 3))
    }

    /// The groups with an interface state and their filters, in address order (in v1/v2 mode they
    /// are reported as plain joins).
    pub fn groups(&self) -> Vec<(Ipv4Addr, Filter)> {
        self.groups
            .iter()
            .filter(|(_, e)| !e.wish.is_none())
            .map(|(g, e)| (*g, e.wish.clone()))
            .collect()
    }

    fn joined(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.groups
            .iter()
            .filter(|(_, e)| !e.wish.is_none())
            .map(|(g, _)| *g)
    }

    /// RFC 3376 §8.12: the querier's robustness × its query interval + `mrt`.
    fn older_querier_timeout(&self, mrt: u64) -> u64 {
        let rv = if self.querier_qrv != 0 {
            u64::from(self.querier_qrv)
        } else {
            u64::from(self.cfg.robustness.max(1))
        };
        let qi = if self.querier_qi_ns != 0 {
            self.querier_qi_ns
        } else {
            DEFAULT_QUERY_INTERVAL_NS
        };
        rv * qi + mrt
    }

    /// Ends expired querier-present timers; a new compatibility mode cancels everything pending.
    fn refresh_mode(&mut self, now: u64) {
        if self.v1_until != 0 && self.v1_until <= now {
            self.v1_until = 0;
        }
        if self.v2_until != 0 && self.v2_until <= now {
            self.v2_until = 0;
        }
        let mode = self.version(now);
        if mode != self.mode {
            self.mode = mode;
            self.general_at = None;
            self.groups.retain(|_, e| {
                e.change = None;
                e.answer = None;
                !e.wish.is_none()
            });
        }
    }

    /// One transmission of `group`'s pending state change: v3 records into `records`, a v1/v2
    /// report into `out`; the next one scheduled, or the change (and a left group) forgotten.
    fn transmit_change(
        &mut self,
        group: Ipv4Addr,
        now: u64,
        records: &mut Vec<ReportRecord>,
        out: &mut Vec<HostAction>,
    ) {
        let mode = self.mode;
        let uri = self.cfg.unsolicited_report_interval_ns;
        let Some(entry) = self.groups.get_mut(&group) else {
            return;
        };
        let Some(ch) = entry.change.as_mut() else {
            return;
        };
        if mode == 3 {
            records.extend(change_records(group, &entry.wish, ch));
        } else if !entry.wish.is_none() {
            out.push(old_report(mode, group));
        }
        ch.left -= 1;
        if ch.left == 0 {
            entry.change = None;
            if entry.wish.is_none() {
                self.groups.remove(&group);
            }
        } else {
            ch.at = now + self.rng.delay(uri);
        }
    }
}

/// Not link-local (224.0.0.0/24) and multicast.
fn reportable(group: Ipv4Addr) -> bool {
    let o = group.octets();
    group.is_multicast() && !(o[0] == 224 && o[1] == 0 && o[2] == 0)
}

/// The state-change records of one transmission (§5.1).
fn change_records(group: Ipv4Addr, wish: &Filter, ch: &Change) -> Vec<ReportRecord> {
    let Pending::Sources(pending) = &ch.records else {
        let rtype = if wish.is_exclude() {
            RecordType::ToExclude
        } else {
            RecordType::ToInclude
        };
        return vec![ReportRecord::new(
            rtype,
            group,
            wish.sources().iter().copied(),
        )];
    };
    let (allow, block): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) =
        pending.iter().partition(|s| wish.forwards(**s));
    [(RecordType::AllowNew, allow), (RecordType::BlockOld, block)]
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(t, s)| ReportRecord::new(t, group, s))
        .collect()
}

/// IS_IN / IS_EX of the group's state.
fn current_state(group: Ipv4Addr, wish: &Filter) -> ReportRecord {
    let rtype = if wish.is_exclude() {
        RecordType::IsExclude
    } else {
        RecordType::IsInclude
    };
    ReportRecord::new(rtype, group, wish.sources().iter().copied())
}

/// The response to a group (empty `queried`) or group-and-source query (§5.2).
fn answer_record(
    group: Ipv4Addr,
    wish: &Filter,
    queried: &BTreeSet<Ipv4Addr>,
) -> Option<ReportRecord> {
    if queried.is_empty() {
        return Some(current_state(group, wish));
    }
    let sources: Vec<Ipv4Addr> = queried
        .iter()
        .copied()
        .filter(|s| wish.forwards(*s))
        .collect();
    (!sources.is_empty()).then(|| ReportRecord::new(RecordType::IsInclude, group, sources))
}

fn old_report(mode: u8, group: Ipv4Addr) -> HostAction {
    HostAction::Send {
        dst: group,
        igmp: if mode == 1 {
            v1_report(group)
        } else {
            v2_report(group)
        },
    }
}

fn send_v3(records: &[ReportRecord], max_len: usize) -> Vec<HostAction> {
    encode_v3(records, max_len)
        .into_iter()
        .map(|igmp| HostAction::Send {
            dst: ALL_V3_ROUTERS,
            igmp,
        })
        .collect()
}
