//! Timers and queries of one group: the tables' "Send Q(G)" / "Send Q(G,X)" (§6.6.3
//! last-member queries and their retransmissions, or with quick leave their outcome at once),
//! §6.6.1 timer lowering on a received query, §6.2/§6.5 timer expiry, and adopting the
//! expiries the fast path extended in the maps. The state and the §6.4 tables that call these
//! are in `group.rs`.

use std::net::Ipv4Addr;

use mgm_common::maps::FILTER_MODE_EXCLUDE;
use mgm_common::{MemberState, SourceState};

use super::{Ctx, FilterMode, GroupQuery, GroupState, Queries, SourceSet};

impl GroupState {
    /// The table's "Send Q(G)": the last-member queries, or with quick leave their outcome when
    /// no one answers, at once: the group timer expires now, unless a tracked host is in
    /// EXCLUDE mode (then nothing happens and nothing is sent).
    pub(super) fn last_member_group(&mut self, ctx: &Ctx, out: &mut Queries) {
        if ctx.quick_leave {
            if !ctx.group_wanted() {
                self.expire_group_now();
            }
        } else {
            self.send_group_query(ctx, out);
        }
    }

    /// The table's "Send Q(G,X)": the last-member queries, or with quick leave their outcome
    /// when no one answers, at once: the timers of X's forwarded sources that no tracked host
    /// wants expire now (the others stay as they are, and nothing is sent).
    pub(super) fn last_member_sources(&mut self, ctx: &Ctx, x: &SourceSet, out: &mut Queries) {
        if ctx.quick_leave {
            self.expire_sources_now(x, |s| ctx.source_wanted(s));
        } else {
            self.send_source_query(ctx, x, out);
        }
    }

    /// Quick leave: the group timer expires now (§6.5: EXCLUDE switches to INCLUDE keeping the
    /// sources with running timers; none left, the group goes).
    fn expire_group_now(&mut self) {
        if self.mode != FilterMode::Exclude {
            return;
        }
        self.mode = FilterMode::Include;
        self.group_timer = 0;
        self.set_group_rexmit(0);
        self.set_group_rexmit_at(0);
        self.sources.retain(|_, r| r.timer != 0);
        self.settle_source_rexmit();
    }

    /// Quick leave: the timers of the sources of `x` that are forwarded expire now (§6.5:
    /// INCLUDE deletes the record, EXCLUDE moves it to Y).
    fn expire_sources_now(&mut self, x: &SourceSet, wanted: impl Fn(Ipv4Addr) -> bool) {
        let include = self.mode == FilterMode::Include;
        for s in x.iter().filter(|s| !wanted(**s)) {
            let Some(r) = self.sources.get_mut(s) else {
                continue;
            };
            if r.timer == 0 {
                continue; // in Y: not forwarded already
            }
            if include {
                self.sources.remove(s);
            } else {
                r.timer = 0;
                r.rexmit = 0;
            }
        }
        self.settle_source_rexmit();
    }

    /// No source retransmission left: none is scheduled.
    fn settle_source_rexmit(&mut self) {
        if !self.sources.values().any(|r| r.rexmit > 0) {
            self.set_source_rexmit_at(0);
        }
    }

    /// "Send Q(G)" (§6.6.3.1), querier only: lower GT to LMQT, send now, LMQC−1 more every LMQI.
    /// A repeated leave while a Q(G) cycle runs does not restart it.
    fn send_group_query(&mut self, ctx: &Ctx, out: &mut Queries) {
        if !ctx.may_query() || self.mode != FilterMode::Exclude {
            return;
        }
        let lowered = lower(&mut self.group_timer, ctx.lmqt());
        if !lowered && self.group_rexmit() > 0 {
            return;
        }
        self.set_group_rexmit(ctx.p.last_member_query_count);
        self.transmit_group(ctx, out);
    }

    /// "Send Q(G,X)" (§6.6.3.2), querier only: every source of X with a timer above LMQT gets
    /// LMQC retransmissions and its timer lowered to LMQT; then one transmission now and the
    /// rest every LMQI. Nothing is sent when no source of X qualifies.
    fn send_source_query(&mut self, ctx: &Ctx, x: &SourceSet, out: &mut Queries) {
        if !ctx.may_query() || x.is_empty() {
            return;
        }
        let lmqt = ctx.lmqt();
        let mut marked = false;
        for s in x {
            if let Some(r) = self.sources.get_mut(s) {
                if r.timer > lmqt {
                    r.timer = lmqt;
                    r.rexmit = ctx.p.last_member_query_count;
                    marked = true;
                }
            }
        }
        if marked {
            self.transmit_sources(ctx, out);
        }
    }

    /// One Q(G) transmission; S=1 when the group timer is above LMQT (someone re-reported).
    fn transmit_group(&mut self, ctx: &Ctx, out: &mut Queries) {
        let left = self.group_rexmit();
        if left == 0 {
            self.set_group_rexmit_at(0);
            return;
        }
        out.push(GroupQuery::Group {
            s_flag: self.group_timer > ctx.lmqt(),
        });
        self.set_group_rexmit(left - 1);
        self.set_group_rexmit_at(if left > 1 {
            ctx.now.saturating_add(ctx.p.last_member_query_interval)
        } else {
            0
        });
    }

    /// One Q(G,S) transmission: an S=1 message with the sources that still have retransmissions
    /// and a timer above LMQT, an S=0 message with those at or below LMQT; empty ones are not
    /// sent. Each listed source's counter drops by one.
    fn transmit_sources(&mut self, ctx: &Ctx, out: &mut Queries) {
        let lmqt = ctx.lmqt();
        let mut suppressed = Vec::new();
        let mut plain = Vec::new();
        for (s, r) in self.sources.iter_mut() {
            if r.rexmit == 0 || r.timer == 0 {
                continue;
            }
            if r.timer > lmqt {
                suppressed.push(*s);
            } else {
                plain.push(*s);
            }
            r.rexmit -= 1;
        }
        if !suppressed.is_empty() {
            out.push(GroupQuery::Sources {
                sources: suppressed,
                s_flag: true,
            });
        }
        if !plain.is_empty() {
            out.push(GroupQuery::Sources {
                sources: plain,
                s_flag: false,
            });
        }
        self.set_source_rexmit_at(if self.sources.values().any(|r| r.rexmit > 0) {
            ctx.now.saturating_add(ctx.p.last_member_query_interval)
        } else {
            0
        });
    }

    /// Stops all retransmissions (we stopped being the querier).
    pub fn cancel_retransmissions(&mut self) {
        self.set_group_rexmit(0);
        self.set_group_rexmit_at(0);
        self.set_source_rexmit_at(0);
        for r in self.sources.values_mut() {
            r.rexmit = 0;
        }
    }

    /// True while last-member queries are in progress for this group.
    pub fn retransmitting(&self) -> bool {
        self.group_rexmit_at() != 0 || self.source_rexmit_at() != 0
    }

    /// §6.6.1: a received Q(G) (`sources` empty) or Q(G,S) with S clear lowers the group timer
    /// resp. the listed source timers to `lmqt` from now (only timers above it, only running
    /// ones).
    pub fn lower_on_query(&mut self, now: u64, lmqt: u64, sources: &[Ipv4Addr]) {
        let to = now.saturating_add(lmqt);
        if sources.is_empty() {
            if self.mode == FilterMode::Exclude {
                lower(&mut self.group_timer, to);
            }
        } else {
            for s in sources {
                if let Some(r) = self.sources.get_mut(s) {
                    if r.timer != 0 {
                        lower(&mut r.timer, to);
                    }
                }
            }
        }
    }

    /// Retransmissions due at `now` (querier only; otherwise they are cancelled).
    pub fn run_retransmissions(&mut self, ctx: &Ctx, out: &mut Queries) {
        if !ctx.may_query() {
            if self.retransmitting() {
                self.cancel_retransmissions();
            }
            return;
        }
        // Same order as row 12: Q(G,X) before Q(G).
        let (source_at, group_at) = (self.source_rexmit_at(), self.group_rexmit_at());
        if source_at != 0 && source_at <= ctx.now {
            self.transmit_sources(ctx, out);
        }
        if group_at != 0 && group_at <= ctx.now {
            self.transmit_group(ctx, out);
        }
    }

    /// Timer expiry at `now` (§6.2 / §6.5 table). Returns false when the group has no state
    /// left (INCLUDE with no sources) and must be deleted.
    pub fn expire(&mut self, now: u64) -> bool {
        let v1 = self.v1_host_timer();
        if v1 != 0 && v1 <= now {
            self.set_v1_host_timer(0);
        }
        if self.v2_host_timer != 0 && self.v2_host_timer <= now {
            self.v2_host_timer = 0;
        }
        // Source timers: INCLUDE -> delete the record; EXCLUDE -> keep it in Y (timer 0).
        let mode = self.mode;
        self.sources.retain(|_, r| {
            if r.timer != 0 && r.timer <= now {
                if mode == FilterMode::Include {
                    return false;
                }
                r.timer = 0;
                r.rexmit = 0;
            }
            true
        });
        // Group timer in EXCLUDE: switch to INCLUDE keeping sources with running timers.
        if self.mode == FilterMode::Exclude && self.group_timer <= now {
            self.mode = FilterMode::Include;
            self.group_timer = 0;
            self.set_group_rexmit(0);
            self.set_group_rexmit_at(0);
            self.sources.retain(|_, r| r.timer != 0);
        }
        if self.source_rexmit_at() != 0 && !self.sources.values().any(|r| r.rexmit > 0) {
            self.set_source_rexmit_at(0);
        }
        !self.is_empty()
    }

    /// Earliest running deadline of this group (0 when none).
    pub fn next_deadline(&self) -> u64 {
        let mut d = u64::MAX;
        let mut take = |t: u64| {
            if t != 0 && t < d {
                d = t;
            }
        };
        if self.mode == FilterMode::Exclude {
            take(self.group_timer);
        }
        take(self.v1_host_timer());
        take(self.v2_host_timer);
        take(self.group_rexmit_at());
        take(self.source_rexmit_at());
        for r in self.sources.values() {
            take(r.timer);
        }
        if d == u64::MAX {
            0
        } else {
            d
        }
    }

    /// Adopts expiries the fast path extended in the maps (never shortens anything). What was
    /// adopted is also recorded as written, so the maps are not rewritten for it (a rewrite could
    /// race with the next kernel refresh). Returns true when something was adopted.
    pub fn adopt(
        &mut self,
        member: Option<MemberState>,
        source: impl Fn(Ipv4Addr) -> Option<SourceState>,
    ) -> bool {
        let Some(m) = member else {
            return false;
        };
        let mut adopted = false;
        let mut w = self.written_member().unwrap_or_default();
        // What the kernel holds as far as the router knows: its refresh counter included.
        w.fast_refreshes = m.fast_refreshes;
        if self.mode == FilterMode::Exclude
            && m.filter_mode == FILTER_MODE_EXCLUDE
            && raise(&mut self.group_timer, m.group_expires_ns)
        {
            w.group_expires_ns = m.group_expires_ns;
            adopted = true;
        }
        let mut v1 = self.v1_host_timer();
        if raise(&mut v1, m.v1_host_expires_ns) {
            self.set_v1_host_timer(v1);
            w.v1_host_expires_ns = m.v1_host_expires_ns;
            adopted = true;
        }
        if raise(&mut self.v2_host_timer, m.v2_host_expires_ns) {
            w.v2_host_expires_ns = m.v2_host_expires_ns;
            adopted = true;
        }
        for (s, r) in self.sources.iter_mut() {
            if r.timer == 0 {
                continue; // excluded sources are never refreshed by the fast path
            }
            if let Some(st) = source(*s) {
                let mut ws = self.rare.as_mut().and_then(|w| w.written_source_mut(*s));
                if let Some(ws) = ws.as_mut() {
                    ws.fast_refreshes = st.fast_refreshes;
                }
                if raise(&mut r.timer, st.expires_ns) {
                    if let Some(ws) = ws {
                        ws.expires_ns = st.expires_ns;
                    }
                    adopted = true;
                }
            }
        }
        if adopted && m.last_reporter != [0; 4] {
            self.last_reporter = Ipv4Addr::from(m.last_reporter);
            w.last_reporter = m.last_reporter;
        }
        if self.written_member().is_some() {
            self.set_written_member(Some(w));
        }
        adopted
    }
}

fn lower(timer: &mut u64, to: u64) -> bool {
    if *timer > to {
        *timer = to;
        true
    } else {
        false
    }
}

fn raise(ours: &mut u64, theirs: u64) -> bool {
    if theirs > *ours {
        *ours = theirs;
        true
    } else {
        false
    }
}
