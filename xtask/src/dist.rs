//! `cargo xtask dist`: the Debian package of the release build, in target/dist/.
//!
//! The packaging itself is in `dist/deb.rs` (std and anyhow only), which the package test
//! (`mgm-user/tests/dist.rs`) includes to package and install the test build: the suite checks
//! the package without a second, release, build of the daemon.
pub(crate) mod deb;

use crate::build;
use crate::setup::{self, Needs};
use crate::util::workspace_root;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Builds the eBPF object and the release binary, then the package; returns the .deb's path.
pub(crate) fn dist(out: Option<PathBuf>) -> Result<PathBuf> {
    setup::ensure(Needs::DIST)?;
    let bin = build::build_all(true)?;
    let root = workspace_root();
    let out_dir = out.unwrap_or_else(|| root.join("target/dist"));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let version = package_version(&root)?;
    let deb = deb::build(&deb::Package {
        binary: &bin,
        workspace: &root,
        version: &version,
        out_dir: &out_dir,
        compression: "xz",
    })?;
    let stage = deb.with_extension("");
    deb::verify_unit(&stage, &out_dir)?;
    eprintln!(
        "built {} (systemd-analyze verify: mgm.service ok)",
        deb.display()
    );
    Ok(deb)
}

/// mgm-user's version, from its Cargo.toml.
fn package_version(root: &std::path::Path) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("mgm-user/Cargo.toml"))
        .context("reading mgm-user/Cargo.toml")?;
    manifest
        .lines()
        .find_map(|l| {
            let v = l.strip_prefix("version")?.trim_start().strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_string())
        })
        .context("no version in mgm-user/Cargo.toml")
}
