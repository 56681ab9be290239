//! `cargo xtask bench [--quick]`: the benchmark harness. Runs the bench binaries that report
//! results (each runs mgm and its peers on the same work in a namespace lab, interleaved), collects
//! their JSON lines, and writes BENCHMARKS.md and a plot per scenario in `docs/bench/` (full), or
//! the same under `target/bench/` after checking every scenario reported (quick: a smoke run).
mod machine;
mod markdown;
mod results;
mod stats;
mod svg;

use crate::build::{build_ebpf, cargo_host};
use crate::setup::{self, Needs};
use crate::util::{is_root, run, workspace_root};
use anyhow::{bail, Context, Result};
use results::Results;

/// The bench binaries of the harness (`mgm-user/benches/`), in the order they run.
const HARNESS: [&str; 3] = ["compare", "classifier", "control_flood"];

pub(crate) fn bench(quick: bool) -> Result<()> {
    if !is_root() {
        bail!("cargo xtask bench needs root: it loads eBPF programs and builds a namespace lab");
    }
    setup::ensure(Needs::ALL)?;
    let obj = build_ebpf()?;
    let out = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    // Built first, so that compiling does not load the machine while a bench measures.
    let mut build = cargo_host(&obj);
    build.args(["bench", "-p", "mgm-user", "--no-run"]);
    for name in HARNESS {
        build.args(["--bench", name]);
    }
    run(&mut build)?;
    // The daemon measured is the release build users get (`cargo xtask build`, the .deb), kept
    // apart: `cargo bench` builds the binary again under its own profile, whose symbol names
    // differ, so the release binary's idle code layout would not apply to it.
    let daemon = out.join("mgm");
    let release = crate::build::build_all(true)?;
    std::fs::copy(&release, &daemon)
        .with_context(|| format!("copy {} to {}", release.display(), daemon.display()))?;
    let mut all = Results::default();
    let mut load = Vec::new();
    for name in HARNESS {
        let file = out.join(format!("{name}.jsonl"));
        let _ = std::fs::remove_file(&file);
        let before = machine::loadavg();
        eprintln!("bench: {name} (load {before})");
        run(cargo_host(&obj)
            .args(["bench", "-p", "mgm-user", "--bench", name])
            .env("MGM_BENCH_RESULTS", &file)
            .env("MGM_BENCH_DAEMON", &daemon)
            .env("MGM_BENCH_QUICK", if quick { "1" } else { "0" }))?;
        let after = machine::loadavg();
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("bench {name} wrote no results ({})", file.display()))?;
        all.parse(&text, name)?;
        load.push((name.to_string(), before, after));
    }
    all.check()?;
    write(&all, quick, load)
}

/// The document and its plots: at the top of the repository (full), under target/bench (quick).
fn write(all: &Results, quick: bool, load: Vec<(String, String, String)>) -> Result<()> {
    let root = workspace_root();
    let (doc, plots, rel) = if quick {
        let out = root.join("target/bench");
        (out.join("BENCHMARKS.md"), out.join("plots"), "plots")
    } else {
        (
            root.join("BENCHMARKS.md"),
            root.join("docs/bench"),
            "docs/bench",
        )
    };
    std::fs::create_dir_all(&plots).with_context(|| format!("create {}", plots.display()))?;
    let mut info = markdown::RunInfo {
        command: if quick {
            "cargo xtask bench --quick"
        } else {
            "cargo xtask bench"
        }
        .into(),
        date: machine::now(),
        mode: if quick {
            "a quick (smoke: few trials, small counts; not figures to quote)"
        } else {
            "a full"
        }
        .into(),
        cpu: machine::cpu_model(),
        vcpus: machine::vcpus(),
        kernel: machine::kernel(),
        load,
        plots: Vec::new(),
    };
    for s in &all.scenarios {
        let (figs, _) = all.of(&s.id);
        let path = plots.join(format!("{}.svg", s.id));
        std::fs::write(&path, svg::plot(&s.title, &figs))
            .with_context(|| format!("write {}", path.display()))?;
        info.plots
            .push((s.id.clone(), format!("{rel}/{}.svg", s.id)));
    }
    std::fs::write(&doc, markdown::render(all, &info))
        .with_context(|| format!("write {}", doc.display()))?;
    eprintln!(
        "bench: {} scenarios, {} figures; wrote {} and {}",
        all.scenarios.len(),
        all.figures.len(),
        doc.display(),
        plots.display()
    );
    Ok(())
}
