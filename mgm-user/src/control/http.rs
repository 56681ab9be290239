//! The metrics listener of `mgm run --metrics ADDR:PORT`: a minimal HTTP/1.1 responder for
//! `GET /metrics`, on its own thread with its own runtime, like the control server.
//!
//! One request per connection (every response says `Connection: close`): a scraper asks once
//! every few seconds, so keep-alive buys nothing. Anything but `GET /metrics` is answered 404,
//! a request line that is not HTTP/1.x 400. Clients are bounded: at most
//! [`MetricsLimits::max_connections`] at once (one more is answered 503 at once and closed),
//! the request head must arrive within [`MetricsLimits::request_timeout`] and fit in
//! [`MetricsLimits::max_head`], and the response must be read within
//! [`MetricsLimits::write_timeout`].
//!
//! The body comes from a `render` function given the format the client asked for (OpenMetrics
//! when its `Accept` header names it, the Prometheus text format otherwise): it asks the
//! daemon loop for a snapshot and encodes it here, so this thread never touches daemon state
//! and the loop never waits for a client.
//!
//! Why not hyper: one route, one method and a body of a few kilobytes do not need an HTTP
//! stack, its dependencies and its build time; the limits a daemon must keep (connections,
//! timeouts, head size) are a few lines here and tested below.
use anyhow::{Context, Result};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

/// The exposition format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`), the default.
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`), when the client asks for it.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The body of a scrape in `format`, or why there is none (answered 503).
pub type Render = Arc<
    dyn Fn(Format) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync,
>;

/// Most scrapers connected at once.
pub const MAX_CONNECTIONS: usize = 16;
/// How long a client may take to send its request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to read the response.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest request head (request line and headers) read.
pub const MAX_HEAD: usize = 8 * 1024;

/// What the metrics listener lets its clients hold.
#[derive(Debug, Clone, Copy)]
pub struct MetricsLimits {
    pub max_connections: usize,
    pub request_timeout: Duration,
    pub write_timeout: Duration,
    pub max_head: usize,
}

impl Default for MetricsLimits {
    fn default() -> Self {
        MetricsLimits {
            max_connections: MAX_CONNECTIONS,
            request_timeout: REQUEST_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            max_head: MAX_HEAD,
        }
    }
}

/// The bound listening socket, before its thread runs.
#[derive(Debug)]
pub struct MetricsListener {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    limits: MetricsLimits,
}

impl MetricsListener {
    /// Listens on `addr`; the error names the address and says why (in use, not an address of
    /// this host, privileged port).
    pub fn bind(addr: SocketAddr) -> Result<Self> {
        Self::bind_with(addr, MetricsLimits::default())
    }

    pub fn bind_with(addr: SocketAddr, limits: MetricsLimits) -> Result<Self> {
        let listener = std::net::TcpListener::bind(addr).map_err(|e| {
            let why = match e.raw_os_error() {
                Some(libc::EADDRINUSE) => {
                    "the address is in use (another program, or another mgm, listens there)"
                        .to_string()
                }
                Some(libc::EADDRNOTAVAIL) => {
                    "not an address of this host (in this network namespace)".to_string()
                }
                Some(libc::EACCES) => format!("permission denied ({e})"),
                _ => e.to_string(),
            };
            anyhow::anyhow!("--metrics {addr}: cannot listen: {why}")
        })?;
        listener
            .set_nonblocking(true)
            .context("metrics listener: non-blocking mode")?;
        let addr = listener.local_addr().unwrap_or(addr);
        Ok(MetricsListener {
            listener,
            addr,
            limits,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves on a thread of its own until the [`HttpThread`] is stopped or dropped.
    pub fn spawn_thread(self, render: Render) -> Result<HttpThread> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the metrics listener's runtime")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mgm-metrics".into())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        _ = self.serve(render) => {}
                        _ = stopped => {}
                    }
                });
            })
            .context("starting the metrics listener thread")?;
        Ok(HttpThread {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Accepts connections until dropped.
    pub async fn serve(self, render: Render) {
        let listener = match self.listener.try_clone().and_then(TcpListener::from_std) {
            Ok(l) => l,
            Err(e) => {
                log::error!("metrics listener: cannot register {}: {e}", self.addr);
                return;
            }
        };
        let slots = Arc::new(Semaphore::new(self.limits.max_connections));
        let mut refused: u64 = 0;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("metrics listener accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                refused += 1;
                if refused % 1000 == 1 {
                    log::warn!(
                        "metrics listener: {} clients connected, refusing more ({refused} \
                         refused so far)",
                        self.limits.max_connections
                    );
                }
                let _ = stream.try_write(&response(
                    503,
                    "text/plain; charset=utf-8",
                    "too many connections\n",
                ));
                continue;
            };
            let render = render.clone();
            let limits = self.limits;
            tokio::spawn(async move {
                if let Err(e) = handle(stream, &render, limits).await {
                    log::debug!("metrics client {peer}: {e}");
                }
                drop(slot);
            });
        }
    }
}

/// The listener's thread; stopped (and joined) by [`HttpThread::stop`] or on drop.
#[derive(Debug)]
pub struct HttpThread {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpThread {
    pub fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::warn!("the metrics listener thread panicked");
            }
        }
    }
}

impl Drop for HttpThread {
    fn drop(&mut self) {
        self.end();
    }
}

/// One connection: read the head (bounded in time and size), answer, close.
async fn handle(
    mut stream: TcpStream,
    render: &Render,
    limits: MetricsLimits,
) -> std::io::Result<()> {
    let head = tokio::time::timeout(
        limits.request_timeout,
        read_head(&mut stream, limits.max_head),
    )
    .await;
    let answer = match head {
        Err(_) => response(408, "text/plain; charset=utf-8", "request timeout\n"),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            response(431, "text/plain; charset=utf-8", "request head too large\n")
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(None)) => return Ok(()), // closed without a request
        Ok(Ok(Some(head))) => match parse_request(&head) {
            Err(why) => response(400, "text/plain; charset=utf-8", &format!("{why}\n")),
            Ok(req) if req.method == "GET" && req.path == "/metrics" => {
                match render(req.format).await {
                    Ok(body) => response(200, req.format.content_type(), &body),
                    Err(e) => response(503, "text/plain; charset=utf-8", &format!("{e}\n")),
                }
            }
            Ok(_) => response(
                404,
                "text/plain; charset=utf-8",
                "not found: mgm serves GET /metrics only\n",
            ),
        },
    };
    match tokio::time::timeout(limits.write_timeout, stream.write_all(&answer)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client read nothing",
            ))
        }
    }
    let _ = tokio::time::timeout(limits.write_timeout, stream.shutdown()).await;
    Ok(())
}

/// Reads up to the blank line ending the request head: `None` when the client closed before
/// sending anything; `InvalidData` past `max` bytes.
async fn read_head(stream: &mut TcpStream, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            // A head cut short: parse what came (it fails if the request line is incomplete).
            return Ok(Some(buf));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf) {
            buf.truncate(end);
            return Ok(Some(buf));
        }
        if buf.len() > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
}

/// Where the head ends (the blank line, CRLF or bare LF), if it has.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The parts of a request that matter here.
#[derive(Debug, PartialEq, Eq)]
struct RequestHead {
    method: String,
    /// The target without its query string.
    path: String,
    format: Format,
}

/// Parses `METHOD SP TARGET SP HTTP/1.x` and the `Accept` header.
fn parse_request(head: &[u8]) -> Result<RequestHead, String> {
    let text = std::str::from_utf8(head).map_err(|_| "bad request: not UTF-8".to_string())?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or("");
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Err(format!("bad request line {line:?}"));
    };
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || !matches!(version, "HTTP/1.0" | "HTTP/1.1")
    {
        return Err(format!("bad request line {line:?}"));
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let mut format = Format::Prometheus;
    for header in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = header.split_once(':') else {
            return Err(format!("bad header line {header:?}"));
        };
        if name.trim().eq_ignore_ascii_case("accept")
            && value
                .to_ascii_lowercase()
                .contains("application/openmetrics-text")
        {
            format = Format::OpenMetrics;
        }
    }
    Ok(RequestHead {
        method: method.to_string(),
        path: path.to_string(),
        format,
    })
}

/// A whole response that closes the connection.
fn response(status: u16, content_type: &str, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn request_lines_and_accept_headers_are_parsed() {
        let r = parse_request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            r,
            RequestHead {
                method: "GET".into(),
                path: "/metrics".into(),
                format: Format::Prometheus
            }
        );
        let r = parse_request(
            b"GET /metrics?x=1 HTTP/1.0\nAccept: application/openmetrics-text;version=1.0.0,\
              text/plain;q=0.5\n\n",
        )
        .unwrap();
        assert_eq!(r.path, "/metrics");
        assert_eq!(r.format, Format::OpenMetrics);
        for bad in [
            &b"GET /metrics\r\n\r\n"[..],
            b"GET  /metrics HTTP/1.1\r\n\r\n",
            b"get /metrics HTTP/1.1\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/2\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
            b"\xff\xfe",
        ] {
            assert!(
                parse_request(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nbody"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    /// A listener on 127.0.0.1 (any port) whose body counts the scrapes.
    fn start(limits: MetricsLimits) -> (HttpThread, SocketAddr) {
        let l = MetricsListener::bind_with("127.0.0.1:0".parse().unwrap(), limits).unwrap();
        let addr = l.local_addr();
        let render: Render = Arc::new(|f: Format| {
            Box::pin(async move {
                match f {
                    Format::Prometheus => Ok("up 1\n".to_string()),
                    Format::OpenMetrics => Ok("up 1\n# EOF\n".to_string()),
                }
            })
        });
        (l.spawn_thread(render).unwrap(), addr)
    }

    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn get_metrics_is_served_and_everything_else_is_404() {
        let (t, addr) = start(MetricsLimits::default());
        let r = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Type: text/plain; version=0.0.4"), "{r}");
        assert!(r.contains("Content-Length: 5\r\n"), "{r}");
        assert!(r.contains("Connection: close\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nup 1\n"), "{r}");
        let r = exchange(
            addr,
            b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text\r\n\r\n",
        );
        assert!(r.contains("application/openmetrics-text"), "{r}");
        assert!(r.ends_with("# EOF\n"), "{r}");
        for other in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"GET /metricsx HTTP/1.1\r\n\r\n",
            b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            b"HEAD /metrics HTTP/1.1\r\n\r\n",
        ] {
            let r = exchange(addr, other);
            assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
        }
        let r = exchange(addr, b"hello\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
        // One byte past the bound (all of it read: the close is orderly).
        let r = exchange(addr, &[b'a'; MAX_HEAD + 1]);
        assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
        t.stop();
    }

    #[test]
    fn idle_clients_are_closed_and_bounded_in_number() {
        let limits = MetricsLimits {
            max_connections: 2,
            request_timeout: Duration::from_millis(300),
            ..MetricsLimits::default()
        };
        let (t, addr) = start(limits);
        let started = std::time::Instant::now();
        let mut idle: Vec<std::net::TcpStream> = (0..2)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        // Both slots are taken by clients that send nothing: one more is refused at once (it
        // sends nothing either, so the close is orderly and its answer readable).
        let r = exchange(addr, b"");
        assert!(r.starts_with("HTTP/1.1 503 "), "{r}");
        // The idle ones are answered 408 and closed after the request timeout...
        for s in &mut idle {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
        }
        assert!(started.elapsed() >= Duration::from_millis(300));
        // ...which frees their slots.
        let r = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
        drop(t);
    }

    #[test]
    fn a_port_in_use_is_named_in_the_error() {
        let l = MetricsListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr();
        let e = MetricsListener::bind(addr).unwrap_err().to_string();
        assert!(e.contains(&format!("--metrics {addr}")), "{e}");
        assert!(e.contains("in use"), "{e}");
    }
}
