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
/// absent). The IGMP columns are a running router's, `-` on other rows. Under the table, the
/// static entries that wait for an interface, one line each: the file's joins and routes, and
/// the `mgm join`s withdrawn when their interface was deleted.
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
            "LIMITED",
            "timers (QI/QRI/LMQI x LMQC, RV)",
        ],
        &[1, 7, 8, 9, 10, 11],
    );
    for r in rows {
        t.add_row(interface_row(r));
    }
    let mut out = render(&t);
    for r in rows {
        let name = &r.interface;
        for sg in &r.waiting_joins {
            out.push_str(&format!(
                "static join {sg} on {name} (configuration file): waiting for the interface\n"
            ));
        }
        for sg in &r.waiting_command_joins {
            out.push_str(&format!(
                "static join {sg} on {name} (mgm join): waiting for the interface\n"
            ));
        }
        for route in &r.waiting_routes {
            out.push_str(&format!(
                "static route {route} (configuration file): waiting for {name}\n"
            ));
        }
    }
    out
}

fn interface_row(r: &InterfaceView) -> Vec<String> {
    let dash = || "-".to_string();
    let router = r.role == InterfaceRole::Router && r.state == AttachState::Attached;
    let upstream = r.role == InterfaceRole::Upstream && r.state == AttachState::Attached;
    let router_only = |text: String| if router { text } else { dash() };
    vec![
        r.interface.clone(),
        if r.ifindex == 0 {
            dash()
        } else {
            r.ifindex.to_string()
        },
        state_text(r).to_string(),
        link_text(r),
        if r.address.is_empty() {
            dash()
        } else {
            r.address.clone()
        },
        role_text(r, router).to_string(),
        router_only(r.querier_address.clone().unwrap_or_else(dash)),
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
        router_only(format!(
            "{}/{}",
            r.refused_groups + r.refused_host_groups,
            r.refused_sources + r.refused_sources_total
        )),
        // What the filters refused: group records / sources.
        router_only(format!(
            "{}/{}",
            r.refused_filtered_groups, r.refused_filtered_sources
        )),
        // Reports and leaves past the budget (max-reports-per-second), passed on unseen.
        router_only(r.reports_rate_limited.to_string()),
        timers_text(r),
    ]
}

/// STATE: attached, awaited (and for what), unsupported or failed.
fn state_text(r: &InterfaceView) -> &'static str {
    match (r.state, r.waiting_for) {
        (AttachState::Attached, _) => "attached",
        (AttachState::Awaited, Some(Awaiting::Ipv4Address)) => "awaited:address",
        (AttachState::Awaited, Some(Awaiting::AdminUp)) => "awaited:up",
        (AttachState::Awaited, _) => "awaited:interface",
        (AttachState::Unsupported, _) => "unsupported",
        (AttachState::Failed, _) => "failed",
    }
}

/// LINK: administrative/operational state, `-` when the interface is absent.
fn link_text(r: &InterfaceView) -> String {
    if r.oper_state == OperState::Absent {
        "-".to_string()
    } else {
        format!(
            "{}/{}",
            if r.admin_up { "up" } else { "down" },
            r.oper_state.as_str()
        )
    }
}

/// ROLE: the upstream, a running router's querier election (`querier`, `other`, or
/// `never-querier` with `querier=off`), else `-`.
fn role_text(r: &InterfaceView, router: bool) -> &'static str {
    match (r.role, router) {
        (InterfaceRole::Upstream, _) => "upstream",
        (InterfaceRole::Router, true) if r.querier => "querier",
        (InterfaceRole::Router, true) if r.never_querier => "never-querier",
        (InterfaceRole::Router, true) => "other",
        (InterfaceRole::Router, false) => "-",
    }
}

/// The router's timers: QI/QRI/LMQI x LMQC, RV; `-` on the upstream.
fn timers_text(r: &InterfaceView) -> String {
    if r.role == InterfaceRole::Router {
        format!(
            "{}/{}/{} x {}, {}",
            secs(r.query_interval_ms),
            secs(r.query_response_interval_ms),
            secs(r.last_member_query_interval_ms),
            r.last_member_query_count,
            r.robustness
        )
    } else {
        "-".to_string()
    }
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

/// The last reporter; on a quick-leave interface followed by how many hosts are tracked.
fn reporter_cell(g: &GroupView) -> String {
    let last = g.last_reporter.clone().unwrap_or_else(|| "-".into());
    match &g.hosts {
        Some(h) => format!("{last} ({} tracked)", h.len()),
        None => last,
    }
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
        reporter_cell(g),
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
mod tests;
