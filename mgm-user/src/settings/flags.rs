//! The IGMP flags of `mgm run`, built from [`SETTINGS`] with clap's builder API and flattened
//! into the derived `RunArgs`.

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use super::table::{Setting, SETTINGS};

const HEADING: &str = "IGMP (all interfaces; override per interface with -i IF,key=value)";

/// The IGMP settings given as flags, in table order, as the text given (already checked to be
/// of the setting's kind).
#[derive(Clone, Debug, Default)]
pub struct IgmpArgs {
    pub values: Vec<(&'static Setting, String)>,
}

fn flag(setting: &'static Setting) -> Arg {
    Arg::new(setting.name)
        .long(setting.name)
        .value_name(setting.value_name())
        .help(format!(
            "{} [default: {}]",
            setting.help,
            setting.default_text()
        ))
        .value_parser(move |text: &str| setting.check(text).map(|()| text.to_string()))
}

impl Args for IgmpArgs {
    fn augment_args(cmd: Command) -> Command {
        SETTINGS
            .iter()
            .fold(cmd.next_help_heading(HEADING), |cmd, s| cmd.arg(flag(s)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for IgmpArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = IgmpArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for setting in SETTINGS {
            if let Some(text) = matches.get_one::<String>(setting.name) {
                self.values.retain(|(s, _)| s.name != setting.name);
                self.values.push((setting, text.clone()));
            }
        }
        Ok(())
    }
}
