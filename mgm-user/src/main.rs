//! `mgm`: the daemon and its command-line clients.
use anyhow::{Context, Result};
use clap::Parser;
use mgm_user::cli::{Cli, Command, Generate, GenerateCli, RunArgs, ShowArgs, ShowWhat};
use mgm_user::commands;
use mgm_user::control::api::{GroupFilter, Request};
use mgm_user::control::{client, tables};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if GenerateCli::requested(&args) {
        if let Err(e) = generate(GenerateCli::parse_from(args)) {
            eprintln!("mgm: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    let cli = Cli::try_parse_from(args).unwrap_or_else(|e| {
        // A usage error of the service's MGM_ARGS goes to the journal at error priority.
        if e.use_stderr() && mgm_user::logging::stderr_is_journal() {
            let text = e.render().to_string();
            eprint!(
                "{}",
                mgm_user::logging::journal_lines(log::Level::Error, &text)
            );
            std::process::exit(e.exit_code());
        }
        e.exit()
    });
    let is_run = matches!(cli.command, Command::Run(_));
    if let Err(e) = dispatch(cli) {
        // In the journal at error priority (the daemon's stderr is the journal under systemd).
        eprint!("{}", mgm_user::logging::fatal_line(&format!("mgm: {e:#}")));
        // Nothing to manage is a usage error, as clap's are.
        let usage = is_run && e.downcast_ref::<mgm_user::config::NoInterfaces>().is_some();
        std::process::exit(if usage { 2 } else { 1 });
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(mut args) => {
            args.log = cli.log.clone();
            run_daemon(args)
        }
        Command::CheckConfig(args) => {
            let file = args
                .file
                .unwrap_or_else(|| mgm_user::config::DEFAULT_PATH.into());
            let config = mgm_user::config::check_file(&file)?;
            emit(&format!("{}: ok ({})\n", file.display(), config.summary()))
        }
        Command::Reload(args) => {
            let data: mgm_user::control::api::Reloaded =
                client::request(&args.socket.path(), Request::Reload)?;
            if args.json {
                return emit(&format!("{}\n", serde_json::to_string_pretty(&data)?));
            }
            emit(&tables::reload_text(&data))
        }
        Command::Show(args) => show(&args),
        // Ends only with an error: the daemon closing the stream is one (it stopped).
        Command::Events(args) => client::events(&args.socket.path(), |line| {
            if args.json {
                emit(&format!("{line}\n"))
            } else {
                emit(&format!("{}\n", tables::event_line(line)))
            }
        }),
        Command::Handler(args) => commands::handler::run(&args, |line| emit(&format!("{line}\n"))),
        Command::Join(args) => commands::statics::join(&args, true),
        Command::Leave(args) => commands::statics::join(&args, false),
        Command::Route(args) => commands::statics::route(&args),
    }
}

/// `mgm run`: the daemon, on a single-threaded runtime, until it stops.
fn run_daemon(args: RunArgs) -> Result<()> {
    let config = mgm_user::config::resolve(&args)?;
    mgm_user::logging::init(&config.log)?;
    if let Some(file) = &config.file {
        log::info!("configuration file {}", file.display());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(mgm_user::daemon::run(config, args))
}

/// `mgm show WHAT`: the table, or with `--json` the daemon's answer pretty-printed.
fn show(args: &ShowArgs) -> Result<()> {
    let socket = &args.socket.path();
    let filter = GroupFilter {
        interface: args.interface.clone(),
        group: args.group.map(|p| p.to_string()),
    };
    if args.what == ShowWhat::Groups {
        return show_groups(socket, filter, args.json);
    }
    if filter != GroupFilter::default() {
        anyhow::bail!("--interface and --group filter `mgm show groups` only");
    }
    if args.what == ShowWhat::Mfe {
        return show_mfe(socket, args.json);
    }
    let request = match args.what {
        ShowWhat::Interfaces => Request::ShowInterfaces,
        ShowWhat::Groups => Request::ShowGroups(filter),
        ShowWhat::Stats => Request::ShowStats,
        ShowWhat::Mfe => Request::ShowMfe,
        ShowWhat::Protocols => Request::ShowProtocols,
        ShowWhat::Upstream => Request::ShowUpstream,
    };
    if args.json {
        let data: serde_json::Value = client::request(socket, request)?;
        return emit(&format!("{}\n", serde_json::to_string_pretty(&data)?));
    }
    // Each table takes its typed view; the request's answer is parsed as that.
    let text = match args.what {
        ShowWhat::Interfaces => {
            tables::interfaces_table(&client::request::<Vec<_>>(socket, request)?)
        }
        ShowWhat::Groups => tables::groups_table(&client::request::<Vec<_>>(socket, request)?),
        ShowWhat::Stats => tables::stats_table(&client::request(socket, request)?),
        ShowWhat::Mfe => unreachable!("streamed above"),
        ShowWhat::Upstream => tables::upstream_table(&client::request(socket, request)?),
        ShowWhat::Protocols => {
            tables::protocols_table(&client::request::<Vec<_>>(socket, request)?)
        }
    };
    emit(&text)
}

/// `mgm show groups`: printed as the rows come (the daemon streams them), in pieces of about
/// 64 KiB; with `--json` one array, each row as `serde_json` pretty-prints it.
fn show_groups(socket: &std::path::Path, filter: GroupFilter, json: bool) -> Result<()> {
    let mut out = String::new();
    let flush = |out: &mut String, at_least: usize| {
        if out.len() < at_least {
            return Ok(());
        }
        emit(out).map(|()| out.clear())
    };
    let mut table = tables::GroupsTable::default();
    let request = Request::ShowGroups(filter);
    if json {
        return show_json(socket, request);
    }
    client::stream(socket, request, |row| {
        out.push_str(&table.push(&row));
        flush(&mut out, 64 * 1024)
    })?;
    out.push_str(&table.finish());
    flush(&mut out, 0)
}

/// `mgm show mfe`: the rows as the daemon streams them, then the table (its columns sized by
/// every row); with `--json` as `show_groups`.
fn show_mfe(socket: &std::path::Path, json: bool) -> Result<()> {
    if json {
        return show_json(socket, Request::ShowMfe);
    }
    let mut rows = Vec::new();
    client::stream(socket, Request::ShowMfe, |row| {
        rows.push(row);
        Ok(())
    })?;
    emit(&tables::mfe_table(&rows))
}

/// A streamed answer with `--json`: one array, printed in pieces of about 64 KiB, each row as
/// it came (every key, in `serde_json`'s order) as `serde_json` pretty-prints an array.
fn show_json(socket: &std::path::Path, request: Request) -> Result<()> {
    let mut out = String::new();
    let mut rows = 0usize;
    client::stream(socket, request, |row: serde_json::Value| {
        out.push_str(if rows == 0 { "[\n" } else { ",\n" });
        for (i, line) in serde_json::to_string_pretty(&row)?.lines().enumerate() {
            out.push_str(if i == 0 { "  " } else { "\n  " });
            out.push_str(line);
        }
        rows += 1;
        if out.len() < 64 * 1024 {
            return Ok(());
        }
        emit(&out).map(|()| out.clear())
    })?;
    out.push_str(if rows == 0 { "[]\n" } else { "\n]\n" });
    emit(&out)
}

/// The packaging helpers (`cargo xtask dist`).
fn generate(cli: GenerateCli) -> Result<()> {
    match cli.what {
        Generate::GenerateMan { dir } => {
            let files = commands::generate::man_pages(&dir)?;
            let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
            emit(&list)
        }
        Generate::GenerateCompletions { shell } => {
            let mut script = Vec::new();
            commands::generate::completions(shell, &mut script);
            emit(&String::from_utf8_lossy(&script))
        }
    }
}

/// Writes to stdout and flushes; a reader that went away (`mgm events | head -1`) ends the
/// program quietly, as for any Unix filter.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => r.context("writing to stdout"),
    }
}
