//! Host tests of the proxy core with a fake clock and a scripted [`Jitter`]: every delay the
//! host draws is taken from a list the test gives (and the bound it asked for is recorded), so
//! times are exact; every message sent is parsed back ([`parse_strict`]) and its destination
//! checked against its type.
//!
//! Defaults: robustness 2, Unsolicited Report Interval 1 s, v3; a querier with QRV 2, QQI 125 s
//! and Max Resp Time 10 s → Older Version Querier Present Timeout 260 s.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use mgm_common::igmp::{self, parse_strict, IgmpMessage, QueryVersion, RecordType};

use super::*;
use crate::igmp::QueryMessage;

mod changes;
mod compat;
mod merge;
mod odd;
mod queries;
mod report;

pub(super) const SEC: u64 = 1_000_000_000;
pub(super) const MS: u64 = 1_000_000;
pub(super) const URI: u64 = SEC;
pub(super) const T0: u64 = 1_000 * SEC;
/// Older Version Querier Present Timeout with the defaults: 2 × 125 s + 10 s.
pub(super) const OVQPT: u64 = 260 * SEC;

pub(super) const G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
pub(super) const G2: Ipv4Addr = Ipv4Addr::new(239, 2, 2, 2);
pub(super) const G3: Ipv4Addr = Ipv4Addr::new(239, 3, 3, 3);
pub(super) const S1: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
pub(super) const S2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
pub(super) const S3: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 3);
pub(super) const S4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 4);

/// Record types by their RFC 3376 short names.
pub(super) use RecordType::{
    AllowNew as ALLOW, BlockOld as BLOCK, IsExclude as IS_EX, IsInclude as IS_IN,
    ToExclude as TO_EX, ToInclude as TO_IN,
};

pub(super) fn inc(sources: &[Ipv4Addr]) -> Filter {
    Filter::include(sources.iter().copied())
}

pub(super) fn exc(sources: &[Ipv4Addr]) -> Filter {
    Filter::exclude(sources.iter().copied())
}

/// One group record as the tests write it.
pub(super) type Rec = (RecordType, Ipv4Addr, Vec<Ipv4Addr>);

pub(super) fn rec(t: RecordType, g: Ipv4Addr, sources: &[Ipv4Addr]) -> Rec {
    (t, g, sources.to_vec())
}

/// A message sent, parsed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Msg {
    /// A v3 report to 224.0.0.22 and its records.
    V3(Vec<Rec>),
    /// A v2 report to the group.
    V2(Ipv4Addr),
    /// A v1 report to the group.
    V1(Ipv4Addr),
    /// A v2 leave to 224.0.0.2.
    Leave(Ipv4Addr),
}

pub(super) fn v3(records: &[Rec]) -> Msg {
    Msg::V3(records.to_vec())
}

/// Parses an action, checking the checksum, the layout (strict) and the destination.
pub(super) fn decode(action: &HostAction) -> Msg {
    let HostAction::Send { dst, igmp: bytes } = action;
    assert!(bytes.len() <= MAX_REPORT_LEN, "{} bytes", bytes.len());
    let msg = parse_strict(bytes).unwrap_or_else(|e| panic!("sent bytes do not parse: {e}"));
    let (m, want_dst) = match msg {
        IgmpMessage::V3Report(r) => {
            let records: Vec<Rec> = r
                .records()
                .map(|g| (g.record_type, g.group, g.sources.collect()))
                .collect();
            assert!(!records.is_empty(), "an empty report");
            (Msg::V3(records), igmp::ALL_V3_ROUTERS)
        }
        IgmpMessage::V2Report { group } => (Msg::V2(group), group),
        IgmpMessage::V1Report { group } => (Msg::V1(group), group),
        IgmpMessage::V2Leave { group } => (Msg::Leave(group), igmp::ALL_ROUTERS),
        IgmpMessage::Query(q) => panic!("the host sent a query: {q:?}"),
    };
    assert_eq!(*dst, want_dst, "destination of {m:?}");
    m
}

pub(super) fn decode_all(actions: &[HostAction]) -> Vec<Msg> {
    actions.iter().map(decode).collect()
}

#[derive(Default)]
pub(super) struct ScriptState {
    delays: VecDeque<u64>,
    asked: Vec<u64>,
}

/// The scripted jitter: hands out the queued delays, panics when the host draws one more than
/// the test expects or one outside (0, max).
#[derive(Clone, Default)]
pub(super) struct Script(Arc<Mutex<ScriptState>>);

impl Jitter for Script {
    fn delay(&mut self, max_ns: u64) -> u64 {
        let mut s = self.0.lock().unwrap();
        s.asked.push(max_ns);
        let d = s
            .delays
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected draw (max {max_ns} ns)"));
        assert!(
            d > 0 && d < max_ns,
            "scripted delay {d} not in (0, {max_ns})"
        );
        d
    }
}

/// The host under test and its clock.
pub(super) struct Rig {
    pub host: UpstreamHost<Script>,
    pub script: Script,
    pub now: u64,
}

impl Rig {
    pub(super) fn new() -> Rig {
        Rig::with(HostConfig::default())
    }

    pub(super) fn with(cfg: HostConfig) -> Rig {
        let script = Script::default();
        Rig {
            host: UpstreamHost::with_jitter(cfg, script.clone()),
            script,
            now: T0,
        }
    }

    /// Queues delays for the next draws.
    pub(super) fn delays(&mut self, d: &[u64]) -> &mut Rig {
        self.script.0.lock().unwrap().delays.extend(d);
        self
    }

    /// The bounds of the draws made since the last call; every queued delay must be used.
    pub(super) fn asked(&mut self) -> Vec<u64> {
        let mut s = self.script.0.lock().unwrap();
        assert!(s.delays.is_empty(), "delays left unused: {:?}", s.delays);
        std::mem::take(&mut s.asked)
    }

    pub(super) fn set(&mut self, g: Ipv4Addr, f: Filter) -> Vec<Msg> {
        let a = self.host.set_group(g, f, self.now);
        decode_all(&a)
    }

    pub(super) fn query(&mut self, q: &QueryMessage) -> Vec<Msg> {
        let bytes = q.encode();
        let IgmpMessage::Query(parsed) = igmp::parse(&bytes).expect("query parses") else {
            panic!("not a query")
        };
        let a = self.host.on_query(&parsed, self.now);
        assert!(a.is_empty(), "a query is never answered at once: {a:?}");
        decode_all(&a)
    }

    /// Runs every deadline up to and including `t`: (time, message) pairs.
    pub(super) fn run_until(&mut self, t: u64) -> Vec<(u64, Msg)> {
        let mut all = Vec::new();
        let mut rounds = 0;
        while let Some(d) = self.host.next_deadline() {
            rounds += 1;
            assert!(
                rounds < 10_000,
                "deadlines do not make progress (stuck at {d})"
            );
            assert!(d >= self.now, "deadline {d} in the past (now {})", self.now);
            if d > t {
                break;
            }
            self.now = d;
            let a = self.host.on_deadline(d);
            all.extend(decode_all(&a).into_iter().map(|m| (d, m)));
        }
        self.now = t;
        all
    }

    /// Runs everything pending (at most an hour ahead).
    pub(super) fn settle(&mut self) -> Vec<(u64, Msg)> {
        let t = self.now + 3_600 * SEC;
        self.run_until(t)
    }
}

pub(super) fn v3_query(
    group: Ipv4Addr,
    sources: &[Ipv4Addr],
    max_resp_tenths: u32,
) -> QueryMessage {
    QueryMessage {
        version: QueryVersion::V3,
        group,
        sources: sources.to_vec(),
        s_flag: false,
        max_resp_tenths,
        qrv: 2,
        qqic_secs: 125,
    }
}

pub(super) fn general_v3(max_resp_tenths: u32) -> QueryMessage {
    v3_query(Ipv4Addr::UNSPECIFIED, &[], max_resp_tenths)
}

pub(super) fn v2_query(group: Ipv4Addr, max_resp_tenths: u32) -> QueryMessage {
    QueryMessage {
        version: QueryVersion::V2,
        group,
        sources: vec![],
        s_flag: false,
        max_resp_tenths,
        qrv: 0,
        qqic_secs: 0,
    }
}

pub(super) fn v1_query() -> QueryMessage {
    QueryMessage {
        version: QueryVersion::V1,
        group: Ipv4Addr::UNSPECIFIED,
        sources: vec![],
        s_flag: false,
        max_resp_tenths: 100,
        qrv: 0,
        qqic_secs: 0,
    }
}
