//! Developer tasks for mgm: `cargo xtask <setup|build|test|lint|run|bench|dist>`.
//!
//! Every task that needs the eBPF toolchain runs the idempotent set-up first, so the two README
//! commands work on a fresh machine.
mod bench;
mod build;
mod dist;
mod lab;
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
    /// Run mgm: `cargo xtask run` starts the demo lab; `cargo xtask run -- run -i eth1 -i eth2`
    /// passes the arguments to the mgm binary.
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
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
        Task::Run { args } => lab::run(&args),
        Task::Bench { quick } => bench::bench(quick),
        Task::Dist { out } => dist::dist(out).map(|_| ()),
    }
}
