//! The manager's side of an external handler: a [`ProtocolHandler`] that writes each callback
//! to the handler's connection as a [`CallbackLine`] and never waits for it.
//!
//! Callbacks that need an answer (RPF, creation alert) are asked once per (S,G): the first call
//! sends the question and answers [`RpfVerdict::Pending`] / [`Answer::Pending`], so the manager
//! makes no MFE yet; when the answer arrives (or the deadline passes and the default is taken,
//! [`Session::expire`]) it is kept for [`ANSWER_TTL_NS`], and the daemon offers the packet
//! again: this time the call answers at once from what was kept. A prune alert's lifetime is
//! asked the same way but never holds anything up: the manager keeps its proposal, and an
//! answer in time is applied afterwards with `set_mfe_timeout`.
use crate::control::api::handler::{Callback, CallbackLine, CreationOif};
use crate::control::server::{Connection, SendError};
use crate::daemon::names::InterfaceNames;
use crate::manager::{
    Answer, CallbackContext, CreationIf, IfKey, ProtocolHandler, PruneAlert, RpfRequest,
    RpfVerdict, Sg,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};

/// How long an answer is kept for the packet offered again (and for the same (S,G) soon
/// after).
pub(crate) const ANSWER_TTL_NS: u64 = 10_000_000_000;

/// What a question was about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Question {
    Rpf,
    /// The interfaces offered.
    Creation(Vec<IfKey>),
    /// The lifetime mgm proposed.
    Prune(u32),
}

/// A question waiting for its answer.
#[derive(Clone, Debug)]
pub(crate) struct Asked {
    pub question: Question,
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    pub deadline_ns: u64,
}

/// The RPF answer kept for an (S,G): `None` fields keep the proposal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RpfAnswer {
    pub reject: bool,
    pub iif: Option<IfKey>,
    pub upstream: Option<Ipv4Addr>,
}

/// One registered handler's state, shared by its [`RemoteHandler`] (inside the manager) and
/// the daemon (which reads its requests and answers).
pub(crate) struct Session {
    pub name: String,
    pub conn: Connection,
    names: InterfaceNames,
    deadline_ns: u64,
    /// The manager's time of the call being made (callbacks run inside manager calls).
    pub now: u64,
    seq: u64,
    next_id: u64,
    /// Its outbox was full once: the daemon disconnects it.
    pub overflowed: bool,
    pub asked: BTreeMap<u64, Asked>,
    rpf_answers: HashMap<(Ipv4Addr, Ipv4Addr), (RpfAnswer, u64)>,
    creation_answers: HashMap<(Ipv4Addr, Ipv4Addr), (Vec<IfKey>, u64)>,
}

/// The handle the daemon and the [`RemoteHandler`] share.
#[derive(Clone)]
pub(crate) struct SharedSession(Arc<Mutex<Session>>);

impl SharedSession {
    pub(crate) fn new(
        name: &str,
        conn: Connection,
        names: InterfaceNames,
        deadline_ns: u64,
    ) -> Self {
        SharedSession(Arc::new(Mutex::new(Session {
            name: name.to_string(),
            conn,
            names,
            deadline_ns,
            now: 0,
            seq: 0,
            next_id: 1,
            overflowed: false,
            asked: BTreeMap::new(),
            rpf_answers: HashMap::new(),
            creation_answers: HashMap::new(),
        })))
    }
    pub(crate) fn lock(&self) -> MutexGuard<'_, Session> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Session {
    /// Writes one callback line; `ask` makes it a question (it gets an id and a deadline).
    pub(crate) fn send(
        &mut self,
        callback: Callback,
        iface: Option<IfKey>,
        sg: Sg,
        ask: Option<(Question, Ipv4Addr, Ipv4Addr)>,
    ) {
        self.seq += 1;
        let (id, deadline_ms) = match ask {
            Some((question, source, group)) => {
                let id = self.next_id;
                self.next_id += 1;
                self.asked.insert(
                    id,
                    Asked {
                        question,
                        source,
                        group,
                        deadline_ns: self.now.saturating_add(self.deadline_ns),
                    },
                );
                (Some(id), Some(self.deadline_ns / 1_000_000))
            }
            None => (None, None),
        };
        let line = CallbackLine {
            seq: self.seq,
            callback,
            protocol: self.name.clone(),
            interface: iface.map(|i| self.names.name(i.ifindex)),
            source: sg.source,
            group: sg.group,
            id,
            deadline_ms,
        };
        let Ok(text) = serde_json::to_string(&line) else {
            return;
        };
        if self.conn.send(text) == Err(SendError::Full) {
            self.overflowed = true;
        }
    }

    fn pending(&self, source: Ipv4Addr, group: Ipv4Addr, rpf: bool) -> bool {
        self.asked.values().any(|a| {
            a.source == source
                && a.group == group
                && matches!(
                    (&a.question, rpf),
                    (Question::Rpf, true) | (Question::Creation(_), false)
                )
        })
    }

    /// Keeps an RPF answer for (S,G).
    pub(crate) fn answer_rpf(&mut self, source: Ipv4Addr, group: Ipv4Addr, a: RpfAnswer) {
        self.rpf_answers.insert((source, group), (a, self.now));
    }

    /// Keeps a creation-alert answer (the vetoed interfaces) for (S,G).
    pub(crate) fn answer_creation(&mut self, source: Ipv4Addr, group: Ipv4Addr, v: Vec<IfKey>) {
        self.creation_answers.insert((source, group), (v, self.now));
    }

    /// Forgets the answers about (S,G) (its MFE was deleted on request: ask again).
    pub(crate) fn forget(&mut self, source: Ipv4Addr, group: Ipv4Addr) {
        self.rpf_answers.remove(&(source, group));
        self.creation_answers.remove(&(source, group));
    }

    /// The earliest deadline of a question.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.asked.values().map(|a| a.deadline_ns).min()
    }

    /// Questions whose deadline passed by `now`: removed, their defaults kept (accept the
    /// proposal, veto nothing), and returned. Answers older than [`ANSWER_TTL_NS`] go.
    pub(crate) fn expire(&mut self, now: u64) -> Vec<Asked> {
        self.now = now;
        let late: Vec<u64> = self
            .asked
            .iter()
            .filter(|(_, a)| a.deadline_ns <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        for id in late {
            let Some(a) = self.asked.remove(&id) else {
                continue;
            };
            match a.question {
                Question::Rpf => self.answer_rpf(a.source, a.group, RpfAnswer::default()),
                Question::Creation(_) => self.answer_creation(a.source, a.group, Vec::new()),
                Question::Prune(_) => {}
            }
            out.push(a);
        }
        let fresh = |t: &u64| now.saturating_sub(*t) < ANSWER_TTL_NS;
        self.rpf_answers.retain(|_, (_, t)| fresh(t));
        self.creation_answers.retain(|_, (_, t)| fresh(t));
        out
    }
}

/// The [`ProtocolHandler`] of an external handler.
pub(crate) struct RemoteHandler(pub SharedSession);

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl ProtocolHandler for RemoteHandler {
    fn rpf(&mut self, ctx: &mut CallbackContext<'_>, req: &mut RpfRequest<'_>) -> RpfVerdict {
        let mut s = self.0.lock();
        s.now = ctx.now();
        let key = (req.source, req.group);
        let fresh = |t: u64| ctx.now().saturating_sub(t) < ANSWER_TTL_NS;
        if let Some((a, _)) = s.rpf_answers.get(&key).copied().filter(|(_, t)| fresh(*t)) {
            if let Some(i) = a.iif {
                req.in_iface = i;
            }
            if let Some(u) = a.upstream {
                req.upstream = u;
            }
            return if a.reject {
                RpfVerdict::Reject
            } else {
                RpfVerdict::Accept
            };
        }
        if !s.pending(req.source, req.group, true) {
            let iif = s.names.name(req.in_iface.ifindex);
            let callback = Callback::Rpf {
                arrival: s.names.name(req.arrival.ifindex),
                iif,
                upstream: req.upstream,
                header: hex(req.header),
            };
            let sg = Sg::sg(req.source, req.group);
            s.send(
                callback,
                Some(req.in_iface),
                sg,
                Some((Question::Rpf, req.source, req.group)),
            );
        }
        RpfVerdict::Pending
    }

    fn creation_alert(
        &mut self,
        ctx: &mut CallbackContext<'_>,
        source: Ipv4Addr,
        group: Ipv4Addr,
        in_iface: IfKey,
        oifs: &mut [CreationIf],
    ) -> Answer {
        let mut s = self.0.lock();
        s.now = ctx.now();
        let fresh = |t: &u64| ctx.now().saturating_sub(*t) < ANSWER_TTL_NS;
        if let Some((vetoed, _)) = s
            .creation_answers
            .get(&(source, group))
            .filter(|(_, t)| fresh(t))
        {
            for o in oifs.iter_mut() {
                if vetoed.contains(&o.iface) {
                    o.enabled = false;
                }
            }
            return Answer::Given;
        }
        if !s.pending(source, group, false) {
            let callback = Callback::CreationAlert {
                iif: s.names.name(in_iface.ifindex),
                oifs: oifs
                    .iter()
                    .map(|o| CreationOif {
                        interface: s.names.name(o.iface.ifindex),
                        igmp: o.igmp,
                    })
                    .collect(),
            };
            let offered = oifs.iter().map(|o| o.iface).collect();
            s.send(
                callback,
                Some(in_iface),
                Sg::sg(source, group),
                Some((Question::Creation(offered), source, group)),
            );
        }
        Answer::Pending
    }

    fn join_alert(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, member_update: bool) {
        let mut s = self.0.lock();
        s.now = ctx.now();
        s.send(Callback::JoinAlert { member_update }, None, sg, None);
    }

    fn prune_alert(&mut self, ctx: &mut CallbackContext<'_>, alert: &PruneAlert, t: &mut u32) {
        let mut s = self.0.lock();
        s.now = ctx.now();
        let callback = Callback::PruneAlert {
            member_delete: alert.member_delete,
            timeout_s: *t,
        };
        // Only an emptied MFE's lifetime is the handler's to set.
        let ask = match (alert.member_delete, alert.sg.source, alert.sg.group) {
            (false, Some(src), Some(grp)) => Some((Question::Prune(*t), src, grp)),
            _ => None,
        };
        s.send(callback, Some(alert.iface), alert.sg, ask);
    }

    fn wrong_interface(
        &mut self,
        ctx: &mut CallbackContext<'_>,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: IfKey,
        header: &[u8],
    ) {
        let mut s = self.0.lock();
        s.now = ctx.now();
        let callback = Callback::WrongInterface {
            header: hex(header),
        };
        s.send(callback, Some(iface), Sg::sg(source, group), None);
    }

    fn local_join(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        let mut s = self.0.lock();
        s.now = ctx.now();
        s.send(Callback::LocalJoin, Some(iface), sg, None);
    }

    fn local_leave(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, iface: IfKey) {
        let mut s = self.0.lock();
        s.now = ctx.now();
        s.send(Callback::LocalLeave, Some(iface), sg, None);
    }

    fn disable_igmp(&mut self, ctx: &mut CallbackContext<'_>, iface: IfKey) {
        let mut s = self.0.lock();
        s.now = ctx.now();
        s.send(Callback::DisableIgmp, Some(iface), Sg::STAR_STAR, None);
    }

    fn enable_igmp(&mut self, ctx: &mut CallbackContext<'_>, iface: IfKey) {
        let mut s = self.0.lock();
        s.now = ctx.now();
        s.send(Callback::EnableIgmp, Some(iface), Sg::STAR_STAR, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::peer::Peer;
    use crate::control::server::Out;
    use tokio::sync::mpsc;

    const S: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);

    fn session(capacity: usize) -> (SharedSession, mpsc::Receiver<Out>) {
        let (tx, rx) = mpsc::channel(capacity);
        let peer = Peer {
            uid: 0,
            gid: 0,
            pid: None,
            access: crate::control::peer::Access::Full,
        };
        let names = InterfaceNames::default();
        names.insert(3, "eth3");
        let conn = Connection::for_test(1, peer, tx);
        (SharedSession::new("ext", conn, names, 100_000_000), rx)
    }

    fn line(rx: &mut mpsc::Receiver<Out>) -> serde_json::Value {
        match rx.try_recv().expect("a line") {
            Out::Line(l) => serde_json::from_str(&l).unwrap(),
            Out::Part(..) => panic!("a piece of a line, not a line"),
        }
    }

    #[test]
    fn lines_are_numbered_and_questions_carry_an_id_and_a_deadline() {
        let (s, mut rx) = session(8);
        let mut s = s.lock();
        s.now = 5_000_000_000;
        s.send(
            Callback::LocalJoin,
            Some(IfKey::new(3)),
            Sg::star_g(G),
            None,
        );
        s.send(
            Callback::Rpf {
                arrival: "eth3".into(),
                iif: "eth3".into(),
                upstream: S,
                header: "45".into(),
            },
            Some(IfKey::new(3)),
            Sg::sg(S, G),
            Some((Question::Rpf, S, G)),
        );
        let a = line(&mut rx);
        assert_eq!(
            (a["seq"].as_u64(), a["callback"].as_str()),
            (Some(1), Some("local_join"))
        );
        assert_eq!(a["interface"], "eth3");
        assert!(a["source"].is_null() && a.get("id").is_none(), "{a}");
        let b = line(&mut rx);
        assert_eq!(b["seq"], 2);
        assert_eq!(
            (b["id"].as_u64(), b["deadline_ms"].as_u64()),
            (Some(1), Some(100))
        );
        assert_eq!(s.next_deadline(), Some(5_100_000_000));
        assert!(s.pending(S, G, true) && !s.pending(S, G, false));
    }

    #[test]
    fn an_unanswered_question_expires_into_the_default() {
        let (s, _rx) = session(8);
        let mut s = s.lock();
        s.now = 1_000;
        s.send(
            Callback::ReplayEnd,
            None,
            Sg::sg(S, G),
            Some((Question::Creation(vec![IfKey::new(3)]), S, G)),
        );
        assert!(s.expire(1_000 + 99_999_999).is_empty(), "not yet");
        let late = s.expire(1_000 + 100_000_000);
        assert_eq!(late.len(), 1);
        assert!(!s.pending(S, G, false), "answered by default");
        assert_eq!(
            s.creation_answers.get(&(S, G)).map(|(v, _)| v.clone()),
            Some(vec![]),
            "the default vetoes nothing"
        );
        // Kept answers go after their time.
        s.expire(1_000 + 100_000_000 + ANSWER_TTL_NS);
        assert!(s.creation_answers.is_empty());
    }

    #[test]
    fn a_full_outbox_marks_the_session_for_disconnection() {
        let (s, _rx) = session(1);
        let mut s = s.lock();
        s.send(Callback::LocalJoin, None, Sg::star_g(G), None);
        assert!(!s.overflowed);
        s.send(Callback::LocalLeave, None, Sg::star_g(G), None);
        assert!(s.overflowed);
    }
}
