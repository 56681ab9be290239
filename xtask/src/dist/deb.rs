//! The Debian package of mgm, made with dpkg-deb from a staged tree (no cargo-deb, no
//! debhelper: what dpkg and dpkg-dev, on every Debian build machine, provide).
//!
//! Self-contained (std and anyhow only): `cargo xtask dist` stages the release binary, and
//! `mgm-user/tests/dist.rs` includes this file to package the test build and install it.
//!
//! The tree:
//!
//! | path | from |
//! |---|---|
//! | `/usr/bin/mgm` | the binary, stripped (the eBPF object is embedded in it) |
//! | `/lib/systemd/system/mgm.service` | `dist/mgm.service` |
//! | `/etc/default/mgm` | `dist/mgm.default`, a conffile |
//! | `/etc/mgm/mgm.toml` | `dist/mgm.toml`, a conffile (the example: no interface yet) |
//! | `/usr/share/man/man8/mgm*.8.gz`, `/usr/share/man/man5/mgm.toml.5.gz` | `mgm generate-man` |
//! | `/usr/share/bash-completion/completions/mgm`, `/usr/share/zsh/vendor-completions/_mgm`, `/usr/share/fish/vendor_completions.d/mgm.fish` | `mgm generate-completions` |
//! | `/usr/share/doc/mgm/` | README.md, copyright (and the LICENSE files the tree has) |
//!
//! [`verify_unit`] checks the unit with systemd-analyze as installed from the tree.
//!
//! Depends comes from dpkg-shlibdeps on the binary (libc6's version is the newest glibc symbol
//! the build uses). The maintainer scripts only reload systemd and restart a running daemon on
//! upgrade; they never enable or start mgm, which needs its interfaces in /etc/mgm/mgm.toml (or
//! /etc/default/mgm) first.
use anyhow::{bail, Context, Result};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to package.
#[derive(Debug)]
pub(crate) struct Package<'a> {
    /// The `mgm` binary to ship.
    pub(crate) binary: &'a Path,
    /// The workspace root (dist/, README.md, LICENSE files).
    pub(crate) workspace: &'a Path,
    /// The package version (mgm-user's).
    pub(crate) version: &'a str,
    /// Where the staging tree and the .deb go.
    pub(crate) out_dir: &'a Path,
    /// dpkg-deb's compressor: `xz` for a release, `none` where speed matters (tests).
    pub(crate) compression: &'a str,
}

/// The maintainer field unless `MGM_DEB_MAINTAINER` says otherwise.
const DEFAULT_MAINTAINER: &str = "mgm maintainers <root@localhost>";

/// Stages the tree and builds the package; returns the .deb's path.
pub(crate) fn build(p: &Package) -> Result<PathBuf> {
    let arch = capture(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_string();
    let name = format!("mgm_{}_{arch}", p.version);
    let stage = p.out_dir.join(&name);
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("removing {}", stage.display()))?;
    }
    let dist = p.workspace.join("dist");

    // The binary, stripped of its symbols (Debian ships them in -dbgsym packages).
    let bin = stage.join("usr/bin/mgm");
    copy(p.binary, &bin, 0o755)?;
    run(Command::new("strip")
        .args(["--strip-unneeded", "--remove-section=.comment"])
        .arg(&bin))?;

    copy(
        &dist.join("mgm.service"),
        &stage.join("lib/systemd/system/mgm.service"),
        0o644,
    )?;
    copy(
        &dist.join("mgm.default"),
        &stage.join("etc/default/mgm"),
        0o644,
    )?;
    copy(
        &dist.join("mgm.toml"),
        &stage.join("etc/mgm/mgm.toml"),
        0o644,
    )?;

    man_pages_and_completions(&bin, &stage)?;
    docs(p.workspace, &stage)?;
    // Last: the installed size counts the whole staged tree.
    control_area(p, &arch, &bin, &stage)?;

    let deb = p.out_dir.join(format!("{name}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(format!("-Z{}", p.compression))
        .arg(&stage)
        .arg(&deb))?;
    Ok(deb)
}

/// The manual pages (section 8, and mgm.toml(5) in section 5) and the shell completions, made
/// by the binary being shipped.
fn man_pages_and_completions(bin: &Path, stage: &Path) -> Result<()> {
    let man8 = stage.join("usr/share/man/man8");
    run(Command::new(bin).arg("generate-man").arg(&man8))?;
    // mgm.toml(5) goes to section 5.
    let man5 = stage.join("usr/share/man/man5");
    fs::create_dir_all(&man5)?;
    fs::rename(man8.join("mgm.toml.5"), man5.join("mgm.toml.5"))?;
    let pages = fs::read_dir(&man8)?.chain(fs::read_dir(&man5)?);
    for page in pages {
        let page = page?.path();
        fs::set_permissions(&page, fs::Permissions::from_mode(0o644))?;
        run(Command::new("gzip").arg("-9n").arg(&page))?;
    }

    for (shell, path) in [
        ("bash", "usr/share/bash-completion/completions/mgm"),
        ("zsh", "usr/share/zsh/vendor-completions/_mgm"),
        ("fish", "usr/share/fish/vendor_completions.d/mgm.fish"),
    ] {
        let script = capture(Command::new(bin).args(["generate-completions", shell]))?;
        write(&stage.join(path), &script, 0o644)?;
    }
    Ok(())
}

/// README, the licenses and the copyright file under usr/share/doc/mgm.
fn docs(workspace: &Path, stage: &Path) -> Result<()> {
    let doc = stage.join("usr/share/doc/mgm");
    copy(&workspace.join("README.md"), &doc.join("README.md"), 0o644)?;
    run(Command::new("gzip").arg("-9n").arg(doc.join("README.md")))?;
    let mut licenses = Vec::new();
    for entry in fs::read_dir(workspace)? {
        let path = entry?.path();
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file.starts_with("LICENSE") && path.is_file() {
            copy(&path, &doc.join(&file), 0o644)?;
            licenses.push(file);
        }
    }
    licenses.sort();
    write(&doc.join("copyright"), &copyright(&licenses), 0o644)?;
    Ok(())
}

/// DEBIAN/: control (with the shared-library dependencies and installed size), conffiles and
/// the maintainer scripts; then the staged tree's directory modes.
fn control_area(p: &Package, arch: &str, bin: &Path, stage: &Path) -> Result<()> {
    let debian = stage.join("DEBIAN");
    let depends = shlib_depends(bin, p.out_dir)?;
    let installed_kib = tree_size(stage)?.div_ceil(1024);
    let maintainer =
        std::env::var("MGM_DEB_MAINTAINER").unwrap_or_else(|_| DEFAULT_MAINTAINER.to_string());
    write(
        &debian.join("control"),
        &control(p.version, arch, &depends, installed_kib, &maintainer),
        0o644,
    )?;
    write(
        &debian.join("conffiles"),
        "/etc/default/mgm\n/etc/mgm/mgm.toml\n",
        0o644,
    )?;
    write(&debian.join("postinst"), POSTINST, 0o755)?;
    write(&debian.join("prerm"), PRERM, 0o755)?;
    write(&debian.join("postrm"), POSTRM, 0o755)?;
    set_dir_modes(stage)?;
    Ok(())
}

/// Checks the unit with `systemd-analyze verify` as installed from `tree` (a staged or an
/// installed root). systemd-analyze resolves what the unit names inside the root it is given:
/// ExecStart's binary, ExecReload's kill, the units it depends on (sysinit.target, …); so the
/// check runs in a scratch root holding the unit and the binary from `tree` beside the host's
/// own units and kill, with `man` pointed at `tree`'s pages (Documentation=). Any complaint
/// about mgm.service fails, warnings (an unknown key) included.
pub(crate) fn verify_unit(tree: &Path, scratch: &Path) -> Result<()> {
    let root = scratch.join("verify-root");
    if root.exists() {
        fs::remove_dir_all(&root)?;
    }
    let units = root.join("lib/systemd/system");
    fs::create_dir_all(&units)?;
    run(Command::new("cp")
        .args(["-a", "/lib/systemd/system/."])
        .arg(&units))?;
    copy(
        &tree.join("lib/systemd/system/mgm.service"),
        &units.join("mgm.service"),
        0o644,
    )?;
    let bin = root.join("usr/bin/mgm");
    fs::create_dir_all(root.join("usr/bin"))?;
    if fs::hard_link(tree.join("usr/bin/mgm"), &bin).is_err() {
        copy(&tree.join("usr/bin/mgm"), &bin, 0o755)?;
    }
    copy(Path::new("/bin/kill"), &root.join("bin/kill"), 0o755)?;
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg(units.join("mgm.service"))
        .env("MANPATH", tree.join("usr/share/man"))
        .output()
        .context("cannot run systemd-analyze (package systemd)")?;
    let _ = fs::remove_dir_all(&root);
    let said = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || said.contains("mgm.service") {
        bail!(
            "systemd-analyze verify mgm.service ({}):\n{said}",
            out.status
        );
    }
    Ok(())
}

fn control(version: &str, arch: &str, depends: &str, installed_kib: u64, maint: &str) -> String {
    format!(
        "Package: mgm
Version: {version}
Architecture: {arch}
Maintainer: {maint}
Installed-Size: {installed_kib}
Depends: {depends}
Suggests: bpftool
Section: net
Priority: optional
Description: multicast group manager for Linux routers (IGMP router in eBPF)
 mgm learns from IGMP which groups have receivers on which interfaces, tells
 the multicast routing protocol that owns each interface through callbacks,
 and keeps the kernel's multicast forwarding cache in step. An eBPF TC
 classifier captures IGMP and absorbs refresh reports in the kernel; the
 daemon runs the IGMPv1/v2/v3 router side (RFC 2236, RFC 3376): querier
 election, source filtering, limits and filters per interface.
 .
 Without other software, mgm routes multicast between the interfaces it
 manages. Routing protocols in other processes attach over its control
 socket. Needs Linux 6.6 or newer (TCX links).
 .
 The interfaces go in /etc/mgm/mgm.toml (or in MGM_ARGS in /etc/default/mgm);
 then: systemctl enable --now mgm. systemctl reload mgm applies a changed file.
"
    )
}

/// The Depends of the binary's shared libraries, from dpkg-shlibdeps (which needs a
/// debian/control to run in: a minimal one in a scratch directory).
fn shlib_depends(bin: &Path, scratch: &Path) -> Result<String> {
    let dir = scratch.join("shlibdeps");
    write(
        &dir.join("debian/control"),
        "Source: mgm\n\nPackage: mgm\nArchitecture: any\n",
        0o644,
    )?;
    let out = capture(
        Command::new("dpkg-shlibdeps")
            .arg("-O")
            .arg(bin)
            .current_dir(&dir),
    )?;
    let _ = fs::remove_dir_all(&dir);
    let depends = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .with_context(|| format!("dpkg-shlibdeps printed no Depends: {out}"))?;
    if !depends.contains("libc6") {
        bail!("dpkg-shlibdeps found no libc6 dependency: {depends}");
    }
    Ok(depends.to_string())
}

fn copyright(licenses: &[String]) -> String {
    let files = if licenses.is_empty() {
        "\nThe source tree has no LICENSE file yet, so no license text is shipped here.\n"
            .to_string()
    } else {
        format!(
            "\nThe license texts: {}, in this directory.\n",
            licenses.join(", ")
        )
    };
    format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: mgm

Files: *
Copyright: the mgm authors
License: MIT or Apache-2.0
 mgm is dual-licensed under the MIT license and the Apache License 2.0,
 at your option (the workspace's Cargo.toml). On Debian systems the
 Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
{files}"
    )
}

/// Reload systemd after the unit changed; on an upgrade, restart a running daemon so it runs
/// the new binary (it re-adopts the pinned maps: memberships survive). Nothing when dpkg runs
/// the script for another root (`--root` with `--force-script-chrootless`: DPKG_ROOT).
const POSTINST: &str = r#"#!/bin/sh
set -e
if [ "$1" = configure ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ -n "$2" ]; then
        systemctl try-restart mgm.service >/dev/null 2>&1 || true
    fi
fi
# mgm is not enabled or started here: /etc/mgm/mgm.toml (or /etc/default/mgm) must name its
# interfaces first,
# then `systemctl enable --now mgm`.
exit 0
"#;

/// Stop the daemon before its binary goes (it detaches and removes its routes).
const PRERM: &str = r#"#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    systemctl stop mgm.service >/dev/null 2>&1 || true
fi
exit 0
"#;

/// After removal, forget the unit; on purge also its enablement and the pinned maps (the
/// memberships an earlier run left, which a new install would otherwise adopt).
const POSTRM: &str = r#"#!/bin/sh
set -e
root="${DPKG_ROOT:-}"
if [ "$1" = purge ]; then
    rm -f "$root/etc/systemd/system/multi-user.target.wants/mgm.service"
    if [ -z "$root" ] && [ -d /sys/fs/bpf/mgm ]; then
        rm -rf /sys/fs/bpf/mgm
    fi
fi
if { [ "$1" = remove ] || [ "$1" = purge ]; } && [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
"#;

/// Bytes of the files under `dir`, the control area left out.
fn tree_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == "DEBIAN" {
            continue;
        }
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            tree_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Directories 0755 whatever the umask.
fn set_dir_modes(dir: &Path) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            set_dir_modes(&entry.path())?;
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn write(to: &Path, text: &str, mode: u32) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(to, text).with_context(|| format!("writing {}", to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn run(cmd: &mut Command) -> Result<()> {
    capture(cmd).map(|_| ())
}

/// Runs a command that must succeed; its stdout.
fn capture(cmd: &mut Command) -> Result<String> {
    let line = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {line}"))?;
    if !out.status.success() {
        bail!(
            "command failed ({}): {line}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
