//! Idempotent set-up of what building and running mgm needs. Each step checks first, says what it
//! installs, and does nothing when the piece is there.
use crate::util::{is_root, output, run, succeeds};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";

/// What a task needs.
#[derive(Clone, Copy)]
pub(crate) struct Needs {
    /// nightly + rust-src + bpf-linker, to build the eBPF object.
    pub ebpf_build: bool,
    /// bpftool and a bpffs mount, to run the daemon and its tests.
    pub runtime: bool,
    /// rustfmt and clippy for the stable and nightly toolchains.
    pub lint: bool,
    /// dpkg-deb, dpkg-shlibdeps, strip, man and systemd-analyze, to build the Debian package
    /// and check it (`cargo xtask dist` and its test).
    pub dist: bool,
}

impl Needs {
    pub(crate) const ALL: Needs = Needs {
        ebpf_build: true,
        runtime: true,
        lint: true,
        dist: true,
    };
    pub(crate) const BUILD: Needs = Needs {
        ebpf_build: true,
        runtime: false,
        lint: false,
        dist: false,
    };
    pub(crate) const LINT: Needs = Needs {
        ebpf_build: false,
        runtime: false,
        lint: true,
        dist: false,
    };
    pub(crate) const DIST: Needs = Needs {
        ebpf_build: true,
        runtime: false,
        lint: false,
        dist: true,
    };
}

pub(crate) fn ensure(needs: Needs) -> Result<()> {
    let mut apt = Apt::default();
    if needs.ebpf_build {
        nightly_rust_src()?;
        bpf_linker(&mut apt)?;
    }
    if needs.runtime {
        if !succeeds(Command::new("bpftool").arg("version")) {
            apt.install("bpftool (to inspect the pinned maps)", &["bpftool"])?;
        }
        for (tool, pkg) in [
            ("ip", "iproute2"),
            ("python3", "python3"),
            ("nsenter", "util-linux"),
        ] {
            if !succeeds(Command::new("sh").args(["-c", &format!("command -v {tool}")])) {
                apt.install(&format!("{pkg} (for {tool})"), &[pkg])?;
            }
        }
        if !Path::new("/usr/lib/frr/pimd").exists() {
            apt.install(
                "FRR (zebra, pimd, vtysh: the foreign router of the interop tests)",
                &["frr"],
            )?;
        }
        if !Path::new("/usr/sbin/igmpproxy").exists() {
            apt.install(
                "igmpproxy (a peer of the benchmark harness and benches/proxy_lab)",
                &["igmpproxy"],
            )?;
        }
        if !Path::new("/usr/sbin/smcrouted").exists() {
            apt.install(
                "smcroute (static multicast routes: a peer of the benchmark harness)",
                &["smcroute"],
            )?;
        }
        bpffs()?;
    }
    if needs.dist {
        for (tool, pkg, why) in [
            ("dpkg-deb", "dpkg", "builds the package"),
            ("dpkg-shlibdeps", "dpkg-dev", "finds the package's Depends"),
            ("strip", "binutils", "strips the packaged binary"),
            ("man", "man-db", "the package test renders the manual pages"),
            ("systemd-analyze", "systemd", "checks dist/mgm.service"),
        ] {
            if !succeeds(Command::new("sh").args(["-c", &format!("command -v {tool}")])) {
                apt.install(&format!("{pkg} ({tool}: {why})"), &[pkg])?;
            }
        }
    }
    if needs.lint {
        for toolchain in ["stable", "nightly"] {
            lint_components(toolchain)?;
        }
    }
    Ok(())
}

/// clippy and rustfmt for `toolchain` (a minimal profile has neither).
fn lint_components(toolchain: &str) -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        toolchain,
    ]))?;
    for component in ["clippy", "rustfmt"] {
        if !installed.lines().any(|l| l.starts_with(component)) {
            eprintln!(
                "setup: adding {component} to the {toolchain} toolchain (cargo xtask test lints)"
            );
            run(Command::new("rustup").args([
                "component",
                "add",
                component,
                "--toolchain",
                toolchain,
            ]))?;
        }
    }
    Ok(())
}

fn nightly_rust_src() -> Result<()> {
    if !succeeds(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])) {
        eprintln!("setup: installing the nightly Rust toolchain (the eBPF target needs build-std)");
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        "nightly",
    ]))?;
    if !installed.lines().any(|l| l.starts_with("rust-src")) {
        eprintln!("setup: adding rust-src to the nightly toolchain (build-std=core for bpfel-unknown-none)");
        run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
    }
    Ok(())
}

fn bpf_linker(apt: &mut Apt) -> Result<()> {
    let have = output(Command::new("bpf-linker").arg("--version")).unwrap_or_default();
    if have.contains(BPF_LINKER_VERSION) {
        return Ok(());
    }
    if !Path::new(LLVM_PREFIX).join("lib/libLLVM.so").exists()
        && !Path::new(LLVM_PREFIX).join("bin/llvm-config").exists()
    {
        apt.install(
            "LLVM 22 development files (bpf-linker links against the LLVM that rustc uses)",
            &["llvm-22-dev", "libpolly-22-dev"],
        )?;
    }
    eprintln!("setup: building bpf-linker {BPF_LINKER_VERSION} against LLVM 22 (about a minute)");
    run(Command::new("cargo")
        .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
        .args(["--no-default-features", "--features", "llvm-22"])
        .env("LLVM_PREFIX", LLVM_PREFIX))
    .context("building bpf-linker")
}

fn bpffs() -> Result<()> {
    if succeeds(Command::new("mountpoint").args(["-q", "/sys/fs/bpf"])) {
        return Ok(());
    }
    if !is_root() {
        bail!("/sys/fs/bpf is not mounted and mounting it needs root");
    }
    eprintln!("setup: mounting bpffs at /sys/fs/bpf (maps are pinned there)");
    run(Command::new("mount").args(["-t", "bpf", "bpf", "/sys/fs/bpf"]))
}

#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn install(&mut self, why: &str, packages: &[&str]) -> Result<()> {
        if !is_root() {
            bail!(
                "{why} is missing and installing it ({}) needs root",
                packages.join(" ")
            );
        }
        eprintln!(
            "setup: installing {why}: apt-get install {}",
            packages.join(" ")
        );
        if !self.updated {
            run(Command::new("apt-get").args(["update", "-q"]))?;
            self.updated = true;
        }
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    }
}
