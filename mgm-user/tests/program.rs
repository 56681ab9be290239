//! Program tests: the real igmp-ebpf object, loaded with aya and fed crafted Ethernet frames
//! through `BPF_PROG_TEST_RUN`; then return code, packet bytes, counters, map entries and
//! ring-buffer events are checked.
//!
//! Needs root (CAP_BPF + CAP_NET_ADMIN) and the object built into mgm-user (see build.rs); without
//! either every test FAILS with the reason, it does not skip.
//!
//! How the interface id works under test_run: the kernel runs a sched_cls program on an skb whose
//! device is the loopback of the caller's network namespace (ifindex 1 in the initial one) unless
//! `ctx_in` names another existing device in `__sk_buff.ifindex`. `__sk_buff.vlan_present` /
//! `vlan_tci` cannot be set through `ctx_in`, so VLAN coverage through test_run is tags in the
//! frame; `skb_vlan_metadata_counts_as_a_tag` attaches to a veth in a namespace for the metadata.
//! The object is loaded once per test process (the verifier takes a while); each test takes the
//! fixture under a lock, reset to empty maps and zero counters.

use std::sync::{Mutex, MutexGuard, OnceLock};

use aya::{
    maps::{HashMap, MapData, PerCpuArray, PerCpuValues, RingBuf},
    programs::{SchedClassifier, TestRun, TestRunOptions},
    Ebpf, EbpfLoader,
};
use mgm_common::{
    event::{reason, EVENT_FLAG_ROUTER_ALERT, EVENT_FLAG_TRUNCATED, EVENT_FLAG_VLAN},
    maps::{
        FILTER_MODE_EXCLUDE, FILTER_MODE_INCLUDE, MAP_EVENTS, MAP_IFACES, MAP_MEMBERS, MAP_SOURCES,
        MAP_STATS, MEMBER_FLAG_SLOW_PATH, PROGRAM_NAME,
    },
    IfaceSettings, IgmpEvent, IgmpStats, MemberKey, MemberState, SourceKey, SourceState,
};

const TCX_NEXT: u32 = -1i32 as u32;
const LO: u32 = 1;
const GMI: u64 = 260_000_000_000;
const OHPI: u64 = 255_000_000_000;

const HOST: [u8; 4] = [192, 0, 2, 10];
const HOST2: [u8; 4] = [192, 0, 2, 11];
const ROUTER: [u8; 4] = [192, 0, 2, 1];
const G1: [u8; 4] = [239, 1, 2, 3];
const G2: [u8; 4] = [239, 1, 2, 4];
const ALL_SYSTEMS: [u8; 4] = [224, 0, 0, 1];
const ALL_ROUTERS: [u8; 4] = [224, 0, 0, 2];
const V3_REPORTS: [u8; 4] = [224, 0, 0, 22];
const S1: [u8; 4] = [198, 51, 100, 1];
const S2: [u8; 4] = [198, 51, 100, 2];
const S3: [u8; 4] = [198, 51, 100, 3];

// IGMPv3 record types.
const IS_IN: u8 = 1;
const IS_EX: u8 = 2;
const TO_IN: u8 = 3;
const TO_EX: u8 = 4;
const ALLOW: u8 = 5;
const BLOCK: u8 = 6;

// ---------------------------------------------------------------------------------------------
// Frame builder
// ---------------------------------------------------------------------------------------------

/// RFC 1071 Internet checksum.
fn csum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in bytes.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Recomputes the IGMP checksum (bytes 2..4) of a message.
fn fix_igmp_csum(msg: &mut [u8]) {
    msg[2] = 0;
    msg[3] = 0;
    let c = csum(msg);
    msg[2..4].copy_from_slice(&c.to_be_bytes());
}

/// An 8-byte IGMP message (v1/v2 query, v1/v2 report, leave).
fn igmp8(t: u8, code: u8, group: [u8; 4]) -> Vec<u8> {
    let mut m = vec![t, code, 0, 0];
    m.extend_from_slice(&group);
    fix_igmp_csum(&mut m);
    m
}

fn query_v3(group: [u8; 4], sources: &[[u8; 4]]) -> Vec<u8> {
    let mut m = vec![0x11, 100, 0, 0];
    m.extend_from_slice(&group);
    m.extend_from_slice(&[2, 125]);
    m.extend_from_slice(&(sources.len() as u16).to_be_bytes());
    for s in sources {
        m.extend_from_slice(s);
    }
    fix_igmp_csum(&mut m);
    m
}

#[derive(Clone)]
struct Rec {
    rtype: u8,
    group: [u8; 4],
    sources: Vec<[u8; 4]>,
    aux_words: u8,
}

fn rec(rtype: u8, group: [u8; 4], sources: &[[u8; 4]]) -> Rec {
    Rec {
        rtype,
        group,
        sources: sources.to_vec(),
        aux_words: 0,
    }
}

fn report_v3(records: &[Rec]) -> Vec<u8> {
    let mut m = vec![0x22, 0, 0, 0, 0, 0];
    m.extend_from_slice(&(records.len() as u16).to_be_bytes());
    for r in records {
        m.push(r.rtype);
        m.push(r.aux_words);
        m.extend_from_slice(&(r.sources.len() as u16).to_be_bytes());
        m.extend_from_slice(&r.group);
        for s in &r.sources {
            m.extend_from_slice(s);
        }
        m.extend(std::iter::repeat_n(0xaa, 4 * r.aux_words as usize));
    }
    fix_igmp_csum(&mut m);
    m
}

const RA: [u8; 4] = [0x94, 0x04, 0x00, 0x00];

/// IPv4 packet description; `build` fills the lengths and the header checksum unless overridden.
#[derive(Clone)]
struct Ip {
    version: u8,
    ihl: Option<u8>,
    tot_len: Option<u16>,
    frag: u16,
    ttl: u8,
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    options: Vec<u8>,
    payload: Vec<u8>,
}

impl Ip {
    /// IGMP as hosts send it: TTL 1, Router Alert.
    fn igmp(src: [u8; 4], dst: [u8; 4], payload: Vec<u8>) -> Self {
        Ip {
            version: 4,
            ihl: None,
            tot_len: None,
            frag: 0,
            ttl: 1,
            proto: 2,
            src,
            dst,
            options: RA.to_vec(),
            payload,
        }
    }

    fn no_options(mut self) -> Self {
        self.options.clear();
        self
    }

    fn build(&self) -> Vec<u8> {
        let hlen = 20 + self.options.len();
        assert_eq!(hlen % 4, 0, "options must be padded to 4 bytes");
        let ihl = self.ihl.unwrap_or((hlen / 4) as u8);
        let tot = self.tot_len.unwrap_or((hlen + self.payload.len()) as u16);
        let mut h = vec![(self.version << 4) | (ihl & 0x0f), 0xc0];
        h.extend_from_slice(&tot.to_be_bytes());
        h.extend_from_slice(&[0x12, 0x34]);
        h.extend_from_slice(&self.frag.to_be_bytes());
        h.push(self.ttl);
        h.push(self.proto);
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&self.src);
        h.extend_from_slice(&self.dst);
        h.extend_from_slice(&self.options);
        let c = csum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(&self.payload);
        h
    }
}

/// Ethernet frame: `tags` are (TPID, TCI) from outer to inner.
fn eth(dst_mac: [u8; 6], tags: &[(u16, u16)], ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x0a]);
    for (tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

fn mcast_mac(group: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]]
}

fn ip_frame(ip: &Ip) -> Vec<u8> {
    eth(mcast_mac(ip.dst), &[], 0x0800, &ip.build())
}

fn tagged(ip: &Ip, tags: &[(u16, u16)]) -> Vec<u8> {
    eth(mcast_mac(ip.dst), tags, 0x0800, &ip.build())
}

fn udp_frame() -> Vec<u8> {
    let mut udp = vec![0x30, 0x39, 0x13, 0x88, 0, 8 + 32, 0, 0];
    udp.extend(std::iter::repeat_n(0x55, 32));
    let ip = Ip {
        proto: 17,
        ttl: 64,
        ..Ip::igmp(HOST, G1, udp)
    }
    .no_options();
    ip_frame(&ip)
}

/// A v2 report as a Linux host sends it: to the group, with Router Alert.
fn v2_report(group: [u8; 4]) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, group, igmp8(0x16, 0, group)))
}

fn v1_report(group: [u8; 4]) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, group, igmp8(0x12, 0, group)).no_options())
}

fn v3_frame(records: &[Rec]) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, V3_REPORTS, report_v3(records)))
}

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Collects what the program logs through aya-log.
#[derive(Clone, Default)]
struct LogCapture(std::sync::Arc<Mutex<Vec<String>>>);

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(record.args().to_string());
    }
    fn flush(&self) {}
}

struct Fx {
    ebpf: Ebpf,
    logs: Option<(aya_log::EbpfLogger<LogCapture>, LogCapture)>,
    ifaces: HashMap<MapData, u32, IfaceSettings>,
    members: HashMap<MapData, MemberKey, MemberState>,
    sources: HashMap<MapData, SourceKey, SourceState>,
    stats: PerCpuArray<MapData, IgmpStats>,
    events: RingBuf<MapData>,
}

/// The shared fixture, reset: IGMP enabled on the loopback (the test_run device), no members or
/// sources, counters zero, ring empty.
fn fixture() -> MutexGuard<'static, Fx> {
    static FX: OnceLock<Mutex<Fx>> = OnceLock::new();
    let mut fx = FX
        .get_or_init(|| Mutex::new(Fx::load()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    fx.reset();
    fx
}

impl Fx {
    /// Loads the object with empty maps.
    fn load() -> Self {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the program tests load eBPF and need root (CAP_BPF + CAP_NET_ADMIN); run them as root"
        );
        let bytes = mgm_user::sys::bpf::object::object_bytes()
            .expect("the igmp-ebpf object must be built before these tests (cargo xtask build)");
        let mut ebpf = EbpfLoader::new()
            .load(bytes)
            .expect("load the igmp-ebpf object");
        let prog: &mut SchedClassifier = ebpf
            .program_mut(PROGRAM_NAME)
            .expect("program mgm_igmp_ingress in the object")
            .try_into()
            .expect("mgm_igmp_ingress is a classifier");
        if let Err(e) = prog.load() {
            panic!("the verifier rejected {PROGRAM_NAME}: {e:#?}");
        }
        let ifaces = HashMap::try_from(ebpf.take_map(MAP_IFACES).expect("MGM_IFACES")).unwrap();
        let members = HashMap::try_from(ebpf.take_map(MAP_MEMBERS).expect("MGM_MEMBERS")).unwrap();
        let sources = HashMap::try_from(ebpf.take_map(MAP_SOURCES).expect("MGM_SOURCES")).unwrap();
        let stats = PerCpuArray::try_from(ebpf.take_map(MAP_STATS).expect("MGM_STATS")).unwrap();
        let events = RingBuf::try_from(ebpf.take_map(MAP_EVENTS).expect("MGM_EVENTS")).unwrap();
        Fx {
            ebpf,
            logs: None,
            ifaces,
            members,
            sources,
            stats,
            events,
        }
    }

    /// Back to the state of `new()`: no members or sources, counters zero, ring drained.
    fn reset(&mut self) {
        let keys: Vec<u32> = self.ifaces.keys().map(|k| k.unwrap()).collect();
        for k in keys {
            self.ifaces.remove(&k).unwrap();
        }
        let keys: Vec<MemberKey> = self.members.keys().map(|k| k.unwrap()).collect();
        for k in keys {
            self.members.remove(&k).unwrap();
        }
        let keys: Vec<SourceKey> = self.sources.keys().map(|k| k.unwrap()).collect();
        for k in keys {
            self.sources.remove(&k).unwrap();
        }
        let cpus = aya::util::nr_cpus().expect("number of CPUs");
        let zero = PerCpuValues::try_from(vec![IgmpStats::default(); cpus]).unwrap();
        self.stats.set(0, zero, 0).unwrap();
        self.events();
        self.enable(LO);
    }

    fn enable(&mut self, ifindex: u32) {
        let s = IfaceSettings {
            group_membership_interval_ns: GMI,
            older_host_present_interval_ns: OHPI,
            enabled: 1,
            flags: 0,
            ..IfaceSettings::default()
        };
        self.ifaces.insert(ifindex, s, 0).unwrap();
    }

    /// Messages the program logged through aya-log since the last call.
    fn program_logs(&mut self) -> Vec<String> {
        if self.logs.is_none() {
            let capture = LogCapture::default();
            let logger = aya_log::EbpfLogger::init_with_logger(&mut self.ebpf, capture.clone())
                .expect("the object has an aya-log channel");
            self.logs = Some((logger, capture));
        }
        let (logger, capture) = self.logs.as_mut().unwrap();
        logger.flush();
        std::mem::take(&mut *capture.0.lock().unwrap())
    }

    fn prog(&self) -> &SchedClassifier {
        self.ebpf.program(PROGRAM_NAME).unwrap().try_into().unwrap()
    }

    /// Runs one frame (optionally with a `__sk_buff` context) and checks the verdict and that the
    /// packet comes back unchanged.
    fn run_ctx(&self, frame: &[u8], ctx: Option<&[u8]>) {
        let mut out = vec![0u8; frame.len() + 64];
        let opts = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            ctx_in: ctx,
            ..TestRunOptions::new()
        };
        let r = self.prog().test_run(opts).expect("BPF_PROG_TEST_RUN");
        assert_eq!(r.return_value, TCX_NEXT, "verdict must be TCX_NEXT");
        assert_eq!(
            r.data_size_out as usize,
            frame.len(),
            "packet length changed"
        );
        assert_eq!(&out[..frame.len()], frame, "packet bytes changed");
    }

    fn run(&self, frame: &[u8]) {
        self.run_ctx(frame, None)
    }

    fn run_repeat(&self, frame: &[u8], repeat: u32) {
        let opts = TestRunOptions {
            data_in: Some(frame),
            repeat,
            ..TestRunOptions::new()
        };
        let r = self.prog().test_run(opts).expect("BPF_PROG_TEST_RUN");
        assert_eq!(r.return_value, TCX_NEXT);
    }

    fn stats(&self) -> IgmpStats {
        let mut total = IgmpStats::default();
        for cpu in self.stats.get(&0, 0).unwrap().iter() {
            total.accumulate(cpu);
        }
        total
    }

    fn events(&mut self) -> Vec<IgmpEvent> {
        let mut v = Vec::new();
        while let Some(item) = self.events.next() {
            v.push(IgmpEvent::from_bytes(&item).expect("full-size event record"));
        }
        v
    }

    /// Exactly one event, returned.
    fn one_event(&mut self) -> IgmpEvent {
        let ev = self.events();
        assert_eq!(ev.len(), 1, "expected one event");
        ev[0]
    }

    fn no_event(&mut self) {
        assert_eq!(self.events().len(), 0, "expected no event");
    }

    fn add_member(&mut self, group: [u8; 4], m: MemberState) {
        self.members
            .insert(MemberKey { ifindex: LO, group }, m, 0)
            .unwrap();
    }

    fn member(&self, group: [u8; 4]) -> MemberState {
        self.members
            .get(&MemberKey { ifindex: LO, group }, 0)
            .unwrap()
    }

    fn add_source(&mut self, group: [u8; 4], source: [u8; 4], expires_ns: u64) {
        let k = SourceKey {
            ifindex: LO,
            group,
            source,
        };
        self.sources
            .insert(
                k,
                SourceState {
                    expires_ns,
                    flags: 0,
                    fast_refreshes: 0,
                },
                0,
            )
            .unwrap();
    }

    fn source(&self, group: [u8; 4], source: [u8; 4]) -> SourceState {
        self.sources
            .get(
                &SourceKey {
                    ifindex: LO,
                    group,
                    source,
                },
                0,
            )
            .unwrap()
    }
}

fn exclude_member(compat: u8) -> MemberState {
    MemberState {
        group_expires_ns: 1,
        filter_mode: FILTER_MODE_EXCLUDE,
        compat_version: compat,
        ..Default::default()
    }
}

fn include_member(source_count: u32) -> MemberState {
    MemberState {
        filter_mode: FILTER_MODE_INCLUDE,
        compat_version: 3,
        source_count,
        ..Default::default()
    }
}

/// Counters of one accepted IGMP packet plus `f`'s changes.
fn accepted(f: impl FnOnce(&mut IgmpStats)) -> IgmpStats {
    let mut s = IgmpStats {
        igmp_packets: 1,
        ..Default::default()
    };
    f(&mut s);
    s
}

fn assert_stats(fx: &Fx, want: IgmpStats) {
    let got = fx.stats();
    if got != want {
        let diff: Vec<String> = IgmpStats::NAMES
            .iter()
            .zip(got.values().iter().zip(want.values().iter()))
            .filter(|(_, (g, w))| g != w)
            .map(|(n, (g, w))| format!("{n}: got {g}, want {w}"))
            .collect();
        panic!("counters differ: {}", diff.join("; "));
    }
}

fn assert_event(ev: &IgmpEvent, why: u8, src: [u8; 4], dst: [u8; 4], igmp: &[u8]) {
    assert_eq!(ev.reason, why, "event reason");
    assert_eq!(ev.ifindex, LO);
    assert_eq!(ev.src_addr, src);
    assert_eq!(ev.dst_addr, dst);
    assert_eq!(ev.igmp_len as usize, igmp.len());
    assert_eq!(ev.captured_len as usize, igmp.len());
    assert_eq!(ev.igmp_bytes(), igmp);
    let now = monotonic_ns();
    assert!(
        ev.timestamp_ns > 0 && ev.timestamp_ns <= now,
        "timestamp is kernel monotonic time"
    );
}

// ---------------------------------------------------------------------------------------------
// Non-IGMP traffic
// ---------------------------------------------------------------------------------------------

#[test]
fn non_igmp_passes_untouched_and_uncounted() {
    let mut fx = fixture();
    let udp = udp_frame();
    fx.run(&udp);
    // Tagged UDP, ARP, IPv6, a runt frame, a frame cut inside the IP header.
    let udp_ip = Ip {
        proto: 17,
        ..Ip::igmp(HOST, G1, vec![0; 16])
    }
    .no_options();
    fx.run(&tagged(&udp_ip, &[(0x8100, 5)]));
    fx.run(&tagged(&udp_ip, &[(0x88a8, 5), (0x8100, 6)]));
    fx.run(&eth([0xff; 6], &[], 0x0806, &[0u8; 28]));
    fx.run(&eth([0x33, 0x33, 0, 0, 0, 1], &[], 0x86dd, &[0x60; 48]));
    // (test_run refuses an untagged IPv4 frame shorter than an IP header: tag the runts.)
    fx.run(&eth([0xff; 6], &[(0x8100, 1)], 0x0800, &[]));
    fx.run(&eth(
        [0xff; 6],
        &[(0x8100, 1)],
        0x0800,
        &[0x45, 0, 0, 40, 0, 0, 0],
    ));
    fx.run(&eth([0xff; 6], &[], 0x0806, &[]));
    assert_stats(&fx, IgmpStats::default());
    fx.no_event();
}

// ---------------------------------------------------------------------------------------------
// Each message type
// ---------------------------------------------------------------------------------------------

#[test]
fn query_v1_v2_v3_go_up_as_queries() {
    let mut fx = fixture();
    let q1 = igmp8(0x11, 0, [0; 4]);
    let q2 = igmp8(0x11, 100, [0; 4]);
    let q2gs = igmp8(0x11, 10, G1);
    let q3 = query_v3([0; 4], &[]);
    let q3gss = query_v3(G1, &[S1, S2]);
    for (q, dst) in [
        (&q1, ALL_SYSTEMS),
        (&q2, ALL_SYSTEMS),
        (&q2gs, G1),
        (&q3, ALL_SYSTEMS),
        (&q3gss, G1),
    ] {
        fx.run(&ip_frame(&Ip::igmp(ROUTER, dst, q.clone())));
        let ev = fx.one_event();
        assert_event(&ev, reason::QUERY, ROUTER, dst, q);
        assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT);
        assert_eq!(ev.vlan_id, 0);
    }
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 5,
            rx_query_v1: 1,
            rx_query_v2: 2,
            rx_query_v3: 2,
            events_sent: 5,
            ..Default::default()
        },
    );
}

#[test]
fn reports_and_leave_for_unknown_groups_go_up() {
    let mut fx = fixture();
    let r1 = igmp8(0x12, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, G1, r1.clone()).no_options()));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r1);
    assert_eq!(ev.flags, 0, "no Router Alert, no VLAN");

    let r2 = igmp8(0x16, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, G1, r2.clone())));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r2);
    assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT);

    let leave = igmp8(0x17, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, leave.clone())));
    assert_event(&fx.one_event(), reason::LEAVE, HOST, ALL_ROUTERS, &leave);

    let r3 = report_v3(&[rec(IS_EX, G1, &[]), rec(ALLOW, G2, &[S1])]);
    fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, r3.clone())));
    assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, V3_REPORTS, &r3);

    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 4,
            rx_report_v1: 1,
            rx_report_v2: 1,
            rx_leave_v2: 1,
            rx_report_v3: 1,
            rx_v3_group_records: 2,
            events_sent: 4,
            ..Default::default()
        },
    );
    // The classifier never creates entries.
    assert_eq!(fx.members.keys().count(), 0);
}

#[test]
fn leave_goes_up_even_for_a_known_group() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    let leave = igmp8(0x17, 0, G1);
    fx.run(&ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, leave.clone())));
    assert_event(&fx.one_event(), reason::LEAVE, HOST, ALL_ROUTERS, &leave);
    assert_eq!(fx.member(G1), exclude_member(2), "entry untouched");
}

#[test]
fn router_alert_is_found_among_other_options() {
    let mut fx = fixture();
    let r2 = igmp8(0x16, 0, G1);
    // NOP, timestamp-like option of 8 bytes, then RA, then end of list padding.
    let mut ip = Ip::igmp(HOST, G1, r2.clone());
    ip.options = vec![
        0x01, 0x44, 0x08, 0x05, 0x00, 0, 0, 0, 0, 0x94, 0x04, 0, 0, 0x00, 0, 0,
    ];
    fx.run(&ip_frame(&ip));
    assert_eq!(fx.one_event().flags, EVENT_FLAG_ROUTER_ALERT);
    // Options without RA.
    ip.options = vec![0x01, 0x01, 0x01, 0x00];
    fx.run(&ip_frame(&ip));
    assert_eq!(fx.one_event().flags, 0);
    // A malformed option list (length 0) stops the walk, the packet is still accepted.
    ip.options = vec![0x44, 0x00, 0x94, 0x04];
    fx.run(&ip_frame(&ip));
    assert_eq!(fx.one_event().flags, 0);
}

/// IGMP in a VLAN belongs to the VLAN's device (eth0.10), not to the trunk interface whose
/// ingress sees it tagged: counted in `ignored_vlan_tagged`, nothing refreshed, nothing sent.
#[test]
fn vlan_tagged_igmp_is_ignored_one_and_two_tags() {
    let mut fx = fixture();
    // Held in a state where the same report untagged is a fast-path refresh.
    fx.add_member(G1, exclude_member(2));
    let r2 = Ip::igmp(HOST, G1, igmp8(0x16, 0, G1));
    let r2_other_group = Ip::igmp(HOST, G2, igmp8(0x16, 0, G2));
    // A query from an address below ours: untagged, it would win the querier election.
    let query = Ip::igmp([192, 0, 2, 0], ALL_SYSTEMS, igmp8(0x11, 100, [0; 4]));
    let leave = Ip::igmp(HOST, ALL_ROUTERS, igmp8(0x17, 0, G1));
    let v3 = Ip::igmp(HOST, V3_REPORTS, report_v3(&[rec(IS_EX, G1, &[])]));
    // Decided before the IGMP checks: a bad checksum in a VLAN is the VLAN's business.
    let mut bad = igmp8(0x16, 0, G1);
    bad[2] ^= 0xff;
    let bad = Ip::igmp(HOST, G1, bad);
    let tag_sets: [&[(u16, u16)]; 5] = [
        &[(0x8100, 0x2000 | 100)],
        &[(0x88a8, 300), (0x8100, 0xe000 | 42)],
        // 802.1Q in 802.1Q (old-style QinQ).
        &[(0x8100, 7), (0x8100, 8)],
        // A priority tag (VLAN id 0) around or inside a VLAN tag: still in that VLAN.
        &[(0x8100, 0xa000), (0x8100, 9)],
        &[(0x88a8, 10), (0x8100, 0x2000)],
    ];
    let mut n = 0;
    for tags in tag_sets {
        for ip in [&r2, &r2_other_group, &query, &leave, &v3, &bad] {
            fx.run(&tagged(ip, tags));
            n += 1;
            fx.no_event();
        }
    }
    assert_eq!(fx.member(G1), exclude_member(2), "entry untouched");
    assert_eq!(fx.members.keys().count(), 1);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: n,
            ignored_vlan_tagged: n,
            ..Default::default()
        },
    );
    // Untagged, the same report is a refresh (the entry was one all along).
    fx.run(&ip_frame(&r2));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 1);
}

/// 802.1p priority tags (VLAN id 0) carry no VLAN: the kernel delivers such frames to the
/// interface itself as untagged, and so does the classifier (flagged `EVENT_FLAG_VLAN`, id 0).
#[test]
fn priority_tagged_igmp_is_the_interfaces_own() {
    let mut fx = fixture();
    let r2 = igmp8(0x16, 0, G1);
    let ip = Ip::igmp(HOST, G1, r2.clone());
    fx.run(&tagged(&ip, &[(0x8100, 0x6000)]));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r2);
    assert_eq!(ev.vlan_id, 0);
    assert_eq!(ev.flags, EVENT_FLAG_VLAN | EVENT_FLAG_ROUTER_ALERT);
    // Two priority tags.
    fx.run(&tagged(&ip, &[(0x88a8, 0x2000), (0x8100, 0)]));
    let ev = fx.one_event();
    assert_event(&ev, reason::NEW_GROUP, HOST, G1, &r2);
    assert_eq!(ev.vlan_id, 0);
    // And the fast path.
    fx.add_member(G1, exclude_member(2));
    fx.run(&tagged(&ip, &[(0x8100, 0xe000)]));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 1);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 3,
            rx_report_v2: 3,
            events_sent: 2,
            fast_path_refreshes: 1,
            ..Default::default()
        },
    );
}

#[test]
fn interface_is_the_skb_ifindex() {
    // Enabled only on an interface that is not the test device: ignored and counted.
    let mut fx = fixture();
    fx.ifaces.remove(&LO).unwrap();
    fx.enable(999);
    fx.run(&v2_report(G1));
    fx.no_event();
    assert_stats(
        &fx,
        IgmpStats {
            ignored_interface_disabled: 1,
            ..Default::default()
        },
    );

    // Listed but disabled.
    let off = IfaceSettings {
        enabled: 0,
        ..Default::default()
    };
    fx.ifaces.insert(LO, off, 0).unwrap();
    fx.run(&v2_report(G1));
    fx.no_event();
    assert_stats(
        &fx,
        IgmpStats {
            ignored_interface_disabled: 2,
            ..Default::default()
        },
    );

    // Enabled on the loopback, named explicitly through __sk_buff.ifindex (offset 40).
    fx.enable(LO);
    let mut ctx = vec![0u8; 192];
    ctx[40..44].copy_from_slice(&LO.to_ne_bytes());
    fx.run_ctx(&v2_report(G1), Some(&ctx));
    assert_eq!(fx.one_event().ifindex, LO);
    // Non-IGMP traffic never even looks at MGM_IFACES.
    fx.ifaces.remove(&LO).unwrap();
    fx.run(&udp_frame());
    assert_stats(
        &fx,
        IgmpStats {
            ignored_interface_disabled: 2,
            igmp_packets: 1,
            rx_report_v2: 1,
            events_sent: 1,
            ..Default::default()
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed input: each case moves its own counter and sends nothing
// ---------------------------------------------------------------------------------------------

/// Runs `frame` on a reset fixture and expects exactly the counters `want`, no event.
fn rejected(fx: &mut Fx, frame: &[u8], want: IgmpStats) {
    fx.reset();
    fx.add_member(G1, exclude_member(2));
    fx.run(frame);
    fx.no_event();
    assert_stats(fx, want);
    assert_eq!(
        fx.member(G1),
        exclude_member(2),
        "no refresh from a rejected packet"
    );
}

fn ignored(f: impl FnOnce(&mut IgmpStats)) -> IgmpStats {
    accepted(f)
}

#[test]
fn malformed_too_many_vlan_tags() {
    let mut fx = fixture();
    let ip = Ip::igmp(HOST, G1, igmp8(0x16, 0, G1));
    let three = tagged(&ip, &[(0x88a8, 1), (0x8100, 2), (0x8100, 3)]);
    rejected(
        &mut fx,
        &three,
        ignored(|s| s.ignored_too_many_vlan_tags = 1),
    );
    // So many tags that the classifier cannot see the payload: counted too.
    let six = tagged(&ip, &[(0x8100, 1); 6]);
    rejected(
        &mut fx,
        &six,
        IgmpStats {
            ignored_too_many_vlan_tags: 1,
            ..Default::default()
        },
    );
}

#[test]
fn malformed_truncated() {
    let mut fx = fixture();
    let good = v2_report(G1);
    // Cut inside the options, inside IGMP.
    for cut in [14 + 22, good.len() - 3] {
        rejected(&mut fx, &good[..cut], ignored(|s| s.ignored_truncated = 1));
    }
    // Cut inside the IP header, after the protocol byte (priority-tagged: test_run refuses an
    // untagged IPv4 frame shorter than an IP header, the classifier must cope anyway; a VLAN id
    // would have it ignored before the IP header is read).
    let ip = Ip::igmp(HOST, G1, igmp8(0x16, 0, G1));
    let tagged_report = tagged(&ip, &[(0x8100, 0)]);
    rejected(
        &mut fx,
        &tagged_report[..18 + 12],
        ignored(|s| s.ignored_truncated = 1),
    );
}

#[test]
fn malformed_bad_ihl_version_total_length() {
    let mut fx = fixture();
    let ip = Ip::igmp(HOST, G1, igmp8(0x16, 0, G1)).no_options();
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            ihl: Some(4),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_ihl = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            version: 6,
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_ip_version = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            tot_len: Some(16),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_total_length = 1),
    );
    // Longer than the frame: truncated.
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            tot_len: Some(60),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_truncated = 1),
    );
    // IP says 4 IGMP bytes (frame has 8): too short for any IGMP message.
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            tot_len: Some(24),
            ..ip.clone()
        }),
        ignored(|s| s.ignored_bad_length = 1),
    );
}

#[test]
fn malformed_fragment() {
    let mut fx = fixture();
    let ip = Ip::igmp(HOST, G1, igmp8(0x16, 0, G1));
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            frag: 0x2000,
            ..ip.clone()
        }),
        ignored(|s| s.ignored_fragment = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip {
            frag: 0x0001,
            ..ip.clone()
        }),
        ignored(|s| s.ignored_fragment = 1),
    );
    // DF alone is fine.
    fx.reset();
    fx.run(&ip_frame(&Ip { frag: 0x4000, ..ip }));
    assert_eq!(fx.one_event().reason, reason::NEW_GROUP);
}

#[test]
fn malformed_bad_checksum() {
    let mut fx = fixture();
    let mut bad = igmp8(0x16, 0, G1);
    bad[3] ^= 1;
    rejected(
        &mut fx,
        &v2_report_with(bad),
        ignored(|s| s.ignored_bad_checksum = 1),
    );
    let mut q = query_v3(G1, &[S1]);
    q[15] ^= 0x80;
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, G1, q)),
        ignored(|s| s.ignored_bad_checksum = 1),
    );
    let mut r3 = report_v3(&[rec(IS_EX, G1, &[])]);
    r3[2] = 0;
    r3[3] = 0;
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, r3)),
        ignored(|s| s.ignored_bad_checksum = 1),
    );
}

fn v2_report_with(igmp: Vec<u8>) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, G1, igmp))
}

#[test]
fn malformed_bad_length() {
    let mut fx = fixture();
    // A query of 10 bytes (RFC 3376 §7.1: ignore), and a v3 query whose sources run past the end.
    let mut q10 = vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0];
    fix_igmp_csum(&mut q10);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, q10)),
        ignored(|s| s.ignored_bad_length = 1),
    );
    let mut q3 = query_v3([0; 4], &[S1]);
    q3[11] = 2; // two sources, one present
    fix_igmp_csum(&mut q3);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, q3)),
        ignored(|s| s.ignored_bad_length = 1),
    );
    // IGMP shorter than 8 bytes.
    let mut short = vec![0x16, 0, 0, 0, 239, 1];
    fix_igmp_csum(&mut short);
    rejected(
        &mut fx,
        &v2_report_with(short),
        ignored(|s| s.ignored_bad_length = 1),
    );
}

#[test]
fn malformed_unknown_type() {
    let mut fx = fixture();
    rejected(
        &mut fx,
        &v2_report_with(igmp8(0x99, 0, G1)),
        ignored(|s| s.ignored_unknown_type = 1),
    );
}

#[test]
fn malformed_group_not_multicast() {
    let mut fx = fixture();
    let unicast = [198, 51, 100, 7];
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, unicast, igmp8(0x16, 0, unicast))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, unicast, igmp8(0x12, 0, unicast))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, ALL_ROUTERS, igmp8(0x17, 0, unicast))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, igmp8(0x11, 10, unicast))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, query_v3(unicast, &[]))),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
    rejected(
        &mut fx,
        &v3_frame(&[rec(IS_EX, G1, &[]), rec(IS_EX, unicast, &[])]),
        ignored(|s| s.ignored_group_not_multicast = 1),
    );
}

#[test]
fn malformed_report_dst_mismatch() {
    let mut fx = fixture();
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, G2, igmp8(0x16, 0, G1))),
        ignored(|s| s.ignored_report_dst_mismatch = 1),
    );
}

/// RFC 1112: a v1 report goes to its group too; the daemon's router ignores one sent elsewhere, so
/// the fast path must not refresh it (here it otherwise would: EXCLUDE, v1 compatibility).
#[test]
fn malformed_v1_report_dst_mismatch() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(1));
    for dst in [G2, ALL_SYSTEMS, ALL_ROUTERS] {
        fx.run(&ip_frame(
            &Ip::igmp(HOST, dst, igmp8(0x12, 0, G1)).no_options(),
        ));
    }
    fx.no_event();
    assert_eq!(fx.member(G1), exclude_member(1), "no refresh");
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 3,
            ignored_report_dst_mismatch: 3,
            ..Default::default()
        },
    );
    // To the group: refreshed.
    fx.run(&v1_report(G1));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 1);
}

#[test]
fn malformed_v3_record_bounds() {
    let mut fx = fixture();
    // nsrc beyond the end.
    let mut m = report_v3(&[rec(IS_EX, G1, &[]), rec(IS_IN, G2, &[S1])]);
    m[8 + 8 + 3] = 2;
    fix_igmp_csum(&mut m);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, m)),
        ignored(|s| s.ignored_bad_record = 1),
    );
    // aux data beyond the end.
    let mut m = report_v3(&[rec(IS_EX, G1, &[])]);
    m[9] = 1;
    fix_igmp_csum(&mut m);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, m)),
        ignored(|s| s.ignored_bad_record = 1),
    );
    // More records announced than present.
    let mut m = report_v3(&[rec(IS_EX, G1, &[])]);
    m[7] = 2;
    fix_igmp_csum(&mut m);
    rejected(
        &mut fx,
        &ip_frame(&Ip::igmp(HOST, V3_REPORTS, m)),
        ignored(|s| s.ignored_bad_record = 1),
    );
    // Aux data inside the bounds is fine.
    fx.reset();
    let mut r = rec(TO_IN, G1, &[S1]);
    r.aux_words = 2;
    fx.run(&v3_frame(&[r, rec(IS_EX, G2, &[])]));
    assert_eq!(fx.one_event().reason, reason::NEW_GROUP);
}

// ---------------------------------------------------------------------------------------------
// Fast path
// ---------------------------------------------------------------------------------------------

/// Asserts `t` is `base + interval` for some `base` in the window [t0, t1].
fn assert_pushed(t: u64, t0: u64, t1: u64, interval: u64, what: &str) {
    assert!(
        t >= t0 + interval && t <= t1 + interval,
        "{what}: {t} not in [{}, {}]",
        t0 + interval,
        t1 + interval
    );
}

#[test]
fn fast_path_v1_report_refreshes_group_and_v1_host_timer() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(1));
    let t0 = monotonic_ns();
    fx.run(&v1_report(G1));
    let t1 = monotonic_ns();
    fx.no_event();
    let m = fx.member(G1);
    assert_pushed(m.group_expires_ns, t0, t1, GMI, "group timer");
    assert_pushed(m.v1_host_expires_ns, t0, t1, OHPI, "v1 host timer");
    assert_eq!(m.v2_host_expires_ns, 0);
    assert_eq!(m.last_reporter, HOST);
    assert_eq!(m.fast_refreshes, 1);
    assert_eq!(
        (m.filter_mode, m.compat_version, m.flags),
        (FILTER_MODE_EXCLUDE, 1, 0)
    );
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v1 = 1;
            s.fast_path_refreshes = 1;
        }),
    );
}

#[test]
fn fast_path_v2_report_refreshes_group_and_v2_host_timer() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    let t0 = monotonic_ns();
    fx.run(&v2_report(G1));
    fx.run(&ip_frame(&Ip::igmp(HOST2, G1, igmp8(0x16, 0, G1))));
    let t1 = monotonic_ns();
    fx.no_event();
    let m = fx.member(G1);
    assert_pushed(m.group_expires_ns, t0, t1, GMI, "group timer");
    assert_pushed(m.v2_host_expires_ns, t0, t1, OHPI, "v2 host timer");
    assert_eq!(m.v1_host_expires_ns, 0);
    assert_eq!(m.last_reporter, HOST2);
    assert_eq!(m.fast_refreshes, 2);
    assert_stats(
        &fx,
        IgmpStats {
            igmp_packets: 2,
            rx_report_v2: 2,
            fast_path_refreshes: 2,
            ..Default::default()
        },
    );
}

#[test]
fn fast_path_v3_is_ex_empty_refreshes_group_timer() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(3));
    fx.add_member(G2, exclude_member(2));
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&[rec(IS_EX, G1, &[]), rec(IS_EX, G2, &[])]));
    let t1 = monotonic_ns();
    fx.no_event();
    for g in [G1, G2] {
        let m = fx.member(g);
        assert_pushed(m.group_expires_ns, t0, t1, GMI, "group timer");
        assert_eq!((m.v1_host_expires_ns, m.v2_host_expires_ns), (0, 0));
        assert_eq!(m.last_reporter, HOST);
        assert_eq!(m.fast_refreshes, 1);
    }
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v3 = 1;
            s.rx_v3_group_records = 2;
            s.fast_path_refreshes = 2;
        }),
    );
}

#[test]
fn fast_path_v3_is_in_refreshes_sources_in_include_mode() {
    let mut fx = fixture();
    fx.add_member(G1, include_member(3));
    fx.add_source(G1, S1, 1);
    fx.add_source(G1, S2, 1);
    fx.add_source(G1, S3, 1);
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S1, S2])]));
    let t1 = monotonic_ns();
    fx.no_event();
    for s in [S1, S2] {
        let st = fx.source(G1, s);
        assert_pushed(st.expires_ns, t0, t1, GMI, "source timer");
        assert_eq!(st.fast_refreshes, 1);
    }
    assert_eq!(
        fx.source(G1, S3).expires_ns,
        1,
        "source not in the report untouched"
    );
    let m = fx.member(G1);
    assert_eq!(m.group_expires_ns, 0, "INCLUDE mode has no group timer");
    assert_eq!((m.last_reporter, m.fast_refreshes), (HOST, 1));
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v3 = 1;
            s.rx_v3_group_records = 1;
            s.fast_path_refreshes = 1;
        }),
    );
}

#[test]
fn fast_path_v3_is_in_refreshes_forwarding_sources_in_exclude_mode() {
    let mut fx = fixture();
    let mut m = exclude_member(3);
    m.group_expires_ns = monotonic_ns() + 10_000_000_000;
    m.source_count = 2;
    fx.add_member(G1, m);
    fx.add_source(G1, S1, monotonic_ns() + 5_000_000_000); // X: forwarding
    fx.add_source(G1, S2, 0); // Y: excluded
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S1])]));
    let t1 = monotonic_ns();
    fx.no_event();
    assert_pushed(fx.source(G1, S1).expires_ns, t0, t1, GMI, "source timer");
    assert_eq!(
        fx.member(G1).group_expires_ns,
        m.group_expires_ns,
        "group timer untouched"
    );
    assert_eq!(fx.source(G1, S2).expires_ns, 0);
    assert_eq!(fx.stats().fast_path_refreshes, 1);

    // An excluded source (Y) in IS_IN moves it to X: the daemon's job.
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S2])]));
    assert_eq!(fx.one_event().reason, reason::STATE_CHANGE);
    assert_eq!(fx.source(G1, S2).expires_ns, 0);
}

// ---------------------------------------------------------------------------------------------
// Slow path: each non-refresh case with its reason, entries untouched
// ---------------------------------------------------------------------------------------------

/// Installs `m` for G1 (and `sources` with `expires`), runs `frame`, expects one event with `why`
/// and the entry unchanged.
fn slow(fx: &mut Fx, m: MemberState, sources: &[([u8; 4], u64)], frame: &[u8], why: u8) {
    fx.reset();
    fx.add_member(G1, m);
    for (s, e) in sources {
        fx.add_source(G1, *s, *e);
    }
    fx.run(frame);
    let ev = fx.one_event();
    assert_eq!(ev.reason, why, "slow-path reason");
    assert_eq!(fx.member(G1), m, "entry untouched");
    for (s, e) in sources {
        assert_eq!(fx.source(G1, *s).expires_ns, *e, "source untouched");
    }
    let st = fx.stats();
    assert_eq!((st.events_sent, st.fast_path_refreshes), (1, 0));
}

#[test]
fn slow_path_v1_v2_reports() {
    let mut fx = fixture();
    use reason::*;
    // Compatibility mode does not match the report version.
    slow(
        &mut fx,
        exclude_member(3),
        &[],
        &v2_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        exclude_member(1),
        &[],
        &v2_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        exclude_member(2),
        &[],
        &v1_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        exclude_member(3),
        &[],
        &v1_report(G1),
        STATE_CHANGE,
    );
    // INCLUDE mode, or EXCLUDE with source records.
    slow(
        &mut fx,
        include_member(0),
        &[],
        &v2_report(G1),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        MemberState {
            source_count: 1,
            ..exclude_member(2)
        },
        &[(S1, 0)],
        &v2_report(G1),
        STATE_CHANGE,
    );
    // The daemon asked for every report.
    slow(
        &mut fx,
        MemberState {
            flags: MEMBER_FLAG_SLOW_PATH,
            ..exclude_member(2)
        },
        &[],
        &v2_report(G1),
        DAEMON_REQUEST,
    );
    slow(
        &mut fx,
        MemberState {
            flags: MEMBER_FLAG_SLOW_PATH,
            ..exclude_member(1)
        },
        &[],
        &v1_report(G1),
        DAEMON_REQUEST,
    );
}

#[test]
fn slow_path_v3_records() {
    let mut fx = fixture();
    use reason::*;
    let ex = exclude_member(3);
    let ex_src = MemberState {
        source_count: 1,
        ..exclude_member(3)
    };
    let inc = include_member(1);
    // IS_EX with sources, or in INCLUDE mode, or with source records.
    slow(
        &mut fx,
        ex,
        &[],
        &v3_frame(&[rec(IS_EX, G1, &[S1])]),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        inc,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_EX, G1, &[])]),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        ex_src,
        &[(S1, 0)],
        &v3_frame(&[rec(IS_EX, G1, &[])]),
        STATE_CHANGE,
    );
    // Filter-mode and source-list changes.
    for t in [TO_IN, TO_EX, ALLOW, BLOCK] {
        slow(
            &mut fx,
            ex,
            &[],
            &v3_frame(&[rec(t, G1, &[])]),
            STATE_CHANGE,
        );
        slow(
            &mut fx,
            inc,
            &[(S1, 1)],
            &v3_frame(&[rec(t, G1, &[S1])]),
            STATE_CHANGE,
        );
    }
    // An unknown record type is the daemon's to ignore.
    slow(
        &mut fx,
        ex,
        &[],
        &v3_frame(&[rec(9, G1, &[])]),
        STATE_CHANGE,
    );
    // IS_IN with a source not held, and in EXCLUDE mode with an expired source.
    slow(
        &mut fx,
        inc,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_IN, G1, &[S2])]),
        STATE_CHANGE,
    );
    slow(
        &mut fx,
        ex_src,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_IN, G1, &[S1])]),
        STATE_CHANGE,
    );
    // Daemon request.
    let ask = MemberState {
        flags: MEMBER_FLAG_SLOW_PATH,
        ..ex
    };
    slow(
        &mut fx,
        ask,
        &[],
        &v3_frame(&[rec(IS_EX, G1, &[])]),
        DAEMON_REQUEST,
    );
    let ask_inc = MemberState {
        flags: MEMBER_FLAG_SLOW_PATH,
        ..inc
    };
    slow(
        &mut fx,
        ask_inc,
        &[(S1, 1)],
        &v3_frame(&[rec(IS_IN, G1, &[S1])]),
        DAEMON_REQUEST,
    );
    // Unknown group.
    slow(
        &mut fx,
        ex,
        &[],
        &v3_frame(&[rec(IS_EX, G2, &[])]),
        NEW_GROUP,
    );
    // No records at all.
    slow(&mut fx, ex, &[], &v3_frame(&[]), STATE_CHANGE);
}

#[test]
fn slow_path_too_long() {
    let mut fx = fixture();
    fx.add_member(G1, include_member(33));
    let many: Vec<[u8; 4]> = (0..33u8).map(|i| [198, 51, 100, 10 + i]).collect();
    for s in &many {
        fx.add_source(G1, *s, 1);
    }
    fx.run(&v3_frame(&[rec(IS_IN, G1, &many)]));
    assert_eq!(fx.one_event().reason, reason::TOO_LONG);
    assert_eq!(
        fx.source(G1, many[0]).expires_ns,
        1,
        "a record beyond the walk is not touched"
    );

    // 32 sources are walked in kernel.
    fx.run(&v3_frame(&[rec(IS_IN, G1, &many[..32])]));
    fx.no_event();

    // 17 records: TOO_LONG, but the first 16 that are refreshes are applied.
    fx.reset();
    fx.add_member(G1, exclude_member(3));
    let mut recs = vec![rec(IS_EX, G1, &[])];
    recs.extend((0..16u8).map(|i| rec(IS_EX, [239, 9, 9, i], &[])));
    let t0 = monotonic_ns();
    fx.run(&v3_frame(&recs));
    assert_eq!(fx.one_event().reason, reason::TOO_LONG);
    assert!(fx.member(G1).group_expires_ns >= t0 + GMI);
    let st = fx.stats();
    assert_eq!((st.rx_v3_group_records, st.fast_path_refreshes), (17, 1));
}

#[test]
fn slow_path_mixed_report_applies_refreshes_and_goes_up() {
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(3));
    fx.add_member(G2, exclude_member(3));
    let t0 = monotonic_ns();
    let m = report_v3(&[
        rec(IS_EX, G1, &[]),
        rec(TO_IN, G2, &[S1]),
        rec(ALLOW, [239, 7, 7, 7], &[S2]),
    ]);
    fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, m.clone())));
    let ev = fx.one_event();
    assert_event(&ev, reason::STATE_CHANGE, HOST, V3_REPORTS, &m);
    assert!(
        fx.member(G1).group_expires_ns >= t0 + GMI,
        "the refresh record was applied"
    );
    assert_eq!(fx.member(G2), exclude_member(3));
    assert_stats(
        &fx,
        accepted(|s| {
            s.rx_report_v3 = 1;
            s.rx_v3_group_records = 3;
            s.fast_path_refreshes = 1;
            s.events_sent = 1;
        }),
    );
}

#[test]
fn long_message_is_captured_truncated_and_checksummed_whole() {
    let mut fx = fixture();
    // Jumbo-frame v3 reports: 8 + n * 16 bytes (records of 2 sources). 120 records leave a
    // partial checksum chunk beyond the captured 1480 bytes, 162 a full one and a partial one.
    for n in [120u32, 162] {
        fx.reset();
        let recs: Vec<Rec> = (0..n)
            .map(|i| rec(TO_IN, [239, 10, (i >> 8) as u8, i as u8], &[S1, S2]))
            .collect();
        let m = report_v3(&recs);
        assert!(m.len() > 1480);
        fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, m.clone())));
        let ev = fx.one_event();
        assert_eq!(ev.reason, reason::TOO_LONG);
        assert_eq!(ev.igmp_len as usize, m.len());
        assert_eq!(ev.captured_len, 1480);
        assert_eq!(ev.igmp_bytes(), &m[..1480]);
        assert_eq!(ev.flags, EVENT_FLAG_ROUTER_ALERT | EVENT_FLAG_TRUNCATED);
        let st = fx.stats();
        assert_eq!((st.rx_report_v3, st.rx_v3_group_records), (1, u64::from(n)));
        // A corrupted byte beyond the captured part still fails the checksum.
        for pos in [1500, m.len() - 1] {
            let mut bad = m.clone();
            bad[pos] ^= 0x10;
            fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, bad)));
            fx.no_event();
        }
        assert_eq!(fx.stats().ignored_bad_checksum, 2);
        // Records out of bounds beyond the captured part are found too.
        let mut bad = m.clone();
        let last_rec = m.len() - 16;
        bad[last_rec + 3] = 3;
        fix_igmp_csum(&mut bad);
        fx.run(&ip_frame(&Ip::igmp(HOST, V3_REPORTS, bad)));
        fx.no_event();
        assert_eq!(fx.stats().ignored_bad_record, 1);
    }
    // Odd length message (a v2 report with a trailing byte) checksums as RFC 1071 pads it.
    let mut odd = igmp8(0x16, 0, G1);
    odd.push(0x5a);
    fix_igmp_csum(&mut odd);
    fx.run(&v2_report_with(odd.clone()));
    assert_event(&fx.one_event(), reason::NEW_GROUP, HOST, G1, &odd);
}

#[test]
fn full_ring_is_counted() {
    let mut fx = fixture();
    let q = ip_frame(&Ip::igmp(ROUTER, ALL_SYSTEMS, igmp8(0x11, 100, [0; 4])));
    // 1 MiB ring, ~1.5 kB per event: about 690 fit.
    let n = 1000;
    fx.run_repeat(&q, n);
    let st = fx.stats();
    assert_eq!(st.rx_query_v2, u64::from(n));
    assert_eq!(st.events_sent + st.events_ring_full, u64::from(n));
    assert!(st.events_ring_full > 0, "ring should have filled");
    // The loss is also logged through aya-log, at the 1st, 2nd, 4th, … loss (test_run runs on
    // one CPU): the operator sees it in the daemon's log, not only in a counter.
    let logs = fx.program_logs();
    let losses = st.events_ring_full;
    let want: Vec<String> = (0..64)
        .map(|b| 1u64 << b)
        .take_while(|p| *p <= losses)
        .map(|p| format!("MGM_EVENTS full: {p} IGMP messages lost on this CPU so far (the daemon is not keeping up)"))
        .collect();
    assert_eq!(logs, want);
    assert_eq!(fx.events().len() as u64, st.events_sent);
    // Drained: room again.
    fx.run(&q);
    assert_eq!(fx.one_event().reason, reason::QUERY);
}

#[test]
fn refresh_in_a_loop_is_fast_enough_to_run_many() {
    // Sanity for the benchmark: a repeated refresh stays on the fast path.
    let mut fx = fixture();
    fx.add_member(G1, exclude_member(2));
    fx.run_repeat(&v2_report(G1), 10_000);
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 10_000);
}

// ---------------------------------------------------------------------------------------------
// skb VLAN metadata: a real TCX attachment (test_run cannot set __sk_buff.vlan_present)
// ---------------------------------------------------------------------------------------------

/// A network namespace with a veth pair `va` <-> `vb`, both up; deleted on drop.
struct VethNs {
    name: String,
}

impl VethNs {
    fn new() -> Self {
        let name = format!("mgmebpf{}", std::process::id());
        let ns = VethNs { name };
        let ip = |args: &[&str]| {
            let st = std::process::Command::new("ip")
                .args(args)
                .status()
                .expect("run ip(8)");
            assert!(st.success(), "ip {args:?} failed");
        };
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &ns.name])
            .stderr(std::process::Stdio::null())
            .status();
        ip(&["netns", "add", &ns.name]);
        ip(&[
            "-n", &ns.name, "link", "add", "va", "type", "veth", "peer", "name", "vb",
        ]);
        ip(&["-n", &ns.name, "link", "set", "va", "up"]);
        ip(&["-n", &ns.name, "link", "set", "vb", "up"]);
        ns
    }
}

impl Drop for VethNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Sends a raw Ethernet frame out of `ifindex` (in the calling thread's namespace).
fn send_raw(ifindex: u32, frame: &[u8]) {
    // SAFETY: plain socket calls with valid, correctly sized arguments; the fd is closed.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        assert!(fd >= 0, "AF_PACKET socket");
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        let n = libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        libc::close(fd);
        assert_eq!(n, frame.len() as isize, "sendto");
    }
}

/// The receive path moves the outer tag into skb metadata before TC ingress: tagged IGMP there is
/// ignored the same way, priority-tagged IGMP is the interface's own.
#[test]
fn skb_vlan_metadata_counts_as_a_tag() {
    let mut fx = fixture();
    let ns = VethNs::new();
    // Everything below runs in a thread inside the namespace (setns is per thread).
    let fx_ref: &mut Fx = &mut fx;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let f = std::fs::File::open(format!("/run/netns/{}", ns.name)).unwrap();
                nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                let va = nix::net::if_::if_nametoindex("va").unwrap();
                let vb = nix::net::if_::if_nametoindex("vb").unwrap();
                fx_ref.enable(vb);
                let prog: &mut SchedClassifier = fx_ref
                    .ebpf
                    .program_mut(PROGRAM_NAME)
                    .unwrap()
                    .try_into()
                    .unwrap();
                let link = prog
                    .attach("vb", aya::programs::TcAttachType::Ingress)
                    .expect("attach to vb ingress (TCX)");

                // Wait until the classifier has seen `n` IGMP packets on vb.
                let wait_for = |fx: &Fx, n: u64| {
                    for _ in 0..200 {
                        if fx.stats().igmp_packets >= n {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    panic!("the classifier did not see the frame on vb");
                };
                // G1 is held on vb so that the report, untagged, would be a fast-path refresh.
                let held = MemberKey {
                    ifindex: vb,
                    group: G1,
                };
                fx_ref.members.insert(held, exclude_member(2), 0).unwrap();
                let ip = Ip::igmp(HOST, G1, igmp8(0x16, 0, G1));
                // One 802.1Q tag: the receive path moves it into skb metadata.
                send_raw(va, &tagged(&ip, &[(0x8100, 77)]));
                wait_for(fx_ref, 1);
                // 802.1ad + 802.1Q: the outer tag in metadata, the inner one left in the frame.
                send_raw(va, &tagged(&ip, &[(0x88a8, 10), (0x8100, 20)]));
                wait_for(fx_ref, 2);
                // A priority tag outside a VLAN tag: in metadata with VLAN id 0, still a VLAN.
                send_raw(va, &tagged(&ip, &[(0x8100, 0x6000), (0x8100, 20)]));
                wait_for(fx_ref, 3);
                // Three tags: metadata + two in the frame, one too many.
                send_raw(
                    va,
                    &tagged(&ip, &[(0x88a8, 10), (0x8100, 20), (0x8100, 30)]),
                );
                wait_for(fx_ref, 4);
                assert_eq!(fx_ref.events().len(), 0, "no event for tagged IGMP");
                assert_eq!(
                    fx_ref.members.get(&held, 0).unwrap(),
                    exclude_member(2),
                    "no refresh from tagged IGMP"
                );
                let st = fx_ref.stats();
                assert_eq!(
                    (
                        st.igmp_packets,
                        st.ignored_vlan_tagged,
                        st.ignored_too_many_vlan_tags
                    ),
                    (4, 3, 1)
                );
                assert_eq!((st.rx_report_v2, st.events_sent), (0, 0));

                // Priority-tagged (VLAN id 0 in metadata): vb's own, refreshed in the kernel...
                send_raw(va, &tagged(&ip, &[(0x8100, 0xa000)]));
                wait_for(fx_ref, 5);
                // ...or sent up for a group vb does not hold.
                let ip2 = Ip::igmp(HOST, G2, igmp8(0x16, 0, G2));
                send_raw(va, &tagged(&ip2, &[(0x8100, 0x2000)]));
                wait_for(fx_ref, 6);

                let prog: &mut SchedClassifier = fx_ref
                    .ebpf
                    .program_mut(PROGRAM_NAME)
                    .unwrap()
                    .try_into()
                    .unwrap();
                prog.detach(link).expect("detach");
                assert_eq!(fx_ref.members.get(&held, 0).unwrap().fast_refreshes, 1);
                let ev = fx_ref.events();
                assert_eq!(ev.len(), 1, "one report sent up");
                assert_eq!((ev[0].ifindex, ev[0].vlan_id), (vb, 0));
                assert_eq!(ev[0].flags, EVENT_FLAG_VLAN | EVENT_FLAG_ROUTER_ALERT);
                assert_eq!((ev[0].reason, ev[0].dst_addr), (reason::NEW_GROUP, G2));
                let st = fx_ref.stats();
                assert_eq!(
                    (st.rx_report_v2, st.fast_path_refreshes, st.events_sent),
                    (2, 1, 1)
                );
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    });
    drop(ns);
}

// ---------------------------------------------------------------------------------------------
// The two writers agree: a refresh report absorbed by the classifier leaves the map in the state
// the daemon's IGMP router would have written for the same report.

use mgm_user::igmp::{Action, IgmpConfig, IgmpInterface, NoFastPath};
use std::net::Ipv4Addr;

/// The daemon's router on the test_run device, with the fixture's maps set up as the daemon
/// would: settings from its parameters, entries from its actions.
struct Daemon {
    router: IgmpInterface,
}

impl Daemon {
    fn new(fx: &mut Fx) -> Self {
        let (router, _) =
            IgmpInterface::new(LO, Ipv4Addr::from(ROUTER), IgmpConfig::default(), mono());
        let p = router.params();
        let s = IfaceSettings {
            group_membership_interval_ns: p.group_membership_interval,
            older_host_present_interval_ns: p.older_host_present_interval,
            enabled: 1,
            flags: 0,
            ..IfaceSettings::default()
        };
        fx.ifaces.insert(LO, s, 0).unwrap();
        Daemon { router }
    }

    /// Feeds one IGMP message (as the host sent it in `frame`) to the router; returns its map
    /// writes, applying them to the fixture when `apply`.
    fn feed(
        &mut self,
        fx: &mut Fx,
        src: [u8; 4],
        dst: [u8; 4],
        igmp: &[u8],
        apply: bool,
    ) -> Vec<Action> {
        let msg = mgm_common::igmp::parse(igmp).expect("valid IGMP");
        let actions = self
            .router
            .on_message(mono(), src.into(), dst.into(), &msg, &NoFastPath);
        let writes: Vec<Action> = actions
            .into_iter()
            .filter(|a| matches!(a, Action::WriteMember { .. } | Action::WriteSource { .. }))
            .collect();
        if apply {
            for a in &writes {
                match a {
                    Action::WriteMember { group, state, .. } => {
                        fx.add_member(group.octets(), *state)
                    }
                    Action::WriteSource {
                        group,
                        source,
                        state,
                        ..
                    } => {
                        fx.sources
                            .insert(
                                SourceKey {
                                    ifindex: LO,
                                    group: group.octets(),
                                    source: source.octets(),
                                },
                                *state,
                                0,
                            )
                            .unwrap();
                    }
                    _ => {}
                }
            }
        }
        writes
    }
}

fn mono() -> u64 {
    monotonic_ns()
}

/// `t` lies in [before + d, after + d].
fn within(t: u64, before: u64, after: u64, d: u64) -> bool {
    t >= before + d && t <= after + d
}

#[test]
fn refresh_v2_report_kernel_and_daemon_agree() {
    let mut fx = fixture();
    let mut kernel = Daemon::new(&mut fx);
    let mut daemon = Daemon::new(&mut fx);
    let report = igmp8(0x16, 0, G1);
    // The first report creates the group (slow path) in both routers; the map holds it.
    kernel.feed(&mut fx, HOST, G1, &report, true);
    daemon.feed(&mut fx, HOST, G1, &report, false);
    let gmi = kernel.router.params().group_membership_interval;
    let ohpi = kernel.router.params().older_host_present_interval;

    // Later the same report again: the classifier absorbs it...
    std::thread::sleep(std::time::Duration::from_millis(20));
    let t0 = mono();
    fx.run(&ip_frame(&Ip::igmp(HOST2, G1, report.clone())));
    let t1 = mono();
    fx.no_event();
    let k = fx.member(G1);
    // ...and the daemon's router, given it on the slow path, writes the same state.
    let d0 = mono();
    let writes = daemon.feed(&mut fx, HOST2, G1, &report, false);
    let d1 = mono();
    let Some(Action::WriteMember { state: d, .. }) = writes.first() else {
        panic!("the router wrote no member for a refresh: {writes:?}");
    };
    assert_eq!(
        (k.filter_mode, k.compat_version, k.source_count, k.flags),
        (d.filter_mode, d.compat_version, d.source_count, d.flags)
    );
    assert_eq!(k.last_reporter, HOST2);
    assert_eq!(d.last_reporter, HOST2);
    assert!(
        within(k.group_expires_ns, t0, t1, gmi),
        "kernel group timer"
    );
    assert!(
        within(d.group_expires_ns, d0, d1, gmi),
        "daemon group timer"
    );
    assert!(
        within(k.v2_host_expires_ns, t0, t1, ohpi),
        "kernel v2 host timer"
    );
    assert!(
        within(d.v2_host_expires_ns, d0, d1, ohpi),
        "daemon v2 host timer"
    );
    assert_eq!(k.fast_refreshes, 1);
}

#[test]
fn refresh_v3_is_ex_empty_kernel_and_daemon_agree() {
    let mut fx = fixture();
    let mut kernel = Daemon::new(&mut fx);
    let mut daemon = Daemon::new(&mut fx);
    // A v3 host joins with TO_EX{} (EXCLUDE, no sources) and answers queries with IS_EX{}.
    let join = report_v3(&[rec(TO_EX, G1, &[])]);
    kernel.feed(&mut fx, HOST, V3_REPORTS, &join, true);
    daemon.feed(&mut fx, HOST, V3_REPORTS, &join, false);
    let joined = fx.member(G1);
    assert_eq!(
        (
            joined.filter_mode,
            joined.compat_version,
            joined.source_count
        ),
        (FILTER_MODE_EXCLUDE, 3, 0),
        "the join leaves the group in EXCLUDE {{}}"
    );
    let gmi = kernel.router.params().group_membership_interval;
    let current = report_v3(&[rec(IS_EX, G1, &[])]);

    std::thread::sleep(std::time::Duration::from_millis(20));
    let t0 = mono();
    fx.run(&ip_frame(&Ip::igmp(HOST2, V3_REPORTS, current.clone())));
    let t1 = mono();
    fx.no_event();
    let k = fx.member(G1);
    let d0 = mono();
    let writes = daemon.feed(&mut fx, HOST2, V3_REPORTS, &current, false);
    let d1 = mono();
    let Some(Action::WriteMember { state: d, .. }) = writes
        .iter()
        .find(|a| matches!(a, Action::WriteMember { .. }))
    else {
        panic!("the router wrote no member for a refresh: {writes:?}");
    };
    assert!(
        !writes
            .iter()
            .any(|a| matches!(a, Action::WriteSource { .. })),
        "no source records for EXCLUDE {{}}: {writes:?}"
    );
    assert_eq!(
        (k.filter_mode, k.compat_version, k.source_count, k.flags),
        (d.filter_mode, d.compat_version, d.source_count, d.flags)
    );
    assert_eq!(
        (k.v1_host_expires_ns, k.v2_host_expires_ns),
        (d.v1_host_expires_ns, d.v2_host_expires_ns),
        "a v3 report starts no older-host timer"
    );
    assert_eq!(k.last_reporter, HOST2);
    assert_eq!(d.last_reporter, HOST2);
    assert!(
        within(k.group_expires_ns, t0, t1, gmi),
        "kernel group timer"
    );
    assert!(
        within(d.group_expires_ns, d0, d1, gmi),
        "daemon group timer"
    );
    assert_eq!(k.fast_refreshes, joined.fast_refreshes + 1);
}

#[test]
fn refresh_is_in_sources_kernel_and_daemon_agree() {
    let mut fx = fixture();
    let mut kernel = Daemon::new(&mut fx);
    let mut daemon = Daemon::new(&mut fx);
    let join = report_v3(&[rec(ALLOW, G1, &[S1, S2])]);
    kernel.feed(&mut fx, HOST, V3_REPORTS, &join, true);
    daemon.feed(&mut fx, HOST, V3_REPORTS, &join, false);
    let gmi = kernel.router.params().group_membership_interval;
    let current = report_v3(&[rec(IS_IN, G1, &[S1, S2])]);

    std::thread::sleep(std::time::Duration::from_millis(20));
    let t0 = mono();
    fx.run(&v3_frame(&[rec(IS_IN, G1, &[S1, S2])]));
    let t1 = mono();
    fx.no_event();
    let d0 = mono();
    let writes = daemon.feed(&mut fx, HOST, V3_REPORTS, &current, false);
    let d1 = mono();
    for s in [S1, S2] {
        let k = fx.source(G1, s);
        let d = writes
            .iter()
            .find_map(|a| match a {
                Action::WriteSource { source, state, .. } if source.octets() == s => Some(*state),
                _ => None,
            })
            .unwrap_or_else(|| panic!("the router rewrote no source {s:?}: {writes:?}"));
        assert!(
            within(k.expires_ns, t0, t1, gmi),
            "kernel source timer of {s:?}"
        );
        assert!(
            within(d.expires_ns, d0, d1, gmi),
            "daemon source timer of {s:?}"
        );
        assert_eq!(k.flags, d.flags);
    }
    let m = fx.member(G1);
    assert_eq!((m.filter_mode, m.source_count), (FILTER_MODE_INCLUDE, 2));
}

#[test]
fn no_fast_path_flag_sends_refreshes_to_the_daemon() {
    let mut fx = fixture();
    let s = IfaceSettings {
        group_membership_interval_ns: GMI,
        older_host_present_interval_ns: OHPI,
        enabled: 1,
        flags: mgm_common::maps::IFACE_FLAG_NO_FAST_PATH,
        ..IfaceSettings::default()
    };
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.add_member(G1, exclude_member(2));
    fx.run(&v2_report(G1));
    let ev = fx.one_event();
    assert_eq!(ev.reason, reason::DAEMON_REQUEST);
    assert_eq!(
        fx.member(G1),
        exclude_member(2),
        "nothing refreshed in the kernel"
    );
    fx.add_member(G2, exclude_member(3));
    fx.run(&v3_frame(&[rec(IS_EX, G2, &[])]));
    assert_eq!(fx.one_event().reason, reason::DAEMON_REQUEST);
    assert_eq!(fx.member(G2), exclude_member(3));
}

#[test]
fn reports_from_off_link_sources_are_ignored() {
    use mgm_common::maps::{LinkSubnet, IFACE_FLAG_ACCEPT_OFF_LINK};
    let mut fx = fixture();
    let mut s = IfaceSettings {
        group_membership_interval_ns: GMI,
        older_host_present_interval_ns: OHPI,
        enabled: 1,
        subnet_count: 1,
        ..IfaceSettings::default()
    };
    s.subnets[0] = LinkSubnet {
        network: [192, 0, 2, 0],
        prefix_len: 24,
        _pad: [0; 3],
    };
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.add_member(G1, exclude_member(2));
    let off: [u8; 4] = [198, 51, 100, 9];
    let report = igmp8(0x16, 0, G1);
    // From another subnet: a report, a leave, a v3 report — counted, ignored, nothing refreshed.
    fx.run(&ip_frame(&Ip::igmp(off, G1, report.clone())));
    fx.run(&ip_frame(&Ip::igmp(off, ALL_ROUTERS, igmp8(0x17, 0, G1))));
    fx.run(&ip_frame(&Ip::igmp(
        off,
        V3_REPORTS,
        report_v3(&[rec(IS_EX, G1, &[])]),
    )));
    fx.no_event();
    assert_eq!(fx.member(G1), exclude_member(2));
    let st = fx.stats();
    assert_eq!(st.ignored_off_link_source, 3);
    assert_eq!(
        (st.rx_report_v2, st.rx_leave_v2, st.rx_report_v3),
        (0, 0, 0)
    );
    // A query from another subnet is the router's business: it goes up.
    fx.run(&ip_frame(&Ip::igmp(
        off,
        ALL_SYSTEMS,
        igmp8(0x11, 100, [0; 4]),
    )));
    assert_eq!(fx.one_event().reason, reason::QUERY);
    // On the link, or from 0.0.0.0: refreshed in the kernel.
    fx.run(&ip_frame(&Ip::igmp(HOST, G1, report.clone())));
    fx.run(&ip_frame(&Ip::igmp([0; 4], G1, report.clone())));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 2);
    // Told to accept them: the off-link report refreshes too.
    s.flags = IFACE_FLAG_ACCEPT_OFF_LINK;
    fx.ifaces.insert(LO, s, 0).unwrap();
    fx.run(&ip_frame(&Ip::igmp(off, G1, report)));
    fx.no_event();
    assert_eq!(fx.member(G1).fast_refreshes, 3);
    assert_eq!(fx.stats().ignored_off_link_source, 3);
}
