//! Per-packet cost of the igmp-ebpf classifier, measured by the kernel with `BPF_PROG_TEST_RUN`
//! (`repeat` runs of one frame; the kernel reports the mean time per run).
//!
//! Baseline: `mgm_empty`, a classifier in the same object that only returns `TCX_NEXT`, run on the
//! same frame. Each case is measured `RUNS` times; the median is printed as ns/packet and as a
//! ratio to the baseline. Target: non-IGMP traffic < 1.5x the empty program (the classifier sits
//! on every packet of a managed interface, so what is not IGMP must pass nearly free).
//!
//! Needs root and the built object, like the program tests. `cargo bench -p mgm-user --bench
//! classifier`; `MGM_BENCH_REPEAT` overrides the repeat count. Part of the benchmark harness
//! (`cargo xtask bench`): its figures go out as result lines too (`compare/report.rs`).

#[path = "compare/report.rs"]
mod report;

use anyhow::{bail, Context, Result};
use aya::{
    maps::HashMap,
    programs::{SchedClassifier, TestRun, TestRunOptions},
    Ebpf, EbpfLoader,
};
use mgm_common::{
    igmp::{IPPROTO_IGMP, MODE_IS_EXCLUDE, TYPE_V2_REPORT, TYPE_V3_REPORT},
    maps::{FILTER_MODE_EXCLUDE, MAP_IFACES, MAP_MEMBERS, PROGRAM_NAME},
    IfaceSettings, MemberKey, MemberState,
};

const EMPTY: &str = "mgm_empty";
const RUNS: usize = 11;
/// Runs in the harness's quick (smoke) mode, and its repeat count.
const QUICK_RUNS: usize = 3;
const QUICK_REPEAT: u32 = 10_000;
const LO: u32 = 1;
const GROUP: [u8; 4] = [239, 1, 2, 3];
const HOST: [u8; 4] = [192, 0, 2, 10];

fn csum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 (with `options`) + payload, checksums filled in.
fn frame(proto: u8, dst: [u8; 4], options: &[u8], payload: &[u8]) -> Vec<u8> {
    let hlen = 20 + options.len();
    let mut ip = vec![0x40 | (hlen / 4) as u8, 0];
    ip.extend_from_slice(&((hlen + payload.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0, 0, 1, proto, 0, 0]);
    ip.extend_from_slice(&HOST);
    ip.extend_from_slice(&dst);
    ip.extend_from_slice(options);
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(payload);
    let mut f = vec![
        0x01,
        0x00,
        0x5e,
        dst[1] & 0x7f,
        dst[2],
        dst[3],
        2,
        0,
        0,
        0,
        0,
        10,
        8,
        0,
    ];
    f.extend_from_slice(&ip);
    f
}

fn udp_frame() -> Vec<u8> {
    let mut udp = vec![0x30, 0x39, 0x13, 0x88, 0, 72, 0, 0];
    udp.extend(std::iter::repeat_n(0x55, 64));
    frame(17, [198, 51, 100, 7], &[], &udp)
}

fn v2_report_frame() -> Vec<u8> {
    let mut igmp = vec![TYPE_V2_REPORT, 0, 0, 0];
    igmp.extend_from_slice(&GROUP);
    let c = csum(&igmp);
    igmp[2..4].copy_from_slice(&c.to_be_bytes());
    frame(IPPROTO_IGMP, GROUP, &[0x94, 0x04, 0, 0], &igmp)
}

fn v3_is_ex_frame() -> Vec<u8> {
    // One group record: IS_EX({}).
    let mut igmp = vec![TYPE_V3_REPORT, 0, 0, 0, 0, 0, 0, 1];
    igmp.extend_from_slice(&[MODE_IS_EXCLUDE, 0, 0, 0]);
    igmp.extend_from_slice(&GROUP);
    let c = csum(&igmp);
    igmp[2..4].copy_from_slice(&c.to_be_bytes());
    frame(IPPROTO_IGMP, [224, 0, 0, 22], &[0x94, 0x04, 0, 0], &igmp)
}

fn prog<'a>(ebpf: &'a Ebpf, name: &str) -> &'a SchedClassifier {
    ebpf.program(name).unwrap().try_into().unwrap()
}

/// One measurement: the kernel's mean time per run (whole ns, as the kernel reports it; the
/// kernel leaves out time the test was preempted) and the syscall's wall time per run
/// (fractional, includes preemption by other load).
fn run_once(p: &SchedClassifier, data: &[u8], repeat: u32) -> Result<(u64, f64)> {
    let opts = TestRunOptions {
        data_in: Some(data),
        repeat,
        ..TestRunOptions::new()
    };
    let t0 = std::time::Instant::now();
    let r = p.test_run(opts).context("BPF_PROG_TEST_RUN")?;
    let wall = t0.elapsed().as_nanos() as f64 / f64::from(repeat);
    if r.return_value != u32::MAX {
        bail!("verdict {} is not TCX_NEXT", r.return_value as i32);
    }
    Ok((r.duration.as_nanos() as u64, wall))
}

fn median<T: Copy + PartialOrd>(v: &mut [T]) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn main() -> Result<()> {
    // `cargo bench` passes --bench; nothing to parse.
    if !nix::unistd::geteuid().is_root() {
        bail!("the classifier benchmark loads eBPF and needs root (CAP_BPF + CAP_NET_ADMIN)");
    }
    let report = report::Report::from_env();
    let repeat: u32 = match std::env::var("MGM_BENCH_REPEAT") {
        Ok(s) => s.parse().context("MGM_BENCH_REPEAT")?,
        Err(_) => report.pick(1_000_000, QUICK_REPEAT),
    };
    let runs = report.pick(RUNS, QUICK_RUNS);
    let bytes = mgm_user::sys::bpf::object::object_bytes()?;
    let mut ebpf = EbpfLoader::new()
        .load(bytes)
        .context("load the igmp-ebpf object")?;
    for name in [EMPTY, PROGRAM_NAME] {
        let p: &mut SchedClassifier = ebpf
            .program_mut(name)
            .with_context(|| format!("program {name}"))?
            .try_into()?;
        p.load().with_context(|| format!("load {name}"))?;
    }
    let insns = prog(&ebpf, PROGRAM_NAME)
        .info()
        .ok()
        .and_then(|i| i.verified_instruction_count());

    let mut ifaces: HashMap<_, u32, IfaceSettings> =
        HashMap::try_from(ebpf.take_map(MAP_IFACES).context("MGM_IFACES")?)?;
    let settings = IfaceSettings {
        group_membership_interval_ns: 260_000_000_000,
        older_host_present_interval_ns: 260_000_000_000,
        enabled: 1,
        flags: 0,
        ..IfaceSettings::default()
    };
    ifaces.insert(LO, settings, 0)?;
    let mut members: HashMap<_, MemberKey, MemberState> =
        HashMap::try_from(ebpf.take_map(MAP_MEMBERS).context("MGM_MEMBERS")?)?;
    let member = MemberState {
        filter_mode: FILTER_MODE_EXCLUDE,
        compat_version: 2,
        ..Default::default()
    };
    members.insert(
        MemberKey {
            ifindex: LO,
            group: GROUP,
        },
        member,
        0,
    )?;

    let empty = prog(&ebpf, EMPTY);
    let igmp = prog(&ebpf, PROGRAM_NAME);
    let udp = udp_frame();
    let v2 = v2_report_frame();
    let v3 = v3_is_ex_frame();

    let mut tagged_udp = udp.clone();
    tagged_udp.splice(12..12, [0x81, 0x00, 0x00, 0x64]);
    let cases: [(&str, &SchedClassifier, &[u8]); 5] = [
        ("empty classifier (baseline), UDP", empty, &udp),
        ("mgm_igmp_ingress, non-IGMP UDP", igmp, &udp),
        (
            "mgm_igmp_ingress, non-IGMP UDP with a VLAN tag",
            igmp,
            &tagged_udp,
        ),
        ("mgm_igmp_ingress, v2 report refresh (fast path)", igmp, &v2),
        (
            "mgm_igmp_ingress, v3 IS_EX{} refresh (fast path)",
            igmp,
            &v3,
        ),
    ];
    // Warm up, then RUNS rounds over all cases (interleaved, so that load from other processes
    // hits every case alike).
    for (_, p, data) in &cases {
        run_once(p, data, repeat / 10 + 1)?;
    }
    let mut kernel = vec![Vec::new(); cases.len()];
    let mut wall = vec![Vec::new(); cases.len()];
    for _ in 0..runs {
        for (i, (_, p, data)) in cases.iter().enumerate() {
            let (k, w) = run_once(p, data, repeat)?;
            kernel[i].push(k);
            wall[i].push(w);
        }
    }
    emit(&report, repeat, &cases.map(|c| c.0), &kernel);
    let k: Vec<u64> = kernel.iter_mut().map(|v| median(v)).collect();
    let w: Vec<f64> = wall.iter_mut().map(|v| median(v)).collect();

    println!(
        "igmp-ebpf classifier, BPF_PROG_TEST_RUN, repeat {repeat}, median of {runs} runs \
         (verified insns of {PROGRAM_NAME}: {})",
        insns.map_or("?".to_string(), |n| n.to_string())
    );
    println!(
        "{:<52} {:>9} {:>7} {:>9} {:>7}",
        "case (ns/packet)", "kernel", "ratio", "wall", "ratio"
    );
    for (i, (name, _, _)) in cases.iter().enumerate() {
        println!(
            "{name:<52} {:>9} {:>6.2}x {:>9.2} {:>6.2}x",
            k[i],
            k[i] as f64 / k[0].max(1) as f64,
            w[i],
            w[i] / w[0]
        );
    }
    let udp_ratio = k[1] as f64 / k[0].max(1) as f64;
    let m = members.get(
        &MemberKey {
            ifindex: LO,
            group: GROUP,
        },
        0,
    )?;
    println!(
        "fast-path refreshes of the bench group: {}",
        m.fast_refreshes
    );
    println!(
        "non-IGMP target (< 1.5x the empty program, kernel time): {}",
        if udp_ratio < 1.5 { "met" } else { "NOT met" }
    );
    Ok(())
}

/// The harness's figures: each case's kernel time per packet over the runs, and the non-IGMP
/// cases over the empty classifier run by run; the peers have no classifier.
fn emit(r: &report::Report, repeat: u32, names: &[&str], kernel: &[Vec<u64>]) {
    const ID: &str = "classifier";
    r.scenario(
        ID,
        "Classifier cost per packet (BPF_PROG_TEST_RUN)",
        &format!(
            "The igmp-ebpf classifier loaded for real and run by the kernel on one crafted frame \
             {repeat} times per run (BPF_PROG_TEST_RUN; the kernel's mean time per packet), the \
             cases interleaved run by run. Baseline: an empty classifier from the same object \
             that only passes the packet on. The refresh cases are reports for a group already \
             held: absorbed in the kernel, the daemon never sees them."
        ),
    );
    let fig = |measure: &str, unit: &str, values: Vec<f64>| {
        r.figure(report::Figure {
            scenario: ID,
            measure,
            daemon: "mgm",
            peer: false,
            unit,
            better: report::Better::Lower,
            values,
            x: None,
            note: None,
        })
    };
    for (name, k) in names.iter().zip(kernel) {
        fig(name, "ns", k.iter().map(|&x| x as f64).collect());
    }
    for (i, name) in names.iter().enumerate().skip(1).take(2) {
        let ratio = kernel[i]
            .iter()
            .zip(&kernel[0])
            .map(|(&a, &b)| a as f64 / b.max(1) as f64)
            .collect();
        fig(&format!("{name} ÷ empty classifier"), "×", ratio);
    }
    for peer in ["igmpproxy 0.3", "FRR 8.4 pimd+zebra", "smcroute 2.5"] {
        for name in &names[3..] {
            r.na(
                ID,
                name,
                peer,
                "no classifier: every IGMP packet goes up to the daemon's socket",
                None,
            );
        }
    }
}
