//! The shared fixture (the object loaded once, reset per test), frame builders and assertions.

pub(crate) use std::sync::{Mutex, MutexGuard, OnceLock};

pub(crate) use aya::{
    maps::{HashMap, MapData, PerCpuArray, PerCpuValues, RingBuf},
    programs::{SchedClassifier, TestRun, TestRunOptions},
    Ebpf, EbpfLoader,
};
pub(crate) use mgm_common::{
    event::{reason, EVENT_FLAG_ROUTER_ALERT, EVENT_FLAG_TRUNCATED, EVENT_FLAG_VLAN},
    maps::{
        ALL_PROGRAMS, FILTER_MODE_EXCLUDE, FILTER_MODE_INCLUDE, MAP_EVENTS, MAP_IFACES,
        MAP_MEMBERS, MAP_RATE, MAP_SOURCES, MAP_STATS, MEMBER_FLAG_SLOW_PATH, PROGRAM_NAME,
        PROGRAM_NAME_GRE, PROGRAM_NAME_IP,
    },
    EventHeader, IfaceSettings, IgmpEvent, IgmpStats, MemberKey, MemberState, RateBuckets,
    SourceKey, SourceState,
};

pub(crate) const TCX_NEXT: u32 = -1i32 as u32;
pub(crate) const LO: u32 = 1;
pub(crate) const GMI: u64 = 260_000_000_000;
pub(crate) const OHPI: u64 = 255_000_000_000;

pub(crate) const HOST: [u8; 4] = [192, 0, 2, 10];
pub(crate) const HOST2: [u8; 4] = [192, 0, 2, 11];
pub(crate) const ROUTER: [u8; 4] = [192, 0, 2, 1];
pub(crate) const G1: [u8; 4] = [239, 1, 2, 3];
pub(crate) const G2: [u8; 4] = [239, 1, 2, 4];
pub(crate) const ALL_SYSTEMS: [u8; 4] = [224, 0, 0, 1];
pub(crate) const ALL_ROUTERS: [u8; 4] = [224, 0, 0, 2];
pub(crate) const V3_REPORTS: [u8; 4] = [224, 0, 0, 22];
pub(crate) const S1: [u8; 4] = [198, 51, 100, 1];
pub(crate) const S2: [u8; 4] = [198, 51, 100, 2];
pub(crate) const S3: [u8; 4] = [198, 51, 100, 3];

// IGMPv3 record types, by their short names (RFC 3376 §6.4).
pub(crate) use mgm_common::igmp::{
    ALLOW_NEW_SOURCES as ALLOW, BLOCK_OLD_SOURCES as BLOCK, CHANGE_TO_EXCLUDE_MODE as TO_EX,
    CHANGE_TO_INCLUDE_MODE as TO_IN, MODE_IS_EXCLUDE as IS_EX, MODE_IS_INCLUDE as IS_IN,
};
pub(crate) use mgm_common::igmp::{
    TYPE_MEMBERSHIP_QUERY, TYPE_V1_REPORT, TYPE_V2_LEAVE, TYPE_V2_REPORT, TYPE_V3_REPORT,
};

// ---------------------------------------------------------------------------------------------
// Frame builder
// ---------------------------------------------------------------------------------------------

/// RFC 1071 Internet checksum.
pub(crate) fn csum(bytes: &[u8]) -> u16 {
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
pub(crate) fn fix_igmp_csum(msg: &mut [u8]) {
    msg[2] = 0;
    msg[3] = 0;
    let c = csum(msg);
    msg[2..4].copy_from_slice(&c.to_be_bytes());
}

/// An 8-byte IGMP message (v1/v2 query, v1/v2 report, leave).
pub(crate) fn igmp8(t: u8, code: u8, group: [u8; 4]) -> Vec<u8> {
    let mut m = vec![t, code, 0, 0];
    m.extend_from_slice(&group);
    fix_igmp_csum(&mut m);
    m
}

pub(crate) fn query_v3(group: [u8; 4], sources: &[[u8; 4]]) -> Vec<u8> {
    let mut m = vec![TYPE_MEMBERSHIP_QUERY, 100, 0, 0];
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
pub(crate) struct Rec {
    pub(crate) rtype: u8,
    pub(crate) group: [u8; 4],
    pub(crate) sources: Vec<[u8; 4]>,
    pub(crate) aux_words: u8,
}

pub(crate) fn rec(rtype: u8, group: [u8; 4], sources: &[[u8; 4]]) -> Rec {
    Rec {
        rtype,
        group,
        sources: sources.to_vec(),
        aux_words: 0,
    }
}

pub(crate) fn report_v3(records: &[Rec]) -> Vec<u8> {
    let mut m = vec![TYPE_V3_REPORT, 0, 0, 0, 0, 0];
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

pub(crate) const RA: [u8; 4] = [0x94, 0x04, 0x00, 0x00];

/// IPv4 packet description; `build` fills the lengths and the header checksum unless overridden.
#[derive(Clone)]
pub(crate) struct Ip {
    pub(crate) version: u8,
    pub(crate) ihl: Option<u8>,
    pub(crate) tot_len: Option<u16>,
    pub(crate) frag: u16,
    pub(crate) ttl: u8,
    pub(crate) proto: u8,
    pub(crate) src: [u8; 4],
    pub(crate) dst: [u8; 4],
    pub(crate) options: Vec<u8>,
    pub(crate) payload: Vec<u8>,
}

impl Ip {
    /// IGMP as hosts send it: TTL 1, Router Alert.
    pub(crate) fn igmp(src: [u8; 4], dst: [u8; 4], payload: Vec<u8>) -> Self {
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

    pub(crate) fn no_options(mut self) -> Self {
        self.options.clear();
        self
    }

    pub(crate) fn build(&self) -> Vec<u8> {
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
pub(crate) fn eth(dst_mac: [u8; 6], tags: &[(u16, u16)], ethertype: u16, l3: &[u8]) -> Vec<u8> {
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

pub(crate) fn mcast_mac(group: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]]
}

pub(crate) fn ip_frame(ip: &Ip) -> Vec<u8> {
    eth(mcast_mac(ip.dst), &[], 0x0800, &ip.build())
}

pub(crate) fn tagged(ip: &Ip, tags: &[(u16, u16)]) -> Vec<u8> {
    eth(mcast_mac(ip.dst), tags, 0x0800, &ip.build())
}

pub(crate) fn udp_frame() -> Vec<u8> {
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
pub(crate) fn v2_report(group: [u8; 4]) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, group, igmp8(TYPE_V2_REPORT, 0, group)))
}

/// A v2 report frame around `igmp` (which may be malformed).
pub(crate) fn v2_report_with(igmp: Vec<u8>) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, G1, igmp))
}

pub(crate) fn v1_report(group: [u8; 4]) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, group, igmp8(TYPE_V1_REPORT, 0, group)).no_options())
}

pub(crate) fn v3_frame(records: &[Rec]) -> Vec<u8> {
    ip_frame(&Ip::igmp(HOST, V3_REPORTS, report_v3(records)))
}

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub(crate) struct Fx {
    pub(crate) ebpf: Ebpf,
    pub(crate) ifaces: HashMap<MapData, u32, IfaceSettings>,
    pub(crate) members: HashMap<MapData, MemberKey, MemberState>,
    pub(crate) sources: HashMap<MapData, SourceKey, SourceState>,
    pub(crate) stats: PerCpuArray<MapData, IgmpStats>,
    pub(crate) events: RingBuf<MapData>,
}

/// The shared fixture, reset: IGMP enabled on the loopback (the test_run device), no members or
/// sources, counters zero, ring empty.
pub(crate) fn fixture() -> MutexGuard<'static, Fx> {
    static FX: OnceLock<Mutex<Fx>> = OnceLock::new();
    let mut fx = FX
        .get_or_init(|| Mutex::new(Fx::load()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    fx.reset();
    fx
}

impl Fx {
    /// Loads the object with empty maps; every classifier (one per kind of link) is verified.
    pub(crate) fn load() -> Self {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the program tests load eBPF and need root (CAP_BPF + CAP_NET_ADMIN); run them as root"
        );
        let bytes = mgm_user::sys::bpf::object::object_bytes()
            .expect("the igmp-ebpf object must be built before these tests (cargo xtask build)");
        let mut ebpf = EbpfLoader::new()
            .load(bytes)
            .expect("load the igmp-ebpf object");
        for name in ALL_PROGRAMS {
            let prog: &mut SchedClassifier = ebpf
                .program_mut(name)
                .unwrap_or_else(|| panic!("program {name} in the object"))
                .try_into()
                .unwrap_or_else(|_| panic!("{name} is a classifier"));
            if let Err(e) = prog.load() {
                panic!("the verifier rejected {name}: {e:#?}");
            }
        }
        let ifaces = HashMap::try_from(ebpf.take_map(MAP_IFACES).expect("MGM_IFACES")).unwrap();
        let members = HashMap::try_from(ebpf.take_map(MAP_MEMBERS).expect("MGM_MEMBERS")).unwrap();
        let sources = HashMap::try_from(ebpf.take_map(MAP_SOURCES).expect("MGM_SOURCES")).unwrap();
        let stats = PerCpuArray::try_from(ebpf.take_map(MAP_STATS).expect("MGM_STATS")).unwrap();
        let events = RingBuf::try_from(ebpf.take_map(MAP_EVENTS).expect("MGM_EVENTS")).unwrap();
        Fx {
            ebpf,
            ifaces,
            members,
            sources,
            stats,
            events,
        }
    }

    /// Back to the state of `new()`: no members or sources, counters zero, ring drained.
    pub(crate) fn reset(&mut self) {
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
        // Full budgets: the classifier's own map, emptied in place.
        let rate: aya::maps::PerCpuHashMap<&mut MapData, u32, RateBuckets> =
            aya::maps::PerCpuHashMap::try_from(self.ebpf.map_mut(MAP_RATE).expect("MGM_RATE"))
                .unwrap();
        let keys: Vec<u32> = rate.keys().map(|k| k.unwrap()).collect();
        let mut rate = rate;
        for k in keys {
            rate.remove(&k).unwrap();
        }
        self.events();
        self.enable(LO);
    }

    /// Messages `ifindex`'s buckets held back, over every CPU (`MGM_RATE`).
    pub(crate) fn rate_limited(&self, ifindex: u32) -> u64 {
        let rate: aya::maps::PerCpuHashMap<&MapData, u32, RateBuckets> =
            aya::maps::PerCpuHashMap::try_from(self.ebpf.map(MAP_RATE).expect("MGM_RATE")).unwrap();
        match rate.get(&ifindex, 0) {
            Ok(per_cpu) => per_cpu.iter().map(|b| b.rate_limited).sum(),
            Err(aya::maps::MapError::KeyNotFound) => 0,
            Err(e) => panic!("reading MGM_RATE: {e}"),
        }
    }

    pub(crate) fn enable(&mut self, ifindex: u32) {
        self.enable_with(ifindex, |_| {});
    }

    /// Enables IGMP on `ifindex` with the test's settings changed by `f`.
    pub(crate) fn enable_with(&mut self, ifindex: u32, f: impl FnOnce(&mut IfaceSettings)) {
        let mut s = IfaceSettings {
            group_membership_interval_ns: GMI,
            older_host_present_interval_ns: OHPI,
            enabled: 1,
            flags: 0,
            ..IfaceSettings::default()
        };
        f(&mut s);
        self.ifaces.insert(ifindex, s, 0).unwrap();
    }

    pub(crate) fn prog(&self) -> &SchedClassifier {
        self.program(PROGRAM_NAME)
    }

    /// The classifier of one kind of link (`PROGRAM_NAME`, `PROGRAM_NAME_IP`, `PROGRAM_NAME_GRE`).
    pub(crate) fn program(&self, name: &str) -> &SchedClassifier {
        self.ebpf.program(name).unwrap().try_into().unwrap()
    }

    /// Runs one frame (optionally with a `__sk_buff` context) and checks the verdict and that the
    /// packet comes back unchanged.
    pub(crate) fn run_ctx(&self, frame: &[u8], ctx: Option<&[u8]>) {
        self.run_prog(PROGRAM_NAME, frame, ctx)
    }

    /// Runs one packet through the classifier of links without an Ethernet header.
    pub(crate) fn run_ip(&self, packet: &[u8]) {
        self.run_prog(PROGRAM_NAME_IP, packet, None)
    }

    /// Runs one packet through the classifier of GRE links.
    pub(crate) fn run_gre(&self, packet: &[u8]) {
        self.run_prog(PROGRAM_NAME_GRE, packet, None)
    }

    /// Runs one packet through classifier `name`, checking the verdict and that the packet
    /// comes back unchanged.
    pub(crate) fn run_prog(&self, name: &str, frame: &[u8], ctx: Option<&[u8]>) {
        let mut out = vec![0u8; frame.len() + 64];
        let opts = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            ctx_in: ctx,
            ..TestRunOptions::new()
        };
        let r = self
            .program(name)
            .test_run(opts)
            .expect("BPF_PROG_TEST_RUN");
        assert_eq!(r.return_value, TCX_NEXT, "verdict must be TCX_NEXT");
        assert_eq!(
            r.data_size_out as usize,
            frame.len(),
            "packet length changed"
        );
        assert_eq!(&out[..frame.len()], frame, "packet bytes changed");
    }

    pub(crate) fn run(&self, frame: &[u8]) {
        self.run_ctx(frame, None)
    }

    pub(crate) fn run_repeat(&self, frame: &[u8], repeat: u32) {
        let opts = TestRunOptions {
            data_in: Some(frame),
            repeat,
            ..TestRunOptions::new()
        };
        let r = self.prog().test_run(opts).expect("BPF_PROG_TEST_RUN");
        assert_eq!(r.return_value, TCX_NEXT);
    }

    pub(crate) fn stats(&self) -> IgmpStats {
        let mut total = IgmpStats::default();
        for cpu in self.stats.get(&0, 0).unwrap().iter() {
            total.accumulate(cpu);
        }
        total
    }

    pub(crate) fn events(&mut self) -> Vec<Ev> {
        let mut v = Vec::new();
        while let Some(item) = self.events.next() {
            let ev = IgmpEvent::from_bytes(&item).expect("an event record");
            v.push(Ev {
                header: ev.header,
                igmp: ev.igmp_bytes().to_vec(),
                record_len: item.len(),
            });
        }
        v
    }

    /// Exactly one event, returned.
    pub(crate) fn one_event(&mut self) -> Ev {
        let mut ev = self.events();
        assert_eq!(ev.len(), 1, "expected one event");
        ev.remove(0)
    }

    pub(crate) fn no_event(&mut self) {
        assert_eq!(self.events().len(), 0, "expected no event");
    }

    pub(crate) fn add_member(&mut self, group: [u8; 4], m: MemberState) {
        self.members
            .insert(MemberKey { ifindex: LO, group }, m, 0)
            .unwrap();
    }

    pub(crate) fn member(&self, group: [u8; 4]) -> MemberState {
        self.members
            .get(&MemberKey { ifindex: LO, group }, 0)
            .unwrap()
    }

    pub(crate) fn add_source(&mut self, group: [u8; 4], source: [u8; 4], expires_ns: u64) {
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

    pub(crate) fn source(&self, group: [u8; 4], source: [u8; 4]) -> SourceState {
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

pub(crate) fn exclude_member(compat: u8) -> MemberState {
    MemberState {
        group_expires_ns: 1,
        filter_mode: FILTER_MODE_EXCLUDE,
        compat_version: compat,
        ..Default::default()
    }
}

pub(crate) fn include_member(source_count: u32) -> MemberState {
    MemberState {
        filter_mode: FILTER_MODE_INCLUDE,
        compat_version: 3,
        source_count,
        ..Default::default()
    }
}

/// Counters of one accepted IGMP packet plus `f`'s changes.
pub(crate) fn accepted(f: impl FnOnce(&mut IgmpStats)) -> IgmpStats {
    let mut s = IgmpStats {
        igmp_packets: 1,
        ..Default::default()
    };
    f(&mut s);
    s
}

pub(crate) fn assert_stats(fx: &Fx, want: IgmpStats) {
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

/// An event as the daemon decodes it (`IgmpEvent`), owned.
#[derive(Clone, Debug)]
pub(crate) struct Ev {
    pub(crate) header: EventHeader,
    pub(crate) igmp: Vec<u8>,
    /// Bytes of the ring buffer record.
    pub(crate) record_len: usize,
}

impl std::ops::Deref for Ev {
    type Target = EventHeader;
    fn deref(&self) -> &EventHeader {
        &self.header
    }
}

impl Ev {
    pub(crate) fn igmp_bytes(&self) -> &[u8] {
        &self.igmp
    }
}

pub(crate) fn assert_event(ev: &Ev, why: u8, src: [u8; 4], dst: [u8; 4], igmp: &[u8]) {
    assert_eq!(ev.reason, why, "event reason");
    assert_eq!(
        ev.record_len,
        mgm_common::event::EVENT_HEADER_LEN + igmp.len(),
        "records are as long as their message"
    );
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

/// A network namespace with a veth pair `va` <-> `vb`, both up; deleted on drop.
pub(crate) struct VethNs {
    pub(crate) name: String,
}

impl VethNs {
    pub(crate) fn new() -> Self {
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

impl VethNs {
    /// Sets the MTU of both ends (jumbo frames).
    pub(crate) fn set_mtu(&self, mtu: u32) {
        for dev in ["va", "vb"] {
            let st = std::process::Command::new("ip")
                .args([
                    "-n",
                    &self.name,
                    "link",
                    "set",
                    dev,
                    "mtu",
                    &mtu.to_string(),
                ])
                .status()
                .expect("run ip(8)");
            assert!(st.success(), "setting the MTU of {dev} to {mtu}");
        }
    }

    /// Runs `f` in a thread inside the namespace (setns is per thread).
    pub(crate) fn run_in<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let ns = std::fs::File::open(format!("/run/netns/{}", self.name)).unwrap();
                    nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                    f()
                })
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
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
pub(crate) fn send_raw(ifindex: u32, frame: &[u8]) {
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
