//! Querier election (RFC 3376 §6.6.2 / RFC 2236 §3), the general-query schedule (startup
//! queries, then the query interval), QRV/QQI adoption by non-queriers (§4.1.6 / §4.1.7) and
//! older-version querier presence (§7.3.1).

use std::net::Ipv4Addr;
use std::time::Duration;

use mgm_common::igmp::QueryVersion;
use mgm_common::maps::LinkSubnet;

/// Why a query's source cannot be a router on the link: such queries are ignored whole (no
/// election, no adopted values, no timer changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForeignSource {
    /// Multicast, broadcast, loopback, `0.x.x.x` or reserved (240/4).
    NotUnicast,
    /// Not on any of the interface's subnets.
    OffLink,
    /// The network or directed-broadcast address of the interface's subnet.
    SubnetAddress,
}

impl ForeignSource {
    /// Judges `src` against the link's subnets (none known: any unicast source is on-link).
    /// 0.0.0.0, the source of snooping switches' proxy queries, is not foreign (it just never
    /// takes part in the election).
    pub fn of(src: Ipv4Addr, subnets: &[LinkSubnet]) -> Option<ForeignSource> {
        if src.is_unspecified() {
            return None;
        }
        let first = src.octets()[0];
        if src.is_multicast()
            || src.is_broadcast()
            || src.is_loopback()
            || first == 0
            || first >= 240
        {
            return Some(ForeignSource::NotUnicast);
        }
        if subnets.is_empty() {
            return None;
        }
        // The rule reports follow too (`LinkSubnet::has_host`): a host address of one of the
        // link's subnets.
        let a = src.octets();
        if subnets.iter().any(|s| s.has_host(a)) {
            None
        } else if subnets.iter().any(|s| s.contains(a)) {
            Some(ForeignSource::SubnetAddress)
        } else {
            Some(ForeignSource::OffLink)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ForeignSource::NotUnicast => "not a unicast address",
            ForeignSource::OffLink => "not on the link's subnets",
            ForeignSource::SubnetAddress => "the subnet's network or broadcast address",
        }
    }
}

/// What changed in the querier state, for the interface to turn into actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuerierEvent {
    /// Send a general query now.
    SendGeneralQuery,
    /// We became (true) or stopped being (false) the querier.
    RoleChanged(bool),
    /// The version in use changed from .0 to .1.
    VersionChanged(u8, u8),
}

/// Per-interface querier state. All deadlines are absolute ns; 0 = not running.
#[derive(Clone, Debug)]
pub struct Querier {
    pub our_addr: Ipv4Addr,
    pub configured_version: u8,
    /// May become the querier (`querier = on`, the default). When false the router never
    /// queries: any router's query on the link elects that router, whatever its address, and
    /// when it goes silent nobody here takes over (RFC 3376 leaves the querier role to a
    /// router; a switch or another box may be the link's designated querier).
    pub candidate: bool,
    pub is_querier: bool,
    /// Address of the other querier while we are not the querier.
    pub other_querier: Option<Ipv4Addr>,
    /// Other Querier Present timer.
    pub other_querier_expires: u64,
    /// Next general query (querier only).
    pub next_general_query: u64,
    /// Startup queries still to send (the next scheduled one included); 0 once in the query
    /// interval.
    pub startup_left: u32,
    /// IGMPv1 / IGMPv2 Querier Present timers (§7.3.1) and who triggered them.
    pub v1_querier_until: u64,
    pub v2_querier_until: u64,
    pub v1_querier_addr: Option<Ipv4Addr>,
    pub v2_querier_addr: Option<Ipv4Addr>,
    /// QRV and QQI adopted from the querier's v3 queries while we are not the querier.
    pub adopted_robustness: Option<u8>,
    pub adopted_query_interval: Option<Duration>,
}

impl Querier {
    pub fn new(our_addr: Ipv4Addr, configured_version: u8) -> Self {
        Querier {
            our_addr,
            configured_version,
            candidate: true,
            is_querier: false,
            other_querier: None,
            other_querier_expires: 0,
            next_general_query: 0,
            startup_left: 0,
            v1_querier_until: 0,
            v2_querier_until: 0,
            v1_querier_addr: None,
            v2_querier_addr: None,
            adopted_robustness: None,
            adopted_query_interval: None,
        }
    }

    /// The version the interface runs: the configured one, lowered while an older-version
    /// querier is present.
    pub fn version(&self, now: u64) -> u8 {
        if self.v1_querier_until > now {
            1
        } else if self.v2_querier_until > now {
            2.min(self.configured_version)
        } else {
            self.configured_version
        }
    }

    /// The querier's address: ours while we are the querier.
    pub fn querier_address(&self) -> Option<Ipv4Addr> {
        if self.is_querier {
            Some(self.our_addr)
        } else {
            self.other_querier
        }
    }

    /// Start-up (RFC 3376 §8.6 / §8.7): we are the querier, send a general query now and
    /// `startup_count − 1` more every `startup_interval`.
    pub fn start(
        &mut self,
        now: u64,
        startup_count: u32,
        startup_interval: u64,
        qi: u64,
    ) -> Vec<QuerierEvent> {
        if !self.candidate {
            return Vec::new();
        }
        self.is_querier = true;
        self.startup_left = startup_count.saturating_sub(1);
        self.next_general_query = now.saturating_add(if self.startup_left > 0 {
            startup_interval
        } else {
            qi
        });
        vec![
            QuerierEvent::RoleChanged(true),
            QuerierEvent::SendGeneralQuery,
        ]
    }

    /// Whether a query from `src`, a valid router on the link, elects it: a lower address than
    /// ours (RFC 3376 §6.6.2), or any router's while we never query.
    pub fn elected_by(&self, src: Ipv4Addr) -> bool {
        !src.is_unspecified() && (!self.candidate || u32::from(src) < u32::from(self.our_addr))
    }

    /// The operator turned the querier role on or off (a reload). Off while querier: we stop
    /// at once (the other routers take over after their Other Querier Present Interval). On
    /// while no other querier is heard: we start as at start-up.
    pub fn set_candidate(
        &mut self,
        on: bool,
        now: u64,
        startup_count: u32,
        startup_interval: u64,
        qi: u64,
    ) -> Vec<QuerierEvent> {
        if on == self.candidate {
            return Vec::new();
        }
        self.candidate = on;
        if !on && self.is_querier {
            self.is_querier = false;
            self.next_general_query = 0;
            self.startup_left = 0;
            return vec![QuerierEvent::RoleChanged(false)];
        }
        if on && !self.is_querier && self.other_querier.is_none() {
            return self.start(now, startup_count, startup_interval, qi);
        }
        Vec::new()
    }

    /// A query from `src`, a valid querier candidate with a lower address than ours: it is the
    /// querier now, and the other-querier-present timer runs `oqpi` (computed from the values
    /// this very query made us adopt). Returns the resulting events.
    pub fn elect(&mut self, now: u64, src: Ipv4Addr, oqpi: u64) -> Vec<QuerierEvent> {
        let mut ev = Vec::new();
        if self.is_querier {
            self.is_querier = false;
            self.next_general_query = 0;
            self.startup_left = 0;
            ev.push(QuerierEvent::RoleChanged(false));
        }
        self.other_querier = Some(src);
        self.other_querier_expires = now.saturating_add(oqpi);
        ev
    }

    /// Adopts the Robustness Variable and Query Interval of the querier's v3 query (RFC 3376
    /// §4.1.6 / §4.1.7), the interval bounded by `max_query_interval` (and at least a second):
    /// one forged query must not stretch every timer on the link to hours.
    pub fn adopt(&mut self, qrv: u8, qqi_secs: u32, max_query_interval: Duration) {
        if qrv != 0 {
            self.adopted_robustness = Some(qrv);
        }
        if qqi_secs != 0 {
            let qqi = Duration::from_secs(u64::from(qqi_secs));
            self.adopted_query_interval = Some(qqi.clamp(
                Duration::from_secs(1),
                max_query_interval.max(Duration::from_secs(1)),
            ));
        }
    }

    /// An older-version querier (v1 or v2) this router follows (RFC 3376 §7.3.1): the interface
    /// runs that version until `timeout` passes without another of its queries.
    pub fn follow_older(
        &mut self,
        now: u64,
        src: Ipv4Addr,
        version: QueryVersion,
        timeout: u64,
    ) -> Vec<QuerierEvent> {
        let before = self.version(now);
        match version {
            QueryVersion::V1 => {
                self.v1_querier_until = now.saturating_add(timeout);
                self.v1_querier_addr = Some(src);
            }
            QueryVersion::V2 => {
                self.v2_querier_until = now.saturating_add(timeout);
                self.v2_querier_addr = Some(src);
            }
            QueryVersion::V3 => {}
        }
        let after = self.version(now);
        if after != before {
            vec![QuerierEvent::VersionChanged(before, after)]
        } else {
            Vec::new()
        }
    }

    /// Interface-level deadlines due at `now`. `qi` / `sqi` are the query interval and startup
    /// query interval in effect (as querier).
    pub fn on_deadline(&mut self, now: u64, qi: u64, sqi: u64) -> Vec<QuerierEvent> {
        let mut ev = Vec::new();
        if !self.is_querier && self.other_querier_expires != 0 && self.other_querier_expires <= now
        {
            // The other querier went silent: take over (RFC 3376 §6.6.2), unless we never query.
            self.other_querier = None;
            self.other_querier_expires = 0;
            self.adopted_robustness = None;
            self.adopted_query_interval = None;
            self.startup_left = 0;
            if self.candidate {
                self.is_querier = true;
                self.next_general_query = now; // sent below
                ev.push(QuerierEvent::RoleChanged(true));
            }
        }
        if self.is_querier && self.next_general_query != 0 && self.next_general_query <= now {
            ev.push(QuerierEvent::SendGeneralQuery);
            self.startup_left = self.startup_left.saturating_sub(1);
            let next = if self.startup_left > 0 { sqi } else { qi };
            self.next_general_query = now.saturating_add(next);
        }
        ev
    }

    /// Clears older-querier timers that ran out; returns (old, new) version if it changed.
    pub fn expire_older_queriers(&mut self, now: u64) -> Option<(u8, u8)> {
        let before = self.version_with(self.v1_querier_until != 0, self.v2_querier_until != 0);
        if self.v1_querier_until != 0 && self.v1_querier_until <= now {
            self.v1_querier_until = 0;
            self.v1_querier_addr = None;
        }
        if self.v2_querier_until != 0 && self.v2_querier_until <= now {
            self.v2_querier_until = 0;
            self.v2_querier_addr = None;
        }
        let after = self.version(now);
        (before != after).then_some((before, after))
    }

    fn version_with(&self, v1: bool, v2: bool) -> u8 {
        if v1 {
            1
        } else if v2 {
            2.min(self.configured_version)
        } else {
            self.configured_version
        }
    }

    /// Earliest interface-level deadline (0 when none).
    pub fn next_deadline(&self) -> u64 {
        [
            if self.is_querier {
                self.next_general_query
            } else {
                0
            },
            if self.is_querier {
                0
            } else {
                self.other_querier_expires
            },
            self.v1_querier_until,
            self.v2_querier_until,
        ]
        .into_iter()
        .filter(|t| *t != 0)
        .min()
        .unwrap_or(0)
    }
}
