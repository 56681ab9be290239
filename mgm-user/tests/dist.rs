//! The Debian package (`cargo xtask dist`), made from this test build with the same packaging
//! code (`xtask/src/dist/deb.rs`, included below), installed into a clean root and checked: the
//! files where Debian expects them, the conffile, Depends, the installed `mgm --version`, the
//! manual pages rendered by man, the completions loaded by bash, the unit verified by
//! systemd-analyze against the installed tree, and removal and purge.
//!
//! Packaging the debug build instead of building the release one keeps the cost to a few
//! seconds (strip, gzip, dpkg-deb without compression); `cargo xtask dist` runs the same code on
//! the release binary.
//!
//! The clean root is made for `dpkg --root`: an empty admin directory (`var/lib/dpkg` with an
//! empty `status`) is all dpkg needs to unpack and configure. The maintainer scripts run without
//! chroot (`--force-script-chrootless`, DPKG_ROOT set), since the root has no shell to chroot
//! into; they do nothing with systemd then. Depends cannot be met in an empty root and is
//! forced; it is checked from the package's control file instead.
#[allow(dead_code)]
#[path = "../../xtask/src/dist/deb.rs"]
mod deb;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run(cmd).stdout).into_owned()
}

/// A scratch directory removed at the end, also when the test fails.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// dpkg on the clean root `root`.
fn dpkg(root: &Path) -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.arg(format!("--root={}", root.display()))
        .args([
            "--force-script-chrootless",
            "--force-not-root",
            "--log=/dev/null",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

/// The package of this test build, in `scratch`/out.
fn package(scratch: &Scratch) -> PathBuf {
    let out_dir = scratch.0.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    deb::build(&deb::Package {
        binary: Path::new(env!("CARGO_BIN_EXE_mgm")),
        workspace: &workspace(),
        version: env!("CARGO_PKG_VERSION"),
        out_dir: &out_dir,
        compression: "none",
    })
    .expect("build the package")
}

fn scratch(name: &str) -> Scratch {
    Scratch(std::env::temp_dir().join(format!("mgm-{name}-{}", std::process::id())))
}

#[test]
fn the_package_installs_into_a_clean_root_and_its_parts_work() {
    let scratch = scratch("dist");
    let deb = package(&scratch);

    // The control file.
    let info = stdout(Command::new("dpkg-deb").args(["--field"]).arg(&deb));
    assert!(info.contains("Package: mgm\n"), "{info}");
    assert!(
        info.contains(&format!("Version: {}\n", env!("CARGO_PKG_VERSION"))),
        "{info}"
    );
    let depends = info
        .lines()
        .find_map(|l| l.strip_prefix("Depends: "))
        .unwrap_or_else(|| panic!("no Depends: {info}"));
    assert!(depends.contains("libc6 (>= 2."), "{depends}");
    assert!(
        info.contains("Description: multicast group manager"),
        "{info}"
    );
    let contents = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb));
    for script in ["conffiles", "postinst", "prerm", "postrm"] {
        assert!(contents.contains(script), "{script}: {contents}");
    }

    // Install into a clean root.
    let root = scratch.0.join("root");
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    run(dpkg(&root).args(["--force-depends", "-i"]).arg(&deb));
    let status = stdout(dpkg(&root).args(["-s", "mgm"]));
    assert!(status.contains("Status: install ok installed"), "{status}");
    assert!(
        status.contains("Conffiles:\n /etc/default/mgm "),
        "{status}"
    );

    assert!(
        status.contains(" /etc/mgm/mgm.toml "),
        "the example configuration is a conffile: {status}"
    );
    for path in [
        "usr/bin/mgm",
        "lib/systemd/system/mgm.service",
        "etc/default/mgm",
        "etc/mgm/mgm.toml",
        "usr/share/man/man5/mgm.toml.5.gz",
        "usr/share/man/man8/mgm.8.gz",
        "usr/share/man/man8/mgm-run.8.gz",
        "usr/share/man/man8/mgm-show.8.gz",
        "usr/share/man/man8/mgm-route-add.8.gz",
        "usr/share/bash-completion/completions/mgm",
        "usr/share/zsh/vendor-completions/_mgm",
        "usr/share/fish/vendor_completions.d/mgm.fish",
        "usr/share/doc/mgm/README.md.gz",
        "usr/share/doc/mgm/copyright",
    ] {
        assert!(root.join(path).is_file(), "{path} not installed");
    }
    let listed = stdout(dpkg(&root).args(["-L", "mgm"]));
    assert!(!listed.contains("generate"), "{listed}");

    // The installed binary runs.
    let bin = root.join("usr/bin/mgm");
    let version = stdout(Command::new(&bin).arg("--version"));
    assert_eq!(version.trim(), format!("mgm {}", env!("CARGO_PKG_VERSION")));
    let help = stdout(Command::new(&bin).args(["run", "--help"]));
    assert!(help.contains("--interface"), "{help}");

    // man renders the pages.
    let man = |page: &str| {
        stdout(
            Command::new("man")
                .arg("-l")
                .arg(root.join("usr/share/man/man8").join(page))
                .env("MANWIDTH", "200")
                .env("MANPAGER", "cat")
                .env("PAGER", "cat"),
        )
    };
    let top = man("mgm.8.gz");
    for want in [
        "NAME",
        "SYNOPSIS",
        "mgm-run(8)",
        "/etc/default/mgm",
        "NOTIFY_SOCKET",
    ] {
        assert!(top.contains(want), "mgm(8) lacks {want}:\n{top}");
    }
    let run_page = man("mgm-run.8.gz");
    for want in [
        "mgm-run - Run the daemon",
        "--interface",
        "--query-interval",
        "MGM_LOG",
    ] {
        assert!(
            run_page.contains(want),
            "mgm-run(8) lacks {want}:\n{run_page}"
        );
    }

    let toml_page = stdout(
        Command::new("man")
            .arg("-l")
            .arg(root.join("usr/share/man/man5/mgm.toml.5.gz"))
            .env("MANWIDTH", "200")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat"),
    );
    for want in [
        "mgm.toml - configuration file",
        "GLOBAL KEYS",
        "query-interval",
        "[[interface]]",
    ] {
        assert!(
            toml_page.contains(want),
            "mgm.toml(5) lacks {want}:\n{toml_page}"
        );
    }
    // The installed example reads (and says it names no interface yet).
    let out = Command::new(&bin)
        .arg("check-config")
        .arg(root.join("etc/mgm/mgm.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no interface to manage"), "{err}");

    // bash loads the completion and it completes the subcommands.
    let words = stdout(Command::new("bash").arg("-c").arg(format!(
        "source {}; COMP_WORDS=(mgm sh); COMP_CWORD=1; _mgm mgm sh mgm; echo \"${{COMPREPLY[@]}}\"",
        root.join("usr/share/bash-completion/completions/mgm").display()
    )));
    assert_eq!(words.trim(), "show");

    // The unit, checked by systemd-analyze as installed (its binary and man pages there).
    deb::verify_unit(&root, &scratch.0).expect("systemd-analyze verify");

    // Remove keeps the conffile, purge takes it.
    run(dpkg(&root).args(["-r", "mgm"]));
    assert!(!bin.exists());
    assert!(root.join("etc/default/mgm").exists());
    run(dpkg(&root).args(["-P", "mgm"]));
    assert!(!root.join("etc/default/mgm").exists());
}

/// The packaged unit under a real systemd (`dist/check-under-systemd.sh`: a systemd user manager
/// running as root in a mount namespace of its own, with its own journald, since PID 1 here is
/// not systemd): the Type=notify start, the sandbox and capabilities as the kernel shows them, a
/// host's join, reload, the journal's priorities, the stop, an empty MGM_ARGS. About 8 s.
#[test]
fn the_packaged_unit_runs_under_systemd() {
    let scratch = scratch("unit");
    let deb = package(&scratch);
    let out = Command::new("bash")
        .arg(workspace().join("dist/check-under-systemd.sh"))
        .arg(&deb)
        .output()
        .expect("run dist/check-under-systemd.sh");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "check-under-systemd.sh failed:\n{said}"
    );
    assert!(said.contains("all checks passed"), "{said}");
}
