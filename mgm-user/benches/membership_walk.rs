//! A whole `get_memberships` answer of 100 000 records walked the way the daemon writes it,
//! in chunks of 4 096 (each resumes after the last record of the one before): how long the
//! manager's part of the walk takes. Pure, no kernel, no root; run in release
//! (`cargo bench -p mgm-user --bench membership_walk`). Each way runs 5 times; the median,
//! min and max are printed.
//!
//! - `every record per chunk` (the walk before round 9): each chunk visits every record and
//!   keeps the 4 096 first after the cursor in a bounded heap: N²/4 096 visits for an answer.
//! - `ordered view`: each chunk starts at the cursor in the manager's ordered view
//!   (`Manager::ordered_membership_records`) and visits its own records: N for an answer, plus
//!   the view's making at the first chunk.
//!
//! Interface and protocol names (the same work in both) are left out.
//!
//! Also the loop's part of the MFC reconcile's comparison at 100 000 MFEs, one turn:
//! - `whole table in one turn` (before round 9): mgm's MFEs copied (`kernel_view`) and both
//!   sides sorted, the kernel's dump being a copy of the same table;
//! - `one turn of 4 096`: the next 4 096 MFEs from the middle (`kernel_view_after`) and the
//!   same slice of the dump (already sorted on the dump thread), sorted as the merge does.
use mgm_user::manager::local::register_local;
use mgm_user::manager::{
    ForwarderAction, IfKey, Manager, ManagerConfig, MembershipFlags, Sg, StaticRpf,
};
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;
use std::ops::Bound;
use std::time::{Duration, Instant};

const GROUPS: u32 = 50_000;
const IFACES: u32 = 2;
const CHUNK: usize = 4096;
const RUNS: usize = 5;

type Key = (Option<Ipv4Addr>, Option<Ipv4Addr>, u32, u32);

fn table() -> Manager {
    let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let mut m = Manager::with_config(
        Box::new(rpf),
        ManagerConfig {
            record_events: false,
            ..ManagerConfig::default()
        },
    );
    let local = register_local(&mut m).expect("local");
    for i in 1..=IFACES {
        m.take_interface_ownership(0, local, IfKey::new(i))
            .expect("take interface");
    }
    for g in 0..GROUPS {
        let sg = Sg::star_g(Ipv4Addr::from(0xEF00_0000 | g));
        for i in 1..=IFACES {
            m.add_membership(0, local, sg, IfKey::new(i), MembershipFlags::JOIN_STATE)
                .expect("join");
        }
    }
    m.take_actions();
    m
}

/// The walk before: every record visited per chunk, the first `CHUNK` after `after` kept.
fn every_record(m: &mut Manager) -> usize {
    let mut after: Option<Key> = None;
    let mut total = 0;
    loop {
        let mut kept: BinaryHeap<Key> = BinaryHeap::with_capacity(CHUNK + 1);
        let mut following = 0usize;
        for (sg, iface, _, _) in m.membership_records() {
            let key = (sg.group, sg.source, iface.ifindex, 0);
            if after.is_some_and(|a| key <= a) {
                continue;
            }
            following += 1;
            kept.push(key);
            if kept.len() > CHUNK {
                kept.pop();
            }
        }
        let rows = kept.into_sorted_vec();
        total += rows.len();
        after = rows.last().copied();
        if following <= CHUNK {
            return total;
        }
    }
}

/// The walk now: each chunk from its cursor in the ordered view.
fn ordered(m: &mut Manager) -> usize {
    let mut from = Bound::Unbounded;
    let mut total = 0;
    loop {
        let mut rows = 0;
        let mut last = None;
        for (sg, iface, h, _) in m.ordered_membership_records(from) {
            if rows >= CHUNK && last.is_some_and(|l: Sg| l != sg) {
                break;
            }
            std::hint::black_box((iface, h));
            rows += 1;
            last = Some(sg);
        }
        total += rows;
        match last {
            Some(l) if rows >= CHUNK => from = Bound::Excluded((l.group, l.source)),
            _ => return total,
        }
    }
}

fn bench(name: &str, walk: fn(&mut Manager) -> usize) {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        // A fresh table each run: the ordered view's making is part of the answer.
        let mut m = table();
        let t = Instant::now();
        let n = walk(&mut m);
        times.push(t.elapsed());
        assert_eq!(n, (GROUPS * IFACES) as usize, "{name}: every record once");
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<24} {} records in chunks of {CHUNK}: median {:.1} ms (min {:.1}, max {:.1})",
        GROUPS * IFACES,
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1])
    );
}

const MFES: u32 = 100_000;

fn mfe_table() -> Manager {
    let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let mut m = Manager::with_config(
        Box::new(rpf),
        ManagerConfig {
            record_events: false,
            max_mfes: 0,
            ..ManagerConfig::default()
        },
    );
    let local = register_local(&mut m).expect("local");
    m.take_interface_ownership(0, local, IfKey::new(1))
        .expect("take interface");
    for i in 0..MFES {
        let source = Ipv4Addr::new(192, 0, 2, 1 + (i % 200) as u8);
        let group = Ipv4Addr::from(0xEF00_0000 | (i / 200));
        m.new_packet(0, source, group, 1, &[]).expect("new packet");
    }
    m.take_actions();
    m
}

type Entry = (Ipv4Addr, Ipv4Addr, u32, Vec<u32>);

fn entries(actions: Vec<ForwarderAction>) -> Vec<Entry> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            ForwarderAction::SetMfe {
                source,
                group,
                iif,
                oifs,
            } => Some((source, group, iif, oifs)),
            _ => None,
        })
        .collect()
}

fn compare_turn(name: &str, m: &Manager, dump: &[Entry], turn: impl Fn(&Manager, &[Entry])) {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        turn(m, dump);
        times.push(t.elapsed());
    }
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name:<24} {MFES} MFEs: median {:.0} µs (min {:.0}, max {:.0})",
        us(times[RUNS / 2]),
        us(times[0]),
        us(times[RUNS - 1])
    );
}

fn main() {
    if cfg!(debug_assertions) {
        eprintln!("note: debug build; figures are meaningful only from `cargo bench` (release)");
    }
    bench("every record per chunk", every_record);
    bench("ordered view", ordered);
    let m = mfe_table();
    let dump = entries(m.kernel_view());
    assert_eq!(dump.len(), MFES as usize, "every MFE made");
    compare_turn("whole table in one turn", &m, &dump, |m, dump| {
        let mut ours = entries(m.kernel_view());
        let mut theirs: Vec<&Entry> = dump.iter().collect();
        ours.sort_unstable_by_key(|e| (e.0, e.1));
        theirs.sort_unstable_by_key(|e| (e.0, e.1));
        std::hint::black_box((ours, theirs));
    });
    compare_turn("one turn of 4 096", &m, &dump, |m, dump| {
        let mid = &dump[dump.len() / 2];
        let mut ours = entries(m.kernel_view_after(Some((mid.1, mid.0)), CHUNK));
        let at = dump.len() / 2 + 1;
        let mut theirs: Vec<&Entry> = dump[at..at + CHUNK].iter().collect();
        ours.sort_unstable_by_key(|e| (e.0, e.1));
        theirs.sort_unstable_by_key(|e| (e.0, e.1));
        std::hint::black_box((ours, theirs));
    });
}
