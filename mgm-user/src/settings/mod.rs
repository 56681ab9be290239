//! IGMP settings: one table ([`SETTINGS`]) defines each setting (key, kind, help, default, where
//! it goes in [`IgmpConfig`]); it drives the flags of `mgm run` ([`IgmpArgs`]), the
//! `-i IF,key=value` overrides, and is what a configuration file reads (keys = flag names).
//!
//! [`interface_configs`] turns the command line into one validated configuration per interface:
//! the global flags, then the interface's own overrides. Errors name the interface and the value.

mod flags;
mod table;
mod value;

pub use flags::IgmpArgs;
pub use table::{find, Kind, Setting, SETTINGS};
pub use value::{
    format_prefixes, parse_duration, parse_number, parse_prefixes, parse_switch, DurationError,
    ValueError, NO_PREFIXES, PREFIX_SEPARATOR, SWITCH_NAMES,
};

use anyhow::{anyhow, bail, Result};

use crate::cli::RunArgs;
use crate::igmp::IgmpConfig;

/// One `-i` argument split into the interface name and its overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    pub name: String,
    pub overrides: Vec<(String, String)>,
}

/// Splits `IF[,key=value...]`.
pub fn parse_interface_spec(arg: &str) -> Result<InterfaceSpec> {
    let mut parts = arg.split(',');
    let name = parts.next().unwrap_or_default().trim().to_string();
    if name.is_empty() {
        bail!("empty interface name in '-i {arg}'");
    }
    let mut overrides = Vec::new();
    for kv in parts {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            // A comma in a prefix list is the likely mistake.
            let hint = match kv.parse::<crate::igmp::Prefix>() {
                Ok(_) => format!(" (join the prefixes of a list with '{PREFIX_SEPARATOR}')"),
                Err(_) => String::new(),
            };
            anyhow!("'{kv}' in '-i {arg}' is not key=value{hint}")
        })?;
        overrides.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(InterfaceSpec { name, overrides })
}

/// Applies one setting; the error names the flag.
fn apply(cfg: &mut IgmpConfig, setting: &Setting, text: &str) -> Result<()> {
    setting
        .apply(cfg, text)
        .map_err(|e| anyhow!("--{}: {e}", setting.name))
}

/// Applies one setting by its key (the flag's name without dashes, or an alias).
pub fn apply_key(cfg: &mut IgmpConfig, key: &str, text: &str) -> Result<()> {
    let setting = find(key).ok_or_else(|| anyhow!("unknown IGMP setting '{key}'"))?;
    apply(cfg, setting, text)
}

/// The `-i IF,protocol=NAME` key: the interface is left to the external handler NAME.
pub const PROTOCOL_KEY: &str = "protocol";

/// A duration as the settings read it (`100ms`, `1.5s`, `1m30s`).
pub fn parse_duration_text(text: &str) -> std::result::Result<std::time::Duration, String> {
    value::parse_duration(text).map_err(|e| format!("{text}: {e}"))
}

/// The interfaces of the command line alone (no configuration file) with their validated IGMP
/// configuration, in command-line order (`crate::config::resolve_with`).
pub fn interface_configs(args: &RunArgs) -> Result<Vec<(String, IgmpConfig)>> {
    Ok(crate::config::resolve_with(args, None)?.igmp_configs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;
    use std::time::Duration;

    fn configs(argv: &[&str]) -> Result<Vec<(String, IgmpConfig)>> {
        let cli = Cli::try_parse_from(argv).map_err(|e| anyhow!("{e}"))?;
        match cli.command {
            crate::cli::Command::Run(a) => interface_configs(&a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn global_flags_then_per_interface_overrides() {
        let c = configs(&[
            "mgm",
            "run",
            "-i",
            "eth1",
            "-i",
            "eth2,igmp-version=2,query-interval=60s",
            "--query-interval",
            "30s",
            "--robustness",
            "3",
            "--last-member-query-interval",
            "200ms",
        ])
        .unwrap();
        assert_eq!(c[0].0, "eth1");
        assert_eq!(c[0].1.query_interval, Duration::from_secs(30));
        assert_eq!(c[0].1.robustness, 3);
        assert_eq!(c[0].1.version, 3);
        assert_eq!(
            c[0].1.last_member_query_interval,
            Duration::from_millis(200)
        );
        assert_eq!(c[1].0, "eth2");
        assert_eq!(c[1].1.version, 2);
        assert_eq!(c[1].1.query_interval, Duration::from_secs(60));
        assert_eq!(c[1].1.robustness, 3);
    }

    #[test]
    fn bad_values_are_named() {
        let e = configs(&["mgm", "run", "-i", "eth1", "--query-interval", "5s"]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "interface eth1: query response interval (10s) must be shorter than query interval (5s)"
        );
        // A flag's value is read by clap, which names the flag and the value.
        let e = configs(&["mgm", "run", "-i", "eth1", "--query-interval", "fast"]).unwrap_err();
        assert!(
            format!("{e:#}").starts_with(
                r#"error: invalid value 'fast' for '--query-interval <D>': invalid duration "fast": "#
            ),
            "{e:#}"
        );
        let e = configs(&["mgm", "run", "-i", "eth1,query-interval=fast"]).unwrap_err();
        assert!(
            format!("{e:#}")
                .starts_with(r#"interface eth1: --query-interval: invalid duration "fast": "#),
            "{e:#}"
        );
        let e = configs(&["mgm", "run", "-i", "eth1,robustness=many"]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "interface eth1: --robustness: 'many' is not a valid number"
        );
        let e = configs(&["mgm", "run", "-i", "eth1", "--robustness", "300"]).unwrap_err();
        assert!(
            format!("{e:#}").starts_with(
                "error: invalid value '300' for '--robustness <N>': '300' is not a valid number"
            ),
            "{e:#}"
        );
        let e = configs(&["mgm", "run", "-i", "eth1,colour=blue"]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "interface eth1: unknown IGMP setting 'colour'"
        );
        let e = configs(&["mgm", "run", "-i", "eth1,robustness"]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "'robustness' in '-i eth1,robustness' is not key=value"
        );
        let e = configs(&["mgm", "run", "-i", "eth1", "--robustness", "0"]).unwrap_err();
        assert!(
            format!("{e:#}").contains("robustness must be at least 1"),
            "{e:#}"
        );
        let e = configs(&["mgm", "run", "-i", "eth1", "--max-groups", "0"]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "interface eth1: max groups must be at least 1"
        );
        let c = configs(&["mgm", "run", "-i", "eth1,max-groups=10", "-i", "eth2"]).unwrap();
        assert_eq!((c[0].1.max_groups, c[1].1.max_groups), (10, 4096));
        let c = configs(&[
            "mgm",
            "run",
            "-i",
            "eth1,max-sources=8",
            "--max-sources",
            "64",
            "-i",
            "eth2",
        ])
        .unwrap();
        assert_eq!((c[0].1.max_sources, c[1].1.max_sources), (8, 64));
        let e = configs(&["mgm", "run", "-i", "eth1,max-sources=0"]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "interface eth1: max sources must be at least 1"
        );
        let e = configs(&["mgm", "run", "-i", "eth1,igmp-version=4"]).unwrap_err();
        assert!(
            format!("{e:#}").contains("IGMP version must be 1, 2 or 3, not 4"),
            "{e:#}"
        );
    }

    #[test]
    fn flood_limits_as_flags_and_overrides() {
        let c = configs(&[
            "mgm",
            "run",
            "-i",
            "eth1,max-groups-per-host=4,max-sources-total=100",
            "-i",
            "eth2",
            "--max-groups-per-host",
            "64",
        ])
        .unwrap();
        assert_eq!(
            (c[0].1.max_groups_per_host, c[0].1.max_sources_total),
            (4, 100)
        );
        assert_eq!(
            (c[1].1.max_groups_per_host, c[1].1.max_sources_total),
            (64, 32_768)
        );
        let e = configs(&["mgm", "run", "-i", "eth1,max-groups-per-host=0"]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "interface eth1: max groups per host must be at least 1"
        );
    }

    /// Runs `mgm run` with `args` and reads back `key` of every interface, as the table prints
    /// it, or the error.
    fn read_back(args: &str, key: &str) -> Result<Vec<String>, String> {
        let mut argv = vec!["mgm", "run"];
        argv.extend(args.split_whitespace());
        let setting = find(key).unwrap();
        configs(&argv)
            .map(|c| {
                c.iter()
                    .map(|(name, cfg)| format!("{name}:{}", setting.value_text(cfg).unwrap()))
                    .collect()
            })
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn filters_and_quick_leave_as_flags_and_overrides() {
        const PREFIX_HELP: &str = "(a.b.c.d/len, or a.b.c.d for /32; '+' between prefixes)";
        // (arguments, key read back, every interface's value or the error)
        type Row = (
            &'static str,
            &'static str,
            Result<&'static [&'static str], String>,
        );
        let rows: &[Row] = &[
            (
                "-i eth1,deny-groups=239.255.0.0/16+239.1.2.3/32 -i eth2",
                "deny-groups",
                Ok(&["eth1:239.255.0.0/16+239.1.2.3/32", "eth2:none"]),
            ),
            (
                "-i eth1 -i eth2,allow-groups=none --allow-groups 232.0.0.0/8+239.1.0.0/16",
                "allow-groups",
                Ok(&["eth1:232.0.0.0/8+239.1.0.0/16", "eth2:none"]),
            ),
            (
                "--deny-sources 10.0.0.0/8 -i eth1,deny-sources=192.0.2.0/24 -i eth2",
                "deny-sources",
                Ok(&["eth1:192.0.2.0/24", "eth2:10.0.0.0/8"]),
            ),
            (
                "-i eth1,allow-sources=198.51.100.7 -i eth2,allow-sources=",
                "allow-sources",
                Ok(&["eth1:198.51.100.7/32", "eth2:none"]),
            ),
            (
                "-i eth1,quick-leave=on -i eth2",
                "quick-leave",
                Ok(&["eth1:on", "eth2:off"]),
            ),
            (
                "--quick-leave on -i eth1 -i eth2,quick-leave=off",
                "quick-leave",
                Ok(&["eth1:on", "eth2:off"]),
            ),
            (
                "-i eth1,deny-groups=239.1.2.3/16",
                "deny-groups",
                Err(
                    "interface eth1: --deny-groups: '239.1.2.3/16' has host bits set (the \
                     prefix is 239.1.0.0/16)"
                        .into(),
                ),
            ),
            (
                "-i eth1,allow-groups=239.0.0.0/8+10.0.0.0/8",
                "allow-groups",
                Err(
                    "interface eth1: --allow-groups: '10.0.0.0/8' holds no multicast group \
                     (groups are in 224.0.0.0/4)"
                        .into(),
                ),
            ),
            (
                "-i eth1,deny-groups=239.1.0.0/16;239.2.0.0/16",
                "deny-groups",
                Err(format!(
                    "interface eth1: --deny-groups: '239.1.0.0/16;239.2.0.0/16' is not an IPv4 \
                     prefix {PREFIX_HELP}"
                )),
            ),
            (
                "-i eth1,deny-groups=239.1.0.0/16,239.2.0.0/16",
                "deny-groups",
                Err(
                    "'239.2.0.0/16' in '-i eth1,deny-groups=239.1.0.0/16,239.2.0.0/16' is not \
                     key=value (join the prefixes of a list with '+')"
                        .into(),
                ),
            ),
            (
                "-i eth1,allow-sources=10.0.0.0/33",
                "allow-sources",
                Err(format!(
                    "interface eth1: --allow-sources: '10.0.0.0/33' is not an IPv4 prefix \
                     {PREFIX_HELP}"
                )),
            ),
            (
                "-i eth1 --deny-sources 239.0.0.0/8",
                "deny-sources",
                Err("error: invalid value '239.0.0.0/8' for '--deny-sources \
                     <PREFIX[+PREFIX...]>': '239.0.0.0/8' holds only multicast addresses, which \
                     are never sources"
                    .into()),
            ),
            (
                "-i eth1,quick-leave=yes",
                "quick-leave",
                Err("interface eth1: --quick-leave: 'yes' is not one of on, off".into()),
            ),
        ];
        for (args, key, want) in rows {
            let got = read_back(args, key);
            // clap's message goes on with usage lines: compare its first line.
            let got = got.map_err(|e| e.lines().next().unwrap_or_default().to_string());
            let want = want
                .as_ref()
                .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .map_err(|e| e.clone());
            assert_eq!(got, want, "mgm run {args}");
        }
    }

    #[test]
    fn compound_durations_as_flags_and_overrides() {
        let c = configs(&[
            "mgm",
            "run",
            "-i",
            "eth1",
            "-i",
            "eth2,query-interval=2m30s,version=2",
            "--query-interval",
            "1m30s",
            "--last-member-query-interval",
            "1.5s",
        ])
        .unwrap();
        assert_eq!(c[0].1.query_interval, Duration::from_secs(90));
        assert_eq!(
            c[0].1.last_member_query_interval,
            Duration::from_millis(1500)
        );
        assert_eq!(c[1].1.query_interval, Duration::from_secs(150));
        assert_eq!(c[1].1.version, 2);
    }

    #[test]
    fn help_shows_every_setting_with_its_help_and_default() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let run = cmd.find_subcommand_mut("run").unwrap();
        let help = run.render_help().to_string();
        assert!(help.contains("IGMP (all interfaces; override per interface with -i IF,key=value)"));
        for s in SETTINGS {
            let flag = format!("--{} <{}>", s.name, s.value_name());
            assert!(help.contains(&flag), "{flag} missing from:\n{help}");
            let line = format!("{} [default: {}]", s.help, s.default_text());
            assert!(help.contains(&line), "{line:?} missing from:\n{help}");
        }
        assert!(help.contains("--query-interval <D>"));
        assert!(help.contains("Interval between general queries [default: 125s]"));
        assert!(
            help.contains("[default: robustness x query interval + query response interval / 2]")
        );
    }
}
