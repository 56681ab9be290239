//! Per-group router state (RFC 3376 §6.2.1) and the §6.4.1 / §6.4.2 tables, §6.6.1 timer
//! lowering, §6.6.3 last-member retransmissions and §6.2/§6.5 timer expiry.
//!
//! Timers are absolute deadlines in CLOCK_MONOTONIC ns; 0 means "not running". A source in
//! EXCLUDE mode with timer 0 is in the excluded list Y; every other source record has a running
//! timer. In INCLUDE mode the group timer is 0.
//!
//! # Source limit
//!
//! A group holds at most [`Ctx::max_sources`] source records (`IgmpConfig::max_sources`),
//! counting every record: INCLUDE-mode sources and, in EXCLUDE mode, both X (running timer)
//! and Y (excluded, timer 0). The limit applies only where a row *creates* a record:
//!
//! - rows 1, 5, 8 (B-A), 3, 9, 12 (A-X-Y): new sources with timer GMI;
//! - rows 2, 7: the new excluded list B-A (timer 0);
//! - rows 4, 11: A-X-Y with timer GMI resp. GT; row 10: A-X-Y with timer GT.
//!
//! Each row first updates what exists exactly as the table says (timers set, Y sources moved to
//! X, `Delete(...)` carried out), then creates the new records in **ascending address order**
//! (the record's sources arrive as a set: the choice depends neither on the order a host lists
//! them nor on duplicates) for as long as the group holds fewer than `max_sources` records.
//! The rest of the new sources is ignored, as if the record had not listed them, and counted
//! ([`GroupState::apply_record`] returns how many; the interface adds them up). Deletions come
//! first, so in rows 2, 4, 7, 11 the space freed by `Delete(A-B)` / `Delete(X-A)` / `Delete(Y-A)`
//! is available to the record's new sources. Sources already present are never removed by the
//! limit, nor denied an update, even when a group holds more than the limit (restored from the
//! maps of a daemon run with a higher limit); such a group just creates nothing new until it
//! drops below the limit (sources age out, `Delete(...)`).
//!
//! What an ignored source means for forwarding (§6.3): an ignored INCLUDE source (or X source
//! of a group that later returns to INCLUDE) is not forwarded, so the host does not get that
//! traffic; an ignored Y source is *not blocked*, i.e. it is forwarded like any other source of
//! an EXCLUDE-mode group (over-delivery, which is safe). Queries a row sends only ever list
//! sources that have a record, so an ignored source is never queried.
//!
//! # Quick leave
//!
//! With [`Ctx::quick_leave`] (`IgmpConfig::quick_leave`, off by default), every "Send Q(G)" and
//! "Send Q(G,X)" of the tables is replaced by what those last-member queries conclude when no
//! one answers, at once and without a query, for what no tracked host still wants
//! ([`Ctx::hosts`], `tracking.rs`: the interface tracks each host's own state): Q(G) becomes
//! the group timer expiring now (EXCLUDE switches to INCLUDE with the sources that have running
//! timers, none left: the group goes) unless a tracked host is in EXCLUDE mode; Q(G,X) the
//! timers of X's forwarded sources expiring now (INCLUDE deletes them, EXCLUDE moves them to Y)
//! except those a tracked host wants. With no other host tracked, a v2 leave or TO_IN({})
//! removes the group, BLOCK(B) stops B, TO_IN(B) keeps just B, and TO_EX(B) blocks B: the state
//! becomes the reporting host's own. Where tracking is not complete the interface turns quick
//! leave off for the group (`tracking.rs`). It applies whether or not this router is the
//! querier.

use std::net::Ipv4Addr;

use mgm_common::igmp::RecordType;
use mgm_common::maps::{FILTER_MODE_EXCLUDE, FILTER_MODE_INCLUDE, MEMBER_FLAG_SLOW_PATH};
use mgm_common::MemberState;

use super::config::Params;
use super::group_parts::Rare;
pub use super::group_parts::SourceMap;
use super::source_set::SourceSet;

mod timers;

/// Filter mode of a group (RFC 3376 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterMode {
    Include,
    Exclude,
}

impl FilterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterMode::Include => "include",
            FilterMode::Exclude => "exclude",
        }
    }
    pub fn as_map(self) -> u8 {
        match self {
            FilterMode::Include => FILTER_MODE_INCLUDE,
            FilterMode::Exclude => FILTER_MODE_EXCLUDE,
        }
    }
}

/// One source record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceRec {
    /// Source timer deadline; 0 = not running (EXCLUDE mode list Y).
    pub timer: u64,
    /// Group-and-source-specific query transmissions still to send for this source (§6.6.3.2).
    pub rexmit: u32,
}

/// A query the group wants sent now (before version conversion).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupQuery {
    /// Q(G) with the given S flag.
    Group { s_flag: bool },
    /// Q(G,S) with the given S flag; never empty.
    Sources {
        sources: Vec<Ipv4Addr>,
        s_flag: bool,
    },
}

/// The queries one call of a group wants sent: at most a Q(G,S) pair and a Q(G), inline.
pub type Queries = smallvec::SmallVec<[GroupQuery; 2]>;

/// What the group is allowed to do in this call.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub now: u64,
    pub p: &'a Params,
    /// We are the querier: "Send Q(...)" table actions are carried out.
    pub querier: bool,
    /// The interface runs v2 or v3: group-specific queries exist (v1 has none).
    pub can_query_group: bool,
    /// Most source records the group may hold; new ones beyond it are refused (module docs).
    pub max_sources: usize,
    /// Quick leave (module docs): what would start last-member queries takes effect at once.
    pub quick_leave: bool,
    /// With quick leave, the group's tracked hosts (`tracking.rs`): what they still want is
    /// kept. `None`: no host tracked.
    pub hosts: Option<&'a crate::igmp::tracking::GroupHosts>,
}

impl Ctx<'_> {
    fn gmi(&self) -> u64 {
        self.now.saturating_add(self.p.group_membership_interval)
    }
    fn lmqt(&self) -> u64 {
        self.now.saturating_add(self.p.last_member_query_time)
    }
    fn may_query(&self) -> bool {
        self.querier && self.can_query_group
    }
    /// A tracked host is in EXCLUDE mode: quick leave keeps the group timer.
    fn group_wanted(&self) -> bool {
        self.hosts.is_some_and(|h| h.excluding(self.now))
    }
    /// A tracked host wants traffic from `s`: quick leave keeps its timer.
    fn source_wanted(&self, s: Ipv4Addr) -> bool {
        self.hosts.is_some_and(|h| h.wants(self.now, s))
    }
}

/// The §6.3 forwarding state as last told to the manager.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardingState {
    /// (*,G) joined (EXCLUDE mode).
    pub star: bool,
    /// (S,G) joined (INCLUDE mode sources).
    pub include: SourceSet,
    /// Blocked sources (EXCLUDE mode list Y).
    pub blocked: SourceSet,
}

/// Router state of one group on one interface. Laid out for memory (`group_parts.rs`): what
/// only some groups need (sources, IGMPv1 hosts, retransmissions) is out of line.
#[derive(Clone, Debug)]
pub struct GroupState {
    /// Group timer deadline (EXCLUDE mode); 0 in INCLUDE mode.
    pub group_timer: u64,
    /// IGMPv2 Host Present timer deadline, 0 when not running.
    pub v2_host_timer: u64,
    /// The deadline last pushed on the interface's heap (0: none).
    pub(crate) scheduled: u64,
    /// The `MGM_MEMBERS` entry as written, valid with the `WRITTEN` bit.
    pub(crate) written: MemberState,
    pub sources: SourceMap,
    pub(crate) rare: Option<Box<Rare>>,
    pub group: Ipv4Addr,
    pub last_reporter: Ipv4Addr,
    /// The host this group counts for, valid with the `HELD` bit.
    pub(crate) holder: Ipv4Addr,
    pub mode: FilterMode,
    /// Flags of `group_parts.rs`.
    pub(crate) bits: u8,
}

impl GroupState {
    /// No state = INCLUDE({}).
    pub fn new(group: Ipv4Addr) -> Self {
        GroupState {
            group_timer: 0,
            v2_host_timer: 0,
            scheduled: 0,
            written: MemberState::default(),
            sources: SourceMap::default(),
            rare: None,
            group,
            last_reporter: Ipv4Addr::UNSPECIFIED,
            holder: Ipv4Addr::UNSPECIFIED,
            mode: FilterMode::Include,
            bits: 0,
        }
    }

    /// Group Compatibility Mode (§7.3.2): 1 while the v1 host timer runs, else 2 while the v2
    /// host timer runs, else 3.
    pub fn compat(&self, now: u64) -> u8 {
        if self.v1_host_timer() > now {
            1
        } else if self.v2_host_timer > now {
            2
        } else {
            3
        }
    }

    /// INCLUDE mode with no source records: the group has no state and can be deleted.
    pub fn is_empty(&self) -> bool {
        self.mode == FilterMode::Include && self.sources.is_empty()
    }

    /// Sources with a running timer (INCLUDE: A; EXCLUDE: X).
    fn running(&self) -> SourceSet {
        self.sources
            .iter()
            .filter(|(_, r)| r.timer != 0)
            .map(|(s, _)| *s)
            .collect()
    }

    /// EXCLUDE mode list Y.
    fn excluded(&self) -> SourceSet {
        self.sources
            .iter()
            .filter(|(_, r)| r.timer == 0)
            .map(|(s, _)| *s)
            .collect()
    }

    /// Sets the timer of `s`: an existing record is always updated; a new one is created only
    /// while the group holds fewer than `ctx.max_sources` records. Returns false when the new
    /// record was refused.
    fn set_timer(&mut self, ctx: &Ctx, s: Ipv4Addr, deadline: u64) -> bool {
        if let Some(r) = self.sources.get_mut(&s) {
            r.timer = deadline;
            return true;
        }
        self.create(ctx, s, deadline)
    }

    /// Creates a record for `s`, which has none, with `deadline` (0 = excluded), unless the
    /// group holds `ctx.max_sources` records already: then returns false.
    fn create(&mut self, ctx: &Ctx, s: Ipv4Addr, deadline: u64) -> bool {
        debug_assert!(!self.sources.contains_key(&s));
        if self.sources.len() >= ctx.max_sources {
            return false;
        }
        self.sources.insert(
            s,
            SourceRec {
                timer: deadline,
                rexmit: 0,
            },
        );
        true
    }

    fn delete(&mut self, set: &SourceSet) {
        for s in set {
            self.sources.remove(s);
        }
    }

    /// Applies one (already compatibility-translated) group record: the rows of §6.4.1 and
    /// §6.4.2. Queries the row sends are appended to `out` (only when `ctx` allows querying).
    /// Returns the number of new sources refused at the source limit (module docs).
    ///
    /// Over 80 lines on purpose: it *is* the RFC table,
    /// one match arm per row (state × record type), kept whole so that it reads against the RFC
    /// row by row; `igmp/tests/rows.rs` has one test per row. The queries and timers the rows
    /// start are in `group/timers.rs`.
    #[must_use = "refused sources are counted by the caller"]
    pub fn apply_record(
        &mut self,
        ctx: &Ctx,
        rtype: RecordType,
        b: &SourceSet,
        out: &mut Queries,
    ) -> usize {
        let gmi = ctx.gmi();
        let mut refused = 0;
        // `b` is a sorted set: every loop below visits new sources in ascending address order.
        let mut count = |ok: bool| {
            if !ok {
                refused += 1;
            }
        };
        match (self.mode, rtype) {
            // Row 1: INCLUDE(A) + IS_IN(B) -> INCLUDE(A+B); (B)=GMI.
            // Row 5: INCLUDE(A) + ALLOW(B) -> INCLUDE(A+B); (B)=GMI.
            (FilterMode::Include, RecordType::IsInclude | RecordType::AllowNew) => {
                for s in b {
                    count(self.set_timer(ctx, *s, gmi));
                }
            }
            // Row 2: INCLUDE(A) + IS_EX(B) -> EXCLUDE(A*B, B-A); (B-A)=0; Delete(A-B); GT=GMI.
            // Row 7: INCLUDE(A) + TO_EX(B) -> EXCLUDE(A*B, B-A); (B-A)=0; Delete(A-B);
            //        Send Q(G, A*B); GT=GMI.
            //        Delete(A-B) first, so that the space it frees is available to B-A.
            (FilterMode::Include, RecordType::IsExclude | RecordType::ToExclude) => {
                let a = self.running();
                self.delete(&a.difference(b).copied().collect());
                for s in b.difference(&a) {
                    count(self.create(ctx, *s, 0));
                }
                self.mode = FilterMode::Exclude;
                self.group_timer = gmi;
                if rtype == RecordType::ToExclude {
                    let q: SourceSet = a.intersection(b).copied().collect();
                    self.last_member_sources(ctx, &q, out);
                }
            }
            // Row 6: INCLUDE(A) + BLOCK(B) -> INCLUDE(A); Send Q(G, A*B).
            (FilterMode::Include, RecordType::BlockOld) => {
                let a = self.running();
                let q: SourceSet = a.intersection(b).copied().collect();
                self.last_member_sources(ctx, &q, out);
            }
            // Row 8: INCLUDE(A) + TO_IN(B) -> INCLUDE(A+B); (B)=GMI; Send Q(G, A-B).
            (FilterMode::Include, RecordType::ToInclude) => {
                let a = self.running();
                for s in b {
                    count(self.set_timer(ctx, *s, gmi));
                }
                let q: SourceSet = a.difference(b).copied().collect();
                self.last_member_sources(ctx, &q, out);
            }
            // Row 3: EXCLUDE(X,Y) + IS_IN(A) -> EXCLUDE(X+A, Y-A); (A)=GMI.
            // Row 9: EXCLUDE(X,Y) + ALLOW(A) -> EXCLUDE(X+A, Y-A); (A)=GMI.
            (FilterMode::Exclude, RecordType::IsInclude | RecordType::AllowNew) => {
                for s in b {
                    count(self.set_timer(ctx, *s, gmi));
                }
            }
            // Row 4: EXCLUDE(X,Y) + IS_EX(A) -> EXCLUDE(A-Y, Y*A); (A-X-Y)=GMI; Delete(X-A);
            //        Delete(Y-A); GT=GMI.
            // Row 11: EXCLUDE(X,Y) + TO_EX(A) -> EXCLUDE(A-Y, Y*A); (A-X-Y)=GT; Delete(X-A);
            //        Delete(Y-A); Send Q(G, A-Y); GT=GMI.
            (FilterMode::Exclude, RecordType::IsExclude | RecordType::ToExclude) => {
                let new_timer = if rtype == RecordType::IsExclude {
                    gmi
                } else {
                    self.group_timer
                };
                let stale: SourceSet = self
                    .sources
                    .keys()
                    .filter(|s| !b.contains(s))
                    .copied()
                    .collect();
                self.delete(&stale);
                for s in b {
                    if !self.sources.contains_key(s) {
                        count(self.create(ctx, *s, new_timer));
                    }
                }
                self.group_timer = gmi;
                if rtype == RecordType::ToExclude {
                    let y = self.excluded();
                    let q: SourceSet = b.difference(&y).copied().collect();
                    self.last_member_sources(ctx, &q, out);
                }
            }
            // Row 10: EXCLUDE(X,Y) + BLOCK(A) -> EXCLUDE(X+(A-Y), Y); (A-X-Y)=GT;
            //         Send Q(G, A-Y).
            (FilterMode::Exclude, RecordType::BlockOld) => {
                let gt = self.group_timer;
                for s in b {
                    if !self.sources.contains_key(s) {
                        count(self.create(ctx, *s, gt));
                    }
                }
                let y = self.excluded();
                let q: SourceSet = b.difference(&y).copied().collect();
                self.last_member_sources(ctx, &q, out);
            }
            // Row 12: EXCLUDE(X,Y) + TO_IN(A) -> EXCLUDE(X+A, Y-A); (A)=GMI;
            //         Send Q(G, X-A); Send Q(G).
            (FilterMode::Exclude, RecordType::ToInclude) => {
                let x = self.running();
                for s in b {
                    count(self.set_timer(ctx, *s, gmi));
                }
                let q: SourceSet = x.difference(b).copied().collect();
                self.last_member_sources(ctx, &q, out);
                self.last_member_group(ctx, out);
            }
            (_, RecordType::Unknown(_)) => {}
        }
        refused
    }

    /// The `MGM_MEMBERS` value for this state (`fast_refreshes` left 0; the interface copies the
    /// kernel's counter in).
    pub fn member_state(&self, now: u64) -> MemberState {
        MemberState {
            group_expires_ns: if self.mode == FilterMode::Exclude {
                self.group_timer
            } else {
                0
            },
            v1_host_expires_ns: self.v1_host_timer(),
            v2_host_expires_ns: self.v2_host_timer,
            last_reporter: self.last_reporter.octets(),
            filter_mode: self.mode.as_map(),
            compat_version: self.compat(now),
            flags: if self.retransmitting() {
                MEMBER_FLAG_SLOW_PATH
            } else {
                0
            },
            _pad: 0,
            source_count: self.sources.len() as u32,
            fast_refreshes: 0,
        }
    }

    /// The §6.3 forwarding state.
    pub fn forwarding(&self) -> ForwardingState {
        match self.mode {
            FilterMode::Include => ForwardingState {
                star: false,
                include: self.sources.keys().copied().collect(),
                blocked: SourceSet::new(),
            },
            FilterMode::Exclude => ForwardingState {
                star: true,
                include: SourceSet::new(),
                blocked: self.excluded(),
            },
        }
    }
}
