//! Turns the command line into one validated IGMP configuration per interface: the global flags,
//! then the interface's own `-i IF,key=value` overrides. Errors name the interface and the value.
use crate::cli::{IgmpArgs, RunArgs};
use crate::igmp::{parse_duration, IgmpConfig};
use anyhow::{anyhow, bail, Context, Result};
use std::time::Duration;

/// One `-i` argument split into the interface name and its overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    pub name: String,
    pub overrides: Vec<(String, String)>,
}

pub fn parse_interface_spec(arg: &str) -> Result<InterfaceSpec> {
    let mut parts = arg.split(',');
    let name = parts.next().unwrap_or_default().trim().to_string();
    if name.is_empty() {
        bail!("empty interface name in '-i {arg}'");
    }
    let mut overrides = Vec::new();
    for kv in parts {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow!("'{kv}' in '-i {arg}' is not key=value"))?;
        overrides.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(InterfaceSpec { name, overrides })
}

fn duration(key: &str, v: &str) -> Result<Duration> {
    parse_duration(v).with_context(|| format!("--{key}"))
}

fn number<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| anyhow!("--{key}: '{v}' is not a valid number"))
}

/// Applies one setting by its flag name.
fn apply(cfg: &mut IgmpConfig, key: &str, v: &str) -> Result<()> {
    match key {
        "igmp-version" | "version" => cfg.version = number(key, v)?,
        "robustness" => cfg.robustness = number(key, v)?,
        "query-interval" => cfg.query_interval = duration(key, v)?,
        "query-response-interval" => cfg.query_response_interval = duration(key, v)?,
        "last-member-query-interval" => cfg.last_member_query_interval = duration(key, v)?,
        "last-member-query-count" => cfg.last_member_query_count = Some(number(key, v)?),
        "startup-query-interval" => cfg.startup_query_interval = Some(duration(key, v)?),
        "startup-query-count" => cfg.startup_query_count = Some(number(key, v)?),
        "other-querier-present-interval" => {
            cfg.other_querier_present_interval = Some(duration(key, v)?)
        }
        "max-groups" => cfg.max_groups = number(key, v)?,
        "max-sources" => cfg.max_sources = number(key, v)?,
        other => bail!("unknown IGMP setting '{other}'"),
    }
    Ok(())
}

fn global(args: &IgmpArgs) -> Result<IgmpConfig> {
    let mut cfg = IgmpConfig::default();
    let flags: [(&str, Option<String>); 11] = [
        ("igmp-version", args.igmp_version.map(|v| v.to_string())),
        ("robustness", args.robustness.map(|v| v.to_string())),
        ("query-interval", args.query_interval.clone()),
        (
            "query-response-interval",
            args.query_response_interval.clone(),
        ),
        (
            "last-member-query-interval",
            args.last_member_query_interval.clone(),
        ),
        (
            "last-member-query-count",
            args.last_member_query_count.map(|v| v.to_string()),
        ),
        (
            "startup-query-interval",
            args.startup_query_interval.clone(),
        ),
        (
            "startup-query-count",
            args.startup_query_count.map(|v| v.to_string()),
        ),
        (
            "other-querier-present-interval",
            args.other_querier_present_interval.clone(),
        ),
        ("max-groups", args.max_groups.map(|v| v.to_string())),
        ("max-sources", args.max_sources.map(|v| v.to_string())),
    ];
    for (k, v) in flags {
        if let Some(v) = v {
            apply(&mut cfg, k, &v)?;
        }
    }
    Ok(cfg)
}

/// The interfaces with their validated IGMP configuration, in command-line order.
pub fn interface_configs(args: &RunArgs) -> Result<Vec<(String, IgmpConfig)>> {
    let base = global(&args.igmp)?;
    let mut out = Vec::new();
    for arg in &args.interfaces {
        let spec = parse_interface_spec(arg)?;
        let mut cfg = base.clone();
        for (k, v) in &spec.overrides {
            apply(&mut cfg, k, v).with_context(|| format!("interface {}", spec.name))?;
        }
        cfg.validate()
            .with_context(|| format!("interface {}", spec.name))?;
        out.push((spec.name, cfg));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

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
        let e = configs(&["mgm", "run", "-i", "eth1", "--query-interval", "fast"]).unwrap_err();
        assert!(
            format!("{e:#}").starts_with(r#"--query-interval: invalid duration "fast""#),
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
}
