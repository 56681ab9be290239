//! Queries heard from other routers (RFC 3376 §6.6, §7.3.1): who may be querier, what is
//! adopted from it, older-version queriers, and the querier events turned into actions.

use std::net::Ipv4Addr;

use mgm_common::igmp::{Query, QueryVersion, ALL_SYSTEMS};

use super::{version_of, IgmpInterface};
use crate::igmp::action::{Action, RouterNotice};
use crate::igmp::config::{OlderQuerier, Params};
use crate::igmp::encode::QueryMessage;
use crate::igmp::querier::{ForeignSource, QuerierEvent};
use crate::igmp::view::FastPathView;

/// An adopted Query Interval is at most this many times the configured one.
pub const MAX_ADOPTED_QUERY_INTERVAL_FACTOR: u32 = 4;

impl IgmpInterface {
    /// A query from `src` (not us). Foreign sources are ignored whole; an older-version query
    /// changes the version only when configured to follow and from the elected querier; the
    /// election and QRV/QQI adoption take only valid on-link routers with a lower address (any
    /// address with `querier = off`).
    pub(super) fn handle_query(
        &mut self,
        now: u64,
        src: Ipv4Addr,
        q: &Query<'_>,
        view: &dyn FastPathView,
        out: &mut Vec<Action>,
    ) {
        if src == self.querier.our_addr {
            return; // our own query, looped back: already applied when sent
        }
        if let Some(reason) = ForeignSource::of(src, &self.subnets) {
            self.foreign_queries += 1;
            let notice = RouterNotice::ForeignQuery {
                source: src,
                reason,
            };
            self.notice(now, notice, out);
            return;
        }
        self.router_queries += 1;
        // 0.0.0.0 (a snooping switch's proxy query) never takes part in the election.
        let wins = self.querier.elected_by(src);
        if wins && q.version == QueryVersion::V3 {
            let max_qi = self
                .config
                .query_interval
                .saturating_mul(MAX_ADOPTED_QUERY_INTERVAL_FACTOR);
            self.querier.adopt(q.qrv, q.qqi_secs(), max_qi);
        }
        // Timers armed by this query count with the values it made us adopt.
        let oqpi = Params::derive(
            &self.config,
            self.querier.adopted_robustness,
            self.querier.adopted_query_interval,
        )
        .other_querier_present_interval;
        let mut ev = Vec::new();
        if matches!(q.version, QueryVersion::V1 | QueryVersion::V2) {
            ev.extend(self.older_query(now, src, q.version, wins, oqpi, out));
        }
        if wins {
            ev.extend(self.querier.elect(now, src, oqpi));
        }
        self.querier_events(now, ev, out);
        self.lower_timers_on_query(now, q, view);
    }

    /// A v1/v2 query: followed (RFC 3376 §7.3.1) when so configured and its sender wins the
    /// election; otherwise counted and told (rate-limited).
    fn older_query(
        &mut self,
        now: u64,
        src: Ipv4Addr,
        version: QueryVersion,
        wins: bool,
        timeout: u64,
        out: &mut Vec<Action>,
    ) -> Vec<QuerierEvent> {
        let v = match version {
            QueryVersion::V1 => 1,
            _ => 2,
        };
        if v >= self.config.version {
            return Vec::new();
        }
        if self.config.older_querier == OlderQuerier::Follow && wins {
            return self.querier.follow_older(now, src, version, timeout);
        }
        self.older_queries += 1;
        let notice = RouterNotice::OlderQuerier {
            querier: src,
            version: v,
        };
        self.notice(now, notice, out);
        Vec::new()
    }

    /// §6.6.1: a group(-and-source)-specific query with S clear lowers timers, on every
    /// router. LMQT here is LMQC × the query's Max Resp Time (RFC 3376 §8.5; RFC 2236 §6).
    fn lower_timers_on_query(&mut self, now: u64, q: &Query<'_>, view: &dyn FastPathView) {
        if q.is_general() || q.s_flag || !self.groups.contains_key(&q.group) {
            return;
        }
        let p = self.params();
        let mrt_ns = match u64::from(q.max_resp_tenths()) * 100_000_000 {
            0 => p.last_member_query_interval,
            t => t,
        };
        let lmqt = mrt_ns.saturating_mul(u64::from(p.last_member_query_count));
        let sources: Vec<Ipv4Addr> = q.sources.collect();
        self.adopt(q.group, view);
        if let Some(g) = self.groups.get_mut(&q.group) {
            g.lower_on_query(now, lmqt, &sources);
            self.dirty.push(q.group);
        }
    }

    /// Emits `notice` unless one of its kind went out less than a minute ago.
    pub(super) fn notice(&mut self, now: u64, notice: RouterNotice, out: &mut Vec<Action>) {
        let limit = &mut self.notice_limits[notice.kind()];
        if let Some(suppressed) = limit.allow(now) {
            out.push(Action::Notice {
                ifindex: self.ifindex,
                notice,
                suppressed,
            });
        }
    }

    pub(super) fn querier_events(
        &mut self,
        now: u64,
        ev: Vec<QuerierEvent>,
        out: &mut Vec<Action>,
    ) {
        for e in ev {
            match e {
                QuerierEvent::SendGeneralQuery => {
                    let p = self.params();
                    let q = QueryMessage {
                        version: version_of(self.querier.version(now)),
                        group: Ipv4Addr::UNSPECIFIED,
                        sources: Vec::new(),
                        s_flag: false,
                        max_resp_tenths: p.query_response_tenths(),
                        qrv: p.robustness.min(255) as u8,
                        qqic_secs: (p.query_interval / 1_000_000_000).min(u64::from(u32::MAX))
                            as u32,
                    };
                    out.push(Action::SendQuery {
                        ifindex: self.ifindex,
                        dst: ALL_SYSTEMS,
                        query: q,
                    });
                }
                QuerierEvent::RoleChanged(we) => {
                    if !we {
                        for g in self.groups.values_mut() {
                            if g.retransmitting() || g.sources.values().any(|r| r.rexmit > 0) {
                                g.cancel_retransmissions();
                                self.dirty.push(g.group);
                            }
                        }
                    }
                    out.push(Action::QuerierChanged {
                        ifindex: self.ifindex,
                        we_are_querier: we,
                        querier: self.querier.querier_address(),
                    });
                }
                QuerierEvent::VersionChanged(from, to) => {
                    let older = match to {
                        1 => self.querier.v1_querier_addr,
                        2 => self.querier.v2_querier_addr,
                        _ => None,
                    };
                    out.push(Action::VersionChanged {
                        ifindex: self.ifindex,
                        from,
                        to,
                        older_querier: if to < self.querier.configured_version {
                            older
                        } else {
                            None
                        },
                    });
                }
            }
        }
    }
}
