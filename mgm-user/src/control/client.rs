//! Blocking client used by `mgm show` and `mgm events`.
use super::api::{Request, Response};
use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long `mgm show` waits for an answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

pub fn connect(socket: &Path) -> Result<UnixStream> {
    UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => anyhow!(
            "permission denied on {}: the control socket is for its owner and group \
             (`mgm run --socket-group`); run as root or as a member of that group",
            socket.display()
        ),
        _ => anyhow!(
            "no mgm daemon answers on {} ({e}); is `mgm run` running?",
            socket.display()
        ),
    })
}

/// Writes one request line. When the daemon has already closed the connection, having refused
/// it with one error line (too many connections, or a user in neither socket group), that line
/// is the error.
fn write_request(stream: &mut UnixStream, line: &str) -> Result<()> {
    let Err(e) = stream.write_all(line.as_bytes()) else {
        return Ok(());
    };
    if matches!(
        e.kind(),
        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
    ) {
        let mut answer = String::new();
        let _ = std::io::BufReader::new(&*stream).read_line(&mut answer);
        if let Ok(resp) = serde_json::from_str::<Response<()>>(answer.trim()) {
            if !resp.ok {
                bail!("daemon error: {}", resp.error.unwrap_or_default());
            }
        }
    }
    Err(e).context("sending the request")
}

/// Connects and sends one request line; the answer is read from the returned stream.
fn send(socket: &Path, req: &Request) -> Result<UnixStream> {
    let mut stream = connect(socket)?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .context("setting the socket timeout")?;
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    write_request(&mut stream, &line)?;
    Ok(stream)
}

/// Sends one request and returns the response's data as `T` (the view type of the request,
/// see [`Request`]; `serde_json::Value` takes any).
pub fn request<T: DeserializeOwned>(socket: &Path, req: Request) -> Result<T> {
    let stream = send(socket, &req)?;
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
    let resp: Response<serde_json::Value> =
        serde_json::from_str(&answer).context("malformed response")?;
    let data = checked(resp)?.unwrap_or(serde_json::Value::Null);
    serde_json::from_value(data).context("malformed response data")
}

/// Sends `req`, whose answer is an array of `T` (`show_groups`, which the daemon streams), and
/// calls `each` with every row as it is read: the answer is never held whole.
pub fn stream<T: DeserializeOwned>(
    socket: &Path,
    req: Request,
    mut each: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let stream = send(socket, &req)?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, stream));
    let mut stopped = None;
    let mut mismatch = None;
    let mut on_row = |row: T| each(row).map_err(|e| stopped = Some(e));
    let seed = rows::StreamedResponse {
        each: &mut on_row,
        mismatch: &mut mismatch,
        _row: std::marker::PhantomData,
    };
    let read = serde::de::DeserializeSeed::deserialize(seed, &mut de);
    if let Some(e) = stopped {
        return Err(e);
    }
    if let Some(e) = mismatch {
        bail!(e);
    }
    match read {
        Ok(resp) => checked(resp).map(|_| ()),
        Err(e) if e.is_eof() => bail!(
            "the daemon on {} closed the connection before the end of its answer",
            socket.display()
        ),
        Err(e) => Err(anyhow!(e)).context("malformed response"),
    }
}

#[path = "client_rows.rs"]
mod rows;

/// The data of a response of our protocol version that succeeded.
fn checked<T>(resp: Response<T>) -> Result<Option<T>> {
    resp.check_version().map_err(|e| anyhow!(e))?;
    if !resp.ok {
        bail!("daemon error: {}", resp.error.unwrap_or_default());
    }
    Ok(resp.data)
}

/// Subscribes to events and calls `each` with every JSON line. The stream has no end of its
/// own: the daemon closing it (it stopped) is an error.
pub fn events(socket: &Path, mut each: impl FnMut(&str) -> Result<()>) -> Result<()> {
    let mut stream = connect(socket)?;
    let mut line = serde_json::to_string(&Request::Events)?;
    line.push('\n');
    write_request(&mut stream, &line)?;
    let reader = BufReader::new(stream);
    let mut lines = reader.lines();
    match lines.next() {
        Some(first) => {
            let resp: Response<serde_json::Value> =
                serde_json::from_str(&first.context("reading")?).context("malformed response")?;
            checked(resp)?;
        }
        None => bail!("the daemon closed the connection"),
    }
    for l in lines {
        each(&l.context("reading events")?)?;
    }
    bail!(
        "the daemon on {} closed the event stream (it stopped?)",
        socket.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn an_event_stream_the_daemon_closes_is_an_error() {
        let dir = std::env::temp_dir().join(format!("mgm-client-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mgm.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = String::new();
            BufReader::new(s.try_clone().unwrap())
                .read_line(&mut req)
                .unwrap();
            let ok = serde_json::to_string(&Response::<()> {
                data: None,
                ..Response::ok(())
            })
            .unwrap();
            writeln!(s, "{ok}").unwrap();
            writeln!(s, "{{\"event\":\"x\"}}").unwrap();
        });
        let mut seen = 0;
        let e = events(&path, |_| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
        assert_eq!(seen, 1);
        assert!(
            format!("{e:#}").contains("closed the event stream"),
            "{e:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
