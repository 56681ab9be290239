//! `mgm run`: the daemon. One tokio task owns all state (the `Daemon`, in `state`) and reacts to
//! its inputs: classifier events (ring buffer), kernel upcalls, FIB answers, link changes,
//! control-socket queries, the next protocol deadline and signals. Each input is one `Daemon`
//! method; protocol logic lives in the pure modules, kernel I/O in [`crate::sys`].
mod alarm;
mod events;
pub mod forwarding;
mod group_views;
mod handlers;
mod hotplug;
mod igmp_log;
mod igmp_ports;
mod interface_views;
mod lost_reports;
#[cfg(not(feature = "test-support"))]
mod membership_walk;
/// Public for the benches (`membership_walk`), which time the daemon's own walk.
#[cfg(feature = "test-support")]
pub mod membership_walk;
mod metrics;
mod names;
mod pinned;
pub mod preflight;
mod proxy;
mod reload;
mod report_budget;
mod ring_batch;
mod ring_losses;
mod service_status;
mod state;
mod stats_looks;
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
    let checked = Checked::run(&config)?;
    let (mut daemon, ring, waiting) = start_daemon(&config, &args, &checked)?;
    log_managing(&config, &checked, &waiting);
    let (query_tx, query_rx) = mpsc::channel::<Query>(1024);
    let (metrics_tx, metrics_rx) = mpsc::channel::<metrics::MetricsRequest>(metrics::QUEUE);
    let mut inputs = Inputs {
        ring: watch_readable(ring).context("registering the event ring buffer")?,
        upcalls: watch_readable(FdRef(daemon.fwd.upcall_fd()))
            .context("registering the mroute socket")?,
        fib: watch_readable(FdRef(daemon.fwd.fib_fd())).context("registering the FIB socket")?,
        links: watch_readable(LinkWatch::open()?).context("registering the link watch")?,
        queries: query_rx,
        metrics: checked.metrics.is_some().then_some(metrics_rx),
        mfc_dumps: daemon.fwd.mfc_dumps(),
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
    let metrics_server = checked
        .metrics
        .map(|l| metrics::serve(l, metrics_tx))
        .transpose()?;
    let mut status = service_status::ServiceStatus::at_start(&daemon, checked.control.path());
    // Last: nothing after it can fail before the loop, which ends with `stop`.
    let server = checked
        .control
        .spawn_thread(query_tx, daemon.events.clone())?;
    become_ready(status.sent());
    let result = event_loop(&mut daemon, &mut inputs, &mut status).await;
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

/// What `run` checked and bound before touching the kernel's multicast state.
struct Checked {
    /// The listed interfaces that are there now (the others are awaited).
    interfaces: Vec<preflight::ManagedInterface>,
    /// `--upstream`, when it is there now.
    upstream: Option<preflight::ManagedInterface>,
    control: ControlServer,
    /// `--metrics`: listening (a port in use is an error) before anything is attached.
    metrics: Option<crate::control::http::MetricsListener>,
}

impl Checked {
    /// Privileges, tcx, the interfaces, bpffs; the control socket and `--metrics` bound.
    fn run(config: &RunConfig) -> Result<Self> {
        preflight::check_privilege()?;
        preflight::check_tcx()?;
        let names: Vec<String> = config.interfaces.iter().map(|i| i.name.clone()).collect();
        // Listed interfaces that are not there yet (or have no IPv4 address yet) are awaited,
        // not an error: the link watch manages them when they come. The upstream one too.
        let (interfaces, _) = preflight::resolve_interfaces(&names)?;
        let upstream = match &config.upstream {
            Some(up) => preflight::resolve_interfaces(std::slice::from_ref(up))
                .context("the --upstream interface")?
                .0
                .pop(),
            None => None,
        };
        preflight::check_bpffs(&config.bpffs)?;
        let group = |name: &Option<String>, flag| {
            name.as_deref()
                .map(|n| crate::control::socket_file::resolve_group(n, flag))
                .transpose()
        };
        let groups = crate::control::peer::SocketGroups {
            full: group(&config.socket_group, "--socket-group")?,
            read: group(&config.socket_read_group, "--socket-read-group")?,
        };
        let control = ControlServer::bind(&config.socket, groups)?;
        let metrics = config
            .metrics
            .map(crate::control::http::MetricsListener::bind)
            .transpose()?;
        Ok(Self {
            interfaces,
            upstream,
            control,
            metrics,
        })
    }
}

/// The mroute socket, the classifier attached to the interfaces there now, the `Daemon` with
/// its hot-plug and reload state, the upstream; the event ring, and the names of the listed
/// interfaces awaited.
fn start_daemon(
    config: &RunConfig,
    args: &RunArgs,
    checked: &Checked,
) -> Result<(Daemon, aya::maps::RingBuf<aya::maps::MapData>, Vec<String>)> {
    let configs = config.igmp_configs();
    let interfaces = &checked.interfaces;
    // The mroute socket first: if another router owns the table, fail before touching anything.
    let mut fwd = Forwarding::start(
        interfaces,
        config.reserved(),
        config.upstream.is_some(),
        config.mroute_table,
        monotonic_ns()?,
    )?;
    let every = u64::try_from(config.mfc_reconcile_interval.as_nanos()).unwrap_or(u64::MAX);
    fwd.set_reconcile_interval(every, monotonic_ns()?);
    // Sized for every listed interface, awaited ones included.
    let sizes = crate::sys::bpf::MapSizes::for_limits(&configs)?;
    let mut classifier = Classifier::load(&config.bpffs, sizes)?;
    let (maps, ring) = classifier.take_maps()?;
    for iface in interfaces {
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
    let mut daemon = Daemon::start(config, &with_config, fwd, classifier, maps, event_tx)?;
    daemon.hotplug.begin(interfaces, &awaited);
    daemon.reload = reload::Reload::new(args.clone(), config.clone(), sizes);
    // The proxy's upstream interface: managed now, or awaited like the others.
    if let Some(name) = &config.upstream {
        match &checked.upstream {
            Some(up) => daemon.start_upstream(up, monotonic_ns()?)?,
            None => log::info!(
                "the upstream {name} is not there yet (or has no IPv4 address): waiting for it"
            ),
        }
    }
    Ok((daemon, ring, awaited.into_iter().map(|(n, _)| n).collect()))
}

/// Logs what the daemon manages and awaits, where its maps and sockets are.
fn log_managing(config: &RunConfig, checked: &Checked, waiting: &[String]) {
    let managed: Vec<String> = checked
        .interfaces
        .iter()
        .chain(&checked.upstream)
        .map(|i| match i.link {
            crate::sys::link::LinkKind::Ethernet => i.name.clone(),
            kind => format!("{} ({})", i.name, kind.describe()),
        })
        .collect();
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
        checked.control.path().display()
    );
    if let Some(l) = &checked.metrics {
        log::info!("metrics at http://{}/metrics", l.local_addr());
    }
}

/// The classifier is attached and the control socket accepts: tells systemd (Type=notify),
/// shortens the loop's slice, gives back what only start-up needed (the loader's heap,
/// start-up code pages); from now on, large blocks go back to the system once freed.
fn become_ready(status: &str) {
    notify_systemd(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(status),
    ]);
    shorten_loop_slice();
    crate::sys::memory::return_large_blocks();
    match crate::sys::memory::release_startup() {
        Ok(n) => log::debug!("start-up done: {} KiB of file mappings released", n >> 10),
        Err(e) => log::debug!("cannot release the start-up memory: {e:#}"),
    }
}

/// Tells systemd the service's status line when the interfaces managed or awaited changed.
fn tell_status(status: &mut service_status::ServiceStatus, daemon: &Daemon) {
    if let Some(line) = status.changed(daemon) {
        notify_systemd(&[sd_notify::NotifyState::Status(line)]);
    }
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

/// What the loop waits on, besides signals and the deadline.
struct Inputs {
    ring: AsyncFd<aya::maps::RingBuf<aya::maps::MapData>>,
    upcalls: AsyncFd<FdRef>,
    fib: AsyncFd<FdRef>,
    links: AsyncFd<LinkWatch>,
    queries: mpsc::Receiver<Query>,
    /// Scrapes of `--metrics` (none without it).
    metrics: Option<mpsc::Receiver<metrics::MetricsRequest>>,
    /// The kernel's MFC, read by the reconcile's dump thread.
    mfc_dumps: mpsc::UnboundedReceiver<forwarding::MfcDump>,
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
/// The select is biased, and the ring goes first when the loop wakes: the report that woke it
/// is read (one batch, at most [`RING_BUDGET`]) before the other branches are polled. After
/// that batch, signals, control queries, timers and kernel inputs come before more classifier
/// events, the one input a LAN host can flood: a batch cut by the budget (events left) is followed by a yield (the
/// control server's tasks run) and by a select with the ring last. A batch that empties the
/// ring clears its readiness, so the next select polls every other input before the ring can be
/// ready again (after the driver's next turn). Either way every other input gets its turn
/// between two batches; nothing is lost: the readiness stays set while events are left.
/// Clients' input (control queries and `--metrics` scrapes) takes turns the same way: after
/// one, the next select skips both unless nothing else is ready ([`ClientTurns`]), so a client
/// that pipelines requests, or scrapers that keep the queue full, cannot hold back timers,
/// upcalls, FIB answers or link changes.
///
/// The timer is one `Sleep` for the whole run, moved only when the earliest deadline moves
/// ([`alarm::Alarm`]); the heap is trimmed on it too, once reports pause
/// ([`crate::sys::memory::TrimWhenQuiet`]).
async fn event_loop(
    daemon: &mut Daemon,
    inputs: &mut Inputs,
    status: &mut service_status::ServiceStatus,
) -> Result<()> {
    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut at = Turns::new(daemon)?;
    // Waits for whatever `at.alarm` armed it with; off (the branch disabled) until then.
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);
    loop {
        let next = [daemon.next_deadline(), at.trim.deadline()];
        if let Some(instant) = at.alarm.set(next.into_iter().flatten().min()) {
            timer.as_mut().reset(instant);
        }
        let gates = at.clients.gates();
        tokio::select! {
            biased;
            // Readable after the loop slept: the report that woke it goes first.
            r = ring_readable(&inputs.ring), if !at.ring_left => {
                r.context("event ring buffer")?;
                at.on_ring(daemon, ready_now(&mut inputs.ring))?;
            }
            _ = sigint.recv() => { log::info!("SIGINT: shutting down"); return Ok(()); }
            _ = sigterm.recv() => { log::info!("SIGTERM: shutting down"); return Ok(()); }
            _ = sighup.recv() => {
                daemon.on_sighup();
                tell_status(status, daemon);
            }
            // Not right after a client's input while other inputs are ready (`ClientTurns`).
            Some(input) = inputs.queries.recv(), if gates.control => {
                at.clients.took();
                daemon.on_control(input);
                tell_status(status, daemon);
            }
            Some(scrape) = next_scrape(&mut inputs.metrics), if gates.scrape => {
                at.clients.took();
                daemon.on_metrics(scrape);
            }
            Some(dump) = inputs.mfc_dumps.recv() => daemon.fwd.on_mfc_dump(dump, monotonic_ns()?),
            () = &mut timer, if at.alarm.is_armed() => at.on_timer(daemon)?,
            guard = inputs.upcalls.readable() => {
                at.busy += 1;
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
                tell_status(status, daemon);
            }
            // After a batch cut by the budget: every other input first.
            r = ring_readable(&inputs.ring), if at.ring_left => {
                r.context("event ring buffer")?;
                at.on_ring(daemon, ready_now(&mut inputs.ring))?;
            }
            // After a client's input, nothing else was ready: the clients' turn again.
            () = std::future::ready(()), if gates.wait_for_clients => {}
        }
        at.after_input(daemon).await?;
    }
}

/// The turns of clients' input: control queries and `--metrics` scrapes. Not right after
/// either (a client that pipelines requests, a chunked answer, or scrapers keep them ready),
/// unless nothing else is ready then. So they take turns with the timer, upcalls, FIB answers
/// and link changes, as the ring's cut batches do; control and scrapes count as one, or they
/// would take every turn between them.
#[derive(Debug, Default)]
struct ClientTurns {
    /// The last input was a client's.
    last: bool,
}

/// Which of the select's client branches are on in one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClientGates {
    control: bool,
    scrape: bool,
    /// Both skipped: a branch that is always ready, last, so that the select ends (and the
    /// next one takes the clients) when nothing else was ready.
    wait_for_clients: bool,
}

impl ClientTurns {
    /// This turn's gates.
    fn gates(&mut self) -> ClientGates {
        let on = !std::mem::take(&mut self.last);
        ClientGates {
            control: on,
            scrape: on,
            wait_for_clients: !on,
        }
    }

    /// A client's input was taken.
    fn took(&mut self) {
        self.last = true;
    }
}

/// What the loop keeps from one turn to the next.
struct Turns {
    /// The last ring batch was cut by the budget: the other inputs go before the ring's next.
    ring_left: bool,
    /// Control queries and scrapes take turns with the other inputs.
    clients: ClientTurns,
    /// Ring batches and upcall rounds handled so far (the trim waits for a pause in them).
    busy: u64,
    alarm: alarm::Alarm,
    looks: stats_looks::StatsLooks,
    trim: crate::sys::memory::TrimWhenQuiet,
}

impl Turns {
    fn new(daemon: &Daemon) -> Result<Self> {
        Ok(Self {
            ring_left: false,
            clients: ClientTurns::default(),
            busy: 0,
            alarm: alarm::Alarm::new(monotonic_ns()?, tokio::time::Instant::now()),
            looks: stats_looks::StatsLooks::new(daemon.maps.stats().ok()),
            trim: Default::default(),
        })
    }

    /// One batch of classifier events. Events left (the batch was cut by the budget): the
    /// readiness stays set, and the loop comes back to the ring after giving the control
    /// server, timers, queries, upcalls and signals their turn.
    fn on_ring(&mut self, daemon: &mut Daemon, guard: Option<RingGuard<'_>>) -> Result<()> {
        let Some(guard) = guard else {
            return Ok(());
        };
        self.busy += 1;
        let mut guard = guard.context("event ring buffer")?;
        let emptied = daemon.on_ring(guard.get_inner_mut(), RING_BUDGET)?;
        if emptied {
            guard.clear_ready();
        }
        self.ring_left = !emptied;
        // One clock read and at most one MGM_STATS read serve the ring-loss and the
        // report-budget looks.
        let now = monotonic_ns()?;
        let looked = self.looks.after_batch(emptied, now, || {
            daemon.maps.stats().map_err(|e| log::debug!("{e:#}")).ok()
        });
        // What quick leave's tracking makes of the losses is seen before the next leave
        // (`lost_reports.rs`); these looks only tell the log.
        if let Some(warning) = looked.ring_loss {
            log::warn!("{warning}");
        }
        if let Some(total) = looked.rate_limited_total {
            daemon.warn_rate_limited(&mut self.looks.budget, total, now);
        }
        Ok(())
    }

    /// The timer fired: the heap's trim if it is due, the protocol deadlines.
    fn on_timer(&mut self, daemon: &mut Daemon) -> Result<()> {
        self.alarm.fired();
        if self.trim.on_time(monotonic_ns()?, self.busy) {
            crate::sys::memory::trim();
        }
        daemon.on_deadline()
    }

    /// After every input: handlers that stopped reading go, a wanted trim is noted, and after
    /// a cut ring batch the control server's tasks get a turn.
    async fn after_input(&mut self, daemon: &mut Daemon) -> Result<()> {
        daemon.drop_slow_handlers();
        if std::mem::take(&mut daemon.trim_wanted) {
            self.trim.want(monotonic_ns()?, self.busy);
        }
        if self.ring_left {
            tokio::task::yield_now().await;
        }
        Ok(())
    }
}

type RingGuard<'a> = std::io::Result<
    tokio::io::unix::AsyncFdReadyMutGuard<'a, aya::maps::RingBuf<aya::maps::MapData>>,
>;

/// Waits until the ring is readable, its readiness left set for [`ready_now`]. A shared borrow,
/// so that the select can hold it in two branches (ring first or last), one enabled at a time.
async fn ring_readable(
    ring: &AsyncFd<aya::maps::RingBuf<aya::maps::MapData>>,
) -> std::io::Result<()> {
    std::future::poll_fn(|cx| ring.poll_read_ready(cx).map(|r| r.map(|_ready| ()))).await
}

/// The ring's readiness as the reactor last saw it, without waiting: `Some` when it is readable.
fn ready_now(ring: &mut AsyncFd<aya::maps::RingBuf<aya::maps::MapData>>) -> Option<RingGuard<'_>> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match ring.poll_read_ready_mut(&mut cx) {
        std::task::Poll::Ready(guard) => Some(guard),
        std::task::Poll::Pending => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs the tests keep ready, in the select's order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Ready {
        Control,
        Scrape,
        Timer,
    }
    use Ready::*;

    /// One turn of the biased select with `ready` all ready: the first branch on, `None` for
    /// the branch that waits for the clients' next turn.
    fn select(clients: &mut ClientTurns, ready: &[Ready]) -> Option<Ready> {
        let gates = clients.gates();
        let taken = ready.iter().copied().find(|r| match r {
            Control => gates.control,
            Scrape => gates.scrape,
            Timer => true,
        });
        match taken {
            Some(Control | Scrape) => clients.took(),
            Some(Timer) => {}
            None => assert!(gates.wait_for_clients, "a select with no branch ready"),
        }
        taken
    }

    #[test]
    fn a_due_timer_runs_within_a_turn_while_scrapes_are_always_queued() {
        let mut clients = ClientTurns::default();
        let taken: Vec<_> = (0..4)
            .map(|_| select(&mut clients, &[Scrape, Timer]))
            .collect();
        assert_eq!(
            taken,
            [Some(Scrape), Some(Timer), Some(Scrape), Some(Timer)]
        );
        // Control queries and scrapes, both always queued, take turns as one.
        let taken: Vec<_> = (0..4)
            .map(|_| select(&mut clients, &[Control, Scrape, Timer]))
            .collect();
        assert_eq!(
            taken,
            [Some(Control), Some(Timer), Some(Control), Some(Timer)]
        );
        // Nothing else ready: a scrape, a turn that ends at once, the next scrape.
        let taken: Vec<_> = (0..3).map(|_| select(&mut clients, &[Scrape])).collect();
        assert_eq!(taken, [Some(Scrape), None, Some(Scrape)]);
    }
}
