//! The global keys of `mgm.toml` other than the IGMP settings: one per flag of `mgm run`, named
//! like it (the help text of each is the flag's own, read from the clap definitions by the
//! manual page); the IGMP keys come from the settings table (`settings/table.rs`).

/// How a global key's value is written in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A string, checked as the flag checks it.
    Text,
    /// `true` or `false` (a flag without value).
    Switch,
    /// An integer.
    Number,
}

/// The flag's own check of a text value: `Err` says why it is refused.
pub type Check = fn(&str) -> Result<(), String>;

/// One global key.
#[derive(Debug)]
pub struct GlobalKey {
    /// The flag's long name.
    pub name: &'static str,
    pub kind: ValueKind,
    /// An example value, as written in the file.
    pub example: &'static str,
    /// A reload can change it (else a changed value fails the reload: "needs a restart").
    pub reloadable: bool,
    /// The flag's own check of a text value.
    pub check: Option<Check>,
}

fn check_deadline(t: &str) -> Result<(), String> {
    crate::cli::parse_deadline(t).map(|_| ())
}

fn check_reconcile_interval(t: &str) -> Result<(), String> {
    crate::cli::parse_reconcile_interval(t).map(|_| ())
}

fn check_metrics(t: &str) -> Result<(), String> {
    crate::cli::parse_metrics_addr(t).map(|_| ())
}

fn check_log(t: &str) -> Result<(), String> {
    crate::cli::log_spec(t).map(|_| ())
}

fn check_nonempty(t: &str) -> Result<(), String> {
    if t.trim().is_empty() {
        return Err("empty".into());
    }
    Ok(())
}

const fn key(
    name: &'static str,
    kind: ValueKind,
    example: &'static str,
    reloadable: bool,
    check: Option<Check>,
) -> GlobalKey {
    GlobalKey {
        name,
        kind,
        example,
        reloadable,
        check,
    }
}

/// Every global key, in the order of `mgm run --help`.
pub static GLOBAL_KEYS: &[GlobalKey] = &[
    key(
        "bpffs",
        ValueKind::Text,
        "\"/sys/fs/bpf/mgm\"",
        false,
        Some(check_nonempty),
    ),
    key(
        "socket",
        ValueKind::Text,
        "\"/run/mgm/mgm.sock\"",
        false,
        Some(check_nonempty),
    ),
    key(
        "socket-group",
        ValueKind::Text,
        "\"mgm\"",
        false,
        Some(check_nonempty),
    ),
    key(
        "socket-read-group",
        ValueKind::Text,
        "\"adm\"",
        false,
        Some(check_nonempty),
    ),
    key("no-fast-path", ValueKind::Switch, "false", false, None),
    key(
        "accept-off-link-reports",
        ValueKind::Switch,
        "false",
        false,
        None,
    ),
    key("mroute-table", ValueKind::Number, "10", false, None),
    key(
        "upstream",
        ValueKind::Text,
        "\"wan0\"",
        false,
        Some(check_nonempty),
    ),
    key("forward-upstream", ValueKind::Switch, "false", false, None),
    key("proxy-ssdp", ValueKind::Switch, "false", false, None),
    key(
        "handler-deadline",
        ValueKind::Text,
        "\"100ms\"",
        true,
        Some(check_deadline),
    ),
    key("max-mfes", ValueKind::Number, "16384", true, None),
    key(
        "mfc-reconcile-interval",
        ValueKind::Text,
        "\"60s\"",
        true,
        Some(check_reconcile_interval),
    ),
    key(
        "metrics",
        ValueKind::Text,
        "\"127.0.0.1:9578\"",
        false,
        Some(check_metrics),
    ),
    key("log", ValueKind::Text, "\"info\"", true, Some(check_log)),
];

/// The global key called `name`.
pub fn global_key(name: &str) -> Option<&'static GlobalKey> {
    GLOBAL_KEYS.iter().find(|k| k.name == name)
}
