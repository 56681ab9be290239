//! `mgm run`: the daemon. One tokio task owns all state and reacts to four inputs: classifier
//! events (ring buffer), control-socket queries, the next protocol deadline, and signals.
//! Protocol logic lives in pure modules; this is the shell that feeds them and applies their
//! actions to the kernel.
pub mod igmp_shell;
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
use igmp_shell::IgmpShell;
use mgm_common::IgmpEvent;
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

    let mut classifier = Classifier::load(&args.bpffs)?;
    let mut bpf_logger = classifier.start_logger();
    let (mut maps, events) = classifier.take_maps()?;
    for iface in &interfaces {
        classifier.attach(&iface.name)?;
    }
    let (event_tx, _) = broadcast::channel::<String>(4096);
    let now = monotonic_ns()?;
    let with_config: Vec<_> = interfaces
        .iter()
        .cloned()
        .zip(configs.into_iter().map(|(_, c)| c))
        .collect();
    let (mut igmp, out) = IgmpShell::start(&with_config, &mut maps, now)?;
    publish(&igmp, out, &event_tx);
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
    let mut logs = bpf_logger.take().and_then(|l| watch_readable(l).ok());

    let result: Result<()> = loop {
        let deadline = igmp.next_deadline().map(instant_for);
        tokio::select! {
            guard = ring.readable_mut() => {
                let mut guard = guard.context("event ring buffer")?;
                drain_events(guard.get_inner_mut(), &mut igmp, &mut maps, &event_tx)?;
                guard.clear_ready();
            }
            Some((request, reply)) = query_rx.recv() => {
                let _ = reply.send(answer(request, &igmp, &maps));
            }
            _ = sleep_until(deadline) => {
                let now = monotonic_ns()?;
                let out = igmp.on_deadline(now, &mut maps)?;
                publish(&igmp, out, &event_tx);
            }
            guard = readable_logs(&mut logs) => {
                if let Ok(mut guard) = guard {
                    guard.get_inner_mut().flush();
                    guard.clear_ready();
                }
            }
            _ = sigint.recv() => { log::info!("SIGINT: shutting down"); break Ok(()); }
            _ = sigterm.recv() => { log::info!("SIGTERM: shutting down"); break Ok(()); }
        }
    };
    server.abort();
    let out = igmp.shutdown(&mut maps, monotonic_ns()?)?;
    publish(&igmp, out, &event_tx);
    classifier.detach_all();
    log::info!(
        "detached from every interface; maps stay pinned in {}",
        args.bpffs.display()
    );
    result
}

type Logger = aya_log::EbpfLogger<&'static dyn log::Log>;

/// Registers an object that owns its file descriptor with the reactor, for readability.
fn watch_readable<T: std::os::fd::AsRawFd>(inner: T) -> std::io::Result<AsyncFd<T>> {
    // SAFETY: `inner` (a RingBuf or EbpfLogger) owns its fd, which stays open and the same for as
    // long as the AsyncFd owns `inner`, as `register_with_interest` requires.
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

fn drain_events(
    ring: &mut RingBuf<MapData>,
    igmp: &mut IgmpShell,
    maps: &mut crate::bpf::KernelMaps,
    events: &broadcast::Sender<String>,
) -> Result<()> {
    while let Some(item) = ring.next() {
        match IgmpEvent::from_bytes(&item) {
            Some(ev) => {
                let out = igmp.on_event(&ev, maps, monotonic_ns()?)?;
                publish(igmp, out, events);
            }
            None => log::warn!("short record on MGM_EVENTS ({} bytes); ignored", item.len()),
        }
    }
    Ok(())
}

/// Sends IGMP notes to `mgm events` subscribers (a send with no subscriber is not an error).
fn publish(igmp: &IgmpShell, out: igmp_shell::Outputs, events: &broadcast::Sender<String>) {
    if events.receiver_count() == 0 {
        return;
    }
    let time_ns = monotonic_ns().unwrap_or(0);
    for n in out.notes {
        let line = serde_json::json!({
            "kind": n.kind,
            "protocol": "igmp",
            "interface": igmp.name_of(n.ifindex),
            "source": n.source.map(|s| s.to_string()),
            "group": n.group.map(|g| g.to_string()),
            "detail": if n.detail.is_empty() { None } else { Some(n.detail) },
            "time_ns": time_ns,
        });
        let _ = events.send(line.to_string());
    }
}

fn answer(request: Request, igmp: &IgmpShell, maps: &crate::bpf::KernelMaps) -> Response {
    let now = match monotonic_ns() {
        Ok(n) => n,
        Err(e) => return Response::error(format!("{e:#}")),
    };
    let data = match request {
        Request::ShowInterfaces => serde_json::to_value(igmp.interfaces_view(now)),
        Request::ShowGroups => serde_json::to_value(igmp.groups_view(now, maps)),
        Request::ShowStats => match maps.stats() {
            Ok(stats) => {
                let obj: serde_json::Map<String, serde_json::Value> = mgm_common::IgmpStats::NAMES
                    .iter()
                    .zip(stats.values())
                    .map(|(k, v)| (k.to_string(), v.into()))
                    .collect();
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
