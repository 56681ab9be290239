//! Control socket server: one task pair per connection (reader, writer); requests go to the
//! daemon loop through a channel (the loop owns the state) and every line back (responses and,
//! for handler sessions, callbacks) comes through the connection's outbox in the order the
//! loop wrote it. Event subscribers get a broadcast receiver. The daemon runs the server on
//! its own thread ([`ControlServer::spawn_thread`]): accepting and reading never waits for the
//! loop, which takes queued requests in turns with its other inputs, the classifier's event
//! ring among them (a bounded batch of events, then a turn for whatever else is ready).
//!
//! A connection must send its first request within [`Limits::request_timeout`]; it may then
//! send more (handlers do; `mgm show` sends one and closes). Each line must be read within
//! [`Limits::write_timeout`], and at most [`OUTBOX_LINES`] may wait for the client: past that
//! the client is not reading, and the connection is closed (a handler is deregistered). At
//! most [`Limits::max_connections`] are open at once (a quarter of them kept for full access:
//! read-only peers cannot take them), and one more is answered at once with an error and
//! closed; refusals are logged at most once a minute per kind. Requests that change state need root, the daemon's user or the
//! socket's group (SO_PEERCRED, SO_PEERGROUPS); `--socket-read-group` may read only, and with
//! it the socket is open to all and whoever is in neither group is refused at connect
//! (`peer.rs`). Who sends state changes is logged at info, reads at debug.
use super::api::{Event, EventLine, Request, RequestLine, Response, MAX_REQUEST_BYTES};
use super::peer::{Access, Peer, SocketGroups};
use super::slots::Slots;
use super::socket_file;
use super::stream::{ChunkReply, Cursor, Interleave, Streamed};
use crate::time::{monotonic_ns, RateLimit};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use super::connection::{Connection, Out, SendError, OUTBOX_LINES};

/// What the server hands the daemon loop.
#[derive(Debug)]
pub enum ControlInput {
    /// A request to answer on `conn` (with `conn.respond(id, …)`).
    Request {
        conn: Connection,
        id: Option<u64>,
        request: Request,
        /// One of the connection's [`IN_FLIGHT`] places, given back when the loop drops the
        /// input (handled).
        place: InFlight,
    },
    /// A line the server refused (malformed, not allowed): answer `error` on `conn`, in turn
    /// with the other responses of the connection.
    Refused {
        conn: Connection,
        id: Option<u64>,
        error: String,
        place: InFlight,
    },
    /// The connection closed (its handler, if it registered, is gone).
    Closed { conn: u64 },
    /// The next chunk of a streamed answer (`show_groups`, `show_mfe`) on `conn`: the rows
    /// after `after` (from the first when `None`, with the response's head), sent on `reply`.
    Chunk {
        conn: Connection,
        id: Option<u64>,
        what: Streamed,
        after: Option<Cursor>,
        reply: ChunkReply,
    },
}

/// The control inputs as the daemon loop receives them.
pub type Query = ControlInput;

/// Most requests of one connection queued for the loop and not yet handled: a client that
/// writes requests without waiting for the answers waits here (its socket fills) instead of
/// filling the loop's queue ahead of the other clients.
pub const IN_FLIGHT: usize = 8;

/// A connection's place for one request in the loop's queue ([`IN_FLIGHT`]); `None` for inputs
/// made elsewhere (tests).
pub type InFlight = Option<tokio::sync::OwnedSemaphorePermit>;

/// The event stream as the daemon publishes it: one [`EventLine`] per event, shared between
/// subscribers; the channel is made at the first subscription.
pub use super::event_channel::EventSender;

/// Most control connections open at once (`mgm events` subscribers included).
pub const MAX_CONNECTIONS: usize = 64;
/// One in this many of the connection slots is kept for full access (read-only peers may not
/// take it: `slots.rs`).
const FULL_ACCESS_SHARE: usize = 4;
/// How long a new connection may take to send its request line.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one response or event line may take to be read by the client.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What one client may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub request_timeout: Duration,
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: MAX_CONNECTIONS,
            request_timeout: REQUEST_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
        }
    }
}

pub struct ControlServer {
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    limits: Limits,
    /// The socket's groups: who may change state, who may only read.
    groups: SocketGroups,
}

/// The server running on its own thread; [`ServerThread::stop`] ends it (open connections,
/// `mgm events` streams included, close) and removes the socket file.
pub struct ServerThread {
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl ServerThread {
    pub fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            log::warn!("the control server thread panicked");
        }
    }
}

impl ControlServer {
    /// Binds `path` (mode 0660, group `groups.full`; 0666 with a read group, see
    /// [`socket_file`]). A live daemon already answering there is an error; a stale socket file
    /// left by a crash is replaced; anything else in the way is refused.
    pub fn bind(path: &Path, groups: SocketGroups) -> Result<Self> {
        Self::bind_with(path, groups, Limits::default())
    }

    pub fn bind_with(path: &Path, groups: SocketGroups, limits: Limits) -> Result<Self> {
        let listener = socket_file::bind(path, groups.full, groups.read.is_some())?;
        listener
            .set_nonblocking(true)
            .context("control socket: non-blocking mode")?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            limits,
            groups: SocketGroups {
                full: groups.full.or_else(|| Some(nix::unistd::getegid())),
                read: groups.read,
            },
        })
    }

    /// Serves on a thread of its own, with its own runtime, until [`ServerThread::stop`].
    pub fn spawn_thread(
        self,
        queries: mpsc::Sender<Query>,
        events: EventSender,
    ) -> Result<ServerThread> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the control server's runtime")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mgm-control".into())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        _ = self.serve(queries, events) => {}
                        _ = stopped => {}
                    }
                });
            })
            .context("starting the control server thread")?;
        Ok(ServerThread { stop, thread })
    }

    /// Accepts connections until the task is dropped (or the listener cannot be registered,
    /// which is logged).
    pub async fn serve(self, queries: mpsc::Sender<Query>, events: EventSender) {
        let listener = match self.listener.try_clone().and_then(UnixListener::from_std) {
            Ok(l) => l,
            Err(e) => {
                log::error!(
                    "control socket: cannot register {}: {e}",
                    self.path.display()
                );
                return;
            }
        };
        let max = self.limits.max_connections;
        let kept = max / FULL_ACCESS_SHARE;
        let slots = Slots::new(max, kept);
        let mut busy = RateLimit::default();
        let mut strangers = RateLimit::default();
        let mut next_id: u64 = 0;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    log::warn!("control socket accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let now = monotonic_ns().unwrap_or(0);
            let peer = Peer::of(&stream, self.groups);
            if peer.access == Access::None {
                if let Some(held) = strangers.allow(now) {
                    log::info!(
                        "control: connection refused to {peer} (in neither socket group; \
                         {held} more refused since the last such line)"
                    );
                }
                refuse_line(
                    &stream,
                    "permission denied: the control socket serves root, the daemon's user and \
                     the members of --socket-group and --socket-read-group",
                );
                continue;
            }
            let Some(slot) = slots.take(peer.access) else {
                if let Some(held) = busy.allow(now) {
                    log::warn!(
                        "control socket: no free slot for {peer} ({max} in all, {kept} kept \
                         for full access; {held} more refused since the last such line)"
                    );
                }
                refuse(&stream, peer.access, max, kept);
                continue;
            };
            let queries = queries.clone();
            let events = events.clone();
            let limits = self.limits;
            next_id += 1;
            let id = next_id;
            tokio::spawn(async move {
                if let Err(e) = handle(stream, id, peer, queries, events, limits).await {
                    log::debug!("control connection: {e:#}");
                }
                drop(slot);
            });
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Answers a connection over the limit with one error line, without waiting, and closes it.
/// Answers a connection that found no free slot: `max` slots, `kept` of them for full access.
fn refuse(stream: &UnixStream, access: Access, max: usize, kept: usize) {
    let open = match access {
        Access::Full => format!("{max} open"),
        Access::ReadOnly | Access::None => {
            format!("{} open to read-only peers", max - kept)
        }
    };
    refuse_line(
        stream,
        &format!("too many control connections ({open}); try again later"),
    );
}

/// Answers a connection with one error line, without waiting; it closes when dropped.
fn refuse_line(stream: &UnixStream, message: &str) {
    let resp = Response::<()>::error(message.to_string());
    if let Ok(mut line) = serde_json::to_string(&resp) {
        line.push('\n');
        let _ = stream.try_write(line.as_bytes());
    }
}

async fn handle(
    stream: UnixStream,
    conn_id: u64,
    peer: Peer,
    queries: mpsc::Sender<Query>,
    events: EventSender,
    limits: Limits,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    let first = first_request(&mut reader, &mut line, &mut write, &peer, &limits).await?;
    if let Some(Ok(RequestLine {
        request: Request::Events,
        ..
    })) = &first
    {
        log::debug!("control: events from {peer}");
        let out = Writer {
            w: &mut write,
            timeout: limits.write_timeout,
        };
        return stream_events(out, events.subscribe()).await;
    }
    let (out_tx, out_rx) = mpsc::channel::<Out>(OUTBOX_LINES);
    let close = Arc::new(tokio::sync::Notify::new());
    let conn = Connection {
        id: conn_id,
        peer,
        out: out_tx,
        close: close.clone(),
    };
    let (gone_tx, mut gone) = oneshot::channel::<()>();
    let writer = tokio::spawn(write_lines(
        write,
        out_rx,
        limits.write_timeout,
        close,
        gone_tx,
    ));
    let mut next = first;
    let places = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let result = loop {
        let Some(parsed) = next else {
            break Ok(());
        };
        // Waits while IN_FLIGHT of this connection's requests wait for the loop (never closed).
        let place = places.clone().acquire_owned().await.ok();
        let input = control_input(&conn, parsed, place);
        if let Some((id, what)) = streamed(&input) {
            // Written in chunks the loop walks one at a time; the next request is read after.
            super::stream::stream_answer(&conn, id, what, &queries).await;
        } else if queries.send(input).await.is_err() {
            let _ = conn.respond(None, Response::<()>::error("daemon is shutting down"));
            break Ok(());
        }
        line.clear();
        next = tokio::select! {
            read = read_request(&mut reader, &mut line) => match read {
                Ok(n) => n,
                Err(e) => break Err(e),
            },
            _ = &mut gone => break Ok(()),
        };
    };
    let _ = queries.send(ControlInput::Closed { conn: conn_id }).await;
    drop(conn);
    let _ = writer.await;
    result
}

/// Reads the connection's first request within the request timeout; past it, answers one error
/// line and fails.
async fn first_request(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    line: &mut String,
    write: &mut tokio::net::unix::OwnedWriteHalf,
    peer: &Peer,
    limits: &Limits,
) -> Result<Option<std::result::Result<RequestLine, String>>> {
    let first = tokio::time::timeout(limits.request_timeout, read_request(reader, line));
    match first.await {
        Ok(read) => read,
        Err(_) => {
            let resp = Response::<()>::error(format!(
                "no request within {} ms; closing",
                limits.request_timeout.as_millis()
            ));
            let mut out = Writer {
                w: write,
                timeout: limits.write_timeout,
            };
            out.line(&serde_json::to_string(&resp)?).await?;
            anyhow::bail!("{peer}: no request within {:?}", limits.request_timeout);
        }
    }
}

/// The answers written in chunks: `show_groups`, `show_mfe` and `get_memberships`.
fn streamed(input: &ControlInput) -> Option<(Option<u64>, Streamed)> {
    match input {
        ControlInput::Request {
            id,
            request: Request::ShowGroups(filter),
            ..
        } => Some((*id, Streamed::Groups(filter.clone()))),
        ControlInput::Request {
            id,
            request: Request::ShowMfe,
            ..
        } => Some((*id, Streamed::Mfe)),
        ControlInput::Request {
            id,
            request: Request::GetMemberships(filter),
            ..
        } => Some((*id, Streamed::Memberships(filter.clone()))),
        _ => None,
    }
}

/// What the daemon's loop is handed for one parsed line: the request, or why it is refused
/// (not a request, not allowed to this peer, or `events` after the first request).
fn control_input(
    conn: &Connection,
    parsed: std::result::Result<RequestLine, String>,
    place: InFlight,
) -> ControlInput {
    match parsed {
        Err(e) => ControlInput::Refused {
            conn: conn.clone(),
            id: None,
            error: format!("bad request: {e}"),
            place,
        },
        Ok(RequestLine { id, request }) => match conn.peer.admit(&request) {
            Err(error) => ControlInput::Refused {
                conn: conn.clone(),
                id,
                error,
                place,
            },
            Ok(()) if request == Request::Events => ControlInput::Refused {
                conn: conn.clone(),
                id,
                error: "events must be the first request of a connection".into(),
                place,
            },
            Ok(()) => ControlInput::Request {
                conn: conn.clone(),
                id,
                request,
                place,
            },
        },
    }
}

/// Reads one request line: `None` at the end of the stream, `Some(Err)` for a line that is not
/// a request (or is longer than [`MAX_REQUEST_BYTES`]).
async fn read_request(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    line: &mut String,
) -> Result<Option<std::result::Result<RequestLine, String>>> {
    let mut limited = (&mut *reader).take(MAX_REQUEST_BYTES as u64 + 1);
    let n = limited.read_line(line).await.context("reading a request")?;
    if n == 0 {
        return Ok(None);
    }
    if n > MAX_REQUEST_BYTES {
        anyhow::bail!("request line longer than {MAX_REQUEST_BYTES} bytes");
    }
    Ok(Some(
        serde_json::from_str::<RequestLine>(line.trim()).map_err(|e| e.to_string()),
    ))
}

/// Writes the outbox to the client, batching what is queued; ends when the outbox closes, the
/// daemon closes the connection (after writing what was queued) or the client does not read a
/// batch within `timeout`; then `gone` tells the reader.
async fn write_lines(
    mut w: tokio::net::unix::OwnedWriteHalf,
    mut rx: mpsc::Receiver<Out>,
    timeout: Duration,
    close: Arc<tokio::sync::Notify>,
    gone: oneshot::Sender<()>,
) {
    let mut batch = String::new();
    let mut written = Vec::new();
    let mut closing = false;
    let mut lines = Interleave::default();
    loop {
        let first = if closing {
            match rx.try_recv() {
                Ok(l) => l,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                l = rx.recv() => match l {
                    Some(l) => l,
                    None => break,
                },
                _ = close.notified() => {
                    closing = true;
                    continue;
                }
            }
        };
        batch.clear();
        let mut next = Some(first);
        while let Some(out) = next {
            if !lines.add(out, &mut batch, &mut written) {
                log::warn!(
                    "control: {OUTBOX_LINES} lines wait behind a client's streamed answer; \
                     closing it"
                );
                let _ = w.shutdown().await;
                let _ = gone.send(());
                return;
            }
            next = if batch.len() < 256 * 1024 {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        match tokio::time::timeout(timeout, w.write_all(batch.as_bytes())).await {
            Ok(Ok(())) => {
                for done in written.drain(..) {
                    let _ = done.send(());
                }
            }
            Ok(Err(e)) => {
                log::debug!("control: writing to the client: {e}");
                break;
            }
            Err(_) => {
                log::warn!("control: a client read nothing for {timeout:?}; closing it");
                break;
            }
        }
    }
    let _ = w.shutdown().await;
    let _ = gone.send(());
}

/// The `events` subscription: an empty response, then one line per event until the daemon
/// stops (the connection then closes) or the client stops reading.
async fn stream_events(
    mut out: Writer<'_>,
    mut events: broadcast::Receiver<std::sync::Arc<EventLine>>,
) -> Result<()> {
    let subscribed = Response::<()> {
        data: None,
        ..Response::ok(())
    };
    out.line(&serde_json::to_string(&subscribed)?).await?;
    loop {
        let line = match events.recv().await {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(missed)) => std::sync::Arc::new(EventLine {
                event: Event::Lagged { missed },
                protocol: String::new(),
                interface: None,
                source: None,
                group: None,
                time_ns: 0,
            }),
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        };
        out.line(&serde_json::to_string(&*line)?).await?;
    }
}

/// The write half, with a bound on how long a client may leave a line unread.
struct Writer<'a> {
    w: &'a mut tokio::net::unix::OwnedWriteHalf,
    timeout: Duration,
}

impl Writer<'_> {
    async fn line(&mut self, line: &str) -> Result<()> {
        let write = async {
            self.w.write_all(line.as_bytes()).await?;
            self.w.write_all(b"\n").await
        };
        match tokio::time::timeout(self.timeout, write).await {
            Ok(r) => r.context("writing to the client"),
            Err(_) => anyhow::bail!("the client read nothing for {:?}", self.timeout),
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
