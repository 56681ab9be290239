//! A blocking client of the handler protocol (`docs/handler-protocol.md`): typed requests, the
//! callback stream, answers. `mgm handler` is built on it; a routing daemon in Rust can be too.
//!
//! Responses and callbacks share the connection: a request's response is found by its `id`,
//! and callbacks read meanwhile are queued for [`HandlerClient::next_callback`], in order.
//! When the daemon goes away every call fails; connect and register again to resume (the
//! daemon gives a handler that registers under the same name its interfaces back).
use super::api::handler::{AnswerArgs, CallbackLine, RegisterArgs, Registered};
use super::api::{Request, RequestLine, Response};
use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long a request waits for its response.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct HandlerClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    callbacks: VecDeque<CallbackLine>,
    line: String,
}

impl HandlerClient {
    /// Connects to the daemon's control socket.
    pub fn connect(socket: &Path) -> Result<Self> {
        let stream = super::client::connect(socket)?;
        let writer = stream
            .try_clone()
            .context("cloning the control connection")?;
        Ok(HandlerClient {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            callbacks: VecDeque::new(),
            line: String::new(),
        })
    }

    /// `register`.
    pub fn register(&mut self, args: RegisterArgs) -> Result<Registered> {
        let name = args.name.clone();
        self.request(Request::Register(args))
            .with_context(|| format!("registering as '{name}'"))
    }

    /// `take_interface`: when it returns, the interface's replay is in the callback queue.
    pub fn take_interface(&mut self, interface: &str) -> Result<()> {
        self.request::<serde_json::Value>(Request::TakeInterface {
            interface: interface.to_string(),
        })
        .with_context(|| format!("taking {interface}"))
        .map(|_| ())
    }

    /// Sends `req` and waits for its response's data (as `T`; `serde_json::Value` takes any).
    /// Callbacks that arrive meanwhile are queued.
    pub fn request<T: DeserializeOwned>(&mut self, req: Request) -> Result<T> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&RequestLine {
            id: Some(id),
            request: req,
        })?;
        self.reader
            .get_ref()
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .context("setting the socket timeout")?;
        loop {
            let v = self.read_value()?;
            if v.get("callback").is_some() {
                self.callbacks.push_back(
                    serde_json::from_value(v).context("malformed callback from the daemon")?,
                );
                continue;
            }
            let resp: Response<serde_json::Value> =
                serde_json::from_value(v).context("malformed response")?;
            if resp.id.is_some() && resp.id != Some(id) {
                continue;
            }
            resp.check_version().map_err(|e| anyhow!(e))?;
            if !resp.ok {
                bail!("daemon error: {}", resp.error.unwrap_or_default());
            }
            let data = resp.data.unwrap_or(serde_json::Value::Null);
            return serde_json::from_value(data).context("malformed response data");
        }
    }

    /// The next callback, waiting for it as long as needed.
    pub fn next_callback(&mut self) -> Result<CallbackLine> {
        if let Some(c) = self.callbacks.pop_front() {
            return Ok(c);
        }
        self.reader
            .get_ref()
            .set_read_timeout(None)
            .context("setting the socket timeout")?;
        loop {
            let v = self.read_value()?;
            if v.get("callback").is_some() {
                return serde_json::from_value(v).context("malformed callback from the daemon");
            }
            // A response nobody waits for (an error about an answer): say it.
            log::warn!("unexpected line from the daemon: {v}");
        }
    }

    /// Answers the callback numbered `callback_id` (no response comes back).
    pub fn answer(&mut self, answer: AnswerArgs) -> Result<()> {
        self.send(&RequestLine {
            id: None,
            request: Request::Answer(answer),
        })
    }

    fn send(&mut self, line: &RequestLine) -> Result<()> {
        let mut text = serde_json::to_string(line)?;
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .context("writing to the daemon")
    }

    fn read_value(&mut self) -> Result<serde_json::Value> {
        self.line.clear();
        let n = self
            .reader
            .read_line(&mut self.line)
            .context("reading from the daemon")?;
        if n == 0 {
            bail!("the daemon closed the connection (it stopped?)");
        }
        serde_json::from_str(self.line.trim()).context("malformed line from the daemon")
    }
}
