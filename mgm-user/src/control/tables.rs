//! The table form of `mgm show` and the one-line form of `mgm events`. Columns size to their
//! contents (comfy-table), so long interface names (up to IFNAMSIZ-1 = 15) stay aligned.
use super::api::{
    AttachState, Awaiting, EventLine, GroupView, InterfaceRole, InterfaceView, MfeView, OperState,
    ProtocolView, StatsView, UpstreamView,
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

/// `mgm show interfaces`: one row per listed interface (then the proxy's upstream). STATE is
/// `attached`, `awaited:interface|address|up`, `unsupported` or `failed`; LINK is the
/// administrative and operational state (`up/up`, `down/down`, `up/lowerlayerdown`, `-` when
/// absent). The IGMP columns are a running router's, `-` on other rows.
pub fn interfaces_table(rows: &[InterfaceView]) -> String {
    let mut t = table(
        &[
            "INTERFACE",
            "IFINDEX",
            "STATE",
            "LINK",
            "ADDRESS",
            "ROLE",
            "QUERIER",
            "VER",
            "GROUPS",
            "REFUSED",
            "FILTERED",
            "timers (QI/QRI/LMQI x LMQC, RV)",
        ],
        &[1, 7, 8, 9, 10],
    );
    for r in rows {
        t.add_row(interface_row(r));
    }
    render(&t)
}

fn interface_row(r: &InterfaceView) -> Vec<String> {
    let dash = || "-".to_string();
    let router = r.role == InterfaceRole::Router && r.state == AttachState::Attached;
    let upstream = r.role == InterfaceRole::Upstream && r.state == AttachState::Attached;
    let state = match (r.state, r.waiting_for) {
        (AttachState::Attached, _) => "attached",
        (AttachState::Awaited, Some(Awaiting::Ipv4Address)) => "awaited:address",
        (AttachState::Awaited, Some(Awaiting::AdminUp)) => "awaited:up",
        (AttachState::Awaited, _) => "awaited:interface",
        (AttachState::Unsupported, _) => "unsupported",
        (AttachState::Failed, _) => "failed",
    };
    let link = if r.oper_state == OperState::Absent {
        dash()
    } else {
        format!(
            "{}/{}",
            if r.admin_up { "up" } else { "down" },
            r.oper_state.as_str()
        )
    };
    let role = match (r.role, router) {
        (InterfaceRole::Upstream, _) => "upstream",
        (InterfaceRole::Router, true) if r.querier => "querier",
        (InterfaceRole::Router, true) => "other",
        (InterfaceRole::Router, false) => "-",
    };
    let timers = if r.role == InterfaceRole::Router {
        format!(
            "{}/{}/{} x {}, {}",
            secs(r.query_interval_ms),
            secs(r.query_response_interval_ms),
            secs(r.last_member_query_interval_ms),
            r.last_member_query_count,
            r.robustness
        )
    } else {
        dash()
    };
    vec![
        r.interface.clone(),
        if r.ifindex == 0 {
            dash()
        } else {
            r.ifindex.to_string()
        },
        state.to_string(),
        link,
        if r.address.is_empty() {
            dash()
        } else {
            r.address.clone()
        },
        role.to_string(),
        if router {
            r.querier_address.clone().unwrap_or_else(dash)
        } else {
            dash()
        },
        if router || upstream {
            format!("v{}", r.version)
        } else {
            dash()
        },
        // The upstream's: groups reported.
        if router || upstream {
            r.group_count.to_string()
        } else {
            dash()
        },
        // Every refusal: groups (interface and per-host bounds) / sources (per group and
        // interface total); `--json` has each counter.
        if router {
            format!(
                "{}/{}",
                r.refused_groups + r.refused_host_groups,
                r.refused_sources + r.refused_sources_total
            )
        } else {
            dash()
        },
        // What the filters refused: group records / sources.
        if router {
            format!(
                "{}/{}",
                r.refused_filtered_groups, r.refused_filtered_sources
            )
        } else {
            dash()
        },
        timers,
    ]
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
/// `mgm reload`: what changed, one line each, then what was applied only in part.
pub fn reload_text(r: &crate::control::api::Reloaded) -> String {
    let mut out = if r.changes.is_empty() {
        format!("{}: reloaded, nothing changed\n", r.file)
    } else {
        format!("{}: reloaded\n", r.file)
    };
    for c in &r.changes {
        out.push_str(&format!("  {c}\n"));
    }
    for w in &r.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out
}

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
    use crate::control::api::{InterfaceStats, SourceView};

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

    fn iface(name: &str) -> InterfaceView {
        InterfaceView {
            interface: name.into(),
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
            role: InterfaceRole::Router,
            state: AttachState::Attached,
            waiting_for: None,
            admin_up: true,
            oper_state: OperState::Up,
            has_address: true,
        }
    }

    #[test]
    fn the_interface_table_counts_every_refusal() {
        let text = interfaces_table(&[iface("a-15-char-name0")]);
        let line = text.lines().nth(1).expect("a row");
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], "a-15-char-name0");
        assert_eq!(cells[2..4], ["attached", "up/up"], "{line}");
        assert_eq!(
            cells[9], "3/30",
            "groups 1 + 2 per host, sources 10 + 20 in total: {line}"
        );
        assert_eq!(cells[10], "4/5", "filtered group records / sources: {line}");
        let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header[9..11], ["REFUSED", "FILTERED"]);
    }

    #[test]
    fn the_interface_table_says_what_each_interface_waits_for() {
        let awaited = |name: &str, waiting: Option<Awaiting>, oper: OperState| InterfaceView {
            ifindex: 0,
            address: String::new(),
            state: AttachState::Awaited,
            waiting_for: waiting,
            admin_up: oper != OperState::Absent,
            oper_state: oper,
            has_address: false,
            ..iface(name)
        };
        let down = InterfaceView {
            admin_up: false,
            oper_state: OperState::Down,
            ..iface("eth1")
        };
        let upstream = InterfaceView {
            role: InterfaceRole::Upstream,
            group_count: 2,
            ..iface("ppp0")
        };
        let rows = [
            down,
            awaited("wg0", Some(Awaiting::Interface), OperState::Absent),
            awaited("eth2", Some(Awaiting::Ipv4Address), OperState::Up),
            InterfaceView {
                state: AttachState::Unsupported,
                ..awaited("lo", None, OperState::Up)
            },
            upstream,
        ];
        let text = interfaces_table(&rows);
        let cells: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            cells[0][..6],
            ["eth1", "7", "attached", "down/down", "192.0.2.1", "querier"]
        );
        assert_eq!(
            cells[1][..6],
            ["wg0", "-", "awaited:interface", "-", "-", "-"]
        );
        assert_eq!(
            cells[1][6..11],
            ["-", "-", "-", "-", "-"],
            "no router: {text}"
        );
        assert_eq!(
            cells[1][11], "125.0s/10.0s/1.0s",
            "the configured timers: {text}"
        );
        assert_eq!(cells[2][2..4], ["awaited:address", "up/up"], "{text}");
        assert_eq!(cells[3][2], "unsupported", "{text}");
        assert_eq!(
            cells[4],
            [
                "ppp0",
                "7",
                "attached",
                "up/up",
                "192.0.2.1",
                "upstream",
                "-",
                "v3",
                "2",
                "-",
                "-",
                "-"
            ],
            "the upstream: version spoken and groups reported: {text}"
        );
        // Additive in JSON: an older daemon's rows (no such keys) read as attached routers.
        let mut v = serde_json::to_value(iface("eth1")).unwrap();
        let obj = v.as_object_mut().unwrap();
        for k in [
            "role",
            "state",
            "waiting_for",
            "admin_up",
            "oper_state",
            "has_address",
        ] {
            assert!(obj.remove(k).is_some(), "{k}");
        }
        let old: InterfaceView = serde_json::from_value(v).unwrap();
        assert_eq!(old.state, AttachState::Attached);
        assert_eq!(old.role, InterfaceRole::Router);
        let v = serde_json::to_value(&rows[2]).unwrap();
        assert_eq!(v["waiting_for"], "ipv4_address");
        assert_eq!(v["oper_state"], "up");
        let v = serde_json::to_value(&rows[4]).unwrap();
        assert_eq!(v["role"], "upstream");
    }

    /// Every cell of `rows` (the cells of each row, in order) starts where its header does, or
    /// for the `right` columns ends where its header ends.
    fn assert_columns(text: &str, rows: &[Vec<String>], right: &[usize]) {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), rows.len() + 1, "{text}");
        // Header tokens: the header has no spaces inside its names but the last one.
        let mut spans = Vec::new();
        let mut at = 0;
        for word in lines[0].split_whitespace() {
            let start = at + lines[0][at..].find(word).unwrap();
            at = start + word.len();
            spans.push((start, at));
        }
        for (line, cells) in lines[1..].iter().zip(rows) {
            let mut at = 0;
            for (i, cell) in cells.iter().enumerate() {
                let start = at
                    + line[at..]
                        .find(cell.as_str())
                        .unwrap_or_else(|| panic!("{cell:?} in {line:?}"));
                at = start + cell.len();
                if right.contains(&i) {
                    assert_eq!(at, spans[i].1, "column {i} ({cell}) ends off:\n{text}");
                } else {
                    assert_eq!(start, spans[i].0, "column {i} ({cell}) starts off:\n{text}");
                }
            }
        }
    }

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn every_table_keeps_its_columns_with_fifteen_character_names() {
        let long = "abcdefghijklmno";
        assert_eq!(long.len(), libc::IFNAMSIZ - 1);
        // interfaces
        let rows = [iface("eth1"), iface(long)];
        let text = interfaces_table(&rows);
        let cells = |n: &str| {
            strings(&[
                n,
                "7",
                "attached",
                "up/up",
                "192.0.2.1",
                "querier",
                "192.0.2.1",
                "v3",
                "12",
                "3/30",
                "4/5",
            ])
        };
        assert_columns(&text, &[cells("eth1"), cells(long)], &[1, 7, 8, 9, 10]);
        // groups
        let text = groups_table(&[group("eth1"), group(long)]);
        let cells = |n: &str| {
            strings(&[
                n,
                "239.1.2.3",
                "exclude",
                "259.0s",
                "v3",
                "192.0.2.10",
                "198.51.100.1(block,0.0s)",
            ])
        };
        assert_columns(&text, &[cells("eth1"), cells(long)], &[3, 4]);
        // mfe: the long name as iif and among the oifs
        let mfe = |iif: &str| MfeView {
            source: "192.0.2.10".into(),
            group: "239.1.1.1".into(),
            iif: iif.into(),
            oifs: vec![long.into(), "eth2".into()],
            packets: 56,
            bytes: 2174,
            wrong_if: 0,
            expires_in_ms: Some(1_500),
            timeout_s: 0,
            up_time_ms: 0,
            upstream: "0.0.0.0".into(),
            negative: false,
            protocol: None,
        };
        let text = mfe_table(&[mfe("eth0"), mfe(long)]);
        let oifs = format!("{long},eth2");
        let cells = |n: &str| {
            strings(&[
                "192.0.2.10",
                "239.1.1.1",
                n,
                &oifs,
                "56",
                "2174",
                "0",
                "1.5s",
            ])
        };
        assert_columns(&text, &[cells("eth0"), cells(long)], &[4, 5, 6, 7]);
        // protocols
        let proto = |name: &str| ProtocolView {
            name: name.into(),
            kind: "routing".into(),
            protocol_id: 0x4d47_4d01,
            component_id: 1,
            interfaces: vec![long.into(), "eth1".into()],
        };
        let text = protocols_table(&[proto("local"), proto("a-long-protocol-name")]);
        let list = format!("{long},eth1");
        let cells = |n: &str| strings(&[n, "routing", "0x4d474d01", "1", &list]);
        assert_columns(
            &text,
            &[cells("local"), cells("a-long-protocol-name")],
            &[2, 3],
        );
        // stats: the interface rows after the counters
        let stat = |name: &str| InterfaceStats {
            interface: name.into(),
            querier: false,
            version: 2,
            groups: 5,
            forwarded_packets: 7,
            forwarded_bytes: 700,
            ..Default::default()
        };
        let stats = StatsView {
            counters: [("igmp_packets".to_string(), 9)].into(),
            interfaces: vec![stat("eth1"), stat(long)],
        };
        let text = stats_table(&stats);
        let text = text.split("\n\n").nth(1).expect("the interface rows");
        let cells = |n: &str| {
            strings(&[
                n, "other", "v2", "5", "0", "0", "0/0", "0/0", "0", "0", "7", "700",
            ])
        };
        assert_columns(
            text,
            &[cells("eth1"), cells(long)],
            &[3, 4, 5, 6, 7, 8, 9, 10, 11],
        );
        // upstream: the group rows under the heading line
        let view = UpstreamView {
            interface: long.into(),
            present: true,
            ifindex: 4,
            address: "203.0.113.2".into(),
            version: 3,
            reports_sent: 1,
            queries_heard: 2,
            groups: ["239.1.1.1", "239.200.100.250"]
                .iter()
                .map(|g| crate::control::api::UpstreamGroupView {
                    group: g.to_string(),
                    filter_mode: "exclude".into(),
                    sources: Vec::new(),
                })
                .collect(),
        };
        let text = upstream_table(&Some(view));
        assert!(
            text.starts_with(&format!("upstream {long} (203.0.113.2)")),
            "{text}"
        );
        let rows = text.split_once('\n').expect("heading").1;
        assert_columns(
            rows,
            &[
                strings(&["239.1.1.1", "exclude"]),
                strings(&["239.200.100.250", "exclude"]),
            ],
            &[],
        );
    }
}
