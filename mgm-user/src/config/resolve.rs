//! The command line over the file: one [`RunConfig`], checked as a whole.
//!
//! Precedence, lowest first: the defaults; the file's global keys; for an interface, its
//! `[[interface]]` section; the command line's flags; for an interface, its `-i IF,key=value`.
//! A flag always wins over the file: a global IGMP flag wins over a file section's value too.
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use super::file::{At, FileConfig, GlobalValue, IgmpValue};
use super::{InterfaceConfig, RunConfig, StaticJoin, StaticRoute, DEFAULT_PATH};
use crate::cli::{RunArgs, DEFAULT_BPFFS, DEFAULT_SOCKET};
use crate::igmp::IgmpConfig;
use crate::settings::{apply_key, parse_interface_spec, InterfaceSpec, PROTOCOL_KEY};

/// The configuration `args` ask for: the file of `--config`, or the default file when it
/// exists, under the flags.
pub fn resolve(args: &RunArgs) -> Result<RunConfig> {
    let path = args.config.clone().or_else(|| {
        let default = PathBuf::from(DEFAULT_PATH);
        default.exists().then_some(default)
    });
    let file = path.map(|p| FileConfig::load(&p)).transpose()?;
    resolve_with(args, file.as_ref())
}

/// `mgm check-config FILE`: the file alone, as `mgm run --config FILE` would resolve it.
pub fn check_file(path: &Path) -> Result<RunConfig> {
    let file = FileConfig::load(path)?;
    resolve_with(&RunArgs::default(), Some(&file))
}

/// The flags of `args` over `file`.
pub fn resolve_with(args: &RunArgs, file: Option<&FileConfig>) -> Result<RunConfig> {
    let at = Locate { file };
    let text = |name: &str| match file.and_then(|f| f.global(name)).map(|v| &v.value) {
        Some(GlobalValue::Text(t)) => Some(t.clone()),
        _ => None,
    };
    let switch = |name: &str| {
        matches!(
            file.and_then(|f| f.global(name)).map(|v| &v.value),
            Some(GlobalValue::Switch(true))
        )
    };
    let number = |name: &str| match file.and_then(|f| f.global(name)).map(|v| &v.value) {
        Some(GlobalValue::Number(n)) => Some(*n),
        _ => None,
    };
    // Text values were checked when the file was read: these parses cannot fail.
    let handler_deadline = match (args.handler_deadline, text("handler-deadline")) {
        (Some(d), _) => d,
        (None, Some(t)) => crate::cli::parse_deadline(&t).map_err(|e| anyhow!(e))?,
        (None, None) => std::time::Duration::from_millis(100),
    };
    let mfc_reconcile_interval = match (args.mfc_reconcile_interval, text("mfc-reconcile-interval"))
    {
        (Some(d), _) => d,
        (None, Some(t)) => crate::cli::parse_reconcile_interval(&t).map_err(|e| anyhow!(e))?,
        (None, None) => {
            std::time::Duration::from_secs(crate::daemon::forwarding::DEFAULT_RECONCILE_INTERVAL_S)
        }
    };
    let metrics = match (args.metrics, text("metrics")) {
        (Some(m), _) => Some(m),
        (None, Some(t)) => Some(crate::cli::parse_metrics_addr(&t).map_err(|e| anyhow!(e))?),
        (None, None) => None,
    };
    let file_igmp = file.map_or(&[][..], |f| &f.igmp[..]);
    let mut global = IgmpConfig::default();
    apply_file(&mut global, file_igmp);
    apply_flags(&mut global, args)?;
    let mut cfg = RunConfig {
        file: file.map(|f| f.source.path.clone()),
        interfaces: Vec::new(),
        igmp: global,
        bpffs: args
            .bpffs
            .clone()
            .or(text("bpffs").map(PathBuf::from))
            .unwrap_or_else(|| DEFAULT_BPFFS.into()),
        socket: args
            .socket
            .socket
            .clone()
            .or(text("socket").map(PathBuf::from))
            .unwrap_or_else(|| DEFAULT_SOCKET.into()),
        socket_group: args.socket_group.clone().or(text("socket-group")),
        socket_read_group: args.socket_read_group.clone().or(text("socket-read-group")),
        no_fast_path: args.no_fast_path || switch("no-fast-path"),
        accept_off_link_reports: args.accept_off_link_reports || switch("accept-off-link-reports"),
        mroute_table: args.mroute_table.or(number("mroute-table")),
        upstream: args.upstream.clone().or(text("upstream")),
        forward_upstream: args.forward_upstream || switch("forward-upstream"),
        proxy_ssdp: args.proxy_ssdp || switch("proxy-ssdp"),
        handler_deadline,
        mfc_reconcile_interval,
        max_mfes: args
            .max_mfes
            .or(number("max-mfes"))
            .unwrap_or(crate::manager::DEFAULT_MAX_MFES as u32),
        metrics,
        log: args
            .log
            .clone()
            .or(text("log"))
            .unwrap_or_else(|| "info".into()),
        joins: file.map_or_else(Vec::new, |f| values(&f.joins)),
        routes: file.map_or_else(Vec::new, |f| values(&f.routes)),
    };
    cfg.interfaces = interfaces(args, file, file_igmp)?;
    check(&cfg, &at)?;
    Ok(cfg)
}

fn values<T: Clone>(list: &[At<T>]) -> Vec<T> {
    list.iter().map(|a| a.value.clone()).collect()
}

/// Applies the file's values (checked when read: they apply).
fn apply_file(cfg: &mut IgmpConfig, values: &[IgmpValue]) {
    for v in values {
        if let Err(e) = v.setting.apply(cfg, &v.text) {
            log::warn!("{}: {e}", v.key);
        }
    }
}

/// Applies the global IGMP flags; the error names the flag.
fn apply_flags(cfg: &mut IgmpConfig, args: &RunArgs) -> Result<()> {
    for (setting, text) in &args.igmp.values {
        setting
            .apply(cfg, text)
            .map_err(|e| anyhow!("--{}: {e}", setting.name))?;
    }
    Ok(())
}

/// The interfaces: the file's sections (with the `-i` of the same name over them), then the
/// other `-i` interfaces.
fn interfaces(
    args: &RunArgs,
    file: Option<&FileConfig>,
    file_igmp: &[IgmpValue],
) -> Result<Vec<InterfaceConfig>> {
    let specs = args
        .interfaces
        .iter()
        .map(|a| parse_interface_spec(a))
        .collect::<Result<Vec<_>>>()?;
    // An interface given twice with -i is refused by the preflight, naming it.
    let mut out = Vec::new();
    let from_file = file.map_or(&[][..], |f| &f.interfaces[..]);
    for fi in from_file {
        let name = &fi.name.value;
        let spec = specs.iter().find(|s| &s.name == name);
        let mut igmp = IgmpConfig::default();
        apply_file(&mut igmp, file_igmp);
        apply_file(&mut igmp, &fi.igmp);
        apply_flags(&mut igmp, args).with_context(|| format!("interface {name}"))?;
        let protocol = match spec {
            Some(s) => apply_spec(&mut igmp, s)?,
            None => None,
        }
        .or_else(|| fi.protocol.as_ref().map(|p| p.value.clone()));
        if let Err(e) = igmp.validate() {
            let f = file.map(|f| &f.source);
            let located = f.map(|s| {
                s.error(
                    Some(fi.name.at.clone()),
                    Some(&format!("interface {name}")),
                    e.to_string(),
                )
            });
            return Err(located.map_or_else(|| anyhow!("interface {name}: {e}"), Into::into));
        }
        out.push(InterfaceConfig {
            name: name.clone(),
            igmp,
            protocol,
        });
    }
    for spec in specs
        .iter()
        .filter(|s| !from_file.iter().any(|f| f.name.value == s.name))
    {
        let mut igmp = IgmpConfig::default();
        apply_file(&mut igmp, file_igmp);
        apply_flags(&mut igmp, args).with_context(|| format!("interface {}", spec.name))?;
        let protocol = apply_spec(&mut igmp, spec)?;
        igmp.validate()
            .with_context(|| format!("interface {}", spec.name))?;
        out.push(InterfaceConfig {
            name: spec.name.clone(),
            igmp,
            protocol,
        });
    }
    Ok(out)
}

/// Applies `-i IF,key=value`; returns its `protocol=`, checked.
fn apply_spec(cfg: &mut IgmpConfig, spec: &InterfaceSpec) -> Result<Option<String>> {
    let mut protocol = None;
    for (k, v) in &spec.overrides {
        if k == PROTOCOL_KEY {
            crate::daemon::check_protocol_name(v)
                .map_err(|e| anyhow!("interface {}: {e}", spec.name))?;
            protocol = Some(v.clone());
        } else {
            apply_key(cfg, k, v).with_context(|| format!("interface {}", spec.name))?;
        }
    }
    Ok(protocol)
}

/// Where an error of the resolved configuration is in the file, when it is there.
struct Locate<'a> {
    file: Option<&'a FileConfig>,
}

impl Locate<'_> {
    /// An error at `span` of the file (`None`: about the file as a whole) naming `key`, or a
    /// plain one when there is no file.
    fn error(
        &self,
        span: Option<std::ops::Range<usize>>,
        key: &str,
        message: String,
    ) -> anyhow::Error {
        match self.file {
            Some(f) => f.source.error(span, Some(key), message).into(),
            None => anyhow!(message),
        }
    }

    fn global_span(&self, name: &str) -> Option<std::ops::Range<usize>> {
        self.file.and_then(|f| f.global(name)).map(|v| v.at.clone())
    }

    fn interface_span(&self, name: &str) -> Option<std::ops::Range<usize>> {
        let f = self.file?;
        f.interfaces
            .iter()
            .find(|i| i.name.value == name)
            .map(|i| i.name.at.clone())
    }
}

/// Neither the command line nor the file names an interface: a usage error (`mgm run` exits
/// with status 2, which the systemd unit does not restart on).
#[derive(Debug)]
pub struct NoInterfaces {
    pub file: Option<PathBuf>,
}

impl std::fmt::Display for NoInterfaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = match &self.file {
            Some(p) => format!("{} has no [[interface]] section", p.display()),
            None => format!("no configuration file: --config FILE, or {DEFAULT_PATH}"),
        };
        write!(
            f,
            "no interface to manage: give -i/--interface IF (repeat for each), or [[interface]] \
             sections in the configuration file ({file})"
        )
    }
}

impl std::error::Error for NoInterfaces {}

/// Cross checks of the whole configuration.
fn check(cfg: &RunConfig, at: &Locate) -> Result<()> {
    if cfg.interfaces.is_empty() {
        return Err(NoInterfaces {
            file: cfg.file.clone(),
        }
        .into());
    }
    if let Some(up) = &cfg.upstream {
        if cfg.interfaces.iter().any(|i| &i.name == up) {
            let span = at.interface_span(up).or_else(|| at.global_span("upstream"));
            return Err(at.error(
                span,
                "upstream",
                format!("{up} is the upstream interface; list only the downstream interfaces (-i, [[interface]])"),
            ));
        }
    } else {
        for (flag, on) in [
            ("forward-upstream", cfg.forward_upstream),
            ("proxy-ssdp", cfg.proxy_ssdp),
        ] {
            if on {
                return Err(at.error(
                    at.global_span(flag),
                    flag,
                    format!(
                        "{flag} needs an upstream interface (--upstream IF, or upstream = \"IF\")"
                    ),
                ));
            }
        }
    }
    check_statics(cfg, at)?;
    crate::sys::bpf::MapSizes::for_limits(&cfg.igmp_configs())
        .map_err(|e| at.error(None, "limits", format!("{e:#}")))?;
    Ok(())
}

/// Static entries name interfaces mgm manages (or the upstream); no (S,G) routed twice.
fn check_statics(cfg: &RunConfig, at: &Locate) -> Result<()> {
    let known = |name: &str| {
        cfg.interfaces.iter().any(|i| i.name == name) || cfg.upstream.as_deref() == Some(name)
    };
    let unknown = |name: &str| {
        format!(
            "{name} is not an interface of this configuration (neither listed nor the upstream)"
        )
    };
    let file = at.file;
    let join_span = |k: usize| file.map(|f| f.joins[k].at.clone());
    let route_span = |k: usize| file.map(|f| f.routes[k].at.clone());
    for (k, j) in cfg.joins.iter().enumerate() {
        let StaticJoin { interface, .. } = j;
        if !known(interface) {
            return Err(at.error(join_span(k), "join.interface", unknown(interface)));
        }
    }
    for (k, r) in cfg.routes.iter().enumerate() {
        let StaticRoute {
            source,
            group,
            iif,
            oifs,
        } = r;
        if let Some(bad) = std::iter::once(iif).chain(oifs).find(|n| !known(n)) {
            let key = if bad == iif { "route.iif" } else { "route.oif" };
            return Err(at.error(route_span(k), key, unknown(bad)));
        }
        if cfg.routes[..k]
            .iter()
            .any(|o| (o.source, o.group) == (*source, *group))
        {
            return Err(at.error(
                route_span(k),
                "route",
                format!("the route of ({source}, {group}) is given twice"),
            ));
        }
    }
    Ok(())
}
