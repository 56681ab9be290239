//! The table form of `mgm show` and the one-line form of `mgm events`. Columns size to their
//! contents (comfy-table), so long interface names (up to IFNAMSIZ-1 = 15) stay aligned.
use super::api::{
    EventLine, GroupView, InterfaceView, MfeView, ProtocolView, StatsView, UpstreamView,
};
use comfy_table::{presets::NOTHING, CellAlignment, ContentArrangement, Table};
use std::fmt::Write as _;

fn secs(ms: u64) -> String {
    format!("{}.{:01}s", ms / 1000, (ms % 1000) / 100)
}

/// A borderless table with `header`; columns whose index is in `right` are right-aligned.
fn table(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if !header.is_empty() {
        t.set_header(header.to_vec());
    }
    for i in right {
        if let Some(c) = t.column_mut(*i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// The table as lines without the padding comfy-table puts around each row.
fn render(t: &Table) -> String {
    let mut out = String::new();
    for line in t.lines() {
        let _ = writeln!(
            out,
            "{}",
            line.trim_end().strip_prefix(' ').unwrap_or(&line)
        );
    }
    out
}

pub fn interfaces_table(rows: &[InterfaceView]) -> String {
    let mut t = table(
        &[
            "INTERFACE",
            "IFINDEX",
            "ADDRESS",
            "ROLE",
            "QUERIER",
            "VER",
            "GROUPS",
            "REFUSED",
            "FILTERED",
            "timers (QI/QRI/LMQI x LMQC, RV)",
        ],
        &[1, 5, 6, 7, 8],
    );
    for r in rows {
        t.add_row(vec![
            r.interface.clone(),
            r.ifindex.to_string(),
            r.address.clone(),
            if r.querier { "querier" } else { "other" }.to_string(),
            r.querier_address.clone().unwrap_or_else(|| "-".into()),
            format!("v{}", r.version),
            r.group_count.to_string(),
            // Every refusal: groups (interface and per-host bounds) / sources (per group and
            // interface total); `--json` has each counter.
            format!(
                "{}/{}",
                r.refused_groups + r.refused_host_groups,
                r.refused_sources + r.refused_sources_total
            ),
            // What the filters refused: group records / sources.
            format!(
                "{}/{}",
                r.refused_filtered_groups, r.refused_filtered_sources
            ),
            format!(
                "{}/{}/{} x {}, {}",
                secs(r.query_interval_ms),
                secs(r.query_response_interval_ms),
                secs(r.last_member_query_interval_ms),
                r.last_member_query_count,
                r.robustness
            ),
        ]);
    }
    render(&t)
}

pub fn groups_table(rows: &[GroupView]) -> String {
    let mut t = GroupsTable::default();
    let mut out: String = rows.iter().map(|g| t.push(g)).collect();
    out.push_str(&t.finish());
    out
}

const GROUP_HEADER: [&str; 7] = [
    "INTERFACE",
    "GROUP",
    "MODE",
    "EXPIRES",
    "COMPAT",
    "REPORTER",
    "SOURCES",
];
/// Right-aligned columns of [`GROUP_HEADER`].
const GROUP_RIGHT: [usize; 2] = [3, 4];
/// Rows that size the columns of `mgm show groups`.
pub const SIZING_ROWS: usize = 1000;

/// `mgm show groups` printed as its rows arrive. The first [`SIZING_ROWS`] rows size the
/// columns (an answer that short prints as any other table); later rows keep those widths, a
/// longer cell pushing the rest of its row right.
#[derive(Default)]
pub struct GroupsTable {
    sizing: Vec<[String; 7]>,
    widths: Option<[usize; 7]>,
}

impl GroupsTable {
    /// Takes one row; returns the text to print now (nothing while the first rows size the
    /// columns).
    pub fn push(&mut self, g: &GroupView) -> String {
        let cells = group_cells(g);
        match &self.widths {
            Some(w) => aligned(&cells, w),
            None => {
                self.sizing.push(cells);
                if self.sizing.len() < SIZING_ROWS {
                    return String::new();
                }
                self.flush()
            }
        }
    }

    /// What is left to print once the last row is in.
    pub fn finish(mut self) -> String {
        match self.widths {
            Some(_) => String::new(),
            None => self.flush(),
        }
    }

    /// Sizes the columns by the rows held and prints them under the header.
    fn flush(&mut self) -> String {
        let header = GROUP_HEADER.map(String::from);
        let mut w = [0; 7];
        for cells in std::iter::once(&header).chain(&self.sizing) {
            for (w, c) in w.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = aligned(&header, &w);
        for cells in self.sizing.drain(..) {
            out.push_str(&aligned(&cells, &w));
        }
        self.widths = Some(w);
        out
    }
}

/// One line: cells padded to their widths, two spaces apart, no trailing blanks.
fn aligned(cells: &[String; 7], widths: &[usize; 7]) -> String {
    let mut line = String::new();
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        if GROUP_RIGHT.contains(&i) {
            let _ = write!(line, "{c:>w$}");
        } else {
            let _ = write!(line, "{c:<w$}");
        }
    }
    let mut line = line.trim_end().to_string();
    line.push('\n');
    line
}

fn group_cells(g: &GroupView) -> [String; 7] {
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
    [
        g.interface.clone(),
        g.group.clone(),
        g.filter_mode.clone(),
        secs(g.expires_in_ms),
        format!("v{}", g.compat_version),
        g.last_reporter.clone().unwrap_or_else(|| "-".into()),
        sources,
    ]
}

/// The counters, one per line; then, after a blank line, one row per interface: its groups,
/// sources and hosts, refusals (groups/sources by the bounds, then by the filters), queries
/// from other routers and foreign ones, and what arrived for its forwarding entries.
pub fn stats_table(stats: &StatsView) -> String {
    let mut t = table(&[], &[]);
    for (k, v) in &stats.counters {
        t.add_row(vec![k.clone(), v.to_string()]);
    }
    let mut out = render(&t);
    if stats.interfaces.is_empty() {
        return out;
    }
    let mut t = table(
        &[
            "INTERFACE",
            "ROLE",
            "VER",
            "GROUPS",
            "SOURCES",
            "HOSTS",
            "REFUSED",
            "FILTERED",
            "QUERIES",
            "FOREIGN",
            "PACKETS",
            "BYTES",
        ],
        &[3, 4, 5, 6, 7, 8, 9, 10, 11],
    );
    for i in &stats.interfaces {
        t.add_row(vec![
            i.interface.clone(),
            if i.querier { "querier" } else { "other" }.to_string(),
            format!("v{}", i.version),
            i.groups.to_string(),
            i.sources.to_string(),
            i.hosts.to_string(),
            format!(
                "{}/{}",
                i.refused_groups + i.refused_host_groups,
                i.refused_sources + i.refused_sources_total
            ),
            format!(
                "{}/{}",
                i.refused_filtered_groups, i.refused_filtered_sources
            ),
            i.router_queries.to_string(),
            i.foreign_queries.to_string(),
            i.forwarded_packets.to_string(),
            i.forwarded_bytes.to_string(),
        ]);
    }
    out.push('\n');
    out.push_str(&render(&t));
    out
}

pub fn mfe_table(rows: &[MfeView]) -> String {
    let mut t = table(
        &[
            "SOURCE", "GROUP", "IIF", "OIFS", "PACKETS", "BYTES", "WRONGIF", "EXPIRES",
        ],
        &[4, 5, 6, 7],
    );
    for m in rows {
        let oifs = if m.oifs.is_empty() {
            "(negative)".to_string()
        } else {
            m.oifs.join(",")
        };
        t.add_row(vec![
            m.source.clone(),
            m.group.clone(),
            m.iif.clone(),
            oifs,
            m.packets.to_string(),
            m.bytes.to_string(),
            m.wrong_if.to_string(),
            m.expires_in_ms.map(secs).unwrap_or_else(|| "never".into()),
        ]);
    }
    render(&t)
}

pub fn protocols_table(rows: &[ProtocolView]) -> String {
    let mut t = table(
        &["NAME", "KIND", "PROTOCOL_ID", "COMPONENT", "INTERFACES"],
        &[2, 3],
    );
    for p in rows {
        t.add_row(vec![
            p.name.clone(),
            p.kind.clone(),
            format!("{:#x}", p.protocol_id),
            p.component_id.to_string(),
            p.interfaces.join(","),
        ]);
    }
    render(&t)
}

/// `mgm show upstream`: a header line, then one row per group reported.
pub fn upstream_table(view: &Option<UpstreamView>) -> String {
    let Some(u) = view else {
        return "not an IGMP proxy (no --upstream)\n".to_string();
    };
    if !u.present {
        return format!(
            "upstream {}: not there yet (or without an IPv4 address); nothing is proxied until \
             it comes\n",
            u.interface
        );
    }
    let mut out = format!(
        "upstream {} ({}), IGMPv{}, {} reports sent, {} queries heard\n",
        u.interface, u.address, u.version, u.reports_sent, u.queries_heard
    );
    let mut t = table(&["GROUP", "MODE", "SOURCES"], &[]);
    for g in &u.groups {
        t.add_row(vec![
            g.group.clone(),
            g.filter_mode.clone(),
            g.sources.join(","),
        ]);
    }
    out.push_str(&render(&t));
    out
}

/// One event as a human-readable line: the kind, then every other non-null field as
/// `key=value` (lists comma-separated).
pub fn event_line(line: &str) -> String {
    let Ok(ev) = serde_json::from_str::<EventLine>(line) else {
        return line.to_string();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&ev) else {
        return line.to_string();
    };
    let mut out = ev.event.kind();
    for (k, v) in &map {
        if k == "kind" || v.is_null() {
            continue;
        }
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        let _ = write!(out, " {k}={v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::api::SourceView;

    fn group(interface: &str) -> GroupView {
        GroupView {
            interface: interface.into(),
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
        }
    }

    #[test]
    fn group_json_uses_the_documented_names() {
        let g = group("eth1");
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

    #[test]
    fn the_streamed_groups_table_prints_as_the_table_did() {
        let mut rows = vec![group("eth1"), group("abcdefghijklmno")];
        rows[0].sources.clear();
        rows[1].last_reporter = None;
        let mut t = table(&GROUP_HEADER, &GROUP_RIGHT);
        for g in &rows {
            t.add_row(group_cells(g).to_vec());
        }
        assert_eq!(groups_table(&rows), render(&t));
        // Past the sizing rows, later rows keep the widths and print at once.
        let mut s = GroupsTable::default();
        let held: String = (0..SIZING_ROWS - 1).map(|_| s.push(&rows[0])).collect();
        assert_eq!(held, "");
        let first = s.push(&rows[0]);
        assert_eq!(first.lines().count(), SIZING_ROWS + 1, "header and rows");
        let later = s.push(&rows[0]);
        assert_eq!(later, first.lines().nth(1).unwrap().to_string() + "\n");
        assert_eq!(s.finish(), "");
        assert_eq!(groups_table(&[]).lines().count(), 1, "the header alone");
    }

    /// Byte offset of `needle` in `line`.
    fn col(line: &str, needle: &str) -> usize {
        line.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"))
    }

    #[test]
    fn columns_stay_aligned_with_a_fifteen_character_interface_name() {
        let long = "abcdefghijklmno";
        assert_eq!(long.len(), 15, "IFNAMSIZ - 1");
        let text = groups_table(&[group("eth1"), group(long)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("INTERFACE"), "{text}");
        // The GROUP column starts at the same offset in the header and both rows, after the
        // whole long name.
        let at = col(lines[0], "GROUP");
        assert!(at > long.len(), "{text}");
        assert_eq!(col(lines[1], "239.1.2.3"), at, "{text}");
        assert_eq!(col(lines[2], "239.1.2.3"), at, "{text}");
        // Right-aligned EXPIRES ends at the same column everywhere.
        let end = |l: &str, s: &str| col(l, s) + s.len();
        assert_eq!(end(lines[1], "259.0s"), end(lines[0], "EXPIRES"), "{text}");
        assert_eq!(end(lines[2], "259.0s"), end(lines[0], "EXPIRES"), "{text}");

        let mfe = |iif: &str| MfeView {
            source: "192.0.2.10".into(),
            group: "239.1.1.1".into(),
            iif: iif.into(),
            oifs: vec![long.into(), "eth2".into()],
            packets: 56,
            bytes: 2174,
            wrong_if: 0,
            expires_in_ms: None,
            timeout_s: 0,
            up_time_ms: 0,
            upstream: "0.0.0.0".into(),
            negative: false,
            protocol: None,
        };
        let text = mfe_table(&[mfe("eth0"), mfe(long)]);
        let lines: Vec<&str> = text.lines().collect();
        let at = col(lines[0], "OIFS");
        assert_eq!(col(lines[1], long), at, "{text}");
        assert_eq!(col(lines[2], &format!("{long},eth2")), at, "{text}");
        assert_eq!(end(lines[1], "never"), end(lines[0], "EXPIRES"), "{text}");
        assert_eq!(end(lines[2], "never"), end(lines[0], "EXPIRES"), "{text}");
    }

    #[test]
    fn the_stats_table_lists_counters_then_interfaces() {
        use crate::control::api::InterfaceStats;
        let row = |name: &str| InterfaceStats {
            interface: name.into(),
            querier: true,
            version: 3,
            groups: 12,
            refused_groups: 1,
            refused_host_groups: 2,
            refused_sources: 3,
            refused_filtered_groups: 4,
            refused_filtered_sources: 5,
            router_queries: 6,
            forwarded_packets: 300,
            forwarded_bytes: 45_000,
            ..Default::default()
        };
        let stats = StatsView {
            counters: [("igmp_packets".to_string(), 9), ("daemon_mfes".into(), 1)].into(),
            interfaces: vec![row("eth1"), row("abcdefghijklmno")],
        };
        let text = stats_table(&stats);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert!(lines[0].starts_with("daemon_mfes"), "{text}");
        assert!(lines[1].starts_with("igmp_packets"), "{text}");
        assert_eq!(lines[2], "", "{text}");
        assert!(lines[3].starts_with("INTERFACE"), "{text}");
        let end = |l: &str, s: &str| col(l, s) + s.len();
        for l in &lines[4..] {
            assert!(l.contains(" querier "), "{text}");
            assert!(l.contains(" 3/3 "), "refusals by the bounds: {text}");
            assert!(l.contains(" 4/5 "), "refusals by the filters: {text}");
            assert_eq!(end(l, "45000"), end(lines[3], "BYTES"), "{text}");
        }
        // Without interfaces, the counters alone (as before).
        let bare = StatsView {
            interfaces: Vec::new(),
            ..stats
        };
        assert_eq!(stats_table(&bare).lines().count(), 2);
    }

    #[test]
    fn event_lines_print_kind_then_arguments() {
        let json = r#"{"kind":"prune_alert","member_delete":false,"timeout_s":30,"protocol":"local","interface":"eth1","source":null,"group":"239.1.2.3","time_ns":7}"#;
        let s = event_line(json);
        assert!(s.starts_with("prune_alert "), "{s}");
        for part in [
            "timeout_s=30",
            "member_delete=false",
            "interface=eth1",
            "group=239.1.2.3",
        ] {
            assert!(s.contains(part), "{part} missing: {s}");
        }
        assert!(!s.contains("source="), "null fields are left out: {s}");
        assert_eq!(event_line("not json"), "not json");
    }

    #[test]
    fn the_interface_table_counts_every_refusal() {
        let row = InterfaceView {
            interface: "a-15-char-name0".into(),
            ifindex: 7,
            address: "192.0.2.1".into(),
            querier: true,
            querier_address: Some("192.0.2.1".into()),
            version: 3,
            group_count: 12,
            max_groups: 4096,
            refused_groups: 1,
            max_sources: 1024,
            refused_sources: 10,
            max_groups_per_host: 512,
            refused_host_groups: 2,
            host_count: 3,
            source_count: 40,
            max_sources_total: 32768,
            refused_sources_total: 20,
            refused_filtered_groups: 4,
            refused_filtered_sources: 5,
            allow_groups: vec![],
            deny_groups: vec!["239.255.0.0/16".into()],
            allow_sources: vec![],
            deny_sources: vec![],
            quick_leave: false,
            older_querier_queries: 0,
            foreign_queries: 0,
            robustness: 2,
            query_interval_ms: 125_000,
            query_response_interval_ms: 10_000,
            last_member_query_interval_ms: 1_000,
            last_member_query_count: 2,
            startup_query_interval_ms: 31_250,
            startup_query_count: 2,
            group_membership_interval_ms: 260_000,
            other_querier_present_interval_ms: 255_000,
            other_querier_expires_in_ms: None,
        };
        let text = interfaces_table(&[row]);
        let line = text.lines().nth(1).expect("a row");
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], "a-15-char-name0");
        assert_eq!(
            cells[7], "3/30",
            "groups 1 + 2 per host, sources 10 + 20 in total: {line}"
        );
        assert_eq!(cells[8], "4/5", "filtered group records / sources: {line}");
        let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header[7..9], ["REFUSED", "FILTERED"]);
    }
}
