//! The server's limits, against real sockets: a runtime on its own thread serves, the test talks
//! with blocking std sockets whose read timeout only bounds a failing test.
use super::*;
use crate::control::api::{GroupFilter, Hello, Reply, PROTOCOL_VERSION};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream as StdStream;

/// Bounds a read in a failing test; never reached when the server behaves.
const GIVE_UP: Duration = Duration::from_secs(20);

/// Starts a server on a fresh path with `limits`; a stand-in daemon loop answers every query
/// with a Hello.
fn start(tag: &str, limits: Limits) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mgm-srv-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("mgm.sock");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let server = ControlServer::bind_with(&p, Default::default(), limits).unwrap();
            let (qtx, mut qrx) = mpsc::channel::<Query>(8);
            let etx = EventSender::new(8);
            tokio::spawn(async move {
                while let Some(input) = qrx.recv().await {
                    if let ControlInput::Refused {
                        conn, id, error, ..
                    } = &input
                    {
                        let _ = conn.respond(*id, Response::<()>::error(error.clone()));
                    }
                    if let ControlInput::Chunk {
                        id, after, reply, ..
                    } = input
                    {
                        let _ = reply.send(stand_in_chunk(id, after));
                        continue;
                    }
                    if let ControlInput::Request { conn, id, .. } = input {
                        let _ = conn.respond(
                            id,
                            Response::ok(Reply::Hello(Hello {
                                version: PROTOCOL_VERSION,
                                daemon: "test".into(),
                            })),
                        );
                    }
                }
            });
            ready_tx.send(()).unwrap();
            server.serve(qtx, etx).await;
        });
    });
    ready_rx.recv().unwrap();
    path
}

/// The stand-in loop's answer to `show_groups`: rows 1, 2 and 3 (as numbers), one a chunk.
fn stand_in_chunk(
    id: Option<u64>,
    after: Option<crate::control::stream::Cursor>,
) -> crate::control::stream::Chunk {
    use crate::control::stream::{Cursor, GroupCursor};
    let last = match after {
        Some(Cursor::Group(c)) => u32::from(c.group),
        _ => 0,
    };
    let row = last + 1;
    let mut text = match after {
        None => crate::control::api::groups::response_head(id),
        Some(_) => ",".into(),
    };
    text.push_str(&row.to_string());
    let next = (row < 3).then(|| {
        Cursor::Group(GroupCursor {
            ifindex: 1,
            group: std::net::Ipv4Addr::from(row),
        })
    });
    if next.is_none() {
        text.push_str("]}\n");
    }
    crate::control::stream::Chunk { text, next }
}

fn connect(path: &Path) -> StdStream {
    let s = StdStream::connect(path).unwrap();
    s.set_read_timeout(Some(GIVE_UP)).unwrap();
    s
}

/// Reads until the server closes; the lines it sent.
fn read_to_close(s: StdStream) -> String {
    let mut out = String::new();
    BufReader::new(s)
        .read_to_string(&mut out)
        .expect("the server closes the connection (not a read timeout)");
    out
}

fn hello(path: &Path) -> String {
    let mut s = connect(path);
    s.write_all(b"{\"command\":\"hello\"}\n").unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

#[test]
fn a_connection_that_sends_no_request_is_closed() {
    let path = start(
        "idle",
        Limits {
            request_timeout: Duration::from_millis(200),
            ..Limits::default()
        },
    );
    let idle = connect(&path);
    let said = read_to_close(idle);
    assert!(said.contains("no request within"), "{said}");
    assert!(hello(&path).contains("\"ok\":true"));
}

#[test]
fn connections_beyond_the_cap_are_refused_at_once_and_slots_come_back() {
    let path = start(
        "cap",
        Limits {
            max_connections: 3,
            request_timeout: Duration::from_secs(600),
            ..Limits::default()
        },
    );
    let held: Vec<StdStream> = (0..3).map(|_| connect(&path)).collect();
    // Each of these is answered and closed although it never writes: no wait for a request.
    for _ in 0..5 {
        let said = read_to_close(connect(&path));
        assert!(said.contains("too many control connections"), "{said}");
    }
    drop(held);
    // The slots are given back as the server sees the closed connections.
    let mut answered = false;
    for _ in 0..100 {
        let line = hello(&path);
        if line.contains("\"ok\":true") {
            answered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        answered,
        "a slot came back after the held connections closed"
    );
}

#[test]
fn one_connection_carries_many_requests_and_responses_echo_their_ids() {
    let path = start("many", Limits::default());
    let mut s = connect(&path);
    s.write_all(b"{\"command\":\"hello\",\"id\":7}\nnot json\n{\"id\":8,\"command\":\"hello\"}\n")
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        lines.push(serde_json::from_str::<serde_json::Value>(&l).unwrap());
    }
    assert_eq!(lines[0]["id"], 7);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(
        lines[1]["ok"], false,
        "the bad line is answered with an error"
    );
    assert!(lines[1]["error"].as_str().unwrap().contains("bad request"));
    assert_eq!(lines[2]["id"], 8, "and the connection goes on");
    drop(s);
}

#[test]
fn events_must_come_first_on_a_connection() {
    let path = start("evlate", Limits::default());
    let mut s = connect(&path);
    s.write_all(b"{\"command\":\"hello\"}\n{\"command\":\"events\",\"id\":2}\n")
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    l.clear();
    r.read_line(&mut l).unwrap();
    assert!(l.contains("events must be the first request"), "{l}");
}

#[test]
fn a_streamed_answer_is_one_line_in_order_with_the_other_responses() {
    let path = start("stream", Limits::default());
    let mut s = connect(&path);
    s.write_all(
        b"{\"command\":\"hello\",\"id\":1}\n{\"command\":\"show_groups\",\"id\":2}\n\
          {\"command\":\"hello\",\"id\":3}\n",
    )
    .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        lines.push(l);
    }
    let ids: Vec<u64> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 2, 3], "{lines:?}");
    let rows: Response<Vec<u32>> = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(
        rows.data,
        Some(vec![1, 2, 3]),
        "the chunks make one line: {}",
        lines[1]
    );
    // The client reads the rows one by one.
    let mut seen = Vec::new();
    crate::control::client::stream(
        &path,
        Request::ShowGroups(GroupFilter::default()),
        |row: u32| {
            seen.push(row);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(seen, [1, 2, 3]);
}

/// Lines queued while a streamed answer's line is open (a handler's callbacks between two of
/// its chunks) wait for its end: no line is cut, and they follow it in their order.
#[test]
fn lines_queued_inside_a_streamed_line_follow_its_end() {
    let mut lines = Interleave::default();
    let mut batch = String::new();
    let mut written = Vec::new();
    let part = |t: &str| Out::Part(t.into(), oneshot::channel().0);
    for out in [
        Out::Line("a".into()),
        part("{\"data\":[1"),
        Out::Line("cb1".into()),
        part(",2"),
        Out::Line("cb2".into()),
        part("]}\n"),
        Out::Line("b".into()),
    ] {
        assert!(lines.add(out, &mut batch, &mut written));
    }
    assert_eq!(batch, "a\n{\"data\":[1,2]}\ncb1\ncb2\nb\n");
    assert_eq!(written.len(), 3);
    // A client that reads nothing while its answer is open: past the outbox's size, closed.
    let mut lines = Interleave::default();
    assert!(lines.add(part("{"), &mut batch, &mut written));
    let held = (0..OUTBOX_LINES)
        .take_while(|_| lines.add(Out::Line("cb".into()), &mut batch, &mut written))
        .count();
    assert_eq!(held, OUTBOX_LINES - 1);
}

/// A client that writes requests without reading the answers has at most [`IN_FLIGHT`] of them
/// in the loop's queue: the server reads its next request only when the loop has handled one.
#[test]
fn a_pipelining_client_has_at_most_its_places_in_the_loops_queue() {
    let dir = std::env::temp_dir().join(format!("mgm-srv-inflight-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("mgm.sock");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let server =
                ControlServer::bind_with(&p, Default::default(), Limits::default()).unwrap();
            let (qtx, mut qrx) = mpsc::channel::<Query>(1024);
            tokio::spawn(server.serve(qtx, EventSender::new(8)));
            ready_tx.send(()).unwrap();
            // Holds every input (not handled), then lets the server run many turns.
            let mut held = Vec::new();
            while held.len() < IN_FLIGHT {
                held.push(qrx.recv().await.unwrap());
            }
            for _ in 0..1000 {
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::ZERO).await;
            }
            while let Ok(input) = qrx.try_recv() {
                held.push(input);
            }
            seen_tx.send(held.len()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    ready_rx.recv().unwrap();
    let mut s = connect(&path);
    s.write_all("{\"command\":\"hello\"}\n".repeat(50).as_bytes())
        .unwrap();
    let held = seen_rx.recv_timeout(GIVE_UP).unwrap();
    assert_eq!(held, IN_FLIGHT, "the rest wait in the socket");
}
