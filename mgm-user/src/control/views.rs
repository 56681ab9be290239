//! What `mgm show` prints: the JSON contract (snake_case keys, dotted addresses, remaining times
//! in milliseconds) and the table form.
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct InterfaceView {
    pub interface: String,
    pub ifindex: u32,
    /// Our address on the interface (the one we send queries from).
    pub address: String,
    pub querier: bool,
    /// The elected querier (us or another router), if known.
    pub querier_address: Option<String>,
    /// IGMP version in use on the interface (1, 2 or 3).
    pub version: u8,
    pub group_count: usize,
    pub max_groups: u32,
    /// Reports for new groups ignored at the `max_groups` limit since start.
    pub refused_groups: u64,
    pub max_sources: u32,
    /// New sources ignored at the per-group `max_sources` limit since start.
    pub refused_sources: u64,
    pub robustness: u8,
    pub query_interval_ms: u64,
    pub query_response_interval_ms: u64,
    pub last_member_query_interval_ms: u64,
    pub last_member_query_count: u8,
    pub startup_query_interval_ms: u64,
    pub startup_query_count: u8,
    pub group_membership_interval_ms: u64,
    pub other_querier_present_interval_ms: u64,
    /// Time left on the other-querier-present timer, when another router is querier.
    pub other_querier_expires_in_ms: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SourceView {
    pub source: String,
    pub forwarding: bool,
    pub expires_in_ms: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct GroupView {
    pub interface: String,
    pub ifindex: u32,
    pub group: String,
    /// `include` or `exclude`.
    pub filter_mode: String,
    /// Group timer (EXCLUDE mode); in INCLUDE mode the time until the last source expires.
    pub expires_in_ms: u64,
    pub compat_version: u8,
    pub last_reporter: Option<String>,
    pub sources: Vec<SourceView>,
}

fn secs(ms: u64) -> String {
    format!("{}.{:01}s", ms / 1000, (ms % 1000) / 100)
}

pub fn interfaces_table(rows: &[InterfaceView]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:<15} {:<8} {:<15} {:>3} {:>6} {:>9}  timers (QI/QRI/LMQI x LMQC, RV)",
        "INTERFACE", "IFINDEX", "ADDRESS", "ROLE", "QUERIER", "VER", "GROUPS", "REFUSED"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:<15} {:<8} {:<15} {:>3} {:>6} {:>9}  {}/{}/{} x {}, {}",
            r.interface,
            r.ifindex,
            r.address,
            if r.querier { "querier" } else { "other" },
            r.querier_address.as_deref().unwrap_or("-"),
            format!("v{}", r.version),
            r.group_count,
            format!("{}/{}", r.refused_groups, r.refused_sources),
            secs(r.query_interval_ms),
            secs(r.query_response_interval_ms),
            secs(r.last_member_query_interval_ms),
            r.last_member_query_count,
            r.robustness
        );
    }
    out
}

pub fn groups_table(rows: &[GroupView]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:<15} {:<8} {:>9} {:>6} {:<15} SOURCES",
        "INTERFACE", "GROUP", "MODE", "EXPIRES", "COMPAT", "REPORTER"
    );
    for g in rows {
        let sources = if g.sources.is_empty() {
            "-".to_string()
        } else {
            g.sources
                .iter()
                .map(|s| {
                    format!(
                        "{}({},{})",
                        s.source,
                        if s.forwarding { "fwd" } else { "block" },
                        secs(s.expires_in_ms)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            out,
            "{:<12} {:<15} {:<8} {:>9} {:>6} {:<15} {}",
            g.interface,
            g.group,
            g.filter_mode,
            secs(g.expires_in_ms),
            format!("v{}", g.compat_version),
            g.last_reporter.as_deref().unwrap_or("-"),
            sources
        );
    }
    out
}

pub fn stats_table(stats: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = String::new();
    for (k, v) in stats {
        let _ = writeln!(out, "{k:<32} {v}");
    }
    out
}

/// One event as a human-readable line: time, kind, then the remaining fields as key=value.
pub fn event_line(json: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    let kind = map.get("kind").and_then(|v| v.as_str()).unwrap_or("?");
    let mut out = kind.to_string();
    for (k, v) in &map {
        if k == "kind" || v.is_null() {
            continue;
        }
        let v = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        let _ = write!(out, " {k}={v}");
    }
    out
}

pub use crate::daemon::forward_shell::{MfeView, ProtocolView};

pub fn mfe_table(rows: &[MfeView]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<15} {:<15} {:<12} {:<28} {:>9} {:>11} {:>8} {:>9}",
        "SOURCE", "GROUP", "IIF", "OIFS", "PACKETS", "BYTES", "WRONGIF", "EXPIRES"
    );
    for m in rows {
        let oifs = if m.oifs.is_empty() {
            "(negative)".to_string()
        } else {
            m.oifs.join(",")
        };
        let _ = writeln!(
            out,
            "{:<15} {:<15} {:<12} {:<28} {:>9} {:>11} {:>8} {:>9}",
            m.source,
            m.group,
            m.iif,
            oifs,
            m.packets,
            m.bytes,
            m.wrong_if,
            m.expires_in_ms.map(secs).unwrap_or_else(|| "never".into())
        );
    }
    out
}

pub fn protocols_table(rows: &[ProtocolView]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<8} {:>12} {:>10} INTERFACES",
        "NAME", "KIND", "PROTOCOL_ID", "COMPONENT"
    );
    for p in rows {
        let _ = writeln!(
            out,
            "{:<10} {:<8} {:>#12x} {:>10} {}",
            p.name,
            p.kind,
            p.protocol_id,
            p.component_id,
            p.interfaces.join(",")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_json_uses_the_documented_names() {
        let g = GroupView {
            interface: "eth1".into(),
            ifindex: 3,
            group: "239.1.2.3".into(),
            filter_mode: "exclude".into(),
            expires_in_ms: 259_000,
            compat_version: 3,
            last_reporter: Some("192.0.2.10".into()),
            sources: vec![SourceView {
                source: "198.51.100.1".into(),
                forwarding: false,
                expires_in_ms: 0,
            }],
        };
        let v = serde_json::to_value(&g).unwrap();
        for key in [
            "interface",
            "group",
            "filter_mode",
            "expires_in_ms",
            "compat_version",
            "last_reporter",
            "sources",
        ] {
            assert!(v.get(key).is_some(), "missing key {key}");
        }
        assert_eq!(v["sources"][0]["forwarding"], serde_json::json!(false));
        assert!(groups_table(&[g]).contains("198.51.100.1(block,0.0s)"));
    }
}
