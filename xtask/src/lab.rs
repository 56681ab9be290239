//! `cargo xtask run`: with arguments, runs the mgm binary with them; without, the demo lab.
use crate::build;
use crate::setup::{self, Needs};
use crate::util::run as run_cmd;
use anyhow::Result;
use std::process::Command;

pub fn run(args: &[String]) -> Result<()> {
    setup::ensure(Needs::ALL)?;
    let bin = build::build_all(true)?;
    if !args.is_empty() {
        return run_cmd(Command::new(&bin).args(args));
    }
    run_cmd(Command::new(&bin).arg("lab"))
}
