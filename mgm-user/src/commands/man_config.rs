//! mgm.toml(5), written by `mgm generate-man` with the other pages: every key from the tables
//! that define them (the IGMP settings of `settings::SETTINGS`, the global keys of
//! `config::GLOBAL_KEYS` with the help of their flag from the clap definitions), so the page
//! cannot miss a key the daemon reads.
use crate::cli::Cli;
use crate::config::{ValueKind, GLOBAL_KEYS};
use crate::settings::{Kind, SETTINGS};
use clap::CommandFactory;

/// The example of the page (tested to resolve).
pub const EXAMPLE: &str = r#"# Every interface: IGMPv3, shorter queries.
igmp-version = 3
query-interval = "60s"
deny-groups = ["239.255.255.250"]
socket-group = "netdev"

[[interface]]
name = "lan0"

[[interface]]
name = "lan1"
quick-leave = true
max-groups = 256

[[interface]]
name = "pim0"
protocol = "pimd"

[[join]]
interface = "lan0"
group = "239.1.1.1"

[[route]]
source = "192.0.2.10"
group = "239.2.2.2"
iif = "lan0"
oif = ["lan1"]
"#;

/// Escapes text for roff: backslashes and dashes, and a leading dot or quote.
fn esc(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

/// The help of flag `--name`: of `mgm run`, or the global one (`--log`).
fn flag_help(name: &str) -> String {
    let cli = Cli::command();
    let mut args: Vec<clap::Arg> = cli.get_arguments().cloned().collect();
    if let Some(run) = cli.find_subcommand("run") {
        args.extend(run.get_arguments().cloned());
    }
    let help = args
        .iter()
        .filter(|a| a.get_long() == Some(name))
        .find_map(|a| a.get_long_help().or(a.get_help()).map(|h| h.to_string()))
        .unwrap_or_default();
    help
}

/// How an IGMP key's value is written.
fn igmp_form(kind: &Kind) -> &'static str {
    match kind {
        Kind::Duration { .. } => "\"DURATION\" (125s, 100ms, 1m30s, 1.5s)",
        Kind::Version { .. } => "1 | 2 | 3",
        Kind::Byte { .. } | Kind::Count { .. } => "INTEGER",
        Kind::OlderQuerier { .. } => "\"warn\" | \"follow\"",
        Kind::Switch { .. } => "true | false",
        Kind::Prefixes { .. } => "[\"PREFIX\", ...] or \"PREFIX+PREFIX\"",
    }
}

/// The page's roff source.
pub fn page() -> String {
    let mut p = format!(
        ".TH MGM.TOML 5 \"\" \"mgm {}\" \"mgm\"\n.SH NAME\nmgm.toml \\- configuration file of mgm(8)\n",
        env!("CARGO_PKG_VERSION")
    );
    p.push_str(INTRO);
    p.push_str(".SH GLOBAL KEYS\nAt the top of the file. Each is the flag of \\fBmgm run\\fR of the same name.\n");
    for k in GLOBAL_KEYS {
        let form = match k.kind {
            ValueKind::Switch => "true | false",
            ValueKind::Number => "INTEGER",
            ValueKind::Text => "\"TEXT\"",
        };
        p.push_str(&format!(
            ".TP\n\\fB{}\\fR = {} (e.g. {})\n{}{}\n",
            esc(k.name),
            esc(form),
            esc(k.example),
            esc(&flag_help(k.name)),
            if k.reloadable {
                ""
            } else {
                " Needs a restart to change."
            }
        ));
    }
    p.push_str(".SH IGMP KEYS\nAt the top of the file for every interface, or in an \\fB[[interface]]\\fR section for that one. Each is the flag of \\fBmgm run\\fR of the same name, and the key of \\fB\\-i IF,key=value\\fR.\n");
    for s in SETTINGS {
        let aliases = if s.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also: {})", s.aliases.join(", "))
        };
        p.push_str(&format!(
            ".TP\n\\fB{}\\fR = {}{}\n{} [default: {}]\n",
            esc(s.name),
            esc(igmp_form(&s.kind)),
            esc(&aliases),
            esc(s.help),
            esc(&s.default_text())
        ));
    }
    p.push_str(SECTIONS);
    p.push_str(".SH EXAMPLE\n.nf\n");
    for line in EXAMPLE.lines() {
        p.push_str(&esc(line));
        p.push('\n');
    }
    p.push_str(".fi\n.SH SEE ALSO\n\\fBmgm\\fR(8), \\fBmgm\\-run\\fR(8), \\fBmgm\\-check\\-config\\fR(8), \\fBmgm\\-reload\\fR(8)\n");
    p
}

const INTRO: &str = r#".SH SYNOPSIS
/etc/mgm/mgm.toml
.SH DESCRIPTION
The configuration of \fBmgm run\fR in TOML: global keys, IGMP settings for every interface,
one \fB[[interface]]\fR section per managed interface, static memberships (\fB[[join]]\fR) and
static routes (\fB[[route]]\fR). \fBmgm run \-\-config FILE\fR reads FILE; without
\fB\-\-config\fR, /etc/mgm/mgm.toml is read when it exists. Unknown keys are errors, and every
error names the file, line, column and key. \fBmgm check\-config FILE\fR checks a file as
\fBmgm run\fR reads it.
.PP
Flags win over the file: a flag given on the command line replaces the key of the same name;
\fB\-i IF,key=value\fR overrides that interface's section, and an \fB\-i\fR for an interface
the file does not list adds it. For an interface, the lowest first: the defaults, the file's
top-level IGMP keys, its section, the global IGMP flags, its \fB\-i\fR keys.
.PP
SIGHUP and \fBmgm reload\fR re-read the file (under the flags of the original command line)
and apply the difference: added interfaces come up, removed ones go down, changed IGMP
settings apply to the running routers, the file's static entries are diffed (entries made
with \fBmgm join\fR or \fBmgm route\fR at run time stay). Unchanged interfaces keep their
groups and streams. A file that does not check is refused whole and nothing changes; so is a
change of a key that needs a restart, named in the error. A changed value that a flag of the
command line overrides is not applied; the reload warns, naming the key and the flag.
"#;

const SECTIONS: &str = r#".SH [[interface]]
.TP
\fBname\fR = "IF"
The interface (required; once per file).
.TP
\fBprotocol\fR = "NAME"
Leave the interface to the external handler that registers as NAME (\fBmgm handler\fR)
instead of the built-in \fIlocal\fR.
.PP
And any IGMP key, for this interface alone.
.SH [[join]]
A static membership, as \fBmgm join\fR: \fBinterface\fR = "IF", \fBgroup\fR = "G",
optionally \fBsource\fR = "S". IF must be a listed interface or the upstream. While IF is
not managed (not there yet, without an IPv4 address, deleted) the join waits for it
(\fBmgm show interfaces\fR lists it) and is made when IF is managed again.
.SH [[route]]
A static route, as \fBmgm route add\fR: \fBsource\fR = "S", \fBgroup\fR = "G",
\fBiif\fR = "IF", \fBoif\fR = ["IF", ...].
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_key_and_its_example_resolves() {
        let page = page();
        for s in SETTINGS {
            assert!(
                page.contains(&format!("\\fB{}\\fR", esc(s.name))),
                "{}",
                s.name
            );
        }
        for k in GLOBAL_KEYS {
            assert!(
                page.contains(&format!("\\fB{}\\fR", esc(k.name))),
                "{}",
                k.name
            );
            assert!(!flag_help(k.name).is_empty(), "no help for {}", k.name);
        }
        let file =
            crate::config::FileConfig::parse(std::path::Path::new("example"), EXAMPLE.to_string())
                .unwrap();
        let c = crate::config::resolve_with(&crate::cli::RunArgs::default(), Some(&file)).unwrap();
        assert_eq!(c.interfaces.len(), 3);
    }
}
