//! Developer tasks for mgm: `cargo xtask <setup|build|test|lint|run|demo|bench|dist>`.
//!
//! Every task that needs the eBPF toolchain runs the idempotent set-up first, so the two README
//! commands work on a fresh machine.
mod bench;
mod build;
mod code_layout;
mod demo;
mod dist;
mod setup;
mod util;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "mgm developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what a fresh machine lacks (LLVM 22 dev files, bpf-linker, rust-src, bpftool, bpffs,
    /// the packaging tools).
    Setup,
    /// Build the eBPF object and the release `mgm` binary (target/release/mgm).
    Build {
        /// Build the debug binary instead of release.
        #[arg(long)]
        debug: bool,
    },
    /// Run every test, including those that need root and network namespaces.
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check formatting and run clippy (warnings are errors) on the host crates and the
    /// classifier; `cargo xtask test` does this first.
    Lint,
    /// Run mgm: `cargo xtask run` plays the demo (as `cargo xtask demo`);
    /// `cargo xtask run -- run -i eth1 -i eth2` passes the arguments to the mgm binary.
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The demo: a lab of network namespaces where hosts join and leave a stream one at a time,
    /// each step shown with mgm's callbacks, the forwarding entry and the packets on each link.
    Demo {
        /// Keep the lab running at the end, to try `mgm show` and `mgm events` on it, until
        /// Ctrl-C.
        #[arg(long)]
        keep: bool,
    },
    /// Run the benchmark harness (mgm and its peers side by side in a namespace lab) and write
    /// BENCHMARKS.md and the plots in docs/bench/.
    Bench {
        /// A smoke run: few trials, small counts; writes target/bench/BENCHMARKS.md instead.
        #[arg(long)]
        quick: bool,
    },
    /// Build the Debian package of the release build (target/dist/mgm_VERSION_ARCH.deb): the
    /// binary, the systemd unit, /etc/default/mgm, man pages, shell completions.
    Dist {
        /// Directory for the package and its staging tree (default: target/dist).
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Setup => setup::ensure(setup::Needs::ALL),
        Task::Build { debug } => build::build_all(!debug).map(|_| ()),
        Task::Test { args } => build::test(&args),
        Task::Lint => build::build_ebpf().and_then(|obj| build::lint(&obj)),
        Task::Run { args } if args.is_empty() => demo::run(false),
        Task::Run { args } => run_mgm(&args),
        Task::Demo { keep } => demo::run(keep),
        Task::Bench { quick } => bench::bench(quick),
        Task::Dist { out } => dist::dist(out).map(|_| ()),
    }
}

/// `cargo xtask run -- ARGS`: the release `mgm` binary with `ARGS`.
fn run_mgm(args: &[String]) -> Result<()> {
    setup::ensure(setup::Needs::ALL)?;
    let bin = build::build_all(true)?;
    util::run(std::process::Command::new(&bin).args(args))
}
