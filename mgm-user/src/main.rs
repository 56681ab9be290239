//! `mgm`: the daemon and its command-line clients.
use anyhow::{Context, Result};
use clap::Parser;
use mgm_user::cli::{Cli, Command, ShowWhat};
use mgm_user::control::{client, protocol::Request, views};

fn main() {
    let cli = Cli::parse();
    if let Err(e) = dispatch(cli) {
        eprintln!("mgm: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => {
            init_logging(&cli.log);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(mgm_user::daemon::run(args))
        }
        Command::Show(args) => {
            let request = match args.what {
                ShowWhat::Interfaces => Request::ShowInterfaces,
                ShowWhat::Groups => Request::ShowGroups,
                ShowWhat::Stats => Request::ShowStats,
                ShowWhat::Mfe => Request::ShowMfe,
                ShowWhat::Protocols => Request::ShowProtocols,
            };
            let data = client::request(&args.socket.socket, request)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&data)?);
                return Ok(());
            }
            let text = match args.what {
                ShowWhat::Interfaces => {
                    views::interfaces_table(&serde_json::from_value::<Vec<_>>(data)?)
                }
                ShowWhat::Groups => views::groups_table(&serde_json::from_value::<Vec<_>>(data)?),
                ShowWhat::Mfe => views::mfe_table(&serde_json::from_value::<Vec<_>>(data)?),
                ShowWhat::Protocols => {
                    views::protocols_table(&serde_json::from_value::<Vec<_>>(data)?)
                }
                ShowWhat::Stats => match data {
                    serde_json::Value::Object(map) => views::stats_table(&map),
                    other => other.to_string(),
                },
            };
            print!("{text}");
            Ok(())
        }
        Command::Events(args) => client::events(&args.socket.socket, |line| {
            if args.json {
                println!("{line}");
            } else {
                println!("{}", views::event_line(line));
            }
            Ok(())
        }),
    }
}

fn init_logging(level: &str) {
    let env = env_logger::Env::default().default_filter_or(level);
    env_logger::Builder::from_env(env)
        .format_target(false)
        .init();
}
