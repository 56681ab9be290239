//! The daemon's logger: env_logger, writing to stderr in one of two formats.
//!
//! - On a terminal or into a file: env_logger's own (timestamp, level, message).
//! - Into the journal (systemd's `StandardError=journal`, the default for a service): each line
//!   starts with its syslog priority, `<3>` error, `<4>` warn, `<6>` info, `<7>` debug and
//!   trace, which journald takes as the entry's level (sd-daemon(3)), so `journalctl -p warning`
//!   and the colours work; no timestamp, since journald stamps every entry itself.
//!
//! stderr is the journal when `JOURNAL_STREAM` (set by systemd: `DEVICE:INODE` of the stream it
//! connected) names the very file stderr is: a program started from a service with its stderr
//! redirected inherits the variable but not the stream, and gets the terminal format.
//!
//! The level (`log`, `--log`, `MGM_LOG`) changes on a reload: the logger is env_logger's, built
//! anew from the new specification and swapped in whole ([`set_level`]). The destination stays
//! stderr; RUST_LOG, when set, wins over `log` at start and on a reload.
use anyhow::Result;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::RwLock;

/// The logger installed: env_logger's, replaced whole when the level changes.
struct Reloadable(RwLock<Option<env_logger::Logger>>);

static LOGGER: Reloadable = Reloadable(RwLock::new(None));

impl log::Log for Reloadable {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        let l = self.0.read().unwrap_or_else(|e| e.into_inner());
        l.as_ref().is_some_and(|l| l.enabled(metadata))
    }

    fn log(&self, record: &log::Record) {
        let l = self.0.read().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = l.as_ref() {
            l.log(record);
        }
    }

    fn flush(&self) {
        let l = self.0.read().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = l.as_ref() {
            l.flush();
        }
    }
}

/// Starts the daemon's logger: RUST_LOG when set, else `level` (`--log` / MGM_LOG, checked by
/// clap). A bad RUST_LOG is refused: env_logger would take it as a target and log nothing else.
pub fn init(level: &str) -> Result<()> {
    if let Ok(spec) = std::env::var("RUST_LOG") {
        crate::cli::log_spec(&spec).map_err(|e| anyhow::anyhow!("RUST_LOG: {e}"))?;
    }
    install(build(level));
    log::set_logger(&LOGGER).map_err(|e| anyhow::anyhow!("starting the logger: {e}"))?;
    Ok(())
}

/// Logs at `level` (a specification as `--log` takes it, checked) from now on: the reload of
/// `log`. Refused, saying why, when RUST_LOG is set (it wins) or no logger was started.
pub fn set_level(level: &str) -> Result<(), String> {
    if let Ok(spec) = std::env::var("RUST_LOG") {
        return Err(format!(
            "RUST_LOG={spec} is set in mgm's environment and wins over log: the level stays"
        ));
    }
    crate::cli::log_spec(level)?;
    let running = LOGGER.0.read().unwrap_or_else(|e| e.into_inner()).is_some();
    if !running {
        return Err("no logger runs in this process".into());
    }
    install(build(level));
    Ok(())
}

/// Puts `logger` in place and lets through what it wants.
fn install(logger: env_logger::Logger) {
    log::set_max_level(logger.filter());
    *LOGGER.0.write().unwrap_or_else(|e| e.into_inner()) = Some(logger);
}

/// env_logger's logger for RUST_LOG, else `level`, in the format of stderr (journal or not).
fn build(level: &str) -> env_logger::Logger {
    let env = env_logger::Env::default().default_filter_or(level);
    let mut builder = env_logger::Builder::from_env(env);
    if stderr_is_journal() {
        builder.format(|buf, record| {
            buf.write_all(journal_lines(record.level(), &record.args().to_string()).as_bytes())
        });
    } else {
        builder.format_target(false);
    }
    builder.build()
}

/// Whether stderr is the stream systemd connected to the journal (`JOURNAL_STREAM`).
pub fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(parse_journal_stream) else {
        return false;
    };
    nix::sys::stat::fstat(std::io::stderr().as_raw_fd())
        .is_ok_and(|st| st.st_dev == dev && st.st_ino == ino)
}

/// `DEVICE:INODE`, both decimal.
fn parse_journal_stream(text: &str) -> Option<(u64, u64)> {
    let (dev, ino) = text.split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// The syslog priority journald files a record of `level` at. Info is "informational" (6), not
/// "notice" (5): mgm's info lines are its normal operation (memberships, interfaces coming and
/// going); journald has nothing below debug, so trace is 7 too.
pub fn priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// A message as journal lines: journald reads a stream line by line and the prefix holds for
/// its own line only, so every line of the message carries it.
pub fn journal_lines(level: log::Level, message: &str) -> String {
    let prefix = format!("<{}>", priority(level));
    let mut out = String::with_capacity(message.len() + 8);
    for line in message.lines() {
        out.push_str(&prefix);
        out.push_str(line);
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str(&prefix);
        out.push('\n');
    }
    out
}

/// A fatal error of `mgm run` for stderr: in the journal at error priority (otherwise journald
/// files it at the unit's default, info).
pub fn fatal_line(message: &str) -> String {
    if stderr_is_journal() {
        journal_lines(log::Level::Error, message)
    } else {
        format!("{message}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_syslog_priorities() {
        use log::Level::*;
        let got: Vec<u8> = [Error, Warn, Info, Debug, Trace]
            .into_iter()
            .map(priority)
            .collect();
        assert_eq!(got, [3, 4, 6, 7, 7]);
    }

    #[test]
    fn every_line_carries_the_priority_and_no_timestamp() {
        assert_eq!(
            journal_lines(log::Level::Warn, "interface eth1 went away"),
            "<4>interface eth1 went away\n"
        );
        assert_eq!(
            journal_lines(log::Level::Error, "first\nsecond"),
            "<3>first\n<3>second\n"
        );
        assert_eq!(journal_lines(log::Level::Info, ""), "<6>\n");
    }

    #[test]
    fn journal_stream_is_device_and_inode() {
        assert_eq!(parse_journal_stream("8:12345"), Some((8, 12345)));
        for bad in ["", "8", "8:", ":1", "a:b", "8:1:2"] {
            assert_eq!(parse_journal_stream(bad), None, "{bad}");
        }
    }
}
