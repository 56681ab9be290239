//! Answers written in pieces (`show_groups`, [`super::api::groups`], and `show_mfe`): the
//! connection's task
//! asks the daemon loop for one chunk at a time ([`ControlInput::Chunk`]), each ending at a
//! cursor the next one starts after, and queues it for the client. The loop walks a bounded
//! number of rows per chunk, so a large answer never holds it for long; at most two chunks
//! wait for the client, so neither side holds the whole answer, and a client that reads slowly
//! slows the walk instead of filling memory.
use super::api::groups::{response_head, RESPONSE_TAIL};
use super::api::handler::{MembershipFilter, MembershipKey};
use super::api::{GroupFilter, Response};
use super::connection::{Out, OUTBOX_LINES};
use super::server::{Connection, ControlInput, Query};
use serde::Serialize;
use std::net::Ipv4Addr;
use tokio::sync::{mpsc, oneshot};

/// Where a walk of the groups stopped: the last row written (rows go by interface index, then
/// group address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupCursor {
    pub ifindex: u32,
    pub group: Ipv4Addr,
}

/// Where a walk of the MFEs stopped: the last entry written (entries go by group, then
/// source, the manager's table order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MfeCursor {
    pub group: Ipv4Addr,
    pub source: Ipv4Addr,
}

/// Where a walk of the membership records stopped: the last record visited, listed or not
/// (records go in the walk order of `get_first_membership`). A filtered walk visits a bounded
/// number of records per chunk, so a chunk may list fewer records than it could, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipCursor {
    /// The next chunk starts after this record.
    pub after: MembershipKey,
    /// Whether an earlier chunk listed a record (the next one follows a comma).
    pub listed: bool,
}

/// The answers written in pieces, with what each needs to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Streamed {
    /// `show_groups` and its filter.
    Groups(GroupFilter),
    /// `show_mfe`.
    Mfe,
    /// `get_memberships` and its filter.
    Memberships(MembershipFilter),
}

/// Where the next chunk of a streamed answer starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Group(GroupCursor),
    Mfe(MfeCursor),
    Membership(MembershipCursor),
}

/// One piece of a streamed answer, as the loop returns it.
#[derive(Debug)]
pub struct Chunk {
    /// Bytes of the response line (the last chunk ends with its newline).
    pub text: String,
    /// Where the next chunk starts; `None` when this one ends the answer.
    pub next: Option<Cursor>,
}

/// One chunk of a response line: the head when it is the `first`, the rows `walk` hands over,
/// comma-separated (after one when earlier chunks `listed` rows), and the tail when the walk
/// says nothing is left (returns `None`).
pub(crate) fn rows_chunk<R: Serialize, C>(
    id: Option<u64>,
    first: bool,
    listed: bool,
    walk: impl FnOnce(&mut dyn FnMut(R)) -> Option<C>,
) -> (String, Option<C>) {
    let mut text = if first {
        response_head(id)
    } else {
        String::new()
    };
    // No row yet in the line: the next one goes without a comma.
    let mut lead = !listed;
    let next = walk(&mut |row| {
        if !lead {
            text.push(',');
        }
        lead = false;
        // Plain strings and numbers: serializing cannot fail.
        if let Ok(json) = serde_json::to_string(&row) {
            text.push_str(&json);
        }
    });
    if next.is_none() {
        text.push_str(RESPONSE_TAIL);
        text.push('\n');
    }
    (text, next)
}

/// The loop's answer to a [`ControlInput::Chunk`].
pub type ChunkReply = oneshot::Sender<Chunk>;

/// Streams the answer `what` on `conn`, chunk by chunk; returns when it is all queued (or the
/// loop or the client went away, which the caller sees next).
pub(crate) async fn stream_answer(
    conn: &Connection,
    id: Option<u64>,
    what: Streamed,
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
            what: what.clone(),
            after: after.take(),
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

/// A streamed answer's line is written in parts ([`super::stream`]) over several turns of the
/// loop, and a handler session's callbacks may be queued meanwhile: whole lines queued while
/// such a line is open wait for its end, so no line is cut, and go out right after it.
#[derive(Default)]
pub(crate) struct Interleave {
    /// A part without the line's end was written last.
    open: bool,
    held: Vec<String>,
}

impl Interleave {
    /// Adds `out` to `batch` (a part's waiter to `written`), or holds it; false when
    /// [`OUTBOX_LINES`] are held: the client is not reading.
    pub(crate) fn add(
        &mut self,
        out: Out,
        batch: &mut String,
        written: &mut Vec<oneshot::Sender<()>>,
    ) -> bool {
        match out {
            Out::Line(l) if self.open => {
                self.held.push(l);
                return self.held.len() < OUTBOX_LINES;
            }
            Out::Line(l) => {
                batch.push_str(&l);
                batch.push('\n');
            }
            Out::Part(p, done) => {
                batch.push_str(&p);
                written.push(done);
                self.open = !p.ends_with('\n');
                if !self.open {
                    for l in self.held.drain(..) {
                        batch.push_str(&l);
                        batch.push('\n');
                    }
                }
            }
        }
        true
    }
}
