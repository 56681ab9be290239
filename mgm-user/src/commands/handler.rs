//! `mgm handler`: registers with the running daemon as an external protocol, takes interfaces,
//! prints every callback and answers the ones that need it (RPF through the FIB or a fixed
//! interface, creation alerts with the configured vetoes, prune alerts with mgm's lifetime).
//! Unless `--passive`, it forwards to the receivers on its interfaces as `local` does (each
//! local join becomes its membership, each local leave removes it).
//! When the daemon goes away it connects and registers again, every second, until it is back.
use crate::cli::HandlerArgs;
use crate::control::api::handler::{
    AnswerArgs, Callback, CallbackLine, HandlerKind, MembershipArgs, RegisterArgs,
};
use crate::control::api::{Request, RpfVerdictView};
use crate::control::handler_client::HandlerClient;
use anyhow::Result;
use std::time::Duration;

/// Runs until interrupted; `emit` prints one line.
pub fn run(args: &HandlerArgs, mut emit: impl FnMut(&str) -> Result<()>) -> Result<()> {
    let mut first = true;
    loop {
        match session(args, &mut emit) {
            Ok(()) => return Ok(()),
            Err(e) if first => return Err(e),
            Err(e) => eprintln!("mgm handler: {e:#}; registering again in 1 s"),
        }
        // After the first registration, a lost daemon is waited for.
        first = false;
        std::thread::sleep(Duration::from_secs(1));
        while HandlerClient::connect(&args.socket.path()).is_err() {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

fn session(args: &HandlerArgs, emit: &mut impl FnMut(&str) -> Result<()>) -> Result<()> {
    let mut client = HandlerClient::connect(&args.socket.path())?;
    let reg = client.register(RegisterArgs {
        name: args.name.clone(),
        protocol_id: None,
        component_id: None,
        kind: if args.igmp {
            HandlerKind::Igmp
        } else {
            HandlerKind::Routing
        },
    })?;
    let mut owned = reg.interfaces.clone();
    for i in &args.take {
        if !owned.contains(i) {
            client.take_interface(i)?;
            owned.push(i.clone());
        }
    }
    eprintln!(
        "mgm handler: registered as '{}' (protocol id {}), owning {}; answers are due within {} ms",
        reg.name,
        reg.protocol_id,
        if owned.is_empty() {
            "no interface".to_string()
        } else {
            owned.join(", ")
        },
        reg.deadline_ms
    );
    loop {
        let c = client.next_callback()?;
        if args.json {
            emit(&serde_json::to_string(&c)?)?;
        } else {
            emit(&describe(&c))?;
        }
        if let Some(id) = c.id {
            client.answer(answer(args, &c, id))?;
        }
        if !args.passive {
            mirror(&mut client, &c)?;
        }
    }
}

/// Forwards to the receivers on its own interfaces, as `local` does: a local join becomes its
/// membership, a local leave removes it (a leave of a membership it never added is fine).
fn mirror(client: &mut HandlerClient, c: &CallbackLine) -> Result<()> {
    let add = match c.callback {
        Callback::LocalJoin => true,
        Callback::LocalLeave => false,
        _ => return Ok(()),
    };
    let Some(interface) = c.interface.clone() else {
        return Ok(());
    };
    let m = MembershipArgs {
        interface,
        source: c.source,
        group: c.group,
        flags: None,
    };
    let req = if add {
        Request::AddMembership(m)
    } else {
        Request::DeleteMembership(m)
    };
    match client.request::<serde_json::Value>(req) {
        Ok(_) => Ok(()),
        Err(e) if !add && format!("{e:#}").contains("not found") => Ok(()),
        Err(e) if format!("{e:#}").contains("closed the connection") => Err(e),
        Err(e) => {
            eprintln!("mgm handler: {e:#}");
            Ok(())
        }
    }
}

/// The answer `mgm handler` gives to a callback that needs one.
fn answer(args: &HandlerArgs, c: &CallbackLine, id: u64) -> AnswerArgs {
    let mut a = AnswerArgs {
        callback_id: id,
        ..AnswerArgs::default()
    };
    match &c.callback {
        Callback::Rpf { .. } => {
            a.verdict = Some(RpfVerdictView::Accept);
            if args.rpf != "fib" {
                a.iif = Some(args.rpf.clone());
            }
        }
        Callback::CreationAlert { oifs, .. } => {
            a.vetoed = Some(
                oifs.iter()
                    .filter(|o| args.veto.contains(&o.interface))
                    .map(|o| o.interface.clone())
                    .collect(),
            );
        }
        Callback::PruneAlert { timeout_s, .. } => a.timeout_s = Some(*timeout_s),
        _ => {}
    }
    a
}

/// One callback as a line for people: `local_join eth1 (*,239.1.1.1)` and its arguments.
pub fn describe(c: &CallbackLine) -> String {
    let sg = match (c.source, c.group) {
        (Some(s), Some(g)) => format!("({s},{g})"),
        (None, Some(g)) => format!("(*,{g})"),
        _ => "(*,*)".to_string(),
    };
    let on = c.interface.as_deref().unwrap_or("-");
    let args = match &c.callback {
        Callback::JoinAlert { member_update } => format!(" member_update={member_update}"),
        Callback::PruneAlert {
            member_delete,
            timeout_s,
        } => format!(" member_delete={member_delete} timeout={timeout_s}s"),
        Callback::CreationAlert { iif, oifs } => format!(
            " iif={iif} oifs=[{}]",
            oifs.iter()
                .map(|o| o.interface.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Callback::Rpf {
            arrival,
            iif,
            upstream,
            ..
        } => format!(" arrival={arrival} iif={iif} upstream={upstream}"),
        _ => String::new(),
    };
    format!("{:<15} {on:<15} {sg}{args}", c.callback.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::api::handler::CreationOif;
    use std::net::Ipv4Addr;

    fn line(callback: Callback) -> CallbackLine {
        CallbackLine {
            seq: 1,
            callback,
            protocol: "p".into(),
            interface: Some("eth1".into()),
            source: None,
            group: Some(Ipv4Addr::new(239, 1, 1, 1)),
            id: Some(7),
            deadline_ms: Some(100),
        }
    }

    fn args(rpf: &str, veto: &[&str]) -> HandlerArgs {
        use clap::Parser;
        let mut argv = vec!["mgm", "handler", "--name", "p", "--rpf", rpf];
        for v in veto {
            argv.extend(["--veto", v]);
        }
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Handler(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn answers_follow_the_flags() {
        let rpf = line(Callback::Rpf {
            arrival: "eth0".into(),
            iif: "eth0".into(),
            upstream: Ipv4Addr::new(192, 0, 2, 1),
            header: String::new(),
        });
        let a = answer(&args("fib", &[]), &rpf, 7);
        assert_eq!(
            (a.callback_id, a.verdict, a.iif),
            (7, Some(RpfVerdictView::Accept), None)
        );
        let a = answer(&args("eth9", &[]), &rpf, 7);
        assert_eq!(a.iif.as_deref(), Some("eth9"));

        let alert = line(Callback::CreationAlert {
            iif: "eth0".into(),
            oifs: vec![
                CreationOif {
                    interface: "eth1".into(),
                    igmp: true,
                },
                CreationOif {
                    interface: "eth2".into(),
                    igmp: true,
                },
            ],
        });
        let a = answer(&args("fib", &["eth2", "eth5"]), &alert, 8);
        assert_eq!(
            a.vetoed,
            Some(vec!["eth2".to_string()]),
            "only offered ones"
        );
    }

    #[test]
    fn describe_names_the_callback_interface_and_sg() {
        let d = describe(&line(Callback::LocalJoin));
        assert!(d.starts_with("local_join"), "{d}");
        assert!(d.contains("eth1") && d.contains("(*,239.1.1.1)"), "{d}");
    }
}
