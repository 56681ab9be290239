//! Blocking client used by `mgm show` and `mgm events`.
use super::protocol::{Request, Response};
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long `mgm show` waits for an answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

fn connect(socket: &Path) -> Result<UnixStream> {
    UnixStream::connect(socket).map_err(|e| {
        anyhow!(
            "no mgm daemon answers on {} ({e}); is `mgm run` running?",
            socket.display()
        )
    })
}

/// Sends one request and returns the response's data.
pub fn request(socket: &Path, req: Request) -> Result<serde_json::Value> {
    let mut stream = connect(socket)?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .context("setting the socket timeout")?;
    let mut line = serde_json::to_string(&req)?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .context("sending the request")?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader
        .read_line(&mut answer)
        .context("reading the response")?;
    if answer.is_empty() {
        bail!(
            "the daemon on {} closed the connection without answering",
            socket.display()
        );
    }
    let resp: Response = serde_json::from_str(&answer).context("malformed response")?;
    if !resp.ok {
        bail!("daemon error: {}", resp.error.unwrap_or_default());
    }
    Ok(resp.data.unwrap_or(serde_json::Value::Null))
}

/// Subscribes to events and calls `each` with every JSON line until the daemon closes.
pub fn events(socket: &Path, mut each: impl FnMut(&str) -> Result<()>) -> Result<()> {
    let mut stream = connect(socket)?;
    let mut line = serde_json::to_string(&Request::Events)?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .context("sending the request")?;
    let reader = BufReader::new(stream);
    let mut lines = reader.lines();
    match lines.next() {
        Some(first) => {
            let resp: Response =
                serde_json::from_str(&first.context("reading")?).context("malformed response")?;
            if !resp.ok {
                bail!("daemon error: {}", resp.error.unwrap_or_default());
            }
        }
        None => bail!("the daemon closed the connection"),
    }
    for l in lines {
        each(&l.context("reading events")?)?;
    }
    Ok(())
}
