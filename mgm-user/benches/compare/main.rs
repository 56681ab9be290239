//! The benchmark harness's namespace lab: mgm and its peers on the same work, one daemon at a
//! time, interleaved trial by trial (mgm, peer, mgm, peer …). Peers: igmpproxy 0.3, smcroute
//! 2.5 (static routes: only where no IGMP is needed) and FRR 8.4's pimd as an IGMP router, each
//! installed by `cargo xtask setup`. Each scenario is a module of `scenarios/`; the daemons are
//! in `peers/`, the lab in `lab.rs`. Results go out as JSON lines (`report.rs`) that `cargo xtask
//! bench` turns into BENCHMARKS.md and the plots in docs/bench/; `MGM_BENCH_QUICK=1` is the smoke
//! run (`cargo xtask bench --quick`). Needs root; run alone by `cargo bench -p mgm-user --bench
//! compare` (the JSON lines on stdout). `MGM_BENCH_ONLY=reaction,leave` runs only those scenarios.
//! One lab serves every scenario; each daemon run is fresh.
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/wire.rs"]
mod wire;

mod classifier_time;
mod lab;
mod mroute_watch;
mod peers;
mod procs;
mod report;
mod scenarios;
mod traffic;

use report::Report;

/// A scenario's entry point.
type Scenario = fn(&Report, &mut lab::RouterLab);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(peers::floor::ARG) {
        peers::floor::run(&args[1..]);
    }
    common::require_root();
    let report = Report::from_env();
    let only = std::env::var("MGM_BENCH_ONLY").unwrap_or_default();
    let wanted = |id: &str| only.is_empty() || only.split(',').any(|o| o == id);
    eprintln!(
        "compare: mgm against {}, smcroute and FRR pimd, one daemon at a time{}",
        peers::igmpproxy::version(),
        if report.quick { " (quick)" } else { "" }
    );
    let mut lab = lab::RouterLab::new();
    let all: [(&str, Scenario); 8] = [
        ("idle", scenarios::idle::run),
        ("refresh", scenarios::refresh::run),
        ("slow_path", scenarios::slow_path::run),
        ("reaction", scenarios::reaction::run),
        ("leave", scenarios::leave::run),
        ("scale", scenarios::scale::run),
        ("quick_leave", scenarios::quick_leave::run),
        ("flood", scenarios::flood::run),
    ];
    for (id, run) in all {
        if wanted(id) {
            eprintln!("compare: {id}");
            run(&report, &mut lab);
        }
    }
}
