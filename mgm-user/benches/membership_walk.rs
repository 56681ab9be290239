//! The daemon's own walks over large tables, timed per turn of the loop: pure, no kernel, no
//! root; run in release (`cargo bench -p mgm-user --bench membership_walk`). Each way runs 5
//! times; the median, min and max are printed.
//!
//! - `get_memberships`: a whole answer of 100 000 records (50 000 (*,G)s on two interfaces)
//!   written chunk by chunk by the daemon's walk (`daemon::membership_walk::chunk`: the
//!   manager's ordered view from each chunk's cursor, names, filter, rows, the chunk's JSON
//!   text), unfiltered and with a filter no record matches (each chunk then ends on its
//!   visits); the whole answer, and its longest chunk (the longest the loop is held by one).
//!   The ordered view is made at the first chunk of each run (a fresh table).
//! - the MFC reconcile's comparison at 100 000 MFEs, the kernel's dump a copy of mgm's table:
//!   a whole round of the loop's turns (`daemon::forwarding::compare_turn` with
//!   `COMPARES_PER_TURN` = 4 096 entries a side), its longest turn, and the whole table in one
//!   turn for comparison.
use mgm_user::control::api::handler::MembershipFilter;
use mgm_user::control::stream::Cursor;
use mgm_user::daemon::forwarding::{compare_turn, Round, COMPARES_PER_TURN};
use mgm_user::daemon::membership_walk::{chunk, CHUNK_VISITS, MEMBERSHIP_CHUNK};
use mgm_user::manager::local::register_local;
use mgm_user::manager::{
    quiet_manager_with_local, ForwarderAction, IfKey, Manager, ManagerConfig, MembershipFlags, Sg,
    StaticRpf,
};
use mgm_user::sys::mfc_dump::KernelMfc;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const GROUPS: u32 = 50_000;
const IFACES: u32 = 2;
const RUNS: usize = 5;

fn table() -> Manager {
    let (mut m, local) = quiet_manager_with_local();
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

fn name(ifindex: u32) -> String {
    format!("eth{ifindex}")
}

/// The times of a whole run and of its longest turn.
struct Run {
    whole: Duration,
    longest: Duration,
    turns: usize,
}

/// A whole `get_memberships` answer with `f`, chunk by chunk; the bytes written.
fn answer(m: &mut Manager, f: &MembershipFilter) -> (Run, usize) {
    let mut bytes = 0;
    let mut after = None;
    let mut run = Run {
        whole: Duration::ZERO,
        longest: Duration::ZERO,
        turns: 0,
    };
    loop {
        let t = Instant::now();
        let (c, _visited) = chunk(m, &name, Some(1), f, after.as_ref());
        let took = t.elapsed();
        run.whole += took;
        run.longest = run.longest.max(took);
        run.turns += 1;
        bytes += c.text.len();
        match c.next {
            Some(Cursor::Membership(next)) => after = Some(next),
            _ => return (run, bytes),
        }
    }
}

fn report(name: &str, what: &str, mut runs: Vec<Run>) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let turns = runs[0].turns;
    runs.sort_by_key(|r| r.whole);
    let whole: Vec<f64> = runs.iter().map(|r| ms(r.whole)).collect();
    let mut longest: Vec<f64> = runs.iter().map(|r| ms(r.longest)).collect();
    longest.sort_by(f64::total_cmp);
    println!(
        "{name:<30} {what} in {turns} turns: median {:.2} ms (min {:.2}, max {:.2}); longest turn \
         median {:.2} ms (min {:.2}, max {:.2})",
        whole[RUNS / 2],
        whole[0],
        whole[RUNS - 1],
        longest[RUNS / 2],
        longest[0],
        longest[RUNS - 1]
    );
}

fn bench_answer(label: &str, f: &MembershipFilter, rows_expected: bool) {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        // A fresh table each run: the ordered view's making is part of the answer.
        let mut m = table();
        let (run, bytes) = answer(&mut m, f);
        let records = (GROUPS * IFACES) as usize;
        assert_eq!(
            bytes > records * 50,
            rows_expected,
            "{label}: every record listed, or none ({bytes} bytes)"
        );
        runs.push(run);
    }
    report(label, &format!("{} records", GROUPS * IFACES), runs);
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

/// The kernel's side: mgm's table as the dump thread hands it over, sorted by (group, source).
fn dump(m: &Manager) -> Vec<KernelMfc> {
    let mut kernel: Vec<KernelMfc> = m
        .kernel_view()
        .into_iter()
        .filter_map(|a| match a {
            ForwarderAction::SetMfe {
                source,
                group,
                iif,
                oifs,
            } => Some(KernelMfc {
                source,
                group,
                iif,
                oifs,
            }),
            _ => None,
        })
        .collect();
    kernel.sort_unstable_by_key(|k| (k.group, k.source));
    kernel
}

/// A whole round of the comparison, `budget` entries a side per turn.
fn bench_round(label: &str, m: &Manager, kernel: &[KernelMfc], budget: usize) {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let mut round = Round::dumping();
        round.dumped(kernel.to_vec(), 0);
        let mut run = Run {
            whole: Duration::ZERO,
            longest: Duration::ZERO,
            turns: 0,
        };
        // The dump is mgm's own table: nothing to repair, the round ends with the comparison.
        while !round.is_done() && run.turns <= MFES as usize {
            let t = Instant::now();
            compare_turn(&mut round, m, budget);
            let took = t.elapsed();
            run.whole += took;
            run.longest = run.longest.max(took);
            run.turns += 1;
        }
        assert!(round.is_done(), "{label}: no repair found");
        runs.push(run);
    }
    report(label, &format!("{MFES} MFEs"), runs);
}

fn main() {
    if cfg!(debug_assertions) {
        eprintln!("note: debug build; figures are meaningful only from `cargo bench` (release)");
    }
    println!(
        "get_memberships chunks: {MEMBERSHIP_CHUNK} records listed, {CHUNK_VISITS} visited at most"
    );
    bench_answer(
        "get_memberships, every record",
        &MembershipFilter::default(),
        true,
    );
    let nothing = MembershipFilter {
        interface: Some("nosuch0".into()),
        ..MembershipFilter::default()
    };
    bench_answer("get_memberships, no match", &nothing, false);
    let m = mfe_table();
    let kernel = dump(&m);
    assert_eq!(kernel.len(), MFES as usize, "every MFE made");
    bench_round("reconcile, turns of 4 096", &m, &kernel, COMPARES_PER_TURN);
    bench_round("reconcile, one whole turn", &m, &kernel, MFES as usize);
}
