//! Control socket server: one task per connection; show requests go to the daemon loop through a
//! channel (the loop owns the state), event subscribers get a broadcast receiver. The daemon
//! runs it on its own thread ([`ControlServer::spawn_thread`]): accepting and reading requests
//! never waits for the loop, which answers queued requests before classifier work.
//!
//! A connection must send its request within [`Limits::request_timeout`] and read each line
//! within [`Limits::write_timeout`], or it is closed; at most [`Limits::max_connections`] are
//! open at once, and one more is answered at once with an error and closed. Who connects
//! (SO_PEERCRED) is logged: at debug for `show`, `hello` and `events`, at info for the rest.
use super::api::{Event, EventLine, Request, Response, MAX_REQUEST_BYTES};
use super::socket_file;
use anyhow::{Context, Result};
use nix::unistd::Gid;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, Semaphore};

/// A show request for the daemon loop, with where to send the answer.
pub type Query = (Request, oneshot::Sender<Response>);

/// The event stream as the daemon publishes it: one [`EventLine`] per event.
pub type EventSender = broadcast::Sender<EventLine>;

/// Most control connections open at once (`mgm events` subscribers included).
pub const MAX_CONNECTIONS: usize = 64;
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
    /// Binds `path` (mode 0660, group `group`, see [`socket_file`]). A live daemon already
    /// answering there is an error; a stale socket file left by a crash is replaced; anything
    /// else in the way is refused.
    pub fn bind(path: &Path, group: Option<Gid>) -> Result<Self> {
        Self::bind_with(path, group, Limits::default())
    }

    pub fn bind_with(path: &Path, group: Option<Gid>, limits: Limits) -> Result<Self> {
        let listener = socket_file::bind(path, group)?;
        listener
            .set_nonblocking(true)
            .context("control socket: non-blocking mode")?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            limits,
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
        let slots = Arc::new(Semaphore::new(self.limits.max_connections));
        let mut refused: u64 = 0;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    log::warn!("control socket accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                refused += 1;
                if refused % 1000 == 1 {
                    log::warn!(
                        "control socket: {} connections open, refusing more ({refused} refused \
                         so far)",
                        self.limits.max_connections
                    );
                }
                refuse(&stream, self.limits.max_connections);
                continue;
            };
            let queries = queries.clone();
            let events = events.clone();
            let limits = self.limits;
            tokio::spawn(async move {
                if let Err(e) = handle(stream, queries, events, limits).await {
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
fn refuse(stream: &UnixStream, max: usize) {
    let resp = Response::<()>::error(format!(
        "too many control connections ({max} open); try again later"
    ));
    if let Ok(mut line) = serde_json::to_string(&resp) {
        line.push('\n');
        let _ = stream.try_write(line.as_bytes());
    }
}

/// Who is on the other end, for the log.
fn peer(stream: &UnixStream) -> String {
    match stream.peer_cred() {
        Ok(c) => match c.pid() {
            Some(pid) => format!("uid {} gid {} pid {pid}", c.uid(), c.gid()),
            None => format!("uid {} gid {}", c.uid(), c.gid()),
        },
        Err(e) => format!("unknown peer ({e})"),
    }
}

/// Requests that only read the daemon's state (and so are logged at debug only).
fn reads_only(request: &Request) -> bool {
    matches!(
        request,
        Request::Hello
            | Request::ShowInterfaces
            | Request::ShowGroups
            | Request::ShowStats
            | Request::ShowMfe
            | Request::ShowProtocols
            | Request::Events
    )
}

async fn handle(
    stream: UnixStream,
    queries: mpsc::Sender<Query>,
    events: EventSender,
    limits: Limits,
) -> Result<()> {
    let who = peer(&stream);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_REQUEST_BYTES as u64));
    let mut line = String::new();
    let mut out = Writer {
        w: &mut write,
        timeout: limits.write_timeout,
    };
    match tokio::time::timeout(limits.request_timeout, reader.read_line(&mut line)).await {
        Ok(read) => read.context("reading the request")?,
        Err(_) => {
            let resp = Response::<()>::error(format!(
                "no request within {} ms; closing",
                limits.request_timeout.as_millis()
            ));
            out.line(&serde_json::to_string(&resp)?).await?;
            anyhow::bail!("{who}: no request within {:?}", limits.request_timeout);
        }
    };
    let request = match serde_json::from_str::<Request>(line.trim()) {
        Ok(r) => r,
        Err(e) => {
            let resp = Response::<super::api::Reply>::error(format!("bad request: {e}"));
            return out.line(&serde_json::to_string(&resp)?).await;
        }
    };
    if reads_only(&request) {
        log::debug!("control: {request:?} from {who}");
    } else {
        log::info!("control: {request:?} from {who}");
    }
    if request == Request::Events {
        return stream_events(out, events.subscribe()).await;
    }
    let (tx, rx) = oneshot::channel();
    queries
        .send((request, tx))
        .await
        .context("daemon loop gone")?;
    let resp = rx
        .await
        .unwrap_or_else(|_| Response::error("daemon is shutting down"));
    out.line(&serde_json::to_string(&resp)?).await
}

/// The `events` subscription: an empty response, then one line per event until the daemon
/// stops (the connection then closes) or the client stops reading.
async fn stream_events(
    mut out: Writer<'_>,
    mut events: broadcast::Receiver<EventLine>,
) -> Result<()> {
    let subscribed = Response::<()> {
        data: None,
        ..Response::ok(())
    };
    out.line(&serde_json::to_string(&subscribed)?).await?;
    loop {
        let line = match events.recv().await {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(missed)) => EventLine {
                event: Event::Lagged { missed },
                protocol: String::new(),
                interface: None,
                source: None,
                group: None,
                time_ns: 0,
            },
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        };
        out.line(&serde_json::to_string(&line)?).await?;
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
