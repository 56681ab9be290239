//! Per-interface IGMP configuration (RFC 3376 §8 / RFC 2236 §8) and the timer values derived
//! from it.

use std::time::Duration;

use super::duration::format_duration;
use super::filter::{AddressFilter, PrefixRange};

/// Largest Max Resp Code / QQIC value: 31744 (tenths of a second, resp. seconds).
const FLOAT_MAX: u64 = mgm_common::igmp::FLOAT_CODE_MAX as u64;

/// Configuration of the IGMP router on one interface. `None` fields take their RFC default,
/// derived from the other values (and, for a non-querier, from the querier's adopted QRV/QQI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgmpConfig {
    /// Highest IGMP version to run: 1, 2 or 3 (queries are sent in this version).
    pub version: u8,
    /// Robustness Variable (RFC default 2).
    pub robustness: u8,
    /// Query Interval (default 125 s).
    pub query_interval: Duration,
    /// Query Response Interval, the Max Resp Time of general queries (default 10 s).
    pub query_response_interval: Duration,
    /// Last Member Query Interval, the Max Resp Time of group(-and-source) queries (default 1 s).
    pub last_member_query_interval: Duration,
    /// Last Member Query Count (default: the Robustness Variable).
    pub last_member_query_count: Option<u32>,
    /// Startup Query Interval (default: Query Interval / 4).
    pub startup_query_interval: Option<Duration>,
    /// Startup Query Count (default: the Robustness Variable).
    pub startup_query_count: Option<u32>,
    /// Other Querier Present Interval (default: RV × QI + QRI / 2).
    pub other_querier_present_interval: Option<Duration>,
    /// Most groups kept on the interface (default 4096). Reports for further new groups are
    /// ignored and counted, so a host flooding random groups cannot exhaust the maps.
    pub max_groups: u32,
    /// Most source records kept per group (default 1024). New sources a record would add beyond
    /// it are ignored and counted (see `group.rs`, "Source limit"), so a host flooding sources
    /// cannot exhaust memory, the manager's RPF lookups or `MGM_SOURCES`.
    pub max_sources: u32,
    /// Most groups one host (reporter address) may create on the interface (default 512). A
    /// group counts for the host that reported it last; reports creating further groups from a
    /// host that holds this many are ignored and counted, so one host cannot take the whole
    /// `max_groups` from the others. Existing groups are always served.
    pub max_groups_per_host: u32,
    /// Most source records kept on the interface over all its groups (default 32768). New
    /// sources beyond it are ignored and counted like those beyond `max_sources`, so
    /// `max_groups × max_sources` cannot exhaust memory or the shared `MGM_SOURCES`.
    pub max_sources_total: u32,
    /// The interface's budget of reports and leaves the classifier sends to the daemon, per
    /// second and per CPU, in units of a small report (a v2 message, a v3 report of one
    /// record with up to 11 sources; a larger report counts one more per 64 bytes, a
    /// 170-record one 22: `mgm_common::maps::report_cost`), with a burst of as many, at most
    /// 1000 (default 10 000; 0: no limit). Past it they
    /// are passed on and counted (`events_rate_limited`), so that a flood on one link cannot
    /// fill the event ring all interfaces share. Reports and leaves naming only groups the
    /// interface holds have a budget of their own, as large, and so do queries.
    pub max_reports_per_second: u32,
    /// What a query of an older IGMP version from another router does (RFC 3376 §7.3.1).
    pub older_querier: OlderQuerier,
    /// Groups hosts may make state for (`allow-groups`, `deny-groups`; `filter.rs`). A record
    /// for a refused group is ignored whole and counted.
    pub group_filter: AddressFilter,
    /// Sources hosts may make state for (`allow-sources`, `deny-sources`). A refused source is
    /// dropped from its record (the rest applies) and counted.
    pub source_filter: AddressFilter,
    /// Quick leave (default off): a record that would start last-member queries (a v2 leave,
    /// TO_IN, BLOCK, TO_EX) takes effect at once, as if those queries had gone unanswered, and
    /// no query is sent (`group.rs`, "Quick leave"). Right only on a link with one host: with several, a
    /// leave cuts the others until they report again.
    pub quick_leave: bool,
    /// Takes part in the querier election (default on). Off: never queries, never becomes the
    /// querier; another router or a snooping switch on the link is the querier, elected
    /// whatever its address, and its queries keep the memberships alive (`querier.rs`).
    pub querier: bool,
}

/// What the router does on hearing a v1 or v2 query while it runs a newer version. RFC 3376
/// §7.3.1 makes the version an administrative choice and asks for a rate-limited warning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OlderQuerier {
    /// Keep the configured version; log (rate-limited) and count the older querier.
    #[default]
    Warn,
    /// Run the older version while an older-version querier that wins the election (a lower,
    /// valid on-link address) is present; warn about any other.
    Follow,
}

impl OlderQuerier {
    /// The setting's words.
    pub const NAMES: [&'static str; 2] = ["warn", "follow"];

    pub fn name(self) -> &'static str {
        match self {
            OlderQuerier::Warn => "warn",
            OlderQuerier::Follow => "follow",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "warn" => Some(OlderQuerier::Warn),
            "follow" => Some(OlderQuerier::Follow),
            _ => None,
        }
    }
}

/// Default [`IgmpConfig::max_groups`]: 16 interfaces at this limit fill `MGM_MEMBERS`.
pub const DEFAULT_MAX_GROUPS: u32 = 4096;

/// Default [`IgmpConfig::max_sources`].
pub const DEFAULT_MAX_SOURCES: u32 = 1024;

/// Default [`IgmpConfig::max_groups_per_host`]: an eighth of the default `max_groups`.
pub const DEFAULT_MAX_GROUPS_PER_HOST: u32 = 512;

/// Default [`IgmpConfig::max_reports_per_second`]: a fifth of what the daemon handles (10-20 µs
/// a state-changing report, 50 000-100 000 a second), so that a flood on one link leaves the
/// daemon and the event ring to the others, and far more state changes a second than a real
/// LAN sends: 1 000 IPTV set-top boxes changing channel at once send about 4 000 (a leave and
/// a join, each repeated), and refreshes absorbed in the kernel never count. The burst is at
/// most `MAX_REPORT_BURST` (384 units of a small report, larger reports counting by size; the
/// interface's three buckets together under half the smallest event ring whatever the
/// messages' sizes, per CPU).
pub const DEFAULT_MAX_REPORTS_PER_SECOND: u32 = 10_000;

/// Default [`IgmpConfig::max_sources_total`]: eight sources per group at the default
/// `max_groups`.
pub const DEFAULT_MAX_SOURCES_TOTAL: u32 = 32_768;

impl Default for IgmpConfig {
    fn default() -> Self {
        IgmpConfig {
            version: 3,
            robustness: 2,
            query_interval: Duration::from_secs(125),
            query_response_interval: Duration::from_secs(10),
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: None,
            startup_query_interval: None,
            startup_query_count: None,
            other_querier_present_interval: None,
            max_groups: DEFAULT_MAX_GROUPS,
            max_sources: DEFAULT_MAX_SOURCES,
            max_groups_per_host: DEFAULT_MAX_GROUPS_PER_HOST,
            max_sources_total: DEFAULT_MAX_SOURCES_TOTAL,
            max_reports_per_second: DEFAULT_MAX_REPORTS_PER_SECOND,
            older_querier: OlderQuerier::Warn,
            group_filter: AddressFilter::default(),
            source_filter: AddressFilter::default(),
            quick_leave: false,
            querier: true,
        }
    }
}

/// A configuration value that cannot work; the message names the values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

type Check = Result<(), ConfigError>;

fn fail(message: impl Into<String>) -> Check {
    Err(ConfigError(message.into()))
}

fn fd(d: Duration) -> String {
    format_duration(d)
}

impl IgmpConfig {
    /// Checks the values; the first problem found is returned.
    pub fn validate(&self) -> Check {
        self.check_version_and_robustness()?;
        self.check_query_times()?;
        self.check_max_response_times()?;
        self.check_limits_and_counts()?;
        self.check_optional_intervals()?;
        self.check_filters()
    }

    /// Every filter prefix can match an address of its kind (the settings check this as they
    /// read a value; a configuration built otherwise is checked here).
    fn check_filters(&self) -> Check {
        for (key, list, range) in [
            (
                "allow-groups",
                &self.group_filter.allow,
                PrefixRange::Groups,
            ),
            ("deny-groups", &self.group_filter.deny, PrefixRange::Groups),
            (
                "allow-sources",
                &self.source_filter.allow,
                PrefixRange::Sources,
            ),
            (
                "deny-sources",
                &self.source_filter.deny,
                PrefixRange::Sources,
            ),
        ] {
            for p in list {
                if let Err(e) = range.check(*p) {
                    return fail(format!("{key}: {e}"));
                }
            }
        }
        Ok(())
    }

    fn check_version_and_robustness(&self) -> Check {
        if !(1..=3).contains(&self.version) {
            return fail(format!(
                "IGMP version must be 1, 2 or 3, not {}",
                self.version
            ));
        }
        if self.robustness == 0 {
            return fail("robustness must be at least 1 (RFC 3376 §8.1: it MUST NOT be 0)");
        }
        Ok(())
    }

    fn check_query_times(&self) -> Check {
        if self.query_interval.is_zero() {
            return fail("query interval must be greater than 0");
        }
        if self.query_response_interval < Duration::from_millis(100) {
            return fail(format!(
                "query response interval ({}) must be at least 100ms (it is sent in tenths of a second)",
                fd(self.query_response_interval)
            ));
        }
        if self.query_response_interval >= self.query_interval {
            return fail(format!(
                "query response interval ({}) must be shorter than query interval ({})",
                fd(self.query_response_interval),
                fd(self.query_interval)
            ));
        }
        if self.last_member_query_interval < Duration::from_millis(100) {
            return fail(format!(
                "last member query interval ({}) must be at least 100ms (it is sent in tenths of a second)",
                fd(self.last_member_query_interval)
            ));
        }
        Ok(())
    }

    /// Max Resp Time and QQIC must fit the version's encoding.
    fn check_max_response_times(&self) -> Check {
        let max_resp_limit_tenths = if self.version == 2 { 255 } else { FLOAT_MAX };
        for (name, d) in [
            ("query response interval", self.query_response_interval),
            (
                "last member query interval",
                self.last_member_query_interval,
            ),
        ] {
            if d.as_millis() / 100 > u128::from(max_resp_limit_tenths) {
                return fail(format!(
                    "{name} ({}) exceeds the largest max response time IGMPv{} can send ({})",
                    fd(d),
                    self.version,
                    fd(Duration::from_millis(max_resp_limit_tenths * 100))
                ));
            }
        }
        if self.version == 3 && self.query_interval.as_secs() > FLOAT_MAX {
            return fail(format!(
                "query interval ({}) exceeds the largest QQIC value ({})",
                fd(self.query_interval),
                fd(Duration::from_secs(FLOAT_MAX))
            ));
        }
        Ok(())
    }

    fn check_limits_and_counts(&self) -> Check {
        if self.max_groups == 0 {
            return fail("max groups must be at least 1");
        }
        if self.max_sources == 0 {
            return fail("max sources must be at least 1");
        }
        if self.max_groups_per_host == 0 {
            return fail("max groups per host must be at least 1");
        }
        if self.max_sources_total == 0 {
            return fail("max sources total must be at least 1");
        }
        if self.last_member_query_count == Some(0) {
            return fail("last member query count must be at least 1");
        }
        if self.startup_query_count == Some(0) {
            return fail("startup query count must be at least 1");
        }
        Ok(())
    }

    fn check_optional_intervals(&self) -> Check {
        if self.startup_query_interval == Some(Duration::ZERO) {
            return fail("startup query interval must be greater than 0");
        }
        if self.other_querier_present_interval == Some(Duration::ZERO) {
            return fail("other querier present interval must be greater than 0");
        }
        Ok(())
    }
}

/// Smallest interval [`Params::derive`] lets through.
const MIN_INTERVAL: u64 = 1_000_000;

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Timer values in nanoseconds, derived from the configuration and (for a non-querier) the
/// querier's adopted Robustness Variable and Query Interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub robustness: u32,
    pub query_interval: u64,
    pub query_response_interval: u64,
    pub last_member_query_interval: u64,
    pub last_member_query_count: u32,
    /// GMI = RV × QI + QRI.
    pub group_membership_interval: u64,
    /// OQPI = RV × QI + QRI / 2 (unless configured).
    pub other_querier_present_interval: u64,
    /// LMQT = LMQI × LMQC.
    pub last_member_query_time: u64,
    /// OHPI = RV × QI + QRI.
    pub older_host_present_interval: u64,
    pub startup_query_interval: u64,
    pub startup_query_count: u32,
}

impl Params {
    /// Values from `cfg`, with `robustness` and `query_interval` overriding the configured ones
    /// when given (values adopted from the querier, RFC 3376 §4.1.6 / §4.1.7).
    ///
    /// Intervals are clamped to at least 1 ms so that an unvalidated configuration can never
    /// make a deadline repeat forever (use [`IgmpConfig::validate`] for real errors).
    pub fn derive(
        cfg: &IgmpConfig,
        robustness: Option<u8>,
        query_interval: Option<Duration>,
    ) -> Params {
        let rv = u32::from(robustness.unwrap_or(cfg.robustness).max(1));
        let qi = ns(query_interval.unwrap_or(cfg.query_interval)).max(MIN_INTERVAL);
        let qri = ns(cfg.query_response_interval);
        let lmqi = ns(cfg.last_member_query_interval).max(MIN_INTERVAL);
        let lmqc = cfg.last_member_query_count.unwrap_or(rv).max(1);
        let gmi = u64::from(rv).saturating_mul(qi).saturating_add(qri);
        Params {
            robustness: rv,
            query_interval: qi,
            query_response_interval: qri,
            last_member_query_interval: lmqi,
            last_member_query_count: lmqc,
            group_membership_interval: gmi,
            other_querier_present_interval: cfg
                .other_querier_present_interval
                .map(ns)
                .unwrap_or_else(|| u64::from(rv).saturating_mul(qi).saturating_add(qri / 2))
                .max(MIN_INTERVAL),
            last_member_query_time: lmqi.saturating_mul(u64::from(lmqc)),
            older_host_present_interval: gmi,
            startup_query_interval: cfg
                .startup_query_interval
                .map(ns)
                .unwrap_or(qi / 4)
                .max(MIN_INTERVAL),
            startup_query_count: cfg.startup_query_count.unwrap_or(rv).max(1),
        }
    }

    /// Max Resp Time of general queries, in tenths of a second.
    pub fn query_response_tenths(&self) -> u32 {
        (self.query_response_interval / 100_000_000).min(u64::from(u32::MAX)) as u32
    }

    /// Max Resp Time of group(-and-source)-specific queries, in tenths of a second.
    pub fn last_member_query_tenths(&self) -> u32 {
        (self.last_member_query_interval / 100_000_000).min(u64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn rfc_defaults_and_derived_values() {
        let c = IgmpConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!((c.max_groups, c.max_sources), (4096, 1024));
        let p = Params::derive(&c, None, None);
        assert_eq!(p.robustness, 2);
        assert_eq!(p.group_membership_interval, 260 * S);
        assert_eq!(p.other_querier_present_interval, 255 * S);
        assert_eq!(p.last_member_query_count, 2);
        assert_eq!(p.last_member_query_time, 2 * S);
        assert_eq!(p.older_host_present_interval, 260 * S);
        assert_eq!(p.startup_query_interval, 125 * S / 4);
        assert_eq!(p.startup_query_count, 2);
        assert_eq!(p.query_response_tenths(), 100);
        assert_eq!(p.last_member_query_tenths(), 10);
    }

    #[test]
    fn adopted_values_change_derived_ones_but_not_explicit_ones() {
        let mut c = IgmpConfig::default();
        let p = Params::derive(&c, Some(3), Some(Duration::from_secs(60)));
        assert_eq!(p.group_membership_interval, (3 * 60 + 10) * S);
        assert_eq!(p.last_member_query_count, 3);
        assert_eq!(p.startup_query_count, 3);
        c.last_member_query_count = Some(5);
        c.other_querier_present_interval = Some(Duration::from_secs(7));
        let p = Params::derive(&c, Some(3), None);
        assert_eq!(p.last_member_query_count, 5);
        assert_eq!(p.last_member_query_time, 5 * S);
        assert_eq!(p.other_querier_present_interval, 7 * S);
    }

    #[test]
    fn validation_messages() {
        let bad = |f: &dyn Fn(&mut IgmpConfig)| {
            let mut c = IgmpConfig::default();
            f(&mut c);
            c.validate().unwrap_err().0
        };
        assert_eq!(
            bad(&|c| {
                c.query_response_interval = Duration::from_secs(10);
                c.query_interval = Duration::from_secs(5);
            }),
            "query response interval (10s) must be shorter than query interval (5s)"
        );
        assert_eq!(
            bad(&|c| c.robustness = 0),
            "robustness must be at least 1 (RFC 3376 §8.1: it MUST NOT be 0)"
        );
        assert_eq!(
            bad(&|c| c.version = 4),
            "IGMP version must be 1, 2 or 3, not 4"
        );
        assert_eq!(
            bad(&|c| c.query_interval = Duration::ZERO),
            "query interval must be greater than 0"
        );
        assert_eq!(
            bad(&|c| c.last_member_query_interval = Duration::from_millis(50)),
            "last member query interval (50ms) must be at least 100ms (it is sent in tenths of a second)"
        );
        assert_eq!(bad(&|c| c.max_groups = 0), "max groups must be at least 1");
        assert_eq!(
            bad(&|c| c.max_sources = 0),
            "max sources must be at least 1"
        );
        assert_eq!(
            bad(&|c| c.max_groups_per_host = 0),
            "max groups per host must be at least 1"
        );
        assert_eq!(
            bad(&|c| c.max_sources_total = 0),
            "max sources total must be at least 1"
        );
        assert_eq!(
            bad(&|c| c.last_member_query_count = Some(0)),
            "last member query count must be at least 1"
        );
        assert_eq!(
            bad(&|c| c.startup_query_count = Some(0)),
            "startup query count must be at least 1"
        );
        assert_eq!(
            bad(&|c| c.startup_query_interval = Some(Duration::ZERO)),
            "startup query interval must be greater than 0"
        );
        assert_eq!(
            bad(&|c| c.group_filter.deny = vec!["10.0.0.0/8".parse().unwrap()]),
            "deny-groups: '10.0.0.0/8' holds no multicast group (groups are in 224.0.0.0/4)"
        );
        assert_eq!(
            bad(&|c| c.source_filter.allow = vec!["232.0.0.0/8".parse().unwrap()]),
            "allow-sources: '232.0.0.0/8' holds only multicast addresses, which are never sources"
        );
        assert_eq!(
            bad(&|c| {
                c.version = 2;
                c.query_response_interval = Duration::from_secs(30);
            }),
            "query response interval (30s) exceeds the largest max response time IGMPv2 can send (25.5s)"
        );
    }
}
