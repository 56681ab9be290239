//! `mgm generate-man DIR` and `mgm generate-completions SHELL` (parsed apart from the CLI they
//! describe, so they show nowhere: `cli::GenerateCli`): manual pages and shell completions made
//! from the clap definitions by the binary that is shipped, so they always describe its flags
//! (`cargo xtask dist` calls them while it stages the package).
//!
//! They live in the binary rather than in a build script or in xtask because the CLI definition
//! is part of `mgm-user` (the settings table makes the IGMP flags): a build script cannot call
//! the crate it builds, and xtask linking `mgm-user` would compile the daemon (aya, tokio,
//! netlink) before every `cargo xtask` task. Here they cost nothing in a normal build beyond two
//! small crates, and nothing at run time.
use crate::cli::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes mgm.8 and one page per visible subcommand, nested ones included (mgm-run.8,
/// mgm-route-add.8, …), and the configuration file's mgm.toml.5, into `dir`; returns the files
/// written, mgm.8 first, mgm.toml.5 last.
pub fn man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Gives every subcommand its display name (mgm-run) and usage name (mgm run).
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, dir, true, &mut written)?;
    let path = dir.join("mgm.toml.5");
    std::fs::write(&path, super::man_config::page())
        .with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    Ok(written)
}

fn write_pages(
    cmd: &clap::Command,
    dir: &Path,
    top: bool,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .source(format!("mgm {}", env!("CARGO_PKG_VERSION")))
        .manual("mgm");
    let mut page = Vec::new();
    man.render(&mut page).context("rendering a manual page")?;
    page.extend_from_slice(if top { TOP_SECTIONS } else { SUB_SECTIONS }.as_bytes());
    let path = dir.join(man.get_filename());
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, false, written)?;
    }
    Ok(())
}

/// What mgm(8) says beyond the flags: the files and variables of a deployment.
const TOP_SECTIONS: &str = r#".SH ENVIRONMENT
.TP
\fBMGM_LOG\fR
The log level when \fB\-\-log\fR is not given.
.TP
\fBRUST_LOG\fR
A log specification that wins over \fB\-\-log\fR and \fBMGM_LOG\fR.
.TP
\fBNOTIFY_SOCKET\fR
Set by systemd for a \fIType=notify\fR service: \fBmgm run\fR sends READY=1 once the
classifier is attached and the control socket accepts, and STOPPING=1 when it shuts down.
.TP
\fBJOURNAL_STREAM\fR
Set by systemd when stderr is the journal: log lines then carry their syslog priority
and no timestamp.
.SH FILES
.TP
\fI/etc/mgm/mgm.toml\fR
The configuration file (\fBmgm.toml\fR(5)), read by \fBmgm run\fR without \fB\-\-config\fR
when it exists; SIGHUP and \fBmgm reload\fR re-read it.
.TP
\fI/etc/default/mgm\fR
MGM_ARGS, flags of \fBmgm run\fR for the systemd unit \fImgm.service\fR (they win over the file).
.TP
\fI/run/mgm/mgm.sock\fR
The control socket (\fB\-\-socket\fR).
.TP
\fI/sys/fs/bpf/mgm\fR
The pinned maps (\fB\-\-bpffs\fR); they outlive the daemon, and the next start adopts them.
.SH SEE ALSO
\fBmgm.toml\fR(5), \fBsystemctl\fR(1), \fBjournalctl\fR(1), \fBbpftool\fR(8), \fBip\-mroute\fR(8)
"#;

const SUB_SECTIONS: &str = ".SH SEE ALSO\n\\fBmgm\\fR(8)\n";

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "mgm", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_visible_subcommand_and_no_hidden_one() {
        let dir = std::env::temp_dir().join(format!("mgm-man-{}", std::process::id()));
        let files = man_pages(&dir).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in ["mgm.8", "mgm-run.8", "mgm-show.8", "mgm-route-add.8"] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("generate")), "{names:?}");
        assert_eq!(
            files.len(),
            13,
            "mgm, 9 subcommands, route add and del, mgm.toml.5: {names:?}"
        );
        assert_eq!(names.last().map(String::as_str), Some("mgm.toml.5"));
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        let top = std::fs::read_to_string(dir.join("mgm.8")).unwrap();
        assert!(top.contains("mgm\\-run(8)"), "{top}");
        assert!(top.contains(".SH FILES"));
        let run = std::fs::read_to_string(dir.join("mgm-run.8")).unwrap();
        assert!(run.contains("query\\-interval"), "{run}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn completions_name_the_subcommands_but_not_the_hidden_ones() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            completions(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("mgm"), "{shell}");
            assert!(text.contains("interfaces"), "{shell}: show's values");
            assert!(!text.contains("generate"), "{shell}");
        }
    }
}
