//! The control requests that change the manager, carried out for their connection: the
//! handler protocol (register, ownership, memberships, MFEs, answers) and the session's end.
use super::remote::{RemoteHandler, SharedSession};
use super::walks::page;
use super::{check_name, iface_key, protocol_id_for, Registered};
use crate::control::api::handler::{Callback, HandlerKind};
use crate::control::api::handler::{MembershipArgs, MembershipFlag, Page, RegisterArgs};
use crate::control::api::{Reply, Request, Response};
use crate::control::server::{Connection, ControlInput};
use crate::daemon::state::Daemon;
use crate::manager::{
    ClientKind, ComponentId, IfKey, Invalid, MembershipFlags, MgmError, ProtocolHandle, ProtocolId,
    Sg,
};
use crate::time::monotonic_ns;
use std::net::Ipv4Addr;

/// The outcome of one request: the data to answer with, or the error message.
pub(crate) type Outcome = Result<Reply, String>;

impl Daemon {
    /// One input from the control server.
    pub(crate) fn on_control(&mut self, input: ControlInput) {
        let now = match monotonic_ns() {
            Ok(n) => n,
            Err(e) => {
                log::warn!("{e:#}");
                return;
            }
        };
        match input {
            ControlInput::Closed { conn } => self.end_session(conn, "disconnected", now),
            ControlInput::Refused {
                conn, id, error, ..
            } => {
                let _ = conn.respond(id, Response::<()>::error(error));
            }
            ControlInput::Chunk {
                conn,
                id,
                what,
                after,
                reply,
            } => {
                // A handler session's callbacks queued between chunks wait in the connection's
                // writer for the answer's line to end (`control/stream.rs`, `Interleave`).
                let _ = (conn, reply.send(self.chunk(id, what, after, now)));
            }
            ControlInput::Request {
                conn, id, request, ..
            } => {
                let outcome = self.carry_out(&conn, request, now);
                let sent = match outcome {
                    None => Ok(()),
                    Some(Ok(reply)) => conn.respond(id, Response::ok(reply)),
                    Some(Err(e)) => conn.respond(id, Response::<()>::error(e)),
                };
                if sent.is_err() {
                    if let Some(r) = self.handlers.session(&conn) {
                        r.shared.lock().overflowed = true;
                    }
                }
                self.publish(Vec::new());
                self.drop_overflowed(now);
            }
        }
    }

    /// Carries out one request; `None` for requests without a response (answers).
    fn carry_out(&mut self, conn: &Connection, request: Request, now: u64) -> Option<Outcome> {
        let h = self.handlers.session(conn).map(|r| r.handle);
        Some(match request {
            Request::Register(args) => self.register(conn, args, now),
            Request::Deregister => need(h).map(|_| {
                self.end_session(conn.id, "deregistered", now);
                Reply::Done
            }),
            Request::TakeInterface { interface } => {
                need(h).and_then(|h| self.take(conn, h, &interface, now))
            }
            Request::ReleaseInterface { interface } => {
                need(h).and_then(|h| self.release(conn, h, &interface, now))
            }
            Request::AddMembership(m) => need(h).and_then(|h| self.membership(h, m, true, now)),
            Request::DeleteMembership(m) => need(h).and_then(|h| self.membership(h, m, false, now)),
            Request::GetMemberships(f) => Ok(Reply::Memberships(self.memberships(&f))),
            Request::GetFirstMembership { max } => Ok(self.membership_page(None, max)),
            Request::GetNextMembership { after, max } => Ok(self.membership_page(Some(after), max)),
            Request::GetMfe(_)
            | Request::GetMfeStats(_)
            | Request::GetFirstMfe { .. }
            | Request::GetNextMfe { .. }
            | Request::SetMfeLifetime { .. }
            | Request::SetMfeUpstream { .. }
            | Request::DeleteMfe(_) => self.mfe_request(conn, h, request, now),
            Request::Answer(a) => {
                if h.is_some() {
                    self.answer(conn, a, now);
                }
                return None;
            }
            Request::StaticJoin(_)
            | Request::StaticLeave(_)
            | Request::StaticRouteAdd(_)
            | Request::StaticRouteDel(_) => self.static_request(&request, now),
            Request::Reload => self
                .reload_config(now)
                .inspect_err(|e| log::error!("reload refused, the running state stays: {e}"))
                .map(Reply::Reloaded),
            show => {
                let resp = self.answer_show(show);
                match (resp.ok, resp.data, resp.error) {
                    (true, Some(d), _) => Ok(d),
                    (_, _, e) => Err(e.unwrap_or_default()),
                }
            }
        })
    }

    /// `release-interface`: the handler `h` gives `interface` back.
    fn release(
        &mut self,
        conn: &Connection,
        h: ProtocolHandle,
        interface: &str,
        now: u64,
    ) -> Outcome {
        let iface = self.known_interface(interface)?;
        self.fwd
            .manager()
            .release_interface_ownership(now, h, iface)
            .map_err(|e| mgm_error(interface, e))?;
        self.settle_manager(now);
        self.remembered_drop(conn, interface);
        Ok(Reply::Done)
    }

    /// The MFE requests: reads for anyone, changes for the registered handler that owns the MFE.
    fn mfe_request(
        &mut self,
        conn: &Connection,
        h: Option<ProtocolHandle>,
        request: Request,
        now: u64,
    ) -> Outcome {
        match request {
            Request::GetMfe(k) | Request::GetMfeStats(k) => {
                match self.fwd.manager().mfe(now, k.source, k.group) {
                    Ok(m) => Ok(Reply::OneMfe(
                        self.fwd.mfe_views(vec![m]).pop().expect("one in, one out"),
                    )),
                    Err(e) => Err(format!("no MFE ({}, {}): {e}", k.source, k.group)),
                }
            }
            Request::GetFirstMfe { max } => {
                let (v, more) = self.fwd.manager().mfe_first(now, page(max));
                Ok(Reply::MfePage(Page {
                    entries: self.fwd.mfe_views(v),
                    more,
                }))
            }
            Request::GetNextMfe { source, group, max } => {
                let (v, more) = self.fwd.manager().mfe_next(now, source, group, page(max));
                Ok(Reply::MfePage(Page {
                    entries: self.fwd.mfe_views(v),
                    more,
                }))
            }
            Request::SetMfeLifetime {
                source,
                group,
                timeout_s,
            } => need(h).and_then(|h| {
                self.owns_mfe(h, source, group, now)?;
                let r = self
                    .fwd
                    .manager()
                    .set_mfe_timeout(now, h, source, group, timeout_s);
                self.done(r, &format!("MFE ({source}, {group})"), now)
            }),
            Request::SetMfeUpstream {
                source,
                group,
                upstream,
            } => need(h).and_then(|h| {
                self.owns_mfe(h, source, group, now)?;
                let r = self
                    .fwd
                    .manager()
                    .set_mfe_upstream(now, h, source, group, upstream);
                self.done(r, &format!("MFE ({source}, {group})"), now)
            }),
            Request::DeleteMfe(k) => need(h).and_then(|h| {
                if let Some(r) = self.handlers.session(conn) {
                    r.shared.lock().forget(k.source, k.group);
                }
                let r = self.fwd.manager().remove_mfe(now, h, k.source, k.group);
                self.done(r, &format!("MFE ({}, {})", k.source, k.group), now)
            }),
            other => Err(format!("not an MFE request: {other:?}")),
        }
    }

    fn register(&mut self, conn: &Connection, args: RegisterArgs, now: u64) -> Outcome {
        self.may_register(conn, &args.name)?;
        let protocol_id = args
            .protocol_id
            .unwrap_or_else(|| protocol_id_for(&args.name));
        let component_id = args.component_id.unwrap_or(0);
        let shared = SharedSession::new(
            &args.name,
            conn.clone(),
            self.fwd.names().clone(),
            self.handlers.deadline_ns,
        );
        let kind = match args.kind {
            HandlerKind::Routing => ClientKind::Routing,
            HandlerKind::Igmp => ClientKind::Igmp,
        };
        let handle = self
            .fwd
            .manager()
            .register(
                &args.name,
                kind,
                ProtocolId(protocol_id),
                ComponentId(component_id),
                Box::new(RemoteHandler(shared.clone())),
            )
            .map_err(|e| match e {
                MgmError::AlreadyExists => format!(
                    "protocol id {protocol_id} component {component_id} is registered already"
                ),
                e => e.to_string(),
            })?;
        log::info!(
            "handler '{}' registered ({:?}, protocol id {protocol_id}, component {component_id}) \
             by {}",
            args.name,
            args.kind,
            conn.peer
        );
        self.handlers
            .sessions
            .insert(conn.id, Registered { handle, shared });
        let interfaces = self.take_back(conn, handle, &args.name, now);
        Ok(Reply::Registered(
            crate::control::api::handler::Registered {
                name: args.name,
                protocol_id,
                component_id,
                interfaces,
                deadline_ms: self.handlers.deadline_ns / 1_000_000,
            },
        ))
    }

    /// Why `conn` may not register as `name`: registered already, a bad name, or a name in use.
    fn may_register(&self, conn: &Connection, name: &str) -> Result<(), String> {
        if let Some(r) = self.handlers.session(conn) {
            return Err(format!(
                "this connection is registered already as '{}'",
                r.shared.lock().name
            ));
        }
        check_name(name)?;
        if let Some((_, r)) = self.handlers.by_name(name) {
            return Err(format!(
                "a handler named '{name}' is registered already ({})",
                r.shared.lock().conn.peer
            ));
        }
        Ok(())
    }

    /// A new registration's interfaces: the ones reserved for `handler`, then the ones it held
    /// last time. Returns those it took; the others are remembered for its next registration.
    fn take_back(
        &mut self,
        conn: &Connection,
        handle: ProtocolHandle,
        handler: &str,
        now: u64,
    ) -> Vec<String> {
        let mut wanted = self.fwd.reserved_interfaces(handler);
        for i in self.handlers.remembered.remove(handler).unwrap_or_default() {
            if !wanted.contains(&i) {
                wanted.push(i);
            }
        }
        let mut interfaces = Vec::new();
        for name in wanted {
            match self.take(conn, handle, &name, now) {
                Ok(_) => interfaces.push(name),
                Err(e) => {
                    log::info!("handler '{handler}': not taking {name} back: {e}");
                    // Remembered for its next registration (e.g. the interface is not back).
                    if self.fwd.reserved_for(&name).is_none() {
                        self.handlers
                            .remembered
                            .entry(handler.to_string())
                            .or_default()
                            .insert(name);
                    }
                }
            }
        }
        interfaces
    }

    /// Takes `name` for the handler `h` of `conn`: the IGMP replay of the interface comes
    /// between `replay_begin` and `replay_end`, before the response.
    pub(crate) fn take(
        &mut self,
        conn: &Connection,
        h: ProtocolHandle,
        name: &str,
        now: u64,
    ) -> Outcome {
        let me = self
            .handlers
            .session(conn)
            .map(|r| r.shared.lock().name.clone())
            .unwrap_or_default();
        if let Some(p) = self.fwd.reserved_for(name) {
            if p != me {
                return Err(format!("{name} is reserved for protocol '{p}'"));
            }
        }
        let ifindex = match self.fwd.names().index_of(name) {
            Some(i) => i,
            None => {
                let i = nix::net::if_::if_nametoindex(name)
                    .map_err(|e| format!("no interface {name}: {e}"))?;
                self.fwd.names().insert(i, name);
                i
            }
        };
        let iface = iface_key(ifindex);
        let taken = self.fwd.manager().take_interface_ownership(now, h, iface);
        if let Err(e) = taken {
            let mgr = self.fwd.manager();
            let igmp_role = mgr
                .protocols()
                .iter()
                .any(|p| p.handle == h && p.kind == ClientKind::Igmp);
            let owners = mgr.interfaces().into_iter().find(|i| i.interface == iface);
            let igmp_owner = owners.as_ref().and_then(|i| i.igmp.clone());
            let owner = if igmp_role {
                igmp_owner.filter(|o| o != "igmp")
            } else {
                owners.and_then(|i| i.routing)
            };
            return Err(match (e, owner) {
                (MgmError::AlreadyExists, Some(o)) if o == "local" => format!(
                    "{name} is owned by local; start mgm with -i {name},protocol={me} to leave \
                     it to {me}"
                ),
                (MgmError::AlreadyExists, Some(o)) if igmp_role => {
                    format!("{name}'s IGMP role is held by {o}")
                }
                (MgmError::AlreadyExists, Some(o)) => format!("{name} is owned by {o}"),
                (MgmError::AlreadyExists, None) => format!(
                    "{name} has an IGMP client already (mgm's own IGMP runs on the interfaces \
                     given with -i)"
                ),
                (e, _) => format!("taking {name}: {e}"),
            });
        }
        if let Some(r) = self.handlers.session(conn) {
            r.shared
                .lock()
                .send(Callback::ReplayBegin, Some(iface), Sg::STAR_STAR, None);
        }
        self.settle_manager(now);
        if let Some(r) = self.handlers.session(conn) {
            r.shared
                .lock()
                .send(Callback::ReplayEnd, Some(iface), Sg::STAR_STAR, None);
        }
        log::info!("handler '{me}' took {name} ({})", conn.peer);
        Ok(Reply::Done)
    }

    /// A reserved interface came (back): its handler, if registered, takes it.
    pub(crate) fn give_reserved(&mut self, name: &str, now: u64) {
        let Some(protocol) = self.fwd.reserved_for(name).map(str::to_string) else {
            return;
        };
        let Some((conn, handle)) = self
            .handlers
            .by_name(&protocol)
            .map(|(_, r)| (r.shared.lock().conn.clone(), r.handle))
        else {
            return;
        };
        if let Err(e) = self.take(&conn, handle, name, now) {
            log::warn!("handler '{protocol}' cannot take {name} back: {e}");
        }
    }

    /// `Ok` when the MFE (`source`, `group`) arrives on an interface `h` owns: only the owner
    /// of the incoming interface sets its lifetime or upstream neighbour.
    fn owns_mfe(
        &mut self,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        now: u64,
    ) -> Result<(), String> {
        let mgr = self.fwd.manager();
        let mfe = mgr
            .mfe(now, source, group)
            .map_err(|_| format!("MFE ({source}, {group}): not found"))?;
        let mine = mgr
            .protocols()
            .into_iter()
            .any(|p| p.handle == h && p.interfaces.contains(&mfe.iif));
        if mine {
            Ok(())
        } else {
            Err(format!(
                "MFE ({source}, {group}): its incoming interface is not yours"
            ))
        }
    }

    /// A managed (or previously named) interface by name.
    pub(super) fn known_interface(&self, name: &str) -> Result<IfKey, String> {
        self.fwd
            .names()
            .index_of(name)
            .map(iface_key)
            .ok_or_else(|| format!("no managed interface {name}"))
    }

    fn membership(&mut self, h: ProtocolHandle, m: MembershipArgs, add: bool, now: u64) -> Outcome {
        let iface = self.known_interface(&m.interface)?;
        let sg = Sg {
            source: m.source,
            group: m.group,
        };
        if !sg.is_valid() {
            return Err(format!(
                "{sg} is not a valid membership: the group must be multicast, the source a \
                 unicast host, and a source needs a group"
            ));
        }
        let flags = match m.flags.as_deref() {
            None => MembershipFlags::JOIN_STATE,
            Some([]) => return Err("flags must name join, forward or both".into()),
            Some(list) => list.iter().fold(MembershipFlags(0), |f, x| {
                f | match x {
                    MembershipFlag::Join => MembershipFlags::JOIN_STATE,
                    MembershipFlag::Forward => MembershipFlags::FORWARD_STATE,
                }
            }),
        };
        let mgr = self.fwd.manager();
        let r = if add {
            mgr.add_membership(now, h, sg, iface, flags)
        } else {
            mgr.delete_membership(now, h, sg, iface, flags)
        };
        let what = format!("{sg} on {}", m.interface);
        match r {
            Err(MgmError::InvalidParameter(Invalid::NotOwner)) => Err(format!(
                "{what}: the interface is not yours (take_interface first)"
            )),
            r => self.done(r, &what, now),
        }
    }

    /// Ends the session of connection `conn` (if it registered): releases its interfaces,
    /// deregisters it, remembers its interfaces for its next registration.
    pub(crate) fn end_session(&mut self, conn: u64, why: &str, now: u64) {
        let Some(r) = self.handlers.sessions.remove(&conn) else {
            return;
        };
        let (name, peer) = {
            let s = r.shared.lock();
            (s.name.clone(), s.conn.peer)
        };
        let owned: Vec<IfKey> = self
            .fwd
            .manager()
            .protocols()
            .into_iter()
            .find(|p| p.handle == r.handle)
            .map(|p| p.interfaces)
            .unwrap_or_default();
        let mut names = self.handlers.remembered.remove(&name).unwrap_or_default();
        for iface in owned {
            let iname = self.fwd.interface_name(&iface);
            if let Err(e) = self
                .fwd
                .manager()
                .release_interface_ownership(now, r.handle, iface)
            {
                log::warn!("handler '{name}': releasing {iname}: {e}");
            }
            self.settle_manager(now);
            if self.fwd.reserved_for(&iname).is_none() {
                names.insert(iname);
            }
        }
        if let Err(e) = self.fwd.manager().deregister(r.handle) {
            log::warn!("handler '{name}': deregistering: {e}");
        }
        if !names.is_empty() {
            self.handlers.remembered.insert(name.clone(), names);
        }
        log::info!("handler '{name}' {why} ({peer}); its interfaces are released");
        // Packets that waited for its answers go on without it.
        self.fwd.retry_creations(None, &self.igmp, now);
        self.publish(Vec::new());
    }

    /// Disconnects the handlers that stopped reading (their outbox filled up): after every
    /// input of the loop, so no callback is lost silently for long.
    pub(crate) fn drop_slow_handlers(&mut self) {
        if self.handlers.count() == 0 {
            return;
        }
        if let Ok(now) = monotonic_ns() {
            self.drop_overflowed(now);
        }
    }

    /// Disconnects the sessions that stopped reading.
    fn drop_overflowed(&mut self, now: u64) {
        for conn in self.handlers.overflowed() {
            self.handlers.overflows += 1;
            if let Some(r) = self.handlers.sessions.get(&conn) {
                let s = r.shared.lock();
                log::warn!(
                    "handler '{}' stopped reading ({} lines queued); disconnecting it",
                    s.name,
                    crate::control::server::OUTBOX_LINES
                );
                s.conn.close();
            }
            self.end_session(conn, "disconnected for not reading", now);
        }
    }

    /// After a manager call: kernel actions, IGMP replays, events.
    pub(crate) fn settle_manager(&mut self, now: u64) {
        self.fwd.settle(&self.igmp, now);
    }

    /// The reply to a manager call that returns nothing.
    pub(super) fn done(&mut self, r: Result<(), MgmError>, what: &str, now: u64) -> Outcome {
        self.settle_manager(now);
        r.map(|()| Reply::Done).map_err(|e| mgm_error(what, e))
    }

    /// Forgets an interface the handler released on purpose.
    fn remembered_drop(&mut self, conn: &Connection, interface: &str) {
        if let Some(r) = self.handlers.session(conn) {
            let name = r.shared.lock().name.clone();
            if let Some(set) = self.handlers.remembered.get_mut(&name) {
                set.remove(interface);
            }
        }
    }
}

/// A manager error as a message naming what it was about.
/// The handler's handle, or why a request that needs one is refused.
fn need(h: Option<ProtocolHandle>) -> Result<ProtocolHandle, String> {
    h.ok_or_else(|| "register first: this request needs a registered handler".to_string())
}

fn mgm_error(what: &str, e: MgmError) -> String {
    match e {
        MgmError::NotFound => format!("{what}: not found"),
        MgmError::InvalidParameter(why) => format!("{what}: invalid: {why}"),
        e => format!("{what}: {e}"),
    }
}
