//! Building the eBPF object and the daemon; running tests and benchmarks.
use crate::setup::{self, Needs};
use crate::util::{is_root, run, workspace_root};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::Command;

/// Where the eBPF object lands (its own target dir: nightly + build-std must not disturb the host
/// build's fingerprints).
pub(crate) fn ebpf_object() -> PathBuf {
    workspace_root().join("target/ebpf/bpfel-unknown-none/release/igmp-ebpf")
}

/// Builds the classifier object with BTF (`--btf`), so bpftool shows named fields.
pub(crate) fn build_ebpf() -> Result<PathBuf> {
    setup::ensure(Needs::BUILD)?;
    run(ebpf_cargo()
        .args(["build", "-p", "igmp-ebpf", "--release"])
        .args(["--target", "bpfel-unknown-none", "-Z", "build-std=core"])
        .args(["--target-dir", "target/ebpf"]))?;
    let obj = ebpf_object();
    if !obj.is_file() {
        bail!("the eBPF build succeeded but {} is missing", obj.display());
    }
    Ok(obj)
}

/// A `cargo` command for the host crates with the eBPF object's path set.
pub(crate) fn cargo_host(obj: &std::path::Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace_root())
        .env("MGM_EBPF_OBJECT", obj);
    cmd
}

/// Builds the eBPF object and the `mgm` binary; returns the binary's path.
pub(crate) fn build_all(release: bool) -> Result<PathBuf> {
    let obj = build_ebpf()?;
    let mut cmd = cargo_host(&obj);
    cmd.args(["build", "-p", "mgm-user", "--bin", "mgm"]);
    if release {
        cmd.arg("--release");
    }
    run(&mut cmd)?;
    let bin = workspace_root()
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join("mgm");
    eprintln!("built {}", bin.display());
    if release {
        crate::code_layout::report(&bin);
    }
    Ok(bin)
}

/// Every test: host unit tests, program tests (BPF_PROG_TEST_RUN), namespace tests.
pub(crate) fn test(extra: &[String]) -> Result<()> {
    if !is_root() {
        bail!(
            "cargo xtask test needs root: the program tests load eBPF (CAP_BPF) and the namespace \
             tests create network namespaces and multicast routes (CAP_NET_ADMIN, CAP_SYS_ADMIN); \
             run it as root"
        );
    }
    setup::ensure(Needs::ALL)?;
    let obj = build_ebpf()?;
    // With a filter the developer is iterating; the whole suite (and CI) checks the lints too.
    if extra.is_empty() {
        lint(&obj)?;
    }
    run(cargo_host(&obj)
        .args(["test", "--workspace", "--exclude", "igmp-ebpf"])
        .args(extra))
}

/// Formatting, then clippy with warnings as errors: the host crates (every target), then the
/// classifier with the nightly toolchain and target it is built with.
pub(crate) fn lint(obj: &std::path::Path) -> Result<()> {
    setup::ensure(Needs::LINT)?;
    eprintln!("lint: cargo fmt --check");
    run(Command::new("cargo")
        .current_dir(workspace_root())
        .args(["fmt", "--all", "--check"]))?;
    eprintln!("lint: cargo clippy (host crates)");
    run(cargo_host(obj).args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    eprintln!("lint: cargo clippy (igmp-ebpf, bpfel-unknown-none)");
    run(ebpf_cargo()
        .args(["clippy", "-p", "igmp-ebpf", "--release"])
        .args(["--target", "bpfel-unknown-none", "-Z", "build-std=core"])
        .args(["--target-dir", "target/ebpf", "--", "-D", "warnings"]))
}

/// `cargo +nightly` in the workspace with the eBPF target's flags and none of the host's.
fn ebpf_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace_root())
        .arg("+nightly")
        .env(
            "CARGO_TARGET_BPFEL_UNKNOWN_NONE_RUSTFLAGS",
            "-C debuginfo=2 -C link-arg=--btf",
        )
        // Do not let the host's flags leak into the BPF build.
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO");
    cmd
}
