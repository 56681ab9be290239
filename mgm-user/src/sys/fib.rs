//! RPF through the kernel FIB: `RTM_GETROUTE` towards the source over rtnetlink, the answer's
//! `RTA_OIF` and `RTA_GATEWAY`. The messages are built and parsed with `netlink-packet-route`
//! (pure, tested here).
//!
//! Nothing here blocks the daemon loop. [`FibResolver`] owns a non-blocking rtnetlink socket
//! (the loop waits for it to be readable): [`FibResolver::request`] sends a question,
//! [`FibResolver::answers`] reads the answers that arrived, [`FibResolver::expire`] gives up on
//! questions unanswered for [`REPLY_TIMEOUT`]. Each answer is written to a [`RouteCache`], whose
//! other end, [`CachedRpf`], is the manager's [`RpfLookup`]: it answers from the cache without
//! any syscall. The daemon asks the FIB about a packet's source when its upcall arrives and
//! hands the upcall to the manager once the answer is in (see `daemon::forwarding`).
use super::rtnetlink;
use crate::manager::{RpfLookup, RpfRoute};
use anyhow::{anyhow, bail, Context, Result};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::Socket;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a question waits for the kernel's answer before it counts as "no route".
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// The `RTM_GETROUTE` request for `dst` with sequence number `seq`, finalized (length and type
/// set) and ready to serialize.
pub(crate) fn getroute_request(seq: u32, dst: Ipv4Addr) -> NetlinkMessage<RouteNetlinkMessage> {
    let mut route = RouteMessage::default();
    route.header.address_family = AddressFamily::Inet;
    route.header.destination_prefix_length = 32;
    route
        .attributes
        .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
    rtnetlink::get_route(route, NLM_F_REQUEST, seq)
}

/// The kernel's answer to one route request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteReply {
    Route(RpfRoute),
    /// `NLMSG_ERROR` with this (negative) errno, e.g. -ENETUNREACH; 0 for a bare ACK.
    Error(i32),
}

impl RouteReply {
    /// `Ok(None)` for the errors that mean "no usable route": no route at all (`ENETUNREACH`),
    /// an `unreachable` (`EHOSTUNREACH`), `prohibit` (`EACCES`) or `blackhole` (`EINVAL`)
    /// route. Any other error is reported.
    pub fn into_route(self, dst: Ipv4Addr) -> Result<Option<RpfRoute>> {
        match self {
            RouteReply::Route(r) => Ok(Some(r)),
            RouteReply::Error(e)
                if [
                    -libc::ENETUNREACH,
                    -libc::EHOSTUNREACH,
                    -libc::EACCES,
                    -libc::EINVAL,
                ]
                .contains(&e) =>
            {
                Ok(None)
            }
            RouteReply::Error(0) => bail!("rpf: RTM_GETROUTE for {dst}: ACK without a route"),
            RouteReply::Error(e) => Err(std::io::Error::from_raw_os_error(-e))
                .with_context(|| format!("rpf: RTM_GETROUTE for {dst}")),
        }
    }
}

/// The route in an `RTM_NEWROUTE` answer: `RTA_OIF` (required) and `RTA_GATEWAY` (0.0.0.0 when
/// absent, i.e. on-link).
pub fn route_of(msg: &RouteMessage) -> Result<RpfRoute> {
    if msg.header.address_family != AddressFamily::Inet {
        bail!(
            "rpf: route reply of family {:?}, not IPv4",
            msg.header.address_family
        );
    }
    let mut ifindex = None;
    let mut gateway = Ipv4Addr::UNSPECIFIED;
    for a in &msg.attributes {
        match a {
            RouteAttribute::Oif(i) => ifindex = Some(*i),
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => gateway = *g,
            _ => {}
        }
    }
    let ifindex = ifindex.ok_or_else(|| anyhow!("rpf: route reply without RTA_OIF"))?;
    Ok(RpfRoute { ifindex, gateway })
}

/// Every answer in one received datagram: (sequence number, the answer or why it is
/// malformed). `Err` when the datagram's framing is broken.
pub fn parse_replies(buf: &[u8]) -> Result<Vec<(u32, Result<RouteReply>)>> {
    Ok(rtnetlink::messages(buf, "rpf")?
        .into_iter()
        .map(|(seq, msg)| (seq, reply_of(msg)))
        .collect())
}

fn reply_of(msg: &[u8]) -> Result<RouteReply> {
    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg)
        .map_err(|e| anyhow!("{e}"))
        .context("rpf: malformed RTM_GETROUTE reply")?;
    match msg.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => {
            Ok(RouteReply::Route(route_of(&r)?))
        }
        NetlinkPayload::Error(e) => Ok(RouteReply::Error(e.raw_code())),
        other => bail!("rpf: unexpected RTM_GETROUTE reply {other:?}"),
    }
}

/// The answer with sequence number `seq` in one datagram, `Ok(None)` when it holds none (e.g.
/// the late answer to an earlier request).
pub fn parse_reply(buf: &[u8], seq: u32) -> Result<Option<RouteReply>> {
    match parse_replies(buf)?.into_iter().find(|(s, _)| *s == seq) {
        Some((_, r)) => r.map(Some),
        None => Ok(None),
    }
}

/// The FIB's latest answers, per source; shared by the [`FibResolver`] (writes) and the
/// manager's [`CachedRpf`] (reads). Sources the manager asked about without an answer in the
/// cache are remembered, so the daemon can ask the FIB for them.
#[derive(Clone, Debug, Default)]
pub struct RouteCache(Arc<Mutex<CacheState>>);

/// Most answers the [`RouteCache`] keeps: sources come from the network (upcalls, v3 source
/// lists), so the cache is bounded. Two generations of at most half this each: when the newer
/// fills, the older is dropped; an entry of the older one is moved back on use, so the sources
/// in use stay and the others go.
pub const MAX_CACHED_ROUTES: usize = 8192;

#[derive(Debug, Default)]
struct CacheState {
    routes: HashMap<Ipv4Addr, Option<RpfRoute>>,
    older: HashMap<Ipv4Addr, Option<RpfRoute>>,
    misses: Vec<Ipv4Addr>,
}

impl CacheState {
    fn insert(&mut self, source: Ipv4Addr, route: Option<RpfRoute>) {
        self.older.remove(&source);
        self.routes.insert(source, route);
        if self.routes.len() >= MAX_CACHED_ROUTES / 2 {
            self.older = std::mem::take(&mut self.routes);
        }
    }

    fn get(&mut self, source: Ipv4Addr) -> Option<Option<RpfRoute>> {
        if let Some(r) = self.routes.get(&source) {
            return Some(*r);
        }
        let r = self.older.remove(&source)?;
        self.insert(source, r);
        Some(r)
    }
}

impl RouteCache {
    pub fn new() -> Self {
        Self::default()
    }
    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Records the FIB's answer for `source` (`None`: no usable route).
    pub fn insert(&self, source: Ipv4Addr, route: Option<RpfRoute>) {
        self.state().insert(source, route);
    }
    /// Answers held (both generations).
    pub fn held(&self) -> usize {
        let st = self.state();
        st.routes.len() + st.older.len()
    }
    /// The latest answer for `source`, if the FIB was asked.
    #[cfg(feature = "test-support")]
    pub fn get(&self, source: Ipv4Addr) -> Option<Option<RpfRoute>> {
        self.state().get(source)
    }
    /// Sources looked up without an answer in the cache since the last call.
    pub fn take_misses(&self) -> Vec<Ipv4Addr> {
        std::mem::take(&mut self.state().misses)
    }
}

/// The manager's RPF source in the daemon: the [`RouteCache`], never a syscall. A source not
/// asked about yet has no route for now (and is remembered as a miss).
#[derive(Clone, Debug, Default)]
pub struct CachedRpf(pub RouteCache);

impl RpfLookup for CachedRpf {
    fn lookup(&mut self, source: Ipv4Addr) -> Option<RpfRoute> {
        let mut st = self.0.state();
        match st.get(source) {
            Some(r) => r,
            None => {
                st.misses.push(source);
                None
            }
        }
    }
}

/// One answered (or given up) question: the source and the FIB's route towards it.
pub type Answer = (Ipv4Addr, Option<RpfRoute>);

/// Most questions in flight at once. The kernel answers without waiting for room in our
/// receive buffer: a burst larger than it holds (a host's report with hundreds of new sources)
/// would overrun it and lose answers. The rest wait in a queue and go out as answers come in.
pub const MAX_IN_FLIGHT: usize = 64;

/// Asks the FIB over a non-blocking rtnetlink socket; answers go to the [`RouteCache`].
pub struct FibResolver {
    sock: Socket,
    seq: u32,
    /// Questions in flight: sequence number → (source, when to give up).
    pending: HashMap<u32, (Ipv4Addr, u64)>,
    /// Questions waiting for room in flight, in the order asked.
    queued: std::collections::VecDeque<Ipv4Addr>,
    /// Every source in flight or queued: whether one is asked already, without a scan of the
    /// queue (which a burst of new sources makes long).
    asked: std::collections::HashSet<Ipv4Addr>,
    /// Times the socket overran (answers lost and asked again).
    pub overruns: u64,
    cache: RouteCache,
}

impl FibResolver {
    pub fn new(cache: RouteCache) -> Result<Self> {
        let sock = rtnetlink::kernel_socket("rpf")?;
        sock.set_non_blocking(true)
            .context("rpf: non-blocking rtnetlink socket")?;
        Ok(FibResolver {
            sock,
            seq: 0,
            pending: HashMap::new(),
            queued: std::collections::VecDeque::new(),
            asked: std::collections::HashSet::new(),
            overruns: 0,
            cache,
        })
    }

    /// Sources the manager looked up without a cached answer since the last call.
    pub fn take_misses(&self) -> Vec<Ipv4Addr> {
        self.cache.take_misses()
    }

    /// Whether a question about `dst` is in flight or queued.
    pub fn asking(&self, dst: Ipv4Addr) -> bool {
        self.asked.contains(&dst)
    }

    /// Asks for the route towards `dst` (at `now`, CLOCK_MONOTONIC ns), unless a question about
    /// it is in flight or queued already; queued while [`MAX_IN_FLIGHT`] are in flight.
    pub fn request(&mut self, dst: Ipv4Addr, now: u64) -> Result<()> {
        if self.asking(dst) {
            return Ok(());
        }
        if self.pending.len() >= MAX_IN_FLIGHT {
            self.queued.push_back(dst);
            self.asked.insert(dst);
            return Ok(());
        }
        self.send(dst, now)?;
        self.asked.insert(dst);
        Ok(())
    }

    /// Sends queued questions while there is room in flight.
    fn send_queued(&mut self, now: u64) {
        while self.pending.len() < MAX_IN_FLIGHT {
            let Some(dst) = self.queued.pop_front() else {
                return;
            };
            if let Err(e) = self.send(dst, now) {
                // Given up at once: no route for now; a later lookup asks again.
                log::warn!("{e:#}");
                self.asked.remove(&dst);
                self.cache.insert(dst, None);
            }
        }
    }

    fn send(&mut self, dst: Ipv4Addr, now: u64) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let req = rtnetlink::encode(&getroute_request(self.seq, dst));
        self.sock
            .send(&req, 0)
            .with_context(|| format!("rpf: send RTM_GETROUTE for {dst}"))?;
        let give_up = now.saturating_add(REPLY_TIMEOUT.as_nanos() as u64);
        self.pending.insert(self.seq, (dst, give_up));
        Ok(())
    }

    /// When the oldest question in flight is given up.
    pub fn next_deadline(&self) -> Option<u64> {
        self.pending.values().map(|(_, t)| *t).min()
    }

    /// The socket overran: the answers it dropped are lost. Every question in flight is asked
    /// again (the late answers to the old ones, if any, are ignored by their sequence number).
    fn ask_again(&mut self, now: u64) {
        self.overruns += 1;
        if self.overruns.is_power_of_two() {
            log::warn!(
                "rpf: the rtnetlink socket overran ({} times so far); asking the FIB again",
                self.overruns
            );
        }
        let lost: Vec<Ipv4Addr> = self.pending.drain().map(|(_, (d, _))| d).collect();
        for dst in lost.into_iter().rev() {
            self.queued.push_front(dst);
        }
        self.send_queued(now);
    }

    /// Gives up on questions older than [`REPLY_TIMEOUT`]: no route (logged).
    pub fn expire(&mut self, now: u64) -> Vec<Answer> {
        let late: Vec<u32> = self
            .pending
            .iter()
            .filter(|(_, (_, t))| *t <= now)
            .map(|(s, _)| *s)
            .collect();
        let mut out = Vec::new();
        for seq in late {
            if let Some((dst, _)) = self.pending.remove(&seq) {
                self.asked.remove(&dst);
                log::warn!("rpf: no RTM_GETROUTE reply for {dst} within {REPLY_TIMEOUT:?}");
                self.cache.insert(dst, None);
                out.push((dst, None));
            }
        }
        self.send_queued(now);
        out
    }

    /// Reads the answers that arrived (without waiting, at `now`), records them in the cache
    /// and returns them; queued questions go out as room is made. Answers to questions already
    /// given up are dropped. Never fails: an overrun asks again, other receive errors are
    /// logged and the answers read so far returned (questions left in flight time out).
    pub fn answers(&mut self, now: u64) -> Vec<Answer> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            let n = match self.sock.recv(&mut &mut buf[..], 0) {
                Ok(n) => n.min(buf.len()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // Room made by these answers: the queued questions go out; their answers
                    // make the socket readable again.
                    self.send_queued(now);
                    return out;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.ask_again(now);
                    continue;
                }
                Err(e) => {
                    log::warn!("rpf: receive RTM_GETROUTE replies: {e}");
                    return out;
                }
            };
            let replies = match parse_replies(&buf[..n]) {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("{e:#}");
                    continue;
                }
            };
            for (seq, reply) in replies {
                let Some((dst, _)) = self.pending.remove(&seq) else {
                    continue;
                };
                self.asked.remove(&dst);
                let route = reply.and_then(|r| r.into_route(dst)).unwrap_or_else(|e| {
                    log::warn!("{e:#}");
                    None
                });
                self.cache.insert(dst, route);
                out.push((dst, route));
            }
        }
    }

    /// Asks and waits (up to [`REPLY_TIMEOUT`]) for the answer: for tests and tools, never
    /// for the daemon loop.
    #[cfg(feature = "test-support")]
    pub fn lookup_blocking(&mut self, dst: Ipv4Addr) -> Result<Option<RpfRoute>> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let now = crate::time::monotonic_ns()?;
        self.request(dst, now)?;
        loop {
            let now = crate::time::monotonic_ns()?;
            if let Some((_, r)) = self.answers(now).into_iter().find(|(d, _)| *d == dst) {
                return Ok(r);
            }
            if !self.asking(dst) {
                return Ok(self.cache.get(dst).flatten());
            }
            let left = self
                .next_deadline()
                .unwrap_or(now)
                .saturating_sub(crate::time::monotonic_ns()?);
            if left == 0 {
                self.expire(u64::MAX);
                bail!("rpf: no RTM_GETROUTE reply for {dst} within {REPLY_TIMEOUT:?}");
            }
            let ms = u16::try_from(left / 1_000_000 + 1).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(ms)).context("rpf: poll")?;
        }
    }
}

impl AsRawFd for FibResolver {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// A blocking [`RpfLookup`] straight through the FIB (each lookup waits for the kernel): for
/// tests and tools that run the manager outside the daemon loop.
#[cfg(feature = "test-support")]
pub struct FibRpf(FibResolver);

#[cfg(feature = "test-support")]
impl FibRpf {
    pub fn new() -> Result<Self> {
        Ok(FibRpf(FibResolver::new(RouteCache::new())?))
    }
    /// The route towards `dst`, `Ok(None)` when there is none.
    pub fn route(&mut self, dst: Ipv4Addr) -> Result<Option<RpfRoute>> {
        self.0.lookup_blocking(dst)
    }
}

#[cfg(feature = "test-support")]
impl RpfLookup for FibRpf {
    fn lookup(&mut self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.route(source).unwrap_or_else(|e| {
            log::warn!("{e:#}");
            None
        })
    }
}

#[cfg(test)]
mod tests;
