//! The `mgm` command line.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

use crate::settings::IgmpArgs;

pub const DEFAULT_SOCKET: &str = "/run/mgm/mgm.sock";
pub const DEFAULT_BPFFS: &str = "/sys/fs/bpf/mgm";

#[derive(Parser, Debug)]
#[command(
    name = "mgm",
    version,
    about = "Multicast group manager for Linux routers: IGMP router side on eBPF, protocol \
             callbacks, kernel multicast forwarding",
    long_about = "mgm learns from IGMP which groups have receivers on which interfaces (an eBPF \
                  TC classifier captures IGMP; the daemon runs the RFC 2236/3376 router side), \
                  tells the multicast routing protocol that owns each interface through callbacks, \
                  and keeps the kernel multicast forwarding cache in step.\n\n\
                  Start the daemon with `mgm run -i IF [-i IF ...]` (root, or CAP_BPF, \
                  CAP_PERFMON, CAP_NET_ADMIN and CAP_NET_RAW; Linux >= 6.6). Inspect it with `mgm show ...` and `mgm events`, \
                  and the kernel maps with `bpftool map dump pinned /sys/fs/bpf/mgm/MGM_MEMBERS`."
)]
pub struct Cli {
    /// Log level of the daemon (`mgm run`; the other commands do not log): error, warn, info,
    /// debug, trace or off, optionally followed by TARGET=LEVEL directives after commas
    /// (`debug,aya=warn`); RUST_LOG, when set, wins, and this flag wins over the configuration
    /// file's `log` [default: info].
    #[arg(
        long,
        global = true,
        env = "MGM_LOG",
        value_name = "LEVEL",
        value_parser = log_spec
    )]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once at start
pub enum Command {
    /// Run the daemon on the given interfaces until SIGINT or SIGTERM (SIGHUP re-reads the
    /// configuration file).
    Run(RunArgs),
    /// Check a configuration file (the default one when FILE is absent) as `mgm run` reads it:
    /// prints `FILE: ok (...)`, or the error with its line, column and key, and exits 1.
    CheckConfig(CheckConfigArgs),
    /// Make the running daemon re-read its configuration file and apply the difference (as
    /// SIGHUP does); prints what changed, or the error (the running state then stays).
    Reload(ReloadArgs),
    /// Show the daemon's state.
    Show(ShowArgs),
    /// Stream the daemon's events (one line, or one JSON object, per event) until interrupted.
    Events(EventsArgs),
    /// Register with the running daemon as an external routing protocol, take interfaces, and
    /// print every callback it receives until interrupted (a tool and a living example of the
    /// handler protocol, docs/handler-protocol.md).
    Handler(HandlerArgs),
    /// Add a static membership: IF forwards G (from S only, with -s) as if a host there had
    /// joined and never leaves (the built-in protocol `static`).
    Join(StaticJoinArgs),
    /// Remove a static membership added with `mgm join`.
    Leave(StaticJoinArgs),
    /// Add or delete a static multicast route (S,G) from one interface to others, installed at
    /// once and never aging (the built-in protocol `static`).
    Route(RouteArgs),
}

#[derive(Args, Debug)]
pub struct CheckConfigArgs {
    /// The configuration file [default: /etc/mgm/mgm.toml].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReloadArgs {
    /// Print the daemon's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub socket: SocketArg,
}

#[derive(Args, Debug)]
pub struct HandlerArgs {
    /// The protocol name to register under (interfaces given with `-i IF,protocol=NAME` to
    /// `mgm run` are taken at once).
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Interface to take besides the reserved ones (repeat for each).
    #[arg(long, value_name = "IF")]
    pub take: Vec<String>,
    /// How to answer RPF: `fib` accepts the FIB's incoming interface; an interface name makes
    /// it the incoming interface.
    #[arg(long, value_name = "fib|IF", default_value = "fib")]
    pub rpf: String,
    /// Veto forwarding out of this interface in creation alerts (repeat for each).
    #[arg(long, value_name = "IF")]
    pub veto: Vec<String>,
    /// Register as an IGMP implementation (takes the IGMP role where mgm's own does not run)
    /// instead of a routing protocol.
    #[arg(long)]
    pub igmp: bool,
    /// Only print and answer callbacks; by default the handler also forwards to the receivers
    /// on its interfaces as `local` does (each local join becomes its membership).
    #[arg(long)]
    pub passive: bool,
    /// Print one JSON object per callback (the protocol's callback line).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub socket: SocketArg,
}

#[derive(Args, Debug)]
pub struct StaticJoinArgs {
    /// The interface that gets the static receiver.
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    pub interface: String,
    /// The group.
    #[arg(short = 'g', long, value_name = "G")]
    pub group: std::net::Ipv4Addr,
    /// Only this source (an (S,G) join); every source when absent.
    #[arg(short = 's', long, value_name = "S")]
    pub source: Option<std::net::Ipv4Addr>,
    #[command(flatten)]
    pub socket: SocketArg,
}

#[derive(Args, Debug)]
pub struct RouteArgs {
    #[command(subcommand)]
    pub action: RouteAction,
}

#[derive(Subcommand, Debug)]
pub enum RouteAction {
    /// Add (or replace) the route.
    Add(RouteSpec),
    /// Delete the route of (S,G).
    Del(RouteKey),
}

#[derive(Args, Debug)]
pub struct RouteSpec {
    #[command(flatten)]
    pub key: RouteKey,
    /// The incoming interface.
    #[arg(long, value_name = "IF")]
    pub iif: String,
    /// An outgoing interface (repeat for each).
    #[arg(long, value_name = "IF", required = true)]
    pub oif: Vec<String>,
}

/// The (S,G) a static route is for, and the daemon's socket.
#[derive(Args, Debug)]
pub struct RouteKey {
    /// The source of the (S,G) route.
    #[arg(long, value_name = "S")]
    pub source: std::net::Ipv4Addr,
    /// The group of the (S,G) route.
    #[arg(long, value_name = "G")]
    pub group: std::net::Ipv4Addr,
    #[command(flatten)]
    pub socket: SocketArg,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Interface to manage (repeat for each): the classifier attaches to it and IGMP runs on it.
    /// IGMP settings for this interface alone may follow after commas, named like the flags
    /// below without the leading dashes, e.g. `-i eth1,igmp-version=2,query-interval=60s`;
    /// prefixes are joined by `+`: `-i eth1,allow-groups=239.1.0.0/16+232.0.0.0/8`.
    /// `protocol=NAME` leaves the interface to the external handler that registers as NAME
    /// (`mgm handler`, docs/handler-protocol.md) instead of the built-in `local`; until it
    /// registers, IGMP runs there and keeps the memberships for its replay. With a
    /// configuration file, `-i` overrides or extends the file's `[[interface]]` sections.
    #[arg(short = 'i', long = "interface", value_name = "IF[,KEY=VALUE...]")]
    pub interfaces: Vec<String>,
    /// Configuration file (TOML, mgm.toml(5)); /etc/mgm/mgm.toml is read when this is absent
    /// and that file exists. Flags win over the file; SIGHUP and `mgm reload` re-read it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// bpffs directory where the maps are pinned (created if missing; must be on a bpf filesystem;
    /// one daemon per directory: a second one is refused) [default: /sys/fs/bpf/mgm].
    #[arg(long, value_name = "DIR")]
    pub bpffs: Option<PathBuf>,
    #[command(flatten)]
    pub socket: SocketArg,
    /// Group (name or gid) whose members may use the control socket besides its owner, with
    /// the owner's rights: show and events, and also join, route, reload and handler
    /// registration. The daemon's own group when absent.
    #[arg(long, value_name = "GROUP")]
    pub socket_group: Option<String>,
    /// Group (name or gid) whose members may read the state (`mgm show`, `mgm events`, the
    /// handler protocol's `get_*` requests) but change nothing (a NOC, a monitoring user). With it the socket file is open to all
    /// (mode 0666) and the daemon refuses, at connect, whoever is not root, its user or in one
    /// of the two groups; without it the file's mode (0660) lets in only the socket's group.
    #[arg(long, value_name = "GROUP")]
    pub socket_read_group: Option<String>,
    /// Send every IGMP report to the daemon instead of refreshing known memberships in the
    /// kernel (for diagnosis, and to measure what the fast path saves).
    #[arg(long)]
    pub no_fast_path: bool,
    /// Accept IGMP reports whose source is not on the interface's subnets (by default they are
    /// ignored and counted, RFC 2236 §9 / RFC 3376 §9; 0.0.0.0 is always accepted).
    #[arg(long)]
    pub accept_off_link_reports: bool,
    /// Kernel multicast routing table to use (MRT_TABLE); the main table when absent.
    #[arg(long, value_name = "ID")]
    pub mroute_table: Option<u32>,
    /// Act as an IGMP proxy (RFC 4605) for a gateway: IF is the upstream interface, where mgm
    /// reports as a host the union of what the `-i` (downstream) interfaces want and answers the
    /// upstream querier; no IGMP router runs there. Traffic from upstream goes to the downstream
    /// interfaces with members (the built-in protocol `proxy` instead of `local`).
    #[arg(long, value_name = "IF")]
    pub upstream: Option<String>,
    /// With --upstream: traffic of sources on downstream links goes upstream too (and, as
    /// always, to the other downstream links with members).
    #[arg(long)]
    pub forward_upstream: bool,
    /// With --upstream: proxy SSDP's group 239.255.255.250 too (local discovery, not proxied
    /// by default; link-local groups 224.0.0.0/24 never are).
    #[arg(long)]
    pub proxy_ssdp: bool,
    /// How long an external handler has to answer an RPF, creation-alert or prune-alert
    /// callback before mgm takes the default (and counts a timeout). Meanwhile the kernel keeps
    /// only the stream's first 4 packets and drops the rest, so keep it short [default: 100ms].
    #[arg(long, value_name = "D", value_parser = parse_deadline)]
    pub handler_deadline: Option<std::time::Duration>,
    /// How often the kernel's multicast forwarding cache is compared with mgm's entries and
    /// repaired: an entry missing or different is installed again as mgm has it, one mgm does
    /// not have (on its table) is deleted; each repair is logged and counted (`mfc_repairs`).
    /// `0` turns the comparison off; a reload applies a new value [default: 60s].
    #[arg(long, value_name = "D", value_parser = parse_reconcile_interval)]
    pub mfc_reconcile_interval: Option<std::time::Duration>,
    /// Most forwarding entries (MFEs) before a new one that would forward nothing (nobody wants
    /// it, or its packet came on another interface than the route to its source) is refused:
    /// the kernel drops its packets, counted in daemon_mfes_refused. Entries with receivers are
    /// made past it, up to 4 times it (daemon_wanted_mfes_refused). 0: no bound
    /// [default: 16384].
    #[arg(long, value_name = "N")]
    pub max_mfes: Option<u32>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. `127.0.0.1:9578`,
    /// `[::1]:9578`, or `0.0.0.0:9578` for every address); no listener when absent. Anyone who can connect can
    /// read them: prefer a loopback or management address.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_metrics_addr)]
    pub metrics: Option<std::net::SocketAddr>,
    // IGMP settings for every interface: the flags come from the table in `settings`. Last:
    // clap files every flag after it under its help heading.
    #[command(flatten)]
    pub igmp: IgmpArgs,
    /// The global `--log` (or MGM_LOG), which wins over the file's `log`; set by `main`.
    #[arg(skip)]
    pub log: Option<String>,
}

/// `--handler-deadline`: a duration from 1 ms to 10 s.
pub fn parse_deadline(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::settings::parse_duration_text(text)?;
    if d < std::time::Duration::from_millis(1) || d > std::time::Duration::from_secs(10) {
        return Err(format!("{text}: the deadline must be from 1ms to 10s"));
    }
    Ok(d)
}

/// `--mfc-reconcile-interval`: 0 (off), or from 1 s to 1 day.
pub fn parse_reconcile_interval(text: &str) -> Result<std::time::Duration, String> {
    if text.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let d = crate::settings::parse_duration_text(text)?;
    if !d.is_zero()
        && (d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(86_400))
    {
        return Err(format!(
            "{text}: the interval must be 0 (off) or from 1s to 24h"
        ));
    }
    Ok(d)
}

/// The port mgm's documentation suggests for `--metrics` (nothing listens unless asked).
pub const METRICS_PORT: u16 = 9578;

/// `--metrics`: an IP address and a port other than 0.
pub fn parse_metrics_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = text.parse().map_err(|_| {
        format!(
            "'{text}' is not ADDR:PORT: an IP address and a port, e.g. 127.0.0.1:{METRICS_PORT} \
             or [::1]:{METRICS_PORT}"
        )
    })?;
    if addr.port() == 0 {
        return Err(format!(
            "'{text}': port 0 would listen on a port nobody knows; give one, e.g. {}:{METRICS_PORT}",
            addr.ip()
        ));
    }
    Ok(addr)
}

/// `--socket`, defined once for every command: the daemon creates the control socket, the
/// clients connect to it, so one path (and one default) serves both.
#[derive(Args, Debug, Clone, Default)]
pub struct SocketArg {
    /// Control socket: `mgm run` creates it (mode 0660, 0666 with --socket-read-group; a file
    /// already there is replaced only if it is a stale socket), the other commands connect to
    /// it. When this is absent, every command takes the `socket` key of /etc/mgm/mgm.toml
    /// (`mgm run`: of its --config file) [default: /run/mgm/mgm.sock].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

impl SocketArg {
    /// Where a client connects: the path given, else the `socket` key of the default
    /// configuration file (the daemon started from it listens there), else the default.
    pub fn path(&self) -> PathBuf {
        self.path_with_file(Path::new(crate::config::DEFAULT_PATH))
    }

    /// [`Self::path`], with `file` as the configuration file.
    pub fn path_with_file(&self, file: &Path) -> PathBuf {
        if let Some(p) = &self.socket {
            return p.clone();
        }
        crate::config::socket_key(file).unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
    }
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// What to show.
    #[arg(value_enum)]
    pub what: ShowWhat,
    /// Print JSON instead of a table: an array of objects with snake_case keys (`stats`: one
    /// object, counter name → value, with an `interfaces` array of per-interface counters;
    /// `upstream`: one object, or null without --upstream).
    #[arg(long)]
    pub json: bool,
    /// `groups` only: the groups of this interface.
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// `groups` only: the groups in this prefix (a.b.c.d/len), or this one group (a.b.c.d).
    #[arg(long, value_name = "PREFIX")]
    pub group: Option<crate::igmp::Prefix>,
    #[command(flatten)]
    pub socket: SocketArg,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowWhat {
    /// Every listed interface and the upstream, attached or awaited (and for what): link state,
    /// querier, version, timers (QI/QRI/LMQI x LMQC, RV), groups, refusals, waiting statics.
    Interfaces,
    /// Groups per interface: filter mode, timers, compatibility, sources.
    Groups,
    /// Classifier counters (accepted messages by type, ignored packets by reason), the daemon's
    /// counters, and per interface groups, sources, hosts, refusals, queries and packets.
    Stats,
    /// Multicast forwarding entries: (S,G), incoming and outgoing interfaces, counters, expiry.
    Mfe,
    /// Registered protocols and the interfaces they own.
    Protocols,
    /// The IGMP proxy's upstream interface: version spoken, groups reported (with --upstream).
    Upstream,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub socket: SocketArg,
}

/// The packaging helpers `mgm generate-man DIR` and `mgm generate-completions SHELL` (`cargo
/// xtask dist`), parsed apart from [`Cli`] so that no help, manual page or completion script
/// shows them (clap_complete lists even hidden subcommands).
#[derive(Parser, Debug)]
#[command(name = "mgm")]
pub struct GenerateCli {
    #[command(subcommand)]
    pub what: Generate,
}

#[derive(Subcommand, Debug)]
pub enum Generate {
    /// Write the manual pages, mgm.8 and one per subcommand (mgm-run.8, ...), into DIR.
    GenerateMan {
        /// Directory to write the pages into (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print the completion script for SHELL on stdout.
    GenerateCompletions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

impl GenerateCli {
    /// Whether the command line (`args`, the program name first) asks for a packaging helper.
    pub fn requested(args: &[std::ffi::OsString]) -> bool {
        args.get(1)
            .and_then(|a| a.to_str())
            .is_some_and(|a| matches!(a, "generate-man" | "generate-completions"))
    }
}

const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks a log specification in env_logger's syntax (`LEVEL`, `TARGET=LEVEL`, comma-separated,
/// optionally `/FILTER`). env_logger would take a lone unknown word as a target name and log
/// nothing else, so a lone word must be a level here.
pub fn log_spec(spec: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "bad log level '{spec}' ({why}): use {}, optionally with TARGET=LEVEL directives \
             after commas, e.g. debug,aya=warn",
            LOG_LEVELS.join(", ")
        )
    };
    let directives = spec.split_once('/').map_or(spec, |(d, _)| d);
    let mut any = false;
    for d in directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        any = true;
        let (target, level) = match d.split_once('=') {
            Some((t, l)) => (Some(t.trim()), l.trim()),
            None => (None, d),
        };
        if let Some(t) = target {
            let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-');
            if t.is_empty() || !t.chars().all(ok) {
                return Err(bad(&format!("'{t}' is not a target")));
            }
        }
        if !LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            return Err(bad(&format!("'{level}' is not a level")));
        }
    }
    if !any {
        return Err(bad("empty"));
    }
    Ok(spec.to_string())
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
