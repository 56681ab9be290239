//! The IGMP settings table: every setting a user can give, defined once. The flags of `mgm run`,
//! the `-i IF,key=value` overrides, their help text and defaults all come from [`SETTINGS`];
//! a configuration file reads the same keys.

use std::time::Duration;

use crate::igmp::{format_duration, IgmpConfig, OlderQuerier, Prefix, PrefixRange};

use super::value::{
    format_prefixes, parse_duration, parse_number, parse_prefixes, parse_switch, ValueError,
};

/// How a setting's value is read, and where it goes in (and comes from) [`IgmpConfig`]. `get`
/// returns `None` where the RFC default is derived from other values.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A duration with units: `125s`, `100ms`, `1m30s`, `1.5s`.
    Duration {
        get: fn(&IgmpConfig) -> Option<Duration>,
        set: fn(&mut IgmpConfig, Duration),
    },
    /// An IGMP version: 1, 2 or 3.
    Version {
        get: fn(&IgmpConfig) -> u8,
        set: fn(&mut IgmpConfig, u8),
    },
    /// A small count (0..=255).
    Byte {
        get: fn(&IgmpConfig) -> u8,
        set: fn(&mut IgmpConfig, u8),
    },
    /// A count.
    Count {
        get: fn(&IgmpConfig) -> Option<u32>,
        set: fn(&mut IgmpConfig, u32),
    },
    /// What to do on hearing an older-version querier: `warn` or `follow`.
    OlderQuerier {
        get: fn(&IgmpConfig) -> OlderQuerier,
        set: fn(&mut IgmpConfig, OlderQuerier),
    },
    /// `on` or `off`.
    Switch {
        get: fn(&IgmpConfig) -> bool,
        set: fn(&mut IgmpConfig, bool),
    },
    /// IPv4 prefixes of groups or sources (`range`), `+` between them
    /// (`239.255.0.0/16+239.1.2.3/32`); `none` for none.
    Prefixes {
        range: PrefixRange,
        get: fn(&IgmpConfig) -> Vec<Prefix>,
        set: fn(&mut IgmpConfig, Vec<Prefix>),
    },
}

/// One IGMP setting: its key (the flag's name without the dashes), help and how it applies.
#[derive(Debug)]
pub struct Setting {
    /// The key: `--query-interval` on the command line, `query-interval=` after `-i IF,`.
    pub name: &'static str,
    /// Other keys accepted after `-i IF,` (not as flags).
    pub aliases: &'static [&'static str],
    /// One line for `--help`, without the default.
    pub help: &'static str,
    /// The default in words, where it is derived from other settings.
    pub derived_default: &'static str,
    pub kind: Kind,
}

impl Setting {
    /// Placeholder for the value in `--help`.
    pub fn value_name(&self) -> &'static str {
        match self.kind {
            Kind::Duration { .. } => "D",
            Kind::Version { .. } => "1|2|3",
            Kind::Byte { .. } | Kind::Count { .. } => "N",
            Kind::OlderQuerier { .. } => "warn|follow",
            Kind::Switch { .. } => "on|off",
            Kind::Prefixes { .. } => "PREFIX[+PREFIX...]",
        }
    }

    /// The value of this setting in `cfg` as text, `None` when it is derived from others.
    pub fn value_text(&self, cfg: &IgmpConfig) -> Option<String> {
        match self.kind {
            Kind::Duration { get, .. } => get(cfg).map(format_duration),
            Kind::Version { get, .. } | Kind::Byte { get, .. } => Some(get(cfg).to_string()),
            Kind::Count { get, .. } => get(cfg).map(|n| n.to_string()),
            Kind::OlderQuerier { get, .. } => Some(get(cfg).name().to_string()),
            Kind::Switch { get, .. } => Some(if get(cfg) { "on" } else { "off" }.to_string()),
            Kind::Prefixes { get, .. } => Some(format_prefixes(&get(cfg))),
        }
    }

    /// The default as shown by `--help`: the RFC value, or how it is derived.
    pub fn default_text(&self) -> String {
        self.value_text(&IgmpConfig::default())
            .unwrap_or_else(|| self.derived_default.to_string())
    }

    /// Reads `text` and stores it in `cfg`. Only the form is checked here; whether the values
    /// work together is [`IgmpConfig::validate`]'s call.
    pub fn apply(&self, cfg: &mut IgmpConfig, text: &str) -> Result<(), ValueError> {
        match self.kind {
            Kind::Duration { set, .. } => set(cfg, parse_duration(text)?),
            Kind::Version { set, .. } | Kind::Byte { set, .. } => set(cfg, parse_number(text)?),
            Kind::Count { set, .. } => set(cfg, parse_number(text)?),
            Kind::OlderQuerier { set, .. } => set(
                cfg,
                OlderQuerier::from_name(text.trim()).ok_or_else(|| ValueError::Choice {
                    given: text.to_string(),
                    choices: &OlderQuerier::NAMES,
                })?,
            ),
            Kind::Switch { set, .. } => set(cfg, parse_switch(text)?),
            Kind::Prefixes { range, set, .. } => set(cfg, parse_prefixes(text, range)?),
        }
        Ok(())
    }

    /// Whether `text` is a value of this setting's kind.
    pub fn check(&self, text: &str) -> Result<(), ValueError> {
        self.apply(&mut IgmpConfig::default(), text)
    }

    fn is_called(&self, key: &str) -> bool {
        self.name == key || self.aliases.contains(&key)
    }
}

/// The setting a key names (its name or an alias).
pub fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.is_called(key))
}

/// Every IGMP setting, in `--help` order (RFC 3376 §8 names).
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "igmp-version",
        aliases: &["version"],
        help: "Highest IGMP version to run and to send queries in: 1, 2 or 3",
        derived_default: "",
        kind: Kind::Version {
            get: |c| c.version,
            set: |c, v| c.version = v,
        },
    },
    Setting {
        name: "robustness",
        aliases: &[],
        help: "Robustness Variable: how many lost packets the timers tolerate",
        derived_default: "",
        kind: Kind::Byte {
            get: |c| c.robustness,
            set: |c, v| c.robustness = v,
        },
    },
    Setting {
        name: "query-interval",
        aliases: &[],
        help: "Interval between general queries",
        derived_default: "",
        kind: Kind::Duration {
            get: |c| Some(c.query_interval),
            set: |c, d| c.query_interval = d,
        },
    },
    Setting {
        name: "query-response-interval",
        aliases: &[],
        help: "Max response time of general queries; shorter than the query interval",
        derived_default: "",
        kind: Kind::Duration {
            get: |c| Some(c.query_response_interval),
            set: |c, d| c.query_response_interval = d,
        },
    },
    Setting {
        name: "last-member-query-interval",
        aliases: &[],
        help: "Interval between group(-and-source)-specific queries after a leave",
        derived_default: "",
        kind: Kind::Duration {
            get: |c| Some(c.last_member_query_interval),
            set: |c, d| c.last_member_query_interval = d,
        },
    },
    Setting {
        name: "last-member-query-count",
        aliases: &[],
        help: "Group(-and-source)-specific queries sent after a leave",
        derived_default: "robustness",
        kind: Kind::Count {
            get: |c| c.last_member_query_count,
            set: |c, n| c.last_member_query_count = Some(n),
        },
    },
    Setting {
        name: "startup-query-interval",
        aliases: &[],
        help: "Interval between the general queries sent at start-up",
        derived_default: "query interval / 4",
        kind: Kind::Duration {
            get: |c| c.startup_query_interval,
            set: |c, d| c.startup_query_interval = Some(d),
        },
    },
    Setting {
        name: "startup-query-count",
        aliases: &[],
        help: "General queries sent at start-up",
        derived_default: "robustness",
        kind: Kind::Count {
            get: |c| c.startup_query_count,
            set: |c, n| c.startup_query_count = Some(n),
        },
    },
    Setting {
        name: "other-querier-present-interval",
        aliases: &[],
        help: "How long another querier stays elected without being heard",
        derived_default: "robustness x query interval + query response interval / 2",
        kind: Kind::Duration {
            get: |c| c.other_querier_present_interval,
            set: |c, d| c.other_querier_present_interval = Some(d),
        },
    },
    Setting {
        name: "max-groups",
        aliases: &[],
        help: "Most groups kept per interface; reports for further new groups are ignored and \
               counted (`mgm show interfaces`)",
        derived_default: "",
        kind: Kind::Count {
            get: |c| Some(c.max_groups),
            set: |c, n| c.max_groups = n,
        },
    },
    Setting {
        name: "max-sources",
        aliases: &[],
        help: "Most source records kept per group; new sources beyond it are ignored and counted \
               (`mgm show interfaces`)",
        derived_default: "",
        kind: Kind::Count {
            get: |c| Some(c.max_sources),
            set: |c, n| c.max_sources = n,
        },
    },
    Setting {
        name: "max-groups-per-host",
        aliases: &[],
        help: "Most groups one host (reporter address) may create per interface, so that one \
               host cannot take max-groups from the others; further new groups from it are \
               ignored and counted (`mgm show interfaces`)",
        derived_default: "",
        kind: Kind::Count {
            get: |c| Some(c.max_groups_per_host),
            set: |c, n| c.max_groups_per_host = n,
        },
    },
    Setting {
        name: "max-sources-total",
        aliases: &[],
        help: "Most source records kept per interface over all groups; new sources beyond it \
               are ignored and counted (`mgm show interfaces`)",
        derived_default: "",
        kind: Kind::Count {
            get: |c| Some(c.max_sources_total),
            set: |c, n| c.max_sources_total = n,
        },
    },
    Setting {
        name: "max-reports-per-second",
        aliases: &[],
        help: "Most reports and leaves per second (per CPU, with a burst of as many, at most \
               384) the classifier sends up to the daemon from this interface, counted in \
               small reports: a v2 message or a v3 report of one record with up to 11 sources \
               counts 1, a larger v3 report one more per 64 bytes (170 records: 22); further \
               ones are passed on and counted (LIMITED in `mgm show interfaces`, \
               `events_rate_limited` in `mgm show stats`). Reports and leaves naming only \
               groups the interface holds have a budget of their own, as large, and so do \
               queries (a burst of at most 32). The three bursts together stay under half the \
               event ring, so one link's flood cannot crowd out the others' joins. Refreshes \
               absorbed in the kernel never count. 0: no limit",
        derived_default: "",
        kind: Kind::Count {
            get: |c| Some(c.max_reports_per_second),
            set: |c, n| c.max_reports_per_second = n,
        },
    },
    Setting {
        name: "older-querier",
        aliases: &[],
        help: "On a v1/v2 query from another router: `warn` (log, count, keep the configured \
               version) or `follow` (run that version while such a querier wins the election)",
        derived_default: "",
        kind: Kind::OlderQuerier {
            get: |c| c.older_querier,
            set: |c, v| c.older_querier = v,
        },
    },
    Setting {
        name: "quick-leave",
        aliases: &[],
        help: "Act on leaves at once (v2 leave, TO_IN, BLOCK, TO_EX), without last-member \
               queries, for what no other host still wants: the router tracks each host's \
               reports (every report then reaches the daemon); IGMPv1/v2 hosts that suppressed \
               their reports are not known and can be cut until they report again",
        derived_default: "",
        kind: Kind::Switch {
            get: |c| c.quick_leave,
            set: |c, v| c.quick_leave = v,
        },
    },
    Setting {
        name: "querier",
        aliases: &[],
        help: "Take part in the querier election (on), or never query (off): another router \
               or a snooping switch is the link's querier whatever its address, and its \
               queries keep the memberships alive (with none, they expire after the group \
               membership interval)",
        derived_default: "",
        kind: Kind::Switch {
            get: |c| c.querier,
            set: |c, v| c.querier = v,
        },
    },
    Setting {
        name: "allow-groups",
        aliases: &[],
        help: "Groups hosts may join, prefixes joined by '+' (239.1.0.0/16+232.0.0.0/8); \
               none: every group not denied. Reports for other groups are ignored and counted",
        derived_default: "",
        kind: Kind::Prefixes {
            range: PrefixRange::Groups,
            get: |c| c.group_filter.allow.clone(),
            set: |c, v| c.group_filter.allow = v,
        },
    },
    Setting {
        name: "deny-groups",
        aliases: &[],
        help: "Groups hosts may not join, prefixes joined by '+'; wins over allow-groups. \
               Reports for them are ignored and counted (`mgm show interfaces`)",
        derived_default: "",
        kind: Kind::Prefixes {
            range: PrefixRange::Groups,
            get: |c| c.group_filter.deny.clone(),
            set: |c, v| c.group_filter.deny = v,
        },
    },
    Setting {
        name: "allow-sources",
        aliases: &[],
        help: "Sources hosts may name in IGMPv3 source lists, prefixes joined by '+'; none: \
               every source not denied. Others are dropped from the record and counted",
        derived_default: "",
        kind: Kind::Prefixes {
            range: PrefixRange::Sources,
            get: |c| c.source_filter.allow.clone(),
            set: |c, v| c.source_filter.allow = v,
        },
    },
    Setting {
        name: "deny-sources",
        aliases: &[],
        help: "Sources dropped from IGMPv3 source lists, prefixes joined by '+'; wins over \
               allow-sources. Counted (`mgm show interfaces`)",
        derived_default: "",
        kind: Kind::Prefixes {
            range: PrefixRange::Sources,
            get: |c| c.source_filter.deny.clone(),
            set: |c, v| c.source_filter.deny = v,
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_flag_shaped() {
        let mut keys: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key names two settings");
        for k in keys {
            assert!(k.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{k}");
        }
    }

    #[test]
    fn every_setting_reads_back_what_it_stores() {
        for s in SETTINGS {
            let text = match s.kind {
                Kind::Duration { .. } => "7s",
                Kind::Version { .. } => "2",
                Kind::Byte { .. } | Kind::Count { .. } => "7",
                Kind::OlderQuerier { .. } => "follow",
                // The value that is not the default, so that storing it shows.
                Kind::Switch { get, .. } if get(&IgmpConfig::default()) => "off",
                Kind::Switch { .. } => "on",
                Kind::Prefixes {
                    range: PrefixRange::Groups,
                    ..
                } => "239.1.0.0/16+232.1.2.3/32",
                Kind::Prefixes {
                    range: PrefixRange::Sources,
                    ..
                } => "10.0.0.0/8+192.0.2.7/32",
            };
            let mut cfg = IgmpConfig::default();
            s.apply(&mut cfg, text).unwrap();
            assert_ne!(cfg, IgmpConfig::default(), "{} stored nothing", s.name);
            assert_eq!(s.value_text(&cfg).as_deref(), Some(text), "{}", s.name);
        }
    }

    #[test]
    fn defaults_come_from_the_config_or_say_how_they_are_derived() {
        let default = |key| find(key).unwrap().default_text();
        assert_eq!(default("igmp-version"), "3");
        assert_eq!(default("robustness"), "2");
        assert_eq!(default("query-interval"), "125s");
        assert_eq!(default("query-response-interval"), "10s");
        assert_eq!(default("last-member-query-interval"), "1s");
        assert_eq!(default("last-member-query-count"), "robustness");
        assert_eq!(default("startup-query-interval"), "query interval / 4");
        assert_eq!(default("max-groups"), "4096");
        assert_eq!(default("max-sources"), "1024");
        assert_eq!(default("max-groups-per-host"), "512");
        assert_eq!(default("max-sources-total"), "32768");
        assert_eq!(default("max-reports-per-second"), "10000");
        assert_eq!(default("older-querier"), "warn");
        assert_eq!(default("quick-leave"), "off");
        assert_eq!(default("querier"), "on");
        for key in [
            "allow-groups",
            "deny-groups",
            "allow-sources",
            "deny-sources",
        ] {
            assert_eq!(default(key), "none", "{key}");
        }
        assert!(SETTINGS.iter().all(|s| !s.default_text().is_empty()));
    }

    #[test]
    fn aliases_find_their_setting() {
        assert_eq!(find("version").map(|s| s.name), Some("igmp-version"));
        assert!(find("colour").is_none());
    }
}
