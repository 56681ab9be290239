//! The configuration file: every key read and applied, flags over the file, precise errors,
//! and what a reload would change.
use std::path::Path;
use std::time::Duration;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command, RunArgs};
use crate::settings::{Kind, Setting, SETTINGS};

const PATH: &str = "/etc/mgm/mgm.toml";

fn args(argv: &str) -> RunArgs {
    let mut full = vec!["mgm", "run"];
    full.extend(argv.split_whitespace());
    match Cli::try_parse_from(full).expect(argv).command {
        Command::Run(a) => a,
        _ => unreachable!(),
    }
}

/// The file `text` under the flags `argv`, or the error as `mgm run` prints it.
fn resolve_text(text: &str, argv: &str) -> Result<RunConfig, String> {
    let file = FileConfig::parse(Path::new(PATH), text.to_string()).map_err(|e| e.to_string())?;
    resolve_with(&args(argv), Some(&file)).map_err(|e| format!("{e:#}"))
}

fn ok(text: &str) -> RunConfig {
    resolve_text(text, "").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn err(text: &str) -> String {
    match resolve_text(text, "") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// A non-default value of `s` in the file's native type, and how the setting prints it.
fn file_value(s: &Setting) -> Vec<(&'static str, &'static str)> {
    match s.kind {
        Kind::Duration { .. } => vec![("\"7s\"", "7s"), ("\"200s\"", "200s"), ("\"1.5s\"", "1.5s")],
        Kind::Version { .. } => vec![("2", "2")],
        Kind::Byte { .. } | Kind::Count { .. } => vec![("7", "7")],
        Kind::OlderQuerier { .. } => vec![("\"follow\"", "follow")],
        Kind::Switch { get, .. } if get(&crate::igmp::IgmpConfig::default()) => {
            vec![("false", "off")]
        }
        Kind::Switch { .. } => vec![("true", "on")],
        Kind::Prefixes {
            range: crate::igmp::PrefixRange::Groups,
            ..
        } => vec![(
            "[\"239.1.0.0/16\", \"232.1.2.3\"]",
            "239.1.0.0/16+232.1.2.3/32",
        )],
        Kind::Prefixes { .. } => vec![(
            "[\"10.0.0.0/8\", \"192.0.2.7/32\"]",
            "10.0.0.0/8+192.0.2.7/32",
        )],
    }
}

#[test]
fn every_igmp_key_of_the_table_is_read_globally_and_per_interface() {
    for s in SETTINGS {
        let mut landed = false;
        for (toml, shown) in file_value(s) {
            let global = format!("{} = {toml}\n[[interface]]\nname = \"eth1\"\n", s.name);
            let section = format!(
                "[[interface]]\nname = \"eth1\"\n{} = {toml}\n[[interface]]\nname = \"eth2\"\n",
                s.name
            );
            // Some values do not validate with the defaults (a query interval under the
            // response interval): the next candidate is tried.
            let (Ok(g), Ok(i)) = (resolve_text(&global, ""), resolve_text(&section, "")) else {
                continue;
            };
            assert_eq!(s.value_text(&g.igmp).as_deref(), Some(shown), "{}", s.name);
            assert_eq!(
                s.value_text(&g.interfaces[0].igmp).as_deref(),
                Some(shown),
                "{}",
                s.name
            );
            assert_eq!(
                s.value_text(&i.interfaces[0].igmp).as_deref(),
                Some(shown),
                "{}",
                s.name
            );
            assert_ne!(
                s.value_text(&i.interfaces[1].igmp).as_deref(),
                Some(shown),
                "{}: another interface's section leaks",
                s.name
            );
            landed = true;
            break;
        }
        assert!(landed, "no value of {} was read", s.name);
    }
    // Strings work for every kind, as on the command line; aliases too.
    let c = ok(
        "robustness = \"3\"\nquick-leave = \"on\"\ndeny-groups = \"239.2.0.0/16+239.3.0.0/16\"\n\
                [[interface]]\nname = \"eth1\"\nversion = 1\n",
    );
    assert_eq!(c.interfaces[0].igmp.robustness, 3);
    assert!(c.interfaces[0].igmp.quick_leave);
    assert_eq!(c.interfaces[0].igmp.group_filter.deny.len(), 2);
    assert_eq!(c.interfaces[0].igmp.version, 1);
}

type Check = fn(&RunConfig) -> bool;

#[test]
fn every_global_key_is_read() {
    let rows = global_rows();
    for k in GLOBAL_KEYS {
        assert!(
            rows.iter().any(|(n, ..)| *n == k.name),
            "no row for {}",
            k.name
        );
    }
    let base = ok("[[interface]]\nname = \"eth1\"\n");
    for (key, value, landed) in rows {
        let upstream = if *key == "upstream" {
            ""
        } else {
            "upstream = \"wan0\"\n"
        };
        let c = ok(&format!(
            "{upstream}{key} = {value}\n[[interface]]\nname = \"eth1\"\n"
        ));
        assert!(landed(&c), "{key} = {value} did not land: {c:?}");
        assert!(!landed(&base), "{key}: the default is the value tested");
    }
}

/// A reload changing a global key either applies it (the keys marked reloadable, which the
/// manual page lists so) or fails naming it: none is ignored in silence.
#[test]
fn every_global_key_reloads_or_names_itself() {
    let old = ok("upstream = \"wan0\"\n[[interface]]\nname = \"eth1\"\n");
    for (key, value, landed) in global_rows() {
        let k = global_key(key).unwrap();
        let new = ok(&format!(
            "upstream = \"wan0\"\n{key} = {value}\n[[interface]]\nname = \"eth1\"\n"
        )
        .replace("upstream = \"wan0\"\nupstream", "upstream"));
        assert!(landed(&new) && !landed(&old), "{key}: no change tested");
        match plan(&old, &new) {
            Ok(p) => {
                assert!(
                    k.reloadable,
                    "{key}: applied but documented as needing a restart"
                );
                assert!(
                    p.lines.iter().any(|l| l.starts_with(&format!("{key} "))),
                    "{key}: {:?}",
                    p.lines
                );
            }
            Err(e) => {
                assert!(!k.reloadable, "{key}: documented as reloadable: {e}");
                assert!(
                    e.starts_with(&format!("{key} changed")) && e.contains("needs a restart"),
                    "{e}"
                );
            }
        }
    }
}

/// A changed value of every global key, and whether it landed in the [`RunConfig`].
fn global_rows() -> &'static [(&'static str, &'static str, Check)] {
    &[
        ("bpffs", "\"/sys/fs/bpf/other\"", |c| {
            c.bpffs == Path::new("/sys/fs/bpf/other")
        }),
        ("socket", "\"/run/x.sock\"", |c| {
            c.socket == Path::new("/run/x.sock")
        }),
        ("socket-group", "\"adm\"", |c| {
            c.socket_group.as_deref() == Some("adm")
        }),
        ("socket-read-group", "\"adm\"", |c| {
            c.socket_read_group.as_deref() == Some("adm")
        }),
        ("no-fast-path", "true", |c| c.no_fast_path),
        ("accept-off-link-reports", "true", |c| {
            c.accept_off_link_reports
        }),
        ("mroute-table", "42", |c| c.mroute_table == Some(42)),
        ("max-mfes", "300", |c| c.max_mfes == 300),
        ("upstream", "\"wan1\"", |c| {
            c.upstream.as_deref() == Some("wan1")
        }),
        ("forward-upstream", "true", |c| c.forward_upstream),
        ("proxy-ssdp", "true", |c| c.proxy_ssdp),
        ("handler-deadline", "\"250ms\"", |c| {
            c.handler_deadline == Duration::from_millis(250)
        }),
        ("mfc-reconcile-interval", "\"0s\"", |c| {
            c.mfc_reconcile_interval.is_zero()
        }),
        ("metrics", "\"127.0.0.1:9600\"", |c| {
            c.metrics == Some("127.0.0.1:9600".parse().unwrap())
        }),
        ("log", "\"debug,aya=warn\"", |c| c.log == "debug,aya=warn"),
    ]
}

#[test]
fn every_flag_of_mgm_run_has_its_key() {
    use clap::CommandFactory;
    let cli = Cli::command();
    let run = cli.find_subcommand("run").unwrap();
    for a in run.get_arguments() {
        let Some(long) = a.get_long() else { continue };
        if matches!(long, "interface" | "config" | "help") {
            continue;
        }
        assert!(
            global_key(long).is_some() || crate::settings::find(long).is_some(),
            "--{long} has no key in the configuration file"
        );
    }
    assert!(global_key("log").is_some(), "the global --log");
}

const FILE: &str = r#"
query-interval = "60s"
handler-deadline = "200ms"
bpffs = "/sys/fs/bpf/file"
deny-groups = ["239.9.0.0/16"]

[[interface]]
name = "eth1"
robustness = 3

[[interface]]
name = "eth2"
protocol = "pimd"
query-interval = "30s"

[[join]]
interface = "eth1"
group = "239.1.2.3"

[[join]]
interface = "eth2"
group = "232.1.1.1"
source = "192.0.2.10"

[[route]]
source = "198.51.100.7"
group = "239.5.5.5"
iif = "eth1"
oif = ["eth2"]
"#;

#[test]
fn a_file_resolves_whole() {
    let c = ok(FILE);
    assert_eq!(c.file.as_deref(), Some(Path::new(PATH)));
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth1", "eth2"]);
    assert_eq!(c.interfaces[0].igmp.query_interval, Duration::from_secs(60));
    assert_eq!(c.interfaces[0].igmp.robustness, 3);
    assert_eq!(c.interfaces[1].igmp.query_interval, Duration::from_secs(30));
    assert_eq!(c.interfaces[1].igmp.robustness, 2);
    assert_eq!(c.interfaces[1].protocol.as_deref(), Some("pimd"));
    assert_eq!(c.interfaces[1].igmp.group_filter.deny.len(), 1);
    assert_eq!(c.reserved().get("eth2").map(String::as_str), Some("pimd"));
    assert_eq!(c.joins.len(), 2);
    assert_eq!(c.joins[1].source, Some("192.0.2.10".parse().unwrap()));
    assert_eq!(c.routes[0].oifs, ["eth2"]);
    assert_eq!(c.summary(), "2 interfaces, 2 static joins, 1 static route");
}

#[test]
fn flags_override_the_file() {
    let c = resolve_text(
        FILE,
        "--bpffs /sys/fs/bpf/flag --handler-deadline 50ms --query-interval 90s \
         -i eth2,query-interval=20s,protocol=ospf -i eth3,igmp-version=2",
    )
    .unwrap();
    assert_eq!(
        c.bpffs,
        Path::new("/sys/fs/bpf/flag"),
        "scalar: the flag wins"
    );
    assert_eq!(c.handler_deadline, Duration::from_millis(50));
    // The global flag wins over the file's global and section values.
    assert_eq!(c.interfaces[0].igmp.query_interval, Duration::from_secs(90));
    assert_eq!(
        c.interfaces[0].igmp.robustness, 3,
        "the file's section value stays"
    );
    // -i IF,key=value wins over everything for its interface.
    assert_eq!(c.interfaces[1].igmp.query_interval, Duration::from_secs(20));
    assert_eq!(c.interfaces[1].protocol.as_deref(), Some("ospf"));
    // An -i for an interface not in the file adds it, with the file's globals.
    assert_eq!(c.interfaces[2].name, "eth3");
    assert_eq!(c.interfaces[2].igmp.version, 2);
    assert_eq!(c.interfaces[2].igmp.group_filter.deny.len(), 1);
    // Without flags the file's values.
    let c = ok(FILE);
    assert_eq!(c.bpffs, Path::new("/sys/fs/bpf/file"));
    // Flags alone, no file.
    let c = resolve_with(&args("-i eth1"), None).unwrap();
    assert_eq!(
        (c.file.clone(), c.bpffs.clone()),
        (None, crate::cli::DEFAULT_BPFFS.into())
    );
    assert_eq!(c.log, "info");
}

#[test]
fn malformed_files_are_refused_naming_line_and_key() {
    let iface = "[[interface]]\nname = \"eth1\"\n";
    let rows: Vec<(String, &str)> = vec![
        // syntax: the line of the fault
        (format!("{iface}robustness = \n"), "/etc/mgm/mgm.toml:3:"),
        (format!("{iface}[[interface]\n"), "/etc/mgm/mgm.toml:3:"),
        // unknown keys, at the top and in sections
        (format!("colour = \"blue\"\n{iface}"), "/etc/mgm/mgm.toml:1:1: colour: unknown key at the top level"),
        (format!("{iface}colour = 1\n"), "/etc/mgm/mgm.toml:3:1: colour: unknown key in [[interface]]"),
        (format!("{iface}[[join]]\ninterface = \"eth1\"\ngroup = \"239.1.1.1\"\nsrc = \"192.0.2.1\"\n"), "/etc/mgm/mgm.toml:6:1: src: unknown key in [[join]]"),
        // wrong types
        (format!("{iface}robustness = true\n"), "/etc/mgm/mgm.toml:3:14: robustness: expected an integer, found boolean"),
        (format!("no-fast-path = \"yes\"\n{iface}"), "/etc/mgm/mgm.toml:1:16: no-fast-path: expected true or false, found string"),
        (format!("{iface}query-interval = 125\n"), "/etc/mgm/mgm.toml:3:18: query-interval: a duration needs its unit: write \"125s\""),
        // bad values: line, key and why
        (format!("{iface}query-interval = \"5x\"\n"), "/etc/mgm/mgm.toml:3:18: query-interval: invalid duration \"5x\""),
        (format!("{iface}igmp-version = 4\n"), "/etc/mgm/mgm.toml:3:16: igmp-version:"),
        (format!("deny-groups = [\"10.0.0.0/8\"]\n{iface}"), "/etc/mgm/mgm.toml:1:15: deny-groups: '10.0.0.0/8' holds no multicast group"),
        (format!("metrics = \"9578\"\n{iface}"), "/etc/mgm/mgm.toml:1:11: metrics: '9578' is not ADDR:PORT"),
        (format!("log = \"loud\"\n{iface}"), "/etc/mgm/mgm.toml:1:7: log: bad log level 'loud'"),
        // values that do not work together: the interface's line
        (format!("{iface}query-interval = \"5s\"\n"), "/etc/mgm/mgm.toml:2:8: interface eth1: query response interval (10s) must be shorter than query interval (5s)"),
        // duplicate interface
        (format!("{iface}{iface}"), "/etc/mgm/mgm.toml:4:8: name: interface eth1 is listed twice (first on line 2)"),
        // a section without its name, a section written as a table
        ("[[interface]]\nrobustness = 3\n".into(), "/etc/mgm/mgm.toml:1:1: name: this [[interface]] has no name"),
        ("[interface]\nname = \"eth1\"\n".into(), "/etc/mgm/mgm.toml:1:2: interface: 'interface' is a list of sections: write [[interface]] above each"),
        // static entries: bad addresses, unknown interfaces
        (format!("{iface}[[join]]\ninterface = \"eth1\"\ngroup = \"239.1.1\"\n"), "/etc/mgm/mgm.toml:5:9: group: '239.1.1' is not an IPv4 address"),
        (format!("{iface}[[join]]\ninterface = \"eth1\"\ngroup = \"10.1.1.1\"\n"), "/etc/mgm/mgm.toml:5:9: group: 10.1.1.1 is not a multicast group"),
        (format!("{iface}[[join]]\ninterface = \"eth9\"\ngroup = \"239.1.1.1\"\n"), "/etc/mgm/mgm.toml:3:1: join.interface: eth9 is not an interface of this configuration"),
        (format!("{iface}[[route]]\nsource = \"192.0.2.1\"\ngroup = \"239.1.1.1\"\niif = \"eth1\"\noif = [\"eth7\"]\n"), "/etc/mgm/mgm.toml:3:1: route.oif: eth7 is not an interface of this configuration"),
        (format!("{iface}[[route]]\nsource = \"192.0.2.1\"\ngroup = \"239.1.1.1\"\niif = \"eth1\"\noif = [\"eth1\"]\n"), "/etc/mgm/mgm.toml:3:1: oif: eth1 is both the incoming and an outgoing interface"),
        (format!("{iface}[[route]]\nsource = \"239.0.0.1\"\ngroup = \"239.1.1.1\"\niif = \"eth1\"\noif = [\"eth1\"]\n"), "/etc/mgm/mgm.toml:4:10: source: 239.0.0.1 is not a unicast source address"),
        // upstream listed as downstream
        (format!("upstream = \"eth1\"\n{iface}"), "/etc/mgm/mgm.toml:3:8: upstream: eth1 is the upstream interface"),
        (format!("forward-upstream = true\n{iface}"), "/etc/mgm/mgm.toml:1:20: forward-upstream: forward-upstream needs an upstream interface"),
        // limits past what the maps hold
        (format!("max-groups = 2000000\n{iface}"), "/etc/mgm/mgm.toml: limits: max-groups summed over eth1 is 2000000"),
        // no interface at all
        ("robustness = 3\n".into(), "no interface to manage: give -i/--interface IF (repeat for each), or [[interface]] sections"),
    ];
    for (text, want) in &rows {
        let e = err(text);
        assert!(
            e.starts_with(want),
            "got:  {e}\nwant: {want}...\nfile:\n{text}"
        );
        assert!(!e.contains('\n'), "one line: {e}");
    }
}

#[test]
fn an_unreadable_file_is_named() {
    let e = check_file(Path::new("/nonexistent/mgm.toml")).unwrap_err();
    assert!(
        format!("{e:#}").starts_with("/nonexistent/mgm.toml: cannot read it:"),
        "{e:#}"
    );
}

#[test]
fn a_reload_plan_lists_the_difference() {
    let old = ok(FILE);
    assert!(plan(&old, &old).unwrap().is_empty());
    let new_text = FILE
        .replace("robustness = 3", "robustness = 4")
        .replace("name = \"eth2\"\nprotocol = \"pimd\"", "name = \"eth3\"")
        .replace(
            "interface = \"eth2\"\ngroup = \"232.1.1.1\"",
            "interface = \"eth1\"\ngroup = \"232.1.1.1\"",
        )
        .replace("oif = [\"eth2\"]", "oif = [\"eth3\"]");
    let new = ok(&new_text);
    let p = plan(&old, &new).unwrap();
    assert_eq!(p.removed, ["eth2"]);
    assert_eq!(
        p.added.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["eth3"]
    );
    assert_eq!(p.changed.len(), 1);
    assert_eq!(p.changed[0].igmp.robustness, 4);
    assert_eq!(p.joins_removed.len(), 1);
    assert_eq!(p.joins_added.len(), 1);
    assert!(
        p.routes_removed.is_empty(),
        "the same (S,G): replaced, not removed"
    );
    assert_eq!(p.routes_added.len(), 1);
    assert!(
        p.lines
            .contains(&"interface eth1: robustness 3 -> 4".to_string()),
        "{:?}",
        p.lines
    );
    assert!(p.lines.contains(&"interface eth2 removed".to_string()));
    assert!(p.lines.contains(&"interface eth3 added".to_string()));
    // A protocol change takes the interface down and up.
    let p = plan(&old, &ok(&FILE.replace("pimd", "ospf"))).unwrap();
    assert_eq!((p.removed.len(), p.added.len()), (1, 1));
    // Keys that need a restart fail the plan, naming the key.
    for (from, to, key) in [
        (
            "bpffs = \"/sys/fs/bpf/file\"",
            "bpffs = \"/sys/fs/bpf/other\"",
            "bpffs",
        ),
        (
            "bpffs = \"/sys/fs/bpf/file\"",
            "bpffs = \"/sys/fs/bpf/file\"\nmroute-table = 5",
            "mroute-table",
        ),
        (
            "bpffs = \"/sys/fs/bpf/file\"",
            "bpffs = \"/sys/fs/bpf/file\"\nupstream = \"wan0\"",
            "upstream",
        ),
    ] {
        let e = plan(&old, &ok(&FILE.replace(from, to))).unwrap_err();
        assert!(
            e.starts_with(&format!("{key} changed")) && e.contains("needs a restart"),
            "{e}"
        );
    }
    let p = plan(&old, &ok(&FILE.replace("200ms", "300ms"))).unwrap();
    assert_eq!(p.handler_deadline, Some(Duration::from_millis(300)));
    // The reconcile interval reloads: its new value goes to the plan, 0 (off) included.
    let p = plan(
        &old,
        &ok(&FILE.replace(
            "bpffs = \"/sys/fs/bpf/file\"",
            "bpffs = \"/sys/fs/bpf/file\"\nmfc-reconcile-interval = \"0\"",
        )),
    )
    .unwrap();
    assert_eq!(p.mfc_reconcile_interval, Some(Duration::ZERO));
    assert_eq!(p.lines, ["mfc-reconcile-interval 60s -> 0ns"]);
}

#[test]
fn the_shipped_example_reads_as_it_is_and_uncommented() {
    let text = include_str!("../../../dist/mgm.toml");
    let f = FileConfig::parse(Path::new(PATH), text.to_string()).unwrap();
    assert!(f.interfaces.is_empty(), "shipped with nothing on");
    // Every commented key, uncommented, resolves.
    let on: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if !rest.is_empty() && !rest.starts_with(' ') => rest,
            Some(_) => "",
            None => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let c = resolve_text(&on, "").unwrap_or_else(|e| panic!("{e}\n{on}"));
    assert_eq!(c.interfaces.len(), 2);
    assert_eq!((c.joins.len(), c.routes.len()), (1, 1));
    assert_eq!(c.upstream.as_deref(), Some("wan0"));
}

/// The file's values a flag overrides: a reload that changes one names the key and the flag
/// (the running value cannot change: the flag wins); one the flags leave alone is applied.
#[test]
fn a_reload_names_the_file_values_the_flags_override() {
    let text = "log = \"info\"\nquery-interval = \"60s\"\nbpffs = \"/sys/fs/bpf/a\"\n\
                [[interface]]\nname = \"eth1\"\nrobustness = 3\n";
    let argv = "--log debug --query-interval 90s -i eth1,robustness=2";
    let mut a = args(argv);
    a.log = Some("debug".into());
    let read = |t: &str| FileConfig::parse(Path::new(PATH), t.to_string()).unwrap();
    let before = shadowed(&a, &read(text));
    let keys: Vec<&str> = before.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        ["log", "query-interval", "interface eth1: robustness"],
        "bpffs has no flag given"
    );
    assert!(unapplied(&before, &before).is_empty(), "nothing changed");
    let changed = text
        .replace("\"info\"", "\"warn\"")
        .replace("robustness = 3", "robustness = 4")
        .replace("/sys/fs/bpf/a", "/sys/fs/bpf/b");
    let after = shadowed(&a, &read(&changed));
    let lines = unapplied(&before, &after);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("log: the file's value changed")
            && lines[0].contains("--log (or MGM_LOG) on the command line wins"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("interface eth1: robustness: the file's value changed (3 -> 4)")
            && lines[1].contains("-i eth1,robustness=…"),
        "{}",
        lines[1]
    );
    // The running configuration indeed stays: the plan sees no change of either.
    let old = resolve_with(&a, Some(&read(text))).unwrap();
    let new = resolve_with(&a, Some(&read(&changed))).unwrap();
    assert_eq!((old.log.as_str(), new.log.as_str()), ("debug", "debug"));
    let e = plan(&old, &new).unwrap_err();
    assert!(e.starts_with("bpffs changed"), "{e}");
}

#[test]
fn a_reload_plans_the_new_log_level() {
    let old = ok(FILE);
    let p = plan(&old, &ok(&format!("log = \"debug\"\n{FILE}"))).unwrap();
    assert_eq!(p.log.as_deref(), Some("debug"));
    assert_eq!(p.lines, ["log info -> debug"]);
}
