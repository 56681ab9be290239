//! Static routes of the `static` protocol (smcroute's `mroute`): an MFE (S,G) installed at once
//! (no packet needed), with a fixed incoming interface and OIL.
//!
//! * The incoming interface is the configured one whatever the FIB says: no RPF lookup, no RPF
//!   callback, and a WRONGVIF never rebuilds the entry (the `wrong_interface` callback still
//!   goes to the arrival interface's owner). A NOCACHE for it re-installs it as it stands.
//! * The OIL is exactly the configured interfaces that are managed: memberships, blocks,
//!   forward-state changes and creation-alert vetoes do not change it (a receiver of the group
//!   elsewhere gets a dynamic MFE of another source, not this one).
//! * It never ages (timeout 0; `set_mfe_timeout` on it is `CanNotComplete`), and it gets no
//!   creation, join or prune alerts. Events: `mfe_add` / `mfe_update` / `mfe_delete` as for any
//!   MFE, with the protocol `static`; `MfeInfo::protocol` is "static".
//! * The route stays configured when its interfaces stop being managed: an OIF nobody manages
//!   leaves the OIL (and comes back when an owner takes it again); while the incoming
//!   interface is unmanaged the MFE is deleted, and installed again when it is taken back.
//!   Meanwhile the (S,G) is an ordinary dynamic MFE if packets come elsewhere; installing the
//!   route replaces such an entry (`mfe_delete`, then `mfe_add`).
use super::{Mfe, MfeKey};
use crate::manager::events::EventKind;
use crate::manager::types::{IfKey, MfeCounters, ProtocolHandle, Sg};
use crate::manager::{Invalid, Manager, MgmError, MgmResult, State};
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The manager's side of one static route (`mgm route` or the file): the MFE it stands for.
#[derive(Clone, Debug)]
pub(crate) struct StaticMfe {
    /// The `static` client that added it.
    pub owner: ProtocolHandle,
    pub iif: IfKey,
    pub oifs: BTreeSet<IfKey>,
    /// The MFE of its (S,G) is this route (the incoming interface is managed).
    pub installed: bool,
}

/// A static route as [`Manager::static_routes`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaticRouteInfo {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    pub iif: IfKey,
    /// As configured (also the ones not managed at the moment).
    pub oifs: Vec<IfKey>,
    /// Its MFE is in the table (the incoming interface is managed).
    pub installed: bool,
}

impl State {
    /// The MFE `k` is a static route's.
    pub(crate) fn is_static_mfe(&self, k: MfeKey) -> bool {
        self.static_routes.get(&k).is_some_and(|r| r.installed)
    }
    /// The protocol an MFE is reported under: the static route's owner, else the owner of its
    /// incoming interface.
    pub(crate) fn mfe_owner(&self, k: MfeKey, iif: IfKey) -> Option<ProtocolHandle> {
        match self.static_routes.get(&k) {
            Some(r) if r.installed => Some(r.owner),
            _ => self.owner(iif),
        }
    }
    /// The OIL of a static route's MFE: its managed OIFs (never on the incoming interface's
    /// kernel interface). `None` for any other MFE.
    pub(crate) fn static_oil(&self, k: MfeKey) -> Option<BTreeSet<IfKey>> {
        let r = self.static_routes.get(&k).filter(|r| r.installed)?;
        Some(
            r.oifs
                .iter()
                .filter(|i| i.ifindex != r.iif.ifindex && self.ifaces.contains_key(i))
                .copied()
                .collect(),
        )
    }
}

impl Manager {
    /// A static route (S,G) from `iif` to `oifs`, installed at once (`SetMfe`). Replaces the
    /// route of the same (S,G) (an MFE update, or delete and add if the incoming interface
    /// changed) and any dynamic MFE of it. `NotFound` if `iif` or an OIF is not managed;
    /// `InvalidParameter` for an invalid (S,G), `iif` among the OIFs (also as another next hop
    /// of the same kernel interface), or `h` not a `static` client. Empty `oifs`: a negative
    /// entry that drops the traffic.
    pub fn add_static_route(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: IfKey,
        oifs: &[IfKey],
    ) -> MgmResult<()> {
        self.begin(now);
        let r = self.do_add_static_route(h, source, group, iif, oifs);
        self.finish(r)
    }

    /// Deletes a static route and its MFE (`DelMfe`). `NotFound` if `h` has no route for
    /// (S,G). A later packet makes an ordinary MFE.
    pub fn delete_static_route(
        &mut self,
        now: u64,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
    ) -> MgmResult<()> {
        self.begin(now);
        let r = (|| {
            self.st.check_static(h)?;
            let k = MfeKey { group, source };
            if self.st.static_routes.get(&k).is_none_or(|r| r.owner != h) {
                return Err(MgmError::NotFound);
            }
            if self.st.is_static_mfe(k) {
                self.delete_mfe(k);
            }
            self.st.static_routes.remove(&k);
            Ok(())
        })();
        self.finish(r)
    }

    /// Every static route, in MFE walk order (group, then source).
    pub fn static_routes(&self) -> Vec<StaticRouteInfo> {
        self.st
            .static_routes
            .iter()
            .map(|(k, r)| StaticRouteInfo {
                source: k.source,
                group: k.group,
                iif: r.iif,
                oifs: r.oifs.iter().copied().collect(),
                installed: r.installed,
            })
            .collect()
    }

    fn do_add_static_route(
        &mut self,
        h: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: IfKey,
        oifs: &[IfKey],
    ) -> MgmResult<()> {
        self.st.check_static(h)?;
        if !Sg::sg(source, group).is_valid() {
            return Err(MgmError::InvalidParameter(Invalid::MalformedSg));
        }
        if oifs.iter().any(|o| o.ifindex == iif.ifindex) {
            return Err(MgmError::InvalidParameter(Invalid::IifInOil));
        }
        if !std::iter::once(&iif)
            .chain(oifs)
            .all(|i| self.st.ifaces.contains_key(i))
        {
            return Err(MgmError::NotFound);
        }
        let k = MfeKey { group, source };
        let installed = self.st.is_static_mfe(k);
        let moved = self.st.static_routes.get(&k).is_some_and(|r| r.iif != iif);
        if installed && moved {
            self.delete_mfe(k);
        }
        self.st.static_routes.insert(
            k,
            StaticMfe {
                owner: h,
                iif,
                oifs: oifs.iter().copied().collect(),
                installed: installed && !moved,
            },
        );
        self.sync_static_route(k);
        Ok(())
    }

    /// Brings the MFE of the static route `k` in line with its configuration and the managed
    /// interfaces: installed while its incoming interface is managed (replacing a dynamic MFE),
    /// its OIL refreshed, deleted while it is not.
    fn sync_static_route(&mut self, k: MfeKey) {
        let Some(r) = self.st.static_routes.get(&k) else {
            return;
        };
        let (iif, installed) = (r.iif, r.installed);
        let wanted = self.st.ifaces.contains_key(&iif);
        match (installed, wanted) {
            (true, true) => self.refresh_oil(k),
            (true, false) => {
                self.delete_mfe(k);
                if let Some(r) = self.st.static_routes.get_mut(&k) {
                    r.installed = false;
                }
            }
            (false, true) => {
                // A dynamic MFE of the (S,G) gives way.
                self.delete_mfe(k);
                self.install_static_route(k, iif);
            }
            (false, false) => {}
        }
    }

    fn install_static_route(&mut self, k: MfeKey, iif: IfKey) {
        if let Some(r) = self.st.static_routes.get_mut(&k) {
            r.installed = true;
        }
        let oil = self.st.static_oil(k).unwrap_or_default();
        self.st.insert_mfe(
            k,
            Mfe {
                iif,
                upstream: Ipv4Addr::UNSPECIFIED,
                rejected: false,
                oil,
                vetoed: BTreeSet::new(),
                forced: BTreeSet::new(),
                unforwarded: BTreeSet::new(),
                fib_ifindex: None,
                timeout_s: 0,
                forward_timeout_s: 0,
                created_ns: self.now,
                expires_ns: None,
                counters: MfeCounters::default(),
            },
        );
        self.push_set(k);
        let owner = self.st.mfe_owner(k, iif);
        self.emit(
            EventKind::MfeAdd,
            owner,
            Some(iif),
            Sg::sg(k.source, k.group),
        );
        self.annotate(self.mfe_args(k));
    }

    /// Re-syncs every static route using `iface` (incoming or outgoing) after it became
    /// managed or stopped being managed.
    pub(crate) fn sync_static_routes_on(&mut self, iface: IfKey) {
        let keys: Vec<MfeKey> = self
            .st
            .static_routes
            .iter()
            .filter(|(_, r)| r.iif == iface || r.oifs.contains(&iface))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.sync_static_route(k);
        }
    }
}
