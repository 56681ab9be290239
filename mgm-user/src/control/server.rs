//! Control socket server: one task per connection; show requests go to the daemon loop through a
//! channel (the loop owns the state), event subscribers get a broadcast receiver.
use super::api::{Event, EventLine, Request, Response, MAX_REQUEST_BYTES};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};

/// A show request for the daemon loop, with where to send the answer.
pub type Query = (Request, oneshot::Sender<Response>);

/// The event stream as the daemon publishes it: one [`EventLine`] per event.
pub type EventSender = broadcast::Sender<EventLine>;

pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlServer {
    /// Binds `path`. A live daemon already answering there is an error; a stale socket file left
    /// by a crash is replaced.
    pub fn bind(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                bail!("another mgm daemon is running: {} answers", path.display());
            }
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
        }
        let listener = UnixListener::bind(path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Accepts connections until the task is dropped.
    pub async fn serve(self, queries: mpsc::Sender<Query>, events: EventSender) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    let queries = queries.clone();
                    let events = events.clone();
                    tokio::spawn(async move {
                        if let Err(e) = handle(stream, queries, events).await {
                            log::debug!("control connection: {e:#}");
                        }
                    });
                }
                Err(e) => {
                    log::warn!("control socket accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

async fn handle(
    stream: UnixStream,
    queries: mpsc::Sender<Query>,
    events: EventSender,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_REQUEST_BYTES as u64));
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .await
        .context("reading the request")?;
    let request = match serde_json::from_str::<Request>(line.trim()) {
        Ok(r) => r,
        Err(e) => {
            let resp = Response::<super::api::Reply>::error(format!("bad request: {e}"));
            write_line(&mut write, &serde_json::to_string(&resp)?).await?;
            return Ok(());
        }
    };
    if request == Request::Events {
        let mut events = events.subscribe();
        let subscribed = Response::<()> {
            data: None,
            ..Response::ok(())
        };
        write_line(&mut write, &serde_json::to_string(&subscribed)?).await?;
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
            write_line(&mut write, &serde_json::to_string(&line)?).await?;
        }
    }
    let (tx, rx) = oneshot::channel();
    queries
        .send((request, tx))
        .await
        .context("daemon loop gone")?;
    let resp = rx
        .await
        .unwrap_or_else(|_| Response::error("daemon is shutting down"));
    write_line(&mut write, &serde_json::to_string(&resp)?).await
}

async fn write_line(w: &mut tokio::net::unix::OwnedWriteHalf, line: &str) -> Result<()> {
    w.write_all(line.as_bytes()).await?;
    w.write_all(b"\n").await?;
    Ok(())
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
