//! The bench's handler: a thread of this process registered as [`NAME`], reading its
//! callbacks with the shipped client or a raw reader, each stamped when read.

use crate::forward::mono_ns;
use crate::NAME;
use mgm_user::control::{
    api::{
        handler::{CallbackLine, HandlerKind, RegisterArgs},
        Request, RequestLine,
    },
    client,
    handler_client::HandlerClient,
};
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How the handler reads its connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reader {
    /// `HandlerClient::next_callback` (the shipped Rust client).
    Client,
    /// A `BufReader` over the `UnixStream`, each line parsed once into a `CallbackLine`.
    Raw,
}

impl Reader {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reader::Client => "HandlerClient",
            Reader::Raw => "raw UnixStream reader",
        }
    }
}

/// One callback as the handler read it.
#[derive(Clone, Debug)]
pub(crate) struct Got {
    /// CLOCK_MONOTONIC ns when the reader had the line.
    pub(crate) t: u64,
    pub(crate) seq: u64,
    pub(crate) kind: &'static str,
    pub(crate) group: Option<Ipv4Addr>,
}

/// The bench's handler: a thread of this process registered as [`NAME`].
pub(crate) struct Handler {
    pub(crate) got: Arc<Mutex<Vec<Got>>>,
    /// `local_join` and `join_alert` lines read (one per new group).
    pub(crate) joins: Arc<AtomicUsize>,
    /// The reader thread's id (for its CPU time).
    pub(crate) tid: Arc<AtomicI32>,
}

impl Handler {
    /// Registers and waits for the replay of the reserved interface to end.
    pub(crate) fn start(socket: &Path, reader: Reader) -> Handler {
        let got = Arc::new(Mutex::new(Vec::new()));
        let joins = Arc::new(AtomicUsize::new(0));
        let tid = Arc::new(AtomicI32::new(0));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (g, j, t) = (got.clone(), joins.clone(), tid.clone());
        let socket = socket.to_path_buf();
        std::thread::spawn(move || {
            t.store(nix::unistd::gettid().as_raw(), Ordering::SeqCst);
            let record = |cb: CallbackLine, at: u64| {
                let kind = cb.callback.name();
                g.lock().unwrap().push(Got {
                    t: at,
                    seq: cb.seq,
                    kind,
                    group: cb.group,
                });
                if matches!(kind, "local_join" | "join_alert") {
                    j.fetch_add(1, Ordering::SeqCst);
                }
            };
            match reader {
                Reader::Client => read_with_client(&socket, ready_tx, record),
                Reader::Raw => read_raw(&socket, ready_tx, record),
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the bench handler did not register: {e}"),
            Err(_) => panic!("the bench handler did not register in 10 s"),
        }
        let h = Handler { got, joins, tid };
        let start = Instant::now();
        while !h.got().iter().any(|g| g.kind == "replay_end") {
            assert!(start.elapsed() < Duration::from_secs(10), "no replay_end");
            std::thread::sleep(Duration::from_millis(10));
        }
        h
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    pub(crate) fn joins(&self) -> usize {
        self.joins.load(Ordering::SeqCst)
    }

    /// CPU time of the reader thread, ns.
    pub(crate) fn cpu_ns(&self) -> u64 {
        let tid = self.tid.load(Ordering::SeqCst);
        std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

pub(crate) fn register_args() -> RegisterArgs {
    RegisterArgs {
        name: NAME.into(),
        protocol_id: None,
        component_id: None,
        kind: HandlerKind::Routing,
    }
}

pub(crate) fn read_with_client(
    socket: &Path,
    ready: mpsc::Sender<Result<(), String>>,
    record: impl Fn(CallbackLine, u64),
) {
    let mut c = match HandlerClient::connect(socket).and_then(|mut c| {
        c.register(register_args())?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(format!("{e:#}")));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    // Ends when the daemon goes (the lab's end).
    while let Ok(cb) = c.next_callback() {
        record(cb, mono_ns());
    }
}

pub(crate) fn read_raw(
    socket: &Path,
    ready: mpsc::Sender<Result<(), String>>,
    record: impl Fn(CallbackLine, u64),
) {
    let stream = match client::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(format!("{e:#}")));
            return;
        }
    };
    let mut w = stream.try_clone().expect("clone the handler stream");
    let mut line = serde_json::to_string(&RequestLine {
        id: Some(1),
        request: Request::Register(register_args()),
    })
    .expect("encode register");
    line.push('\n');
    if let Err(e) = w.write_all(line.as_bytes()) {
        let _ = ready.send(Err(e.to_string()));
        return;
    }
    let mut r = BufReader::with_capacity(1 << 16, stream);
    let mut ready = Some(ready);
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let at = mono_ns();
        if let Ok(cb) = serde_json::from_str::<CallbackLine>(&line) {
            record(cb, at);
            continue;
        }
        // A response: the one to `register`.
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(tx) = ready.take() {
            let _ = tx.send(if v["ok"] == true {
                Ok(())
            } else {
                Err(line.trim().to_string())
            });
        }
    }
}
