//! Interface names by ifindex, shared by the forwarding shell (views, events) and the external
//! handlers' callbacks (which name interfaces on the wire). The daemon's one thread uses it.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone, Debug, Default)]
pub(crate) struct InterfaceNames(Arc<Mutex<BTreeMap<u32, String>>>);

impl InterfaceNames {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u32, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn insert(&self, ifindex: u32, name: &str) {
        self.lock().insert(ifindex, name.to_string());
    }
    pub(crate) fn remove(&self, ifindex: u32) {
        self.lock().remove(&ifindex);
    }
    /// The name of a known interface, `ifindex N` for others.
    pub(crate) fn name(&self, ifindex: u32) -> String {
        self.lock()
            .get(&ifindex)
            .cloned()
            .unwrap_or_else(|| format!("ifindex {ifindex}"))
    }
    /// Whether `ifindex` is a known interface.
    pub(crate) fn knows(&self, ifindex: u32) -> bool {
        self.lock().contains_key(&ifindex)
    }
    /// The ifindex of a known interface name.
    pub(crate) fn index_of(&self, name: &str) -> Option<u32> {
        self.lock()
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(i, _)| *i)
    }
}
