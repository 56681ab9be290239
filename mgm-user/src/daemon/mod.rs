//! `mgm run`: the daemon. One tokio task owns all state and reacts to four inputs: classifier
//! events (ring buffer), control-socket queries, the next protocol deadline, and signals.
//! Protocol logic lives in pure modules; this is the shell that feeds them and applies their
//! actions to the kernel.
pub mod forward_shell;
pub mod hotplug;
pub mod igmp_shell;
pub mod link_watch;
pub mod preflight;
pub mod query_sender;
pub mod settings;

use crate::bpf::Classifier;
use crate::cli::RunArgs;
use crate::control::protocol::{Request, Response};
use crate::control::server::{ControlServer, Query};
use crate::time::monotonic_ns;
use anyhow::{Context, Result};
use aya::maps::{MapData, RingBuf};
use forward_shell::ForwardShell;
use igmp_shell::IgmpShell;
use mgm_common::IgmpEvent;
use std::os::fd::{AsRawFd, RawFd};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{broadcast, mpsc};

/// Runs the daemon until SIGINT/SIGTERM. Every failure before the loop starts leaves nothing
/// attached (the classifier detaches on drop).
pub async fn run(args: RunArgs) -> Result<()> {
    let configs = settings::interface_configs(&args)?;
    preflight::check_privilege()?;
    preflight::check_tcx()?;
    let names: Vec<String> = configs.iter().map(|(n, _)| n.clone()).collect();
    let interfaces = preflight::resolve_interfaces(&names)?;
    preflight::check_bpffs(&args.bpffs)?;
    let control = ControlServer::bind(&args.socket)?;

    // The mroute socket first: if another router owns the table, fail before touching anything.
    let mut fwd = ForwardShell::start(&interfaces, args.mroute_table, monotonic_ns()?)?;
    let mut classifier = Classifier::load(&args.bpffs)?;
    let mut bpf_logger = classifier.start_logger();
    let (mut maps, events) = classifier.take_maps()?;
    for iface in &interfaces {
        classifier.attach(&iface.name)?;
    }
    let (event_tx, _) = broadcast::channel::<String>(4096);
    let now = monotonic_ns()?;
    let mut hotplug = hotplug::Hotplug::new(configs.clone());
    let with_config: Vec<_> = interfaces
        .iter()
        .cloned()
        .zip(configs.into_iter().map(|(_, c)| c))
        .collect();
    let managed: Vec<u32> = interfaces.iter().map(|i| i.ifindex).collect();
    let stale = maps.retain_interfaces(&managed)?;
    if stale > 0 {
        log::info!("removed {stale} pinned map entries of interfaces this run does not manage");
    }
    let (mut igmp, out) = IgmpShell::start(
        &with_config,
        &mut maps,
        now,
        args.no_fast_path,
        args.accept_off_link_reports,
    )?;
    fwd.on_deltas(&out.deltas, &igmp, now);
    publish(&mut fwd, out, &event_tx);
    log::info!(
        "managing {} (maps pinned in {}, control socket {})",
        interfaces
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        args.bpffs.display(),
        control.path().display()
    );

    let (query_tx, mut query_rx) = mpsc::channel::<Query>(64);
    let server = tokio::spawn(control.serve(query_tx, event_tx.clone()));
    let mut ring = watch_readable(events).context("registering the event ring buffer")?;
    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut logs = bpf_logger.take().and_then(|l| watch_readable(l).ok());
    let upcalls = watch_readable(FdRef(std::os::fd::AsFd::as_fd(fwd.socket()).as_raw_fd()))
        .context("registering the mroute socket")?;
    let mut links =
        watch_readable(link_watch::LinkWatch::open()?).context("registering the link watch")?;

    // Errors inside the loop end it with `break Err(..)`, so the orderly shutdown below still
    // runs (leaves to the manager, MFC/VIF removal, detach) before the error is reported.
    macro_rules! or_break {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => break Err(anyhow::Error::from(e)),
            }
        };
    }
    let result: Result<()> = loop {
        let deadline = [igmp.next_deadline(), fwd.next_deadline()]
            .into_iter()
            .flatten()
            .min()
            .map(instant_for);
        tokio::select! {
            guard = ring.readable_mut() => {
                let mut guard = or_break!(guard.context("event ring buffer"));
                let drained = or_break!(drain_events(guard.get_inner_mut(), &mut igmp, &mut fwd, &mut maps, &event_tx));
                // With work left the readiness stays set: the loop comes back here after giving
                // timers, queries, upcalls and signals their turn.
                if drained {
                    guard.clear_ready();
                }
            }
            guard = upcalls.readable() => {
                let mut guard = or_break!(guard.context("mroute socket"));
                let drained = or_break!(fwd.on_readable(&igmp, or_break!(monotonic_ns()), BATCH));
                if drained {
                    guard.clear_ready();
                }
                publish(&mut fwd, Default::default(), &event_tx);
            }
            guard = links.readable_mut() => {
                let mut guard = or_break!(guard.context("link watch"));
                let changes = or_break!(guard.get_inner_mut().changes());
                guard.clear_ready();
                let now = or_break!(monotonic_ns());
                hotplug.apply(changes, now, &mut igmp, &mut fwd, &mut classifier, &mut maps, &event_tx);
            }
            Some((request, reply)) = query_rx.recv() => {
                let _ = reply.send(answer(request, &igmp, &fwd, &maps));
            }
            _ = sleep_until(deadline) => {
                let now = or_break!(monotonic_ns());
                let out = or_break!(igmp.on_deadline(now, &mut maps));
                fwd.on_deltas(&out.deltas, &igmp, now);
                fwd.on_deadline(&igmp, now);
                publish(&mut fwd, out, &event_tx);
            }
            guard = readable_logs(&mut logs) => {
                if let Ok(mut guard) = guard {
                    guard.get_inner_mut().flush();
                    guard.clear_ready();
                }
            }
            _ = sigint.recv() => { log::info!("SIGINT: shutting down"); break Ok(()); }
            _ = sigterm.recv() => { log::info!("SIGTERM: shutting down"); break Ok(()); }
            _ = sighup.recv() => {
                log::info!("SIGHUP: nothing to reload (settings come from the command line); still running");
            }
        }
    };
    if let Err(e) = &result {
        log::error!("{e:#}; shutting down");
    }
    server.abort();
    let now = monotonic_ns()?;
    let out = igmp.shutdown(&mut maps)?;
    fwd.on_deltas(&out.deltas, &igmp, now);
    publish(&mut fwd, out, &event_tx);
    drop(upcalls);
    let closed = fwd.shutdown();
    classifier.detach_all();
    log::info!(
        "detached from every interface; maps stay pinned in {}",
        args.bpffs.display()
    );
    result.and(closed)
}

/// Most classifier events or kernel upcalls handled in one wake-up, so a flood on one input
/// cannot starve timers, other interfaces, the control socket or signals.
const BATCH: usize = 256;

/// A file descriptor owned elsewhere (the mroute socket inside the ForwardShell), for readiness
/// only. The AsyncFd holding it is dropped before the socket is closed.
struct FdRef(RawFd);

impl AsRawFd for FdRef {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

type Logger = aya_log::EbpfLogger<&'static dyn log::Log>;

/// Registers a file descriptor with the reactor, for readability.
fn watch_readable<T: std::os::fd::AsRawFd>(inner: T) -> std::io::Result<AsyncFd<T>> {
    // SAFETY: `register_with_interest` needs the fd open and unchanged while the AsyncFd lives.
    // RingBuf and EbpfLogger own theirs. FdRef borrows the mroute socket's fd: `run` drops that
    // AsyncFd (`drop(upcalls)`) before `fwd.shutdown()` closes the socket, and on early return
    // it is declared after `fwd` so it is dropped first.
    unsafe { AsyncFd::register_with_interest(inner, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into())
}

async fn readable_logs(
    logs: &mut Option<AsyncFd<Logger>>,
) -> std::io::Result<tokio::io::unix::AsyncFdReadyMutGuard<'_, Logger>> {
    match logs {
        Some(fd) => fd.readable_mut().await,
        None => std::future::pending().await,
    }
}

/// Handles up to [`BATCH`] events; true when the ring is empty.
fn drain_events(
    ring: &mut RingBuf<MapData>,
    igmp: &mut IgmpShell,
    fwd: &mut ForwardShell,
    maps: &mut crate::bpf::KernelMaps,
    events: &broadcast::Sender<String>,
) -> Result<bool> {
    for _ in 0..BATCH {
        let Some(item) = ring.next() else {
            return Ok(true);
        };
        match IgmpEvent::from_bytes(&item) {
            Some(ev) => {
                drop(item);
                let now = monotonic_ns()?;
                let out = igmp.on_event(&ev, maps, now)?;
                fwd.on_deltas(&out.deltas, igmp, now);
                publish(fwd, out, events);
            }
            None => log::warn!("short record on MGM_EVENTS ({} bytes); ignored", item.len()),
        }
    }
    Ok(false)
}

/// Sends IGMP notes and manager events to `mgm events` subscribers (none listening is fine; the
/// manager's events are drained either way).
pub(crate) fn publish(
    fwd: &mut ForwardShell,
    out: igmp_shell::Outputs,
    events: &broadcast::Sender<String>,
) {
    let mgm_events = fwd.take_events();
    if events.receiver_count() == 0 {
        return;
    }
    // Causes before effects: IGMP's notes (e.g. igmp_join) first, then what the manager did
    // with them (local_join, mfe_update …).
    let time_ns = if out.time_ns != 0 {
        out.time_ns
    } else {
        monotonic_ns().unwrap_or(0)
    };
    for n in out.notes {
        let line = serde_json::json!({
            "kind": n.kind,
            "protocol": "igmp",
            "interface": n.interface,
            "source": n.source.map(|s| s.to_string()),
            "group": n.group.map(|g| g.to_string()),
            "detail": if n.detail.is_empty() { None } else { Some(n.detail) },
            "time_ns": time_ns,
        });
        let _ = events.send(line.to_string());
    }
    for e in &mgm_events {
        let _ = events.send(forward_shell::event_json(fwd, e));
    }
}

fn answer(
    request: Request,
    igmp: &IgmpShell,
    fwd: &ForwardShell,
    maps: &crate::bpf::KernelMaps,
) -> Response {
    let now = match monotonic_ns() {
        Ok(n) => n,
        Err(e) => return Response::error(format!("{e:#}")),
    };
    let data = match request {
        Request::ShowInterfaces => serde_json::to_value(igmp.interfaces_view(now)),
        Request::ShowGroups => serde_json::to_value(igmp.groups_view(now, maps)),
        Request::ShowMfe => serde_json::to_value(fwd.mfe_view(now)),
        Request::ShowProtocols => serde_json::to_value(fwd.protocols_view()),
        Request::ShowStats => match maps.stats() {
            Ok(stats) => {
                let mut obj: serde_json::Map<String, serde_json::Value> =
                    mgm_common::IgmpStats::NAMES
                        .iter()
                        .zip(stats.values())
                        .map(|(k, v)| (k.to_string(), v.into()))
                        .collect();
                obj.insert("daemon_parse_errors".into(), igmp.parse_errors.into());
                obj.insert("daemon_map_write_errors".into(), igmp.map_errors.into());
                obj.insert("daemon_lost_v3_records".into(), igmp.lost_records.into());
                obj.insert(
                    "daemon_off_link_reports".into(),
                    igmp.off_link_reports.into(),
                );
                Ok(serde_json::Value::Object(obj))
            }
            Err(e) => return Response::error(format!("{e:#}")),
        },
        Request::Events => return Response::error("events is a stream; handled by the server"),
    };
    match data {
        Ok(v) => Response::ok(v),
        Err(e) => Response::error(e.to_string()),
    }
}

/// Converts a CLOCK_MONOTONIC deadline to a tokio instant (tokio's clock is CLOCK_MONOTONIC too,
/// but its epoch is private, so go through "time from now").
fn instant_for(deadline_ns: u64) -> tokio::time::Instant {
    let now_ns = monotonic_ns().unwrap_or(deadline_ns);
    tokio::time::Instant::now()
        + std::time::Duration::from_nanos(deadline_ns.saturating_sub(now_ns))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
