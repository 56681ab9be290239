//! `mgm join`, `mgm leave`, `mgm route add|del`: static entries of the built-in protocol
//! `static`, one request each.
use crate::cli::{RouteAction, RouteArgs, StaticJoinArgs};
use crate::control::api::handler::{MfeKeyArgs, StaticJoinArgs as Join, StaticRouteArgs};
use crate::control::api::Request;
use crate::control::client;
use anyhow::Result;

/// `mgm join` (`add`) or `mgm leave`.
pub fn join(args: &StaticJoinArgs, add: bool) -> Result<()> {
    let j = Join {
        interface: args.interface.clone(),
        group: args.group,
        source: args.source,
    };
    let req = if add {
        Request::StaticJoin(j)
    } else {
        Request::StaticLeave(j)
    };
    client::request::<serde_json::Value>(&args.socket.path(), req)?;
    Ok(())
}

/// `mgm route add|del`.
pub fn route(args: &RouteArgs) -> Result<()> {
    match &args.action {
        RouteAction::Add(r) => {
            let req = Request::StaticRouteAdd(StaticRouteArgs {
                source: r.key.source,
                group: r.key.group,
                iif: r.iif.clone(),
                oifs: r.oif.clone(),
            });
            client::request::<serde_json::Value>(&r.key.socket.path(), req)?;
        }
        RouteAction::Del(k) => {
            let req = Request::StaticRouteDel(MfeKeyArgs {
                source: k.source,
                group: k.group,
            });
            client::request::<serde_json::Value>(&k.socket.path(), req)?;
        }
    }
    Ok(())
}
