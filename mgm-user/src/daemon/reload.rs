//! Reloading the configuration file (SIGHUP, `mgm reload`): the file given at start is read
//! again under the original command line's flags, checked whole, diffed against what runs
//! ([`crate::config::plan`]), and only the difference is applied. A file that does not read,
//! check or diff (a key that needs a restart) is refused whole: nothing changes.
//!
//! Order: the file's static entries that went are removed; removed interfaces go down as a
//! deleted one does (IGMP stopped, memberships withdrawn from their owner, MFEs updated, VIF,
//! classifier link and map entries removed); changed interfaces get their new IGMP settings in
//! place (`IgmpInterface::reconfigure`: groups and streams stay); added interfaces are wanted
//! like awaited ones and come up at once when ready (the hotplug machinery); the new static
//! entries are added last. Unchanged interfaces are not touched.
use super::hotplug::Stop;
use super::state::Daemon;
use crate::cli::RunArgs;
use crate::config::{
    self, join_text, FileConfig, ReloadPlan, RunConfig, Shadowed, StaticJoin, StaticRoute,
};
use crate::control::api::handler::MfeKeyArgs;
use crate::control::api::{Reloaded, Request};
use crate::sys::bpf::MapSizes;
use crate::sys::link_watch::LinkChanges;
use crate::time::monotonic_ns;

/// What a reload starts from: the command line, the configuration running, the map sizes, the
/// file's values the command line overrides.
#[derive(Default)]
pub(crate) struct Reload {
    args: RunArgs,
    current: Option<RunConfig>,
    sizes: Option<MapSizes>,
    shadowed: Vec<Shadowed>,
}

impl Reload {
    /// The `[[join]]`s of the configuration running (none before the start is done).
    pub(crate) fn file_joins(&self) -> &[StaticJoin] {
        self.current.as_ref().map_or(&[], |c| &c.joins)
    }

    /// The `[[route]]`s of the configuration running.
    pub(crate) fn file_routes(&self) -> &[StaticRoute] {
        self.current.as_ref().map_or(&[], |c| &c.routes)
    }

    pub(crate) fn new(args: RunArgs, current: RunConfig, sizes: MapSizes) -> Self {
        // The file as it is now (read again: the start's reading is not kept).
        let file = current
            .file
            .as_deref()
            .and_then(|p| FileConfig::load(p).ok());
        let shadowed = file.map_or_else(Vec::new, |f| config::shadowed(&args, &f));
        Reload {
            args,
            current: Some(current),
            sizes: Some(sizes),
            shadowed,
        }
    }
}

impl Daemon {
    /// SIGHUP: reload, logging the outcome.
    pub(crate) fn on_sighup(&mut self) {
        let now = match monotonic_ns() {
            Ok(n) => n,
            Err(e) => return log::error!("SIGHUP: {e:#}"),
        };
        if self
            .reload
            .current
            .as_ref()
            .is_some_and(|c| c.file.is_none())
        {
            return log::info!(
                "SIGHUP: nothing to reload: mgm runs from its command line alone (no \
                 configuration file); still running"
            );
        }
        match self.reload_config(now) {
            Ok(r) if r.changes.is_empty() => {
                log::info!("SIGHUP: {} re-read: nothing changed", r.file)
            }
            Ok(r) => log::info!("SIGHUP: {} re-read and applied", r.file),
            Err(e) => log::error!("SIGHUP: reload refused, the running state stays: {e}"),
        }
    }

    /// Re-reads the configuration file and applies the difference; the error (nothing
    /// changed) names the file, line and key at fault.
    pub(crate) fn reload_config(&mut self, now: u64) -> Result<Reloaded, String> {
        let Some(old) = self.reload.current.as_ref() else {
            return Err("nothing to reload: the daemon is not running yet".into());
        };
        let args = &self.reload.args;
        let Some(file) = old.file.clone() else {
            return Err(format!(
                "nothing to reload: mgm runs from its command line alone (start it with \
                 --config FILE, or write {})",
                config::DEFAULT_PATH
            ));
        };
        // The file of the start, even if --config was absent and the default appeared since.
        let mut args = args.clone();
        args.config = Some(file.clone());
        let read = FileConfig::load(&file).map_err(|e| e.to_string())?;
        let new = config::resolve_with(&args, Some(&read)).map_err(|e| format!("{e:#}"))?;
        let plan = config::plan(old, &new)?;
        let shadowed = config::shadowed(&args, &read);
        let mut warnings = config::unapplied(&self.reload.shadowed, &shadowed);
        warnings.extend(self.size_warning(&new));
        warnings.extend(self.apply_plan(&plan, now));
        self.reload.shadowed = shadowed;
        for line in &plan.lines {
            log::info!("reload: {line}");
        }
        for w in &warnings {
            log::warn!("reload: {w}");
        }
        self.reload.current = Some(new);
        Ok(Reloaded {
            file: file.display().to_string(),
            changes: plan.lines,
            warnings,
        })
    }

    /// The membership maps were sized at start: limits past them hold until the maps are full
    /// (the kernel then refuses writes, counted as map errors) until a restart sizes them anew.
    fn size_warning(&self, new: &RunConfig) -> Vec<String> {
        let (Some(had), Ok(need)) = (self.reload.sizes, MapSizes::for_limits(&new.igmp_configs()))
        else {
            return Vec::new();
        };
        if need.members <= had.members && need.sources <= had.sources {
            return Vec::new();
        }
        vec![format!(
            "the limits now allow {} groups and {} sources in all, the maps sized at start hold \
             {} and {}: past that, reports take the slow path until a restart",
            need.members, need.sources, had.members, had.sources
        )]
    }

    /// Carries out `plan`; returns what could not be applied.
    fn apply_plan(&mut self, plan: &ReloadPlan, now: u64) -> Vec<String> {
        let mut warnings = Vec::new();
        // First, so that the rest of the reload logs at the new level.
        if let Some(spec) = &plan.log {
            if let Err(e) = crate::logging::set_level(spec) {
                warnings.push(format!("log: {e}"));
            }
        }
        for j in &plan.joins_removed {
            warnings.extend(self.file_join(j, false, now));
        }
        for r in &plan.routes_removed {
            let key = MfeKeyArgs {
                source: r.source,
                group: r.group,
            };
            warnings.extend(self.file_static(&Request::StaticRouteDel(key), now));
        }
        for name in &plan.removed {
            self.hotplug.unlist(name);
            if let Some((ifindex, _)) = self.igmp.managed().into_iter().find(|(_, n)| n == name) {
                self.drop_interface(ifindex, Stop::Unlisted, now);
            }
            self.fwd.set_reserved(name, None);
        }
        for c in &plan.changed {
            self.hotplug.want(&c.name, &c.igmp);
            let managed = self.igmp.managed().into_iter().find(|(_, n)| *n == c.name);
            if let Some((ifindex, _)) = managed {
                let actions = self.igmp.reconfigure(ifindex, &c.igmp, &self.maps, now);
                self.apply(actions, now);
            }
        }
        for a in &plan.added {
            self.fwd.set_reserved(&a.name, a.protocol.as_deref());
            self.hotplug.want(&a.name, &a.igmp);
        }
        if !plan.added.is_empty() {
            // Added interfaces come up now when they are ready, else when they are.
            let changes = LinkChanges {
                removed: Vec::new(),
                changed: true,
            };
            self.on_links(changes, now);
        }
        warnings.extend(self.add_file_statics(&plan.joins_added, &plan.routes_added, now));
        if let Some(n) = plan.max_mfes {
            self.fwd.manager().set_max_mfes(n as usize);
        }
        if let Some(d) = plan.mfc_reconcile_interval {
            // The next comparison one new interval from now (a round under way finishes).
            let every = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            self.fwd.set_reconcile_interval(every, now);
        }
        if let Some(d) = plan.handler_deadline {
            self.handlers
                .set_deadline_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        }
        self.publish(Vec::new());
        warnings
    }

    /// The file's static entries, as `mgm join` and `mgm route add` would add them; returns
    /// (and logs) the ones refused, and the joins that wait for their interface (made when it
    /// is managed: [`Daemon::make_waiting_file_joins`]).
    pub(crate) fn add_file_statics(
        &mut self,
        joins: &[StaticJoin],
        routes: &[StaticRoute],
        now: u64,
    ) -> Vec<String> {
        let mut refused = Vec::new();
        for j in joins {
            if self.fwd.names().index_of(&j.interface).is_none() {
                let w = format!(
                    "static join {} waits for {}: not managed now, made when it is",
                    join_text(j),
                    j.interface
                );
                log::info!("configuration file: {w}");
                refused.push(w);
                continue;
            }
            if let Some(w) = self.file_join(j, true, now) {
                log::warn!("configuration file: {w}");
                refused.push(w);
            }
        }
        for r in routes {
            let args = super::handlers::route_args(r);
            if let Some(w) = self.file_static(&Request::StaticRouteAdd(args), now) {
                log::warn!("configuration file: {w}");
                refused.push(w);
            }
        }
        refused
    }

    /// Adds or deletes one of the file's joins; deleting one that waits for its interface
    /// (never made) is nothing to do.
    fn file_join(&mut self, j: &StaticJoin, add: bool, now: u64) -> Option<String> {
        if !add && self.fwd.names().index_of(&j.interface).is_none() {
            return None;
        }
        let args = super::handlers::join_args(j);
        let request = if add {
            Request::StaticJoin(args)
        } else {
            Request::StaticLeave(args)
        };
        self.file_static(&request, now)
    }

    /// One static request of the file: `None` when done, else why not.
    fn file_static(&mut self, request: &Request, now: u64) -> Option<String> {
        self.static_request(request, now)
            .err()
            .map(|e| format!("{}: {e}", request.command()))
    }
}
