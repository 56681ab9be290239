//! The tables' tests: column names and JSON keys, alignment with 15-character names (IFNAMSIZ -
//! 1) in every table, the streamed groups table, the stats and interface rows, event lines.

use super::*;
use crate::control::api::{InterfaceStats, SourceView};

/// The longest interface name Linux allows (IFNAMSIZ - 1).
const LONG: &str = "abcdefghijklmno";

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
        hosts: None,
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
fn tracked_hosts_show_in_json_and_as_a_count_only_on_quick_leave_interfaces() {
    let mut g = group("eth1");
    let v = serde_json::to_value(&g).unwrap();
    assert!(
        v.get("hosts").is_none(),
        "no hosts key without quick leave: {v}"
    );
    assert!(groups_table(std::slice::from_ref(&g)).contains(" 192.0.2.10 "));
    assert!(!groups_table(std::slice::from_ref(&g)).contains("tracked"));
    g.hosts = Some(vec!["192.0.2.10".into(), "192.0.2.11".into()]);
    let v = serde_json::to_value(&g).unwrap();
    assert_eq!(v["hosts"], serde_json::json!(["192.0.2.10", "192.0.2.11"]));
    assert!(groups_table(&[g.clone()]).contains("192.0.2.10 (2 tracked)"));
    // An older daemon's rows (no key) still read.
    let mut old = v;
    old.as_object_mut().unwrap().remove("hosts");
    let back: GroupView = serde_json::from_value(old).unwrap();
    assert_eq!(back.hosts, None);
}

#[test]
fn the_streamed_groups_table_prints_as_the_table_did() {
    let mut rows = vec![group("eth1"), group(LONG)];
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

/// An entry from `iif` to [`LONG`] and eth2.
fn mfe(iif: &str, expires_in_ms: Option<u64>) -> MfeView {
    MfeView {
        source: "192.0.2.10".into(),
        group: "239.1.1.1".into(),
        iif: iif.into(),
        oifs: vec![LONG.into(), "eth2".into()],
        packets: 56,
        bytes: 2174,
        wrong_if: 0,
        expires_in_ms,
        timeout_s: 0,
        up_time_ms: 0,
        upstream: "0.0.0.0".into(),
        negative: false,
        protocol: None,
    }
}

/// Byte offset of `needle` in `line`.
fn col(line: &str, needle: &str) -> usize {
    line.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"))
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
        interfaces: vec![row("eth1"), row(LONG)],
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
        max_reports_per_second: 2000,
        reports_rate_limited: 6,
        refused_filtered_groups: 4,
        refused_filtered_sources: 5,
        allow_groups: vec![],
        deny_groups: vec!["239.255.0.0/16".into()],
        allow_sources: vec![],
        deny_sources: vec![],
        quick_leave: false,
        never_querier: false,
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
        waiting_joins: Vec::new(),
        waiting_command_joins: Vec::new(),
        waiting_routes: Vec::new(),
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
    assert_eq!(cells[11], "6", "held back by the report budget: {line}");
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[9..12], ["REFUSED", "FILTERED", "LIMITED"]);
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
        cells[1][6..12],
        ["-", "-", "-", "-", "-", "-"],
        "no router: {text}"
    );
    assert_eq!(
        cells[1][12], "125.0s/10.0s/1.0s",
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
        "waiting_joins",
        "waiting_command_joins",
        "waiting_routes",
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
    let long = LONG;
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
    // mfe: the long name as iif and among the oifs; an entry that never expires
    let text = mfe_table(&[mfe("eth0", None), mfe(long, Some(1_500))]);
    let oifs = format!("{long},eth2");
    let cells = |n: &str, expires: &str| {
        strings(&[
            "192.0.2.10",
            "239.1.1.1",
            n,
            &oifs,
            "56",
            "2174",
            "0",
            expires,
        ])
    };
    assert_columns(
        &text,
        &[cells("eth0", "never"), cells(long, "1.5s")],
        &[4, 5, 6, 7],
    );
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

#[test]
fn the_interface_table_lists_the_static_joins_that_wait() {
    let rows = [InterfaceView {
        state: AttachState::Awaited,
        waiting_for: Some(Awaiting::Interface),
        waiting_joins: vec!["(*, 239.1.2.3)".into(), "(192.0.2.10, 232.1.1.1)".into()],
        ..iface("wg0")
    }];
    let text = interfaces_table(&rows);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[2..],
        [
            "static join (*, 239.1.2.3) on wg0 (configuration file): waiting for the interface",
            "static join (192.0.2.10, 232.1.1.1) on wg0 (configuration file): waiting for the \
             interface"
        ]
    );
    assert!(!interfaces_table(&[iface("eth1")]).contains("static join"));
}

#[test]
fn the_interface_table_lists_the_command_joins_and_file_routes_that_wait() {
    let rows = [
        InterfaceView {
            state: AttachState::Awaited,
            waiting_for: Some(Awaiting::Interface),
            waiting_command_joins: vec!["(*, 239.1.2.3)".into()],
            waiting_routes: vec!["(192.0.2.10, 239.1.1.1) wg0 -> eth1".into()],
            ..iface("wg0")
        },
        iface("eth1"),
    ];
    let text = interfaces_table(&rows);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(
        lines[3..],
        [
            "static join (*, 239.1.2.3) on wg0 (mgm join): waiting for the interface",
            "static route (192.0.2.10, 239.1.1.1) wg0 -> eth1 (configuration file): waiting for \
             wg0"
        ]
    );
    let v = serde_json::to_value(&rows[0]).unwrap();
    assert_eq!(v["waiting_command_joins"][0], "(*, 239.1.2.3)");
    assert_eq!(
        v["waiting_routes"][0],
        "(192.0.2.10, 239.1.1.1) wg0 -> eth1"
    );
}
