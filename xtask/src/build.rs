//! Building the eBPF object and the daemon; running tests and benchmarks.
use crate::setup::{self, Needs};
use crate::util::{is_root, run, workspace_root};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::Command;

/// Where the eBPF object lands (its own target dir: nightly + build-std must not disturb the host
/// build's fingerprints).
pub fn ebpf_object() -> PathBuf {
    workspace_root().join("target/ebpf/bpfel-unknown-none/release/igmp-ebpf")
}

/// Builds the classifier object with BTF (`--btf`), so bpftool shows named fields.
pub fn build_ebpf() -> Result<PathBuf> {
    setup::ensure(Needs::BUILD)?;
    let root = workspace_root();
    run(Command::new("cargo")
        .current_dir(&root)
        .args(["+nightly", "build", "-p", "igmp-ebpf", "--release"])
        .args(["--target", "bpfel-unknown-none", "-Z", "build-std=core"])
        .args(["--target-dir", "target/ebpf"])
        .env(
            "CARGO_TARGET_BPFEL_UNKNOWN_NONE_RUSTFLAGS",
            "-C debuginfo=2 -C link-arg=--btf",
        )
        // Do not let the host's flags leak into the BPF build.
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO"))?;
    let obj = ebpf_object();
    if !obj.is_file() {
        bail!("the eBPF build succeeded but {} is missing", obj.display());
    }
    Ok(obj)
}

/// A `cargo` command for the host crates with the eBPF object's path set.
pub fn cargo_host(obj: &std::path::Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace_root())
        .env("MGM_EBPF_OBJECT", obj);
    cmd
}

/// Builds the eBPF object and the `mgm` binary; returns the binary's path.
pub fn build_all(release: bool) -> Result<PathBuf> {
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
    Ok(bin)
}

/// Every test: host unit tests, program tests (BPF_PROG_TEST_RUN), namespace tests.
pub fn test(extra: &[String]) -> Result<()> {
    if !is_root() {
        bail!(
            "cargo xtask test needs root: the program tests load eBPF (CAP_BPF) and the namespace \
             tests create network namespaces and multicast routes (CAP_NET_ADMIN, CAP_SYS_ADMIN); \
             run it as root"
        );
    }
    setup::ensure(Needs::ALL)?;
    let obj = build_ebpf()?;
    run(cargo_host(&obj)
        .args(["test", "--workspace", "--exclude", "igmp-ebpf"])
        .args(extra))
}

/// Benchmarks: classifier per-packet cost, then the daemon-level figures.
pub fn bench() -> Result<()> {
    if !is_root() {
        bail!("cargo xtask bench needs root: it loads eBPF programs and builds a namespace lab");
    }
    setup::ensure(Needs::ALL)?;
    let obj = build_ebpf()?;
    run(cargo_host(&obj).args(["bench", "-p", "mgm-user"]))
}
