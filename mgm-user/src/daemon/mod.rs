//! `mgm run`: the daemon. One tokio task owns all state (the `Daemon`, in `state`) and reacts to
//! its inputs: classifier events (ring buffer), kernel upcalls, FIB answers, link changes,
//! control-socket queries, the next protocol deadline and signals. Each input is one `Daemon`
//! method; protocol logic lives in the pure modules, kernel I/O in [`crate::sys`].
mod events;
pub mod forwarding;
mod handlers;
mod hotplug;
mod igmp_ports;
mod interface_views;
mod metrics;
mod names;
pub mod preflight;
mod proxy;
mod reload;
mod ring_losses;
mod state;
mod views;

pub(crate) use handlers::check_name as check_protocol_name;

use crate::cli::RunArgs;
use crate::config::RunConfig;
use crate::control::server::{ControlServer, Query};
use crate::sys::bpf::Classifier;
use crate::sys::link_watch::LinkWatch;
use crate::time::monotonic_ns;
use anyhow::{Context, Result};
use forwarding::Forwarding;
use state::Daemon;
use std::os::fd::{AsRawFd, RawFd};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// Runs the daemon with `config` until SIGINT/SIGTERM; `args`, the command line it was resolved
/// from, resolves the file again on a reload. Every failure before the loop starts leaves
/// nothing attached (the classifier detaches on drop).
pub async fn run(config: RunConfig, args: RunArgs) -> Result<()> {
    let configs = config.igmp_configs();
    preflight::check_privilege()?;
    preflight::check_tcx()?;
    let names: Vec<String> = configs.iter().map(|(n, _)| n.clone()).collect();
    // Listed interfaces that are not there yet (or have no IPv4 address yet) are awaited, not
    // an error: the link watch manages them when they come. The upstream one too.
    let (interfaces, _) = preflight::resolve_interfaces(&names)?;
    let (args, config) = (&args, &config);
    let upstream = match &config.upstream {
        Some(up) => preflight::resolve_interfaces(std::slice::from_ref(up))
            .context("the --upstream interface")?
            .0
            .pop(),
        None => None,
    };
    preflight::check_bpffs(&config.bpffs)?;
    let group = config
        .socket_group
        .as_deref()
        .map(crate::control::socket_file::resolve_group)
        .transpose()?;
    let control = ControlServer::bind(&config.socket, group)?;
    // `--metrics`: listening (a port in use is an error) before anything is attached.
    let metrics_listener = config
        .metrics
        .map(crate::control::http::MetricsListener::bind)
        .transpose()?;

    // The mroute socket first: if another router owns the table, fail before touching anything.
    let fwd = Forwarding::start(
        &interfaces,
        config.reserved(),
        config.upstream.is_some(),
        config.mroute_table,
        monotonic_ns()?,
    )?;
    // Sized for every listed interface, awaited ones included.
    let sizes = crate::sys::bpf::MapSizes::for_limits(&configs)?;
    let mut classifier = Classifier::load(&config.bpffs, sizes)?;
    let (maps, ring) = classifier.take_maps()?;
    for iface in &interfaces {
        classifier.attach(&iface.name, iface.link)?;
    }
    let event_tx =
        crate::control::event_channel::EventSender::new(crate::control::event_channel::EVENT_LAG);
    // Each listed interface with its settings: managed from the start, or awaited.
    let mut with_config = Vec::new();
    let mut awaited = Vec::new();
    for (name, cfg) in configs {
        match interfaces.iter().find(|i| i.name == name) {
            Some(iface) => with_config.push((iface.clone(), cfg)),
            None => awaited.push((name, cfg)),
        }
    }
    let mut daemon = Daemon::start(
        config,
        &with_config,
        fwd,
        classifier,
        maps,
        event_tx.clone(),
    )?;
    daemon.hotplug.begin(&interfaces, &awaited);
    daemon.reload = reload::Reload::new(args.clone(), config.clone(), sizes);
    // The proxy's upstream interface: managed now, or awaited like the others.
    if let Some(name) = &config.upstream {
        match &upstream {
            Some(up) => daemon.start_upstream(up, monotonic_ns()?)?,
            None => log::info!(
                "the upstream {name} is not there yet (or has no IPv4 address): waiting for it"
            ),
        }
    }
    let managed: Vec<String> = interfaces
        .iter()
        .chain(&upstream)
        .map(|i| match i.link {
            crate::sys::link::LinkKind::Ethernet => i.name.clone(),
            kind => format!("{} ({})", i.name, kind.describe()),
        })
        .collect();
    let waiting: Vec<&str> = awaited.iter().map(|(n, _)| n.as_str()).collect();
    log::info!(
        "managing {}{} (maps pinned in {}, control socket {})",
        if managed.is_empty() {
            "no interface yet".to_string()
        } else {
            managed.join(", ")
        },
        if waiting.is_empty() {
            String::new()
        } else {
            format!("; waiting for {}", waiting.join(", "))
        },
        config.bpffs.display(),
        control.path().display()
    );
    if let Some(l) = &metrics_listener {
        log::info!("metrics at http://{}/metrics", l.local_addr());
    }
    let (query_tx, query_rx) = mpsc::channel::<Query>(1024);
    let (metrics_tx, metrics_rx) = mpsc::channel::<metrics::MetricsRequest>(metrics::QUEUE);
    let mut inputs = Inputs {
        ring: watch_readable(ring).context("registering the event ring buffer")?,
        upcalls: watch_readable(FdRef(daemon.fwd.upcall_fd()))
            .context("registering the mroute socket")?,
        fib: watch_readable(FdRef(daemon.fwd.fib_fd())).context("registering the FIB socket")?,
        links: watch_readable(LinkWatch::open()?).context("registering the link watch")?,
        queries: query_rx,
        metrics: metrics_listener.is_some().then_some(metrics_rx),
    };
    // An awaited interface that came between the look at start and the link watch's opening
    // sent its notifications to nobody: look once more, now that later ones are heard.
    daemon.on_links(
        crate::sys::link_watch::LinkChanges {
            removed: Vec::new(),
            changed: true,
        },
        monotonic_ns()?,
    );
    // The file's static entries, on the interfaces managed now.
    daemon.add_file_statics(&config.joins, &config.routes, monotonic_ns()?);
    // Stopped when dropped, also on the early return below.
    let metrics_server = metrics_listener
        .map(|l| metrics::serve(l, metrics_tx))
        .transpose()?;
    let status = readiness_status(managed.len(), &waiting, control.path());
    // Last: nothing after it can fail before the loop, which ends with `stop`.
    let server = control.spawn_thread(query_tx, event_tx)?;
    // The classifier is attached and the control socket accepts: ready (Type=notify).
    notify_systemd(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&status),
    ]);
    shorten_loop_slice();
    // Ready: what only start-up needed goes back (the loader's heap, start-up code pages).
    // From now on, large blocks go back to the system once freed.
    crate::sys::memory::return_large_blocks();
    match crate::sys::memory::release_startup() {
        Ok(n) => log::debug!("start-up done: {} KiB of file mappings released", n >> 10),
        Err(e) => log::debug!("cannot release the start-up memory: {e:#}"),
    }
    let result = event_loop(&mut daemon, &mut inputs).await;
    notify_systemd(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("shutting down: leaving the groups, removing the routes"),
    ]);
    if let Err(e) = &result {
        log::error!("{e:#}; shutting down");
    }
    server.stop();
    if let Some(m) = metrics_server {
        m.stop();
    }
    // The readiness registrations of the mroute and FIB sockets go before the sockets close.
    drop(inputs);
    let closed = daemon.shutdown();
    log::info!(
        "detached from every interface; maps stay pinned in {}",
        config.bpffs.display()
    );
    result.and(closed)
}

/// Sends `states` to systemd when it started the daemon as a `Type=notify` service
/// (`NOTIFY_SOCKET` set); nothing otherwise. A failure is logged, never fatal: the daemon works
/// the same, and systemd times the start out on its own.
fn notify_systemd(states: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        log::warn!("cannot notify systemd (NOTIFY_SOCKET): {e}");
    }
}

/// The loop's thread (this one) gets a short time slice, so that it runs as soon as a report,
/// an upcall or a request wakes it, even next to CPU-bound tasks (`sys::sched`). Not fatal:
/// without it the daemon works the same, only later under load.
fn shorten_loop_slice() {
    use crate::sys::sched::{set_slice, SliceOutcome, LOOP_SLICE};
    match set_slice(0, LOOP_SLICE) {
        Ok(SliceOutcome::Set) => {}
        Ok(SliceOutcome::OtherPolicy(p)) => {
            log::debug!("scheduling policy {p} set from outside: time slice left as it is")
        }
        Err(e) => log::warn!("{e:#}: the daemon may react later when the CPUs are busy"),
    }
}

/// The STATUS systemd shows (`systemctl status mgm`) once the daemon is ready.
fn readiness_status(managed: usize, waiting: &[&str], socket: &std::path::Path) -> String {
    let mut status = format!(
        "managing {managed} interface{}",
        if managed == 1 { "" } else { "s" }
    );
    if !waiting.is_empty() {
        status.push_str(&format!(", waiting for {}", waiting.join(", ")));
    }
    status.push_str(&format!("; control socket {}", socket.display()));
    status
}

/// What the loop waits on, besides signals and the deadline.
struct Inputs {
    ring: AsyncFd<aya::maps::RingBuf<aya::maps::MapData>>,
    upcalls: AsyncFd<FdRef>,
    fib: AsyncFd<FdRef>,
    links: AsyncFd<LinkWatch>,
    queries: mpsc::Receiver<Query>,
    /// Scrapes of `--metrics` (none without it).
    metrics: Option<mpsc::Receiver<metrics::MetricsRequest>>,
}

/// Work the loop does on classifier events in one wake-up, in [`event_cost`] units (about one
/// per group record and source): a few milliseconds, so a source-heavy flood cannot keep the
/// control socket, timers or signals waiting.
pub(crate) const RING_BUDGET: usize = 1024;

/// What one classifier event costs the loop: its IGMP message in 32-bit words, about one per
/// group record and source (a v3 report with 200 sources costs about 200, a v2 report 3).
pub(crate) fn event_cost(igmp: &[u8]) -> usize {
    1 + igmp.len() / 4
}

/// Runs until a signal asks to stop (`Ok`) or an input fails (`Err`); the orderly shutdown
/// (leaves to the manager, MFC/VIF removal, detach) follows in either case.
///
/// The select is biased: signals, control queries, timers and kernel inputs come before
/// classifier events, which are the one input a LAN host can flood. After a ring batch that
/// left work, the loop yields so the control server's tasks (accept, read the request) run.
async fn event_loop(daemon: &mut Daemon, inputs: &mut Inputs) -> Result<()> {
    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let counted = |d: &Daemon| d.maps.stats().map(|s| s.events_ring_full);
    let mut losses = ring_losses::RingLosses::new(counted(daemon).unwrap_or(0));
    loop {
        let deadline = daemon.next_deadline().map(instant_for);
        let mut ring_left = false;
        tokio::select! {
            biased;
            _ = sigint.recv() => { log::info!("SIGINT: shutting down"); return Ok(()); }
            _ = sigterm.recv() => { log::info!("SIGTERM: shutting down"); return Ok(()); }
            _ = sighup.recv() => daemon.on_sighup(),
            Some(input) = inputs.queries.recv() => daemon.on_control(input),
            Some(scrape) = next_scrape(&mut inputs.metrics) => daemon.on_metrics(scrape),
            _ = sleep_until(deadline) => daemon.on_deadline()?,
            guard = inputs.upcalls.readable() => {
                let mut guard = guard.context("mroute socket")?;
                if daemon.on_upcalls()? {
                    guard.clear_ready();
                }
            }
            guard = inputs.fib.readable() => {
                let mut guard = guard.context("FIB socket")?;
                if daemon.on_fib_answers()? {
                    guard.clear_ready();
                }
            }
            guard = inputs.links.readable_mut() => {
                let mut guard = guard.context("link watch")?;
                let changes = guard.get_inner_mut().changes()?;
                guard.clear_ready();
                daemon.on_links(changes, monotonic_ns()?);
            }
            guard = inputs.ring.readable_mut() => {
                let mut guard = guard.context("event ring buffer")?;
                // With work left the readiness stays set: the loop comes back here after giving
                // the control server, timers, queries, upcalls and signals their turn.
                if daemon.on_ring(guard.get_inner_mut(), RING_BUDGET)? {
                    guard.clear_ready();
                } else {
                    ring_left = true;
                }
                let now = monotonic_ns()?;
                if losses.due(now) {
                    if let Some(warning) = counted(daemon).ok().and_then(|n| losses.looked(n, now)) {
                        log::warn!("{warning}");
                    }
                }
            }
        }
        daemon.drop_slow_handlers();
        if ring_left {
            tokio::task::yield_now().await;
        }
    }
}

/// A file descriptor owned elsewhere (a socket inside [`Forwarding`]), for readiness only.
/// The AsyncFd holding it is dropped before the socket is closed.
struct FdRef(RawFd);

impl AsRawFd for FdRef {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Registers a file descriptor with the reactor, for readability.
fn watch_readable<T: AsRawFd>(inner: T) -> std::io::Result<AsyncFd<T>> {
    // SAFETY: `register_with_interest` needs the fd open and unchanged while the AsyncFd lives.
    // RingBuf and LinkWatch own theirs. FdRef borrows a socket of the Daemon's
    // Forwarding: `run` drops the Inputs holding those AsyncFds before `Daemon::shutdown`
    // closes the sockets, and on an early return the Inputs (made after the Daemon) drop first.
    unsafe { AsyncFd::register_with_interest(inner, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into())
}

async fn next_scrape(
    scrapes: &mut Option<mpsc::Receiver<metrics::MetricsRequest>>,
) -> Option<metrics::MetricsRequest> {
    match scrapes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
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
