//! Answers written in pieces (`show_groups`, [`super::api::groups`]): the connection's task
//! asks the daemon loop for one chunk at a time ([`ControlInput::Chunk`]), each ending at a
//! cursor the next one starts after, and queues it for the client. The loop walks a bounded
//! number of rows per chunk, so a large answer never holds it for long; at most two chunks
//! wait for the client, so neither side holds the whole answer, and a client that reads slowly
//! slows the walk instead of filling memory.
use super::api::{GroupFilter, Response};
use super::server::{Connection, ControlInput, Query};
use std::net::Ipv4Addr;
use tokio::sync::{mpsc, oneshot};

/// Where a walk of the groups stopped: the last row written (rows go by interface index, then
/// group address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupCursor {
    pub ifindex: u32,
    pub group: Ipv4Addr,
}

/// One piece of a streamed answer, as the loop returns it.
#[derive(Debug)]
pub struct Chunk {
    /// Bytes of the response line (the last chunk ends with its newline).
    pub text: String,
    /// Where the next chunk starts; `None` when this one ends the answer.
    pub next: Option<GroupCursor>,
}

/// The loop's answer to a [`ControlInput::Chunk`].
pub type ChunkReply = oneshot::Sender<Chunk>;

/// Streams the answer to `show_groups` on `conn`, chunk by chunk; returns when it is all queued
/// (or the loop or the client went away, which the caller sees next).
pub(crate) async fn stream_groups(
    conn: &Connection,
    id: Option<u64>,
    filter: GroupFilter,
    queries: &mpsc::Sender<Query>,
) {
    let mut after = None;
    let mut first = true;
    let mut in_flight: Option<oneshot::Receiver<()>> = None;
    loop {
        let (reply, answer) = oneshot::channel();
        let input = ControlInput::Chunk {
            conn: conn.clone(),
            id,
            filter: filter.clone(),
            after,
            reply,
        };
        if queries.send(input).await.is_err() {
            if first {
                let _ = conn.respond(None, Response::<()>::error("daemon is shutting down"));
            }
            return;
        }
        let Ok(chunk) = answer.await else {
            return;
        };
        first = false;
        // The chunk before this one must be written before this one is queued.
        if let Some(written) = in_flight.take() {
            if written.await.is_err() {
                return;
            }
        }
        let Some(written) = conn.send_part(chunk.text).await else {
            return;
        };
        in_flight = Some(written);
        match chunk.next {
            Some(next) => after = Some(next),
            None => return,
        }
    }
}
