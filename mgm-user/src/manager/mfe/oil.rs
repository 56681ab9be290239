//! The OIL of an MFE and its consequences: recomputation from memberships, blocks, vetoes and
//! forward-state overrides; the join/prune alerts when it becomes non-empty or empty; the
//! kernel updates; deletion.
use super::{Mfe, MfeKey};
use crate::manager::actions::ForwarderAction;
use crate::manager::callbacks::PruneAlert;
use crate::manager::events::{EventArgs, EventKind};
use crate::manager::types::{IfKey, Sg};
use crate::manager::Manager;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

impl Manager {
    /// OIL of an MFE from memberships, blocks, vetoes and forward-state overrides; a static
    /// route's from its configuration only.
    pub(crate) fn compute_oil(&self, k: MfeKey, m: &Mfe) -> BTreeSet<IfKey> {
        if let Some(oil) = self.st.static_oil(k) {
            return oil;
        }
        let mut oil = BTreeSet::new();
        if m.rejected {
            return oil;
        }
        if let Some(e) = self.st.members.get(&Sg::sg(k.source, k.group)) {
            oil.extend(e.eff_ifaces());
        }
        for w in [Sg::star_g(k.group), Sg::STAR_STAR] {
            oil.extend(self.st.wildcard_oifs(w, k.source, k.group));
        }
        oil.extend(
            m.forced
                .iter()
                .filter(|i| self.st.ifaces.contains_key(i))
                .copied(),
        );
        for v in m.vetoed.iter().chain(&m.unforwarded) {
            oil.remove(v);
        }
        oil.remove(&m.iif);
        oil
    }

    /// Recomputes the OIL of `k`; on change: `SetMfe`, `mfe_update`, then the OIL alerts.
    pub(crate) fn refresh_oil(&mut self, k: MfeKey) {
        let Some(m) = self.st.mfes.get(&k) else {
            return;
        };
        let new = self.compute_oil(k, m);
        if new == m.oil {
            return;
        }
        let m = self.st.mfes.get_mut(&k).expect("present");
        let was_empty = m.oil.is_empty();
        m.oil = new;
        let is_empty = m.oil.is_empty();
        let iif = m.iif;
        self.push_set(k);
        let owner = self.st.mfe_owner(k, iif);
        self.emit(
            EventKind::MfeUpdate,
            owner,
            Some(iif),
            Sg::sg(k.source, k.group),
        );
        self.annotate(self.mfe_args(k));
        if self.st.is_static_mfe(k) {
            // A static route has no lifetime to change and no alerts.
            return;
        }
        if was_empty && !is_empty {
            // The prune alert's lifetime was the empty entry's: forwarding again, the MFE gets
            // its forwarding lifetime back, counted from now.
            let t = self.st.mfes.get(&k).map_or(0, |m| m.forward_timeout_s);
            self.schedule(k, self.now, t);
            self.mfe_join_alert(k);
        } else if !was_empty && is_empty {
            self.mfe_prune_alert(k);
        }
    }

    pub(super) fn mfe_join_alert(&mut self, k: MfeKey) {
        let Some(iif) = self.st.mfes.get(&k).map(|m| m.iif) else {
            return;
        };
        if let Some(o) = self.st.routing_owner(iif) {
            let sg = Sg::sg(k.source, k.group);
            let called = self.invoke(o, EventKind::JoinAlert, Some(iif), sg, |hd, ctx| {
                hd.join_alert(ctx, sg, false)
            });
            if called.is_some() {
                self.annotate(EventArgs::JoinAlert {
                    member_update: false,
                });
            }
        }
    }

    /// The prune alert of an entry nobody wants, offering it the negative lifetime; the
    /// owner's answer (or, without an owner, the offer) is its lifetime from now.
    pub(super) fn mfe_prune_alert(&mut self, k: MfeKey) {
        let Some(iif) = self.st.mfes.get(&k).map(|m| m.iif) else {
            return;
        };
        let mut t = self.st.cfg.negative_mfe_timeout_s;
        let Some(o) = self.st.routing_owner(iif) else {
            self.schedule(k, self.now, t);
            return;
        };
        let sg = Sg::sg(k.source, k.group);
        let alert = PruneAlert {
            sg,
            iface: iif,
            member_delete: false,
        };
        let called = self.invoke(o, EventKind::PruneAlert, Some(iif), sg, |hd, ctx| {
            hd.prune_alert(ctx, &alert, &mut t)
        });
        if called.is_some() {
            self.annotate(EventArgs::PruneAlert {
                member_delete: false,
                timeout_s: t,
            });
        }
        self.schedule(k, self.now, t);
    }

    pub(super) fn push_set(&mut self, k: MfeKey) {
        let m = &self.st.mfes[&k];
        self.actions.push(ForwarderAction::SetMfe {
            source: k.source,
            group: k.group,
            iif: m.iif.ifindex,
            oifs: kernel_oifs(m),
        });
    }

    /// Every MFE as the kernel should hold it, as its last `SetMfe` said: `SetMfe` actions in
    /// walk order (for the daemon's periodic comparison with the kernel's MFC).
    pub fn kernel_view(&self) -> Vec<ForwarderAction> {
        self.kernel_view_after(None, usize::MAX)
    }

    /// At most `max` MFEs after (group, source) `after` (`None`: from the first), as
    /// [`Self::kernel_view`] gives them: a piece of the reconcile's comparison, O(log n + max).
    pub fn kernel_view_after(
        &self,
        after: Option<(Ipv4Addr, Ipv4Addr)>,
        max: usize,
    ) -> Vec<ForwarderAction> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |(group, source)| {
            Bound::Excluded(MfeKey { group, source })
        });
        self.st
            .mfes
            .range((from, Bound::Unbounded))
            .take(max)
            .map(|(k, m)| ForwarderAction::SetMfe {
                source: k.source,
                group: k.group,
                iif: m.iif.ifindex,
                oifs: kernel_oifs(m),
            })
            .collect()
    }

    /// Removes an MFE: `DelMfe`, `mfe_delete`. No callback (MGM has none for deletions).
    pub(crate) fn delete_mfe(&mut self, k: MfeKey) {
        let Some(m) = self.st.remove_mfe(k) else {
            return;
        };
        if let Some(t) = m.expires_ns {
            self.st.timers.remove(&(t, k));
        }
        self.actions.push(ForwarderAction::DelMfe {
            source: k.source,
            group: k.group,
            iif: m.iif.ifindex,
        });
        let owner = self.st.mfe_owner(k, m.iif);
        self.emit(
            EventKind::MfeDelete,
            owner,
            Some(m.iif),
            Sg::sg(k.source, k.group),
        );
        self.annotate(EventArgs::Mfe {
            iif: m.iif,
            oifs: m.oil.iter().copied().collect(),
            upstream: m.upstream,
            negative: m.rejected,
        });
    }
}

/// The outgoing interfaces of an MFE as the kernel gets them: ascending ifindexes, without the
/// incoming one.
fn kernel_oifs(m: &Mfe) -> Vec<u32> {
    let mut oifs: Vec<u32> = m
        .oil
        .iter()
        .map(|i| i.ifindex)
        .filter(|i| *i != m.iif.ifindex)
        .collect();
    oifs.dedup();
    oifs
}
