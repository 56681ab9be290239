//! The answers to the callbacks that ask (rpf, creation_alert, prune_alert): kept for the
//! packet offered again, or applied; and the defaults taken when a deadline passes.
use super::iface_key;
use super::remote::{Question, RpfAnswer};
use crate::control::api::handler::AnswerArgs;
use crate::control::api::RpfVerdictView;
use crate::control::server::Connection;
use crate::daemon::state::Daemon;

impl Daemon {
    /// An answer to a callback question.
    pub(super) fn answer(&mut self, conn: &Connection, a: AnswerArgs, now: u64) {
        let Some(r) = self.handlers.session(conn) else {
            return;
        };
        let (h, shared) = (r.handle, r.shared.clone());
        let mut s = shared.lock();
        s.now = now;
        let Some(asked) = s.asked.remove(&a.callback_id) else {
            self.handlers.late_answers += 1;
            log::debug!(
                "handler '{}': answer to unknown or expired callback {}",
                s.name,
                a.callback_id
            );
            return;
        };
        let (source, group) = (asked.source, asked.group);
        let names = self.fwd.names().clone();
        let retry = match asked.question {
            Question::Rpf => {
                let iif = a.iif.as_deref().and_then(|n| {
                    let i = names.index_of(n).map(iface_key);
                    if i.is_none() {
                        log::warn!("handler '{}': rpf answer names unknown iif {n}", s.name);
                    }
                    i
                });
                s.answer_rpf(
                    source,
                    group,
                    RpfAnswer {
                        reject: a.verdict == Some(RpfVerdictView::Reject),
                        iif,
                        upstream: a.upstream,
                    },
                );
                true
            }
            Question::Creation(offered) => {
                let vetoed = a
                    .vetoed
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|n| names.index_of(n).map(iface_key))
                    .filter(|i| offered.contains(i))
                    .collect();
                s.answer_creation(source, group, vetoed);
                true
            }
            Question::Prune(_) => false,
        };
        // The lock goes before any manager call: those may call the handler's callbacks.
        drop(s);
        if retry {
            self.fwd
                .retry_creations(Some(&[(source, group)]), &self.igmp, now);
        } else if let Some(t) = a.timeout_s {
            // A prune alert's lifetime, only while the entry is still empty: receivers may be
            // back.
            let empty = self
                .fwd
                .manager()
                .mfe(now, source, group)
                .is_ok_and(|m| m.negative);
            if empty {
                let r = self.fwd.manager().set_mfe_timeout(now, h, source, group, t);
                let _ = self.done(r, "prune alert answer", now);
            }
        }
    }

    /// Answers not given in time: the defaults are taken, the packets offered again.
    pub(crate) fn expire_answers(&mut self, now: u64) {
        let mut retry = Vec::new();
        for r in self.handlers.sessions.values() {
            let mut s = r.shared.lock();
            for a in s.expire(now) {
                self.handlers.timeouts += 1;
                if let Some(more) = self.handlers.timeout_log.allow(now) {
                    let what = match a.question {
                        Question::Rpf => "rpf (the FIB's incoming interface is used)",
                        Question::Creation(_) => "creation_alert (nothing vetoed)",
                        Question::Prune(_) => "prune_alert (mgm's lifetime is kept)",
                    };
                    log::warn!(
                        "handler '{}' did not answer {what} for ({}, {}) within {} ms{}",
                        s.name,
                        a.source,
                        a.group,
                        self.handlers.deadline_ns / 1_000_000,
                        crate::daemon::igmp_log::more(more)
                    );
                }
                if !matches!(a.question, Question::Prune(_)) {
                    retry.push((a.source, a.group));
                }
            }
        }
        if !retry.is_empty() {
            self.fwd.retry_creations(Some(&retry), &self.igmp, now);
            self.publish(Vec::new());
        }
    }
}
