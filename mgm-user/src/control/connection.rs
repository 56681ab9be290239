//! A control connection as the daemon loop sees it: who is on the other end and where the
//! lines for it go (its outbox, written by the server's writer task in order).
use super::api::Response;
use super::peer::Peer;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Lines waiting for one client at most; more means it stopped reading.
pub const OUTBOX_LINES: usize = 16 * 1024;

/// A connection as the daemon loop sees it: who it is, and where its lines go.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Unique for the server's life.
    pub id: u64,
    pub peer: Peer,
    pub(super) out: mpsc::Sender<Out>,
    pub(super) close: Arc<tokio::sync::Notify>,
}

/// What the writer of a connection writes: a whole line, or a piece of one (a streamed answer,
/// [`super::stream`]) with who waits until it is written.
#[derive(Debug)]
pub enum Out {
    Line(String),
    Part(String, oneshot::Sender<()>),
}

/// Why a line could not be queued for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// [`OUTBOX_LINES`] are waiting: the client is not reading.
    Full,
    /// The connection is gone.
    Closed,
}

impl Connection {
    /// Queues one line (without its newline) for the client, without waiting.
    pub fn send(&self, line: String) -> Result<(), SendError> {
        self.out.try_send(Out::Line(line)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }
    /// Queues a response to the request numbered `id`.
    pub fn respond<T: serde::Serialize>(
        &self,
        id: Option<u64>,
        resp: Response<T>,
    ) -> Result<(), SendError> {
        match serde_json::to_string(&resp.with_id(id)) {
            Ok(line) => self.send(line),
            Err(e) => {
                log::warn!("control: cannot encode a response: {e}");
                Ok(())
            }
        }
    }
    /// Queues a piece of a line, waiting for room; the receiver tells when it is written
    /// (`None`: the connection is gone).
    pub(crate) async fn send_part(&self, text: String) -> Option<oneshot::Receiver<()>> {
        let (written, wait) = oneshot::channel();
        self.out.send(Out::Part(text, written)).await.ok()?;
        Some(wait)
    }
    /// Closes the connection once the lines queued so far are written.
    pub fn close(&self) {
        self.close.notify_one();
    }
    /// A connection whose lines go to `out` (for tests of the daemon's side).
    pub fn for_test(id: u64, peer: Peer, out: mpsc::Sender<Out>) -> Self {
        Connection {
            id,
            peer,
            out,
            close: Arc::default(),
        }
    }
}
