//! The file's values that a flag of the command line overrides ("flags win"): a reload that
//! changes one of them changes nothing, and must say so rather than answer "nothing changed".
use super::file::{FileConfig, GlobalValue};
use crate::cli::RunArgs;
use crate::settings::{find, parse_interface_spec};

/// One value of the file that a flag overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shadowed {
    /// The key as the file names it: `log`, `query-interval`, `interface eth1: robustness`.
    pub key: String,
    /// The file's value, as read.
    pub value: String,
    /// The flag that wins: `--log (or MGM_LOG)`, `-i eth1,robustness=…`.
    pub flag: String,
}

/// The file's values that the flags of `args` override.
pub fn shadowed(args: &RunArgs, file: &FileConfig) -> Vec<Shadowed> {
    let mut out = Vec::new();
    for (g, v) in &file.globals {
        if let Some(flag) = global_flag(args, g.name) {
            out.push(Shadowed {
                key: g.name.to_string(),
                value: match &v.value {
                    GlobalValue::Text(t) => format!("{t:?}"),
                    GlobalValue::Switch(b) => b.to_string(),
                    GlobalValue::Number(n) => n.to_string(),
                },
                flag,
            });
        }
    }
    let global_igmp = |name: &str| {
        let s = find(name)?;
        args.igmp
            .values
            .iter()
            .any(|(f, _)| std::ptr::eq(*f, s))
            .then(|| format!("--{}", s.name))
    };
    for v in &file.igmp {
        if let Some(flag) = global_igmp(&v.key) {
            out.push(Shadowed {
                key: v.key.clone(),
                value: v.text.clone(),
                flag,
            });
        }
    }
    let specs: Vec<_> = args
        .interfaces
        .iter()
        .filter_map(|a| parse_interface_spec(a).ok())
        .collect();
    for fi in &file.interfaces {
        let name = &fi.name.value;
        let spec = specs.iter().find(|s| &s.name == name);
        for v in &fi.igmp {
            let per_interface = spec.and_then(|s| {
                let setting = find(&v.key)?;
                s.overrides
                    .iter()
                    .any(|(k, _)| find(k).is_some_and(|f| std::ptr::eq(f, setting)))
                    .then(|| format!("-i {name},{}=…", setting.name))
            });
            if let Some(flag) = per_interface.or_else(|| global_igmp(&v.key)) {
                out.push(Shadowed {
                    key: format!("interface {name}: {}", v.key),
                    value: v.text.clone(),
                    flag,
                });
            }
        }
    }
    out
}

/// The flag of `args` that overrides the global key `name`, if given.
fn global_flag(args: &RunArgs, name: &str) -> Option<String> {
    let given = match name {
        "bpffs" => args.bpffs.is_some(),
        "socket" => args.socket.socket.is_some(),
        "socket-group" => args.socket_group.is_some(),
        "socket-read-group" => args.socket_read_group.is_some(),
        "no-fast-path" => args.no_fast_path,
        "accept-off-link-reports" => args.accept_off_link_reports,
        "mroute-table" => args.mroute_table.is_some(),
        "upstream" => args.upstream.is_some(),
        "forward-upstream" => args.forward_upstream,
        "proxy-ssdp" => args.proxy_ssdp,
        "handler-deadline" => args.handler_deadline.is_some(),
        "mfc-reconcile-interval" => args.mfc_reconcile_interval.is_some(),
        "max-mfes" => args.max_mfes.is_some(),
        "metrics" => args.metrics.is_some(),
        "log" => return args.log.is_some().then(|| "--log (or MGM_LOG)".to_string()),
        _ => false,
    };
    given.then(|| format!("--{name}"))
}

/// What a reload says about the file's values that changed from `before` to `after` but that a
/// flag overrides: one line each, naming the key and the flag.
pub fn unapplied(before: &[Shadowed], after: &[Shadowed]) -> Vec<String> {
    after
        .iter()
        .filter_map(|a| {
            let was = before.iter().find(|b| b.key == a.key);
            if was.is_some_and(|b| b.value == a.value) {
                return None;
            }
            let from = was.map_or_else(|| "unset".to_string(), |b| b.value.clone());
            Some(format!(
                "{}: the file's value changed ({from} -> {}) but {} on the command line wins: \
                 not applied (change the flag, and restart)",
                a.key, a.value, a.flag
            ))
        })
        .collect()
}
