//! Unit tests of `cli.rs`: flag parsing and the value parsers.
use super::*;

#[test]
fn log_levels_and_directives_are_accepted() {
    for ok in [
        "info",
        "DEBUG",
        "debug,aya=warn",
        "warn,mgm_user::daemon=trace",
        "off",
        "info/ring",
    ] {
        assert_eq!(log_spec(ok).as_deref(), Ok(ok));
    }
}

#[test]
fn metrics_addresses_are_checked_naming_the_value() {
    let run = |v: &str| Cli::try_parse_from(["mgm", "run", "-i", "eth1", "--metrics", v]);
    for ok in ["127.0.0.1:9578", "[::1]:9578", "0.0.0.0:1"] {
        let Command::Run(args) = run(ok).expect(ok).command else {
            panic!("not run");
        };
        assert_eq!(args.metrics, Some(ok.parse().unwrap()));
    }
    for bad in [
        "9578",
        "127.0.0.1",
        "localhost:9578",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        ":9578",
        "",
    ] {
        let e = run(bad).unwrap_err().to_string();
        assert!(e.contains(&format!("'{bad}'")), "{bad}: {e}");
    }
    let Command::Run(args) = Cli::try_parse_from(["mgm", "run", "-i", "eth1"])
        .unwrap()
        .command
    else {
        panic!("not run");
    };
    assert_eq!(args.metrics, None, "off unless given");
}

#[test]
fn socket_is_one_flag_the_daemon_creates_and_the_clients_connect_to() {
    let run = |argv: &[&str]| match Cli::try_parse_from(argv).unwrap().command {
        Command::Run(a) => a.socket,
        other => panic!("not run: {other:?}"),
    };
    let show = |argv: &[&str]| match Cli::try_parse_from(argv).unwrap().command {
        Command::Show(a) => a.socket,
        other => panic!("not show: {other:?}"),
    };
    // Absent: the daemon leaves it to the file (then the default); the clients take the
    // default, the same path.
    let absent = run(&["mgm", "run", "-i", "eth1"]);
    assert_eq!(absent.socket, None);
    let no_file = Path::new("/nonexistent/mgm.toml");
    assert_eq!(absent.path_with_file(no_file), Path::new(DEFAULT_SOCKET));
    assert_eq!(
        show(&["mgm", "show", "stats"]).path_with_file(no_file),
        Path::new(DEFAULT_SOCKET)
    );
    // Given: the same path for both roles.
    let given = run(&["mgm", "run", "-i", "eth1", "--socket", "/tmp/x.sock"]);
    assert_eq!(given.socket.as_deref(), Some(Path::new("/tmp/x.sock")));
    let client = show(&["mgm", "show", "stats", "--socket", "/tmp/x.sock"]);
    assert_eq!(client.path(), Path::new("/tmp/x.sock"));
    // Absent, with a configuration file that names a socket: the clients connect there,
    // even when another key of the file is wrong (the daemon may still run on the old
    // file after a refused reload). A file without the key, or not TOML: the default.
    let dir = std::env::temp_dir().join(format!("mgm-cli-socket-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mgm.toml");
    let cases = [
        (
            "socket = \"/run/mgm/x.sock\"\nno-such-key = 1\n",
            "/run/mgm/x.sock",
        ),
        ("bpffs = \"/sys/fs/bpf/m\"\n", DEFAULT_SOCKET),
        ("socket = 5\n", DEFAULT_SOCKET),
        ("socket = \"\"\n", DEFAULT_SOCKET),
        ("not toml [", DEFAULT_SOCKET),
    ];
    for (text, want) in cases {
        std::fs::write(&file, text).unwrap();
        let got = show(&["mgm", "show", "stats"]).path_with_file(&file);
        assert_eq!(got, Path::new(want), "{text:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // Every client command takes it.
    for argv in [
        &["mgm", "events", "--socket", "/tmp/x.sock"][..],
        &["mgm", "reload", "--socket", "/tmp/x.sock"],
        &[
            "mgm",
            "join",
            "-i",
            "eth1",
            "-g",
            "239.1.1.1",
            "--socket",
            "/tmp/x.sock",
        ],
        &["mgm", "handler", "--name", "pim", "--socket", "/tmp/x.sock"],
    ] {
        assert!(Cli::try_parse_from(argv).is_ok(), "{argv:?}");
    }
    // One help text, saying both roles.
    let mut cmd = <Cli as clap::CommandFactory>::command();
    for sub in ["run", "show"] {
        let help = cmd
            .find_subcommand_mut(sub)
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("`mgm run` creates it"), "{sub}: {help}");
        assert!(
            help.contains("other commands connect to it"),
            "{sub}: {help}"
        );
    }
}

#[test]
fn only_igmp_settings_are_under_the_igmp_heading() {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let help = cmd
        .find_subcommand_mut("run")
        .unwrap()
        .render_help()
        .to_string();
    let (_, igmp) = help
        .split_once("IGMP (all interfaces")
        .expect("the IGMP heading");
    let flags: Vec<&str> = igmp
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .filter_map(|l| l.split([' ', '<']).next())
        .collect();
    assert!(flags.len() > 10, "{igmp}");
    for f in flags {
        assert!(
            crate::settings::find(f).is_some(),
            "--{f} is not an IGMP setting"
        );
    }
}

#[test]
fn a_bad_log_level_is_refused_naming_it() {
    for bad in ["verbose", "debug,aya=loud", "", "=debug", ",", "info,aya"] {
        let e = log_spec(bad).unwrap_err();
        assert!(e.contains(&format!("'{bad}'")), "{e}");
    }
    let e = Cli::try_parse_from(["mgm", "--log", "verbose", "show", "stats"]).unwrap_err();
    assert!(e.to_string().contains("verbose"), "{e}");
}
