//! How a [`GroupState`] is laid out in memory: the common case (an any-source group, joined by
//! IGMPv2 or IGMPv3 hosts, no last-member queries running) holds everything inline, in under
//! 100 bytes; what only some groups need lives out of line and is allocated only while in use:
//!
//! - the source records ([`SourceMap`]: a sorted vector behind a pointer, the first record
//!   inline in the box, none while the group has no source);
//! - [`Rare`]: the IGMPv1 host-present timer, the last-member query retransmissions, and the
//!   source entries written to the maps and the (S,G) forwarding told to the manager. It is
//!   dropped again ([`GroupState::settle`]) once it holds nothing.
//!
//! Flags are bits of one byte. Nothing here changes what the group does: the accessors give
//! the values an absent part stands for (0, none, empty).

use std::net::Ipv4Addr;

use mgm_common::{MemberState, SourceState};
use smallvec::SmallVec;

use super::group::{ForwardingState, GroupState, SourceRec};
use super::source_set::SourceSet;

/// A group's `MGM_SOURCES` entries as written, sorted by source without duplicates; the first
/// inline (in [`Rare`], which a group with sources has anyway).
pub(crate) type WrittenSources = SmallVec<[(Ipv4Addr, SourceState); 1]>;

/// The entry written for `s`, if any.
pub(crate) fn written_source(w: &[(Ipv4Addr, SourceState)], s: Ipv4Addr) -> Option<&SourceState> {
    w.binary_search_by_key(&s, |(k, _)| *k)
        .ok()
        .map(|i| &w[i].1)
}

/// The source records of a group, sorted by source without duplicates, behind one pointer:
/// none while the group has no source, one allocation for the first (inline in the box), a
/// second buffer only beyond one source. Given back when it empties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap(Option<Box<SourceRecs>>);

type SourceRecs = SmallVec<[(Ipv4Addr, SourceRec); 1]>;

impl SourceMap {
    fn recs(&self) -> &[(Ipv4Addr, SourceRec)] {
        self.0.as_deref().map_or(&[], |v| v.as_slice())
    }

    fn find(&self, s: &Ipv4Addr) -> Result<usize, usize> {
        self.recs().binary_search_by_key(s, |(k, _)| *k)
    }

    fn settle(&mut self) {
        if self.0.as_ref().is_some_and(|m| m.is_empty()) {
            self.0 = None;
        }
    }

    pub fn len(&self) -> usize {
        self.recs().len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs().is_empty()
    }

    pub fn get(&self, s: &Ipv4Addr) -> Option<&SourceRec> {
        self.find(s).ok().map(|i| &self.recs()[i].1)
    }

    pub fn contains_key(&self, s: &Ipv4Addr) -> bool {
        self.find(s).is_ok()
    }

    /// In ascending source order.
    pub fn iter(&self) -> impl Iterator<Item = (&Ipv4Addr, &SourceRec)> {
        self.recs().iter().map(|(s, r)| (s, r))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Ipv4Addr> {
        self.recs().iter().map(|(s, _)| s)
    }

    pub fn values(&self) -> impl Iterator<Item = &SourceRec> {
        self.recs().iter().map(|(_, r)| r)
    }

    pub fn insert(&mut self, s: Ipv4Addr, r: SourceRec) -> Option<SourceRec> {
        match self.find(&s) {
            Ok(i) => self.0.as_mut().map(|v| std::mem::replace(&mut v[i].1, r)),
            Err(i) => {
                self.0
                    .get_or_insert_with(Default::default)
                    .insert(i, (s, r));
                None
            }
        }
    }

    pub fn get_mut(&mut self, s: &Ipv4Addr) -> Option<&mut SourceRec> {
        let i = self.find(s).ok()?;
        self.0.as_mut().map(|v| &mut v[i].1)
    }

    pub fn remove(&mut self, s: &Ipv4Addr) -> Option<SourceRec> {
        let i = self.find(s).ok()?;
        let r = self.0.as_mut().map(|v| v.remove(i).1);
        self.settle();
        r
    }

    pub fn retain(&mut self, mut f: impl FnMut(&Ipv4Addr, &mut SourceRec) -> bool) {
        if let Some(m) = self.0.as_mut() {
            m.retain(|(s, r)| f(s, r));
        }
        self.settle();
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Ipv4Addr, &mut SourceRec)> {
        self.0
            .iter_mut()
            .flat_map(|m| m.iter_mut().map(|(s, r)| (&*s, r)))
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut SourceRec> {
        self.0.iter_mut().flat_map(|m| m.iter_mut().map(|(_, r)| r))
    }
}

impl<'a> IntoIterator for &'a SourceMap {
    type Item = (&'a Ipv4Addr, &'a SourceRec);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Ipv4Addr, SourceRec)>,
        fn(&'a (Ipv4Addr, SourceRec)) -> (&'a Ipv4Addr, &'a SourceRec),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.recs().iter().map(|(s, r)| (s, r))
    }
}

/// What few groups need, out of line (module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rare {
    /// IGMPv1 Host Present timer deadline (§7.3.2), 0 when not running.
    v1_host_timer: u64,
    /// Q(G) transmissions still to send (§6.6.3.1).
    group_rexmit: u32,
    /// Next Q(G) retransmission, 0 = none.
    group_rexmit_at: u64,
    /// Next Q(G,S) retransmission, 0 = none.
    source_rexmit_at: u64,
    /// The group's `MGM_SOURCES` entries as written.
    written_sources: WrittenSources,
    /// (S,G) joined, as told to the manager (INCLUDE mode sources).
    told_include: SourceSet,
    /// Blocked sources, as told to the manager (EXCLUDE mode list Y).
    told_blocked: SourceSet,
}

impl Rare {
    /// The entry written for `s`, to update in place.
    pub(crate) fn written_source_mut(&mut self, s: Ipv4Addr) -> Option<&mut SourceState> {
        let w = &mut self.written_sources;
        w.binary_search_by_key(&s, |(k, _)| *k)
            .ok()
            .map(|i| &mut w[i].1)
    }
}

/// [`GroupState::bits`]: the `MGM_MEMBERS` entry was written ([`GroupState::written_member`]).
const WRITTEN: u8 = 1;
/// The manager was told (*,G) ([`ForwardingState::star`]).
const TOLD_STAR: u8 = 2;
/// The group counts for a host in the per-host limit ([`GroupState::holder`]).
const HELD: u8 = 4;

/// The forwarding state a group last told the manager, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ForwardingStateRef<'a> {
    pub star: bool,
    /// Sorted, as in a [`SourceSet`].
    pub include: &'a [Ipv4Addr],
    /// Sorted, as in a [`SourceSet`].
    pub blocked: &'a [Ipv4Addr],
}

impl ForwardingState {
    pub(crate) fn as_ref(&self) -> ForwardingStateRef<'_> {
        ForwardingStateRef {
            star: self.star,
            include: self.include.as_slice(),
            blocked: self.blocked.as_slice(),
        }
    }
}

impl ForwardingStateRef<'static> {
    /// Nothing forwarded.
    pub(crate) const NONE: ForwardingStateRef<'static> = ForwardingStateRef {
        star: false,
        include: &[],
        blocked: &[],
    };
}

impl crate::dense_map::Keyed for GroupState {
    type Key = Ipv4Addr;
    fn key(&self) -> Ipv4Addr {
        self.group
    }
}

impl GroupState {
    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Default::default)
    }

    /// Sets a field of [`Rare`]; a 0 into an absent `Rare` allocates nothing.
    fn set_rare<T: Default + PartialEq>(&mut self, v: T, field: impl FnOnce(&mut Rare) -> &mut T) {
        if v == T::default() && self.rare.is_none() {
            return;
        }
        *field(self.rare_mut()) = v;
    }

    /// Drops what is out of line and holds nothing (end of each call that changed the group).
    pub(crate) fn settle(&mut self) {
        if self.rare.as_deref().is_some_and(|r| *r == Rare::default()) {
            self.rare = None;
        }
    }

    /// IGMPv1 Host Present timer deadline (§7.3.2), 0 when not running.
    pub fn v1_host_timer(&self) -> u64 {
        self.rare.as_ref().map_or(0, |r| r.v1_host_timer)
    }
    pub(crate) fn set_v1_host_timer(&mut self, t: u64) {
        self.set_rare(t, |r| &mut r.v1_host_timer);
    }
    /// Q(G) transmissions still to send (§6.6.3.1).
    pub fn group_rexmit(&self) -> u32 {
        self.rare.as_ref().map_or(0, |r| r.group_rexmit)
    }
    pub(crate) fn set_group_rexmit(&mut self, n: u32) {
        self.set_rare(n, |r| &mut r.group_rexmit);
    }
    /// Next Q(G) retransmission, 0 = none.
    pub fn group_rexmit_at(&self) -> u64 {
        self.rare.as_ref().map_or(0, |r| r.group_rexmit_at)
    }
    pub(crate) fn set_group_rexmit_at(&mut self, t: u64) {
        self.set_rare(t, |r| &mut r.group_rexmit_at);
    }
    /// Next Q(G,S) retransmission, 0 = none.
    pub fn source_rexmit_at(&self) -> u64 {
        self.rare.as_ref().map_or(0, |r| r.source_rexmit_at)
    }
    pub(crate) fn set_source_rexmit_at(&mut self, t: u64) {
        self.set_rare(t, |r| &mut r.source_rexmit_at);
    }

    /// The `MGM_MEMBERS` entry as last written (the kernel's refresh counter included), if any.
    pub(crate) fn written_member(&self) -> Option<MemberState> {
        (self.bits & WRITTEN != 0).then_some(self.written)
    }
    pub(crate) fn set_written_member(&mut self, m: Option<MemberState>) {
        match m {
            Some(m) => {
                self.written = m;
                self.bits |= WRITTEN;
            }
            None => {
                self.written = MemberState::default();
                self.bits &= !WRITTEN;
            }
        }
    }

    /// The group's `MGM_SOURCES` entries as written.
    pub(crate) fn written_sources(&self) -> &[(Ipv4Addr, SourceState)] {
        self.rare.as_ref().map_or(&[], |r| &r.written_sources)
    }
    /// Sets the entries as written (sorted by source, without duplicates); the ones they
    /// replace, for their buffer.
    pub(crate) fn replace_written_sources(&mut self, w: WrittenSources) -> WrittenSources {
        debug_assert!(w.windows(2).all(|p| p[0].0 < p[1].0), "not sorted");
        if w.is_empty() && self.rare.is_none() {
            return w;
        }
        std::mem::replace(&mut self.rare_mut().written_sources, w)
    }

    /// The §6.3 forwarding state as last told to the manager.
    pub(crate) fn told(&self) -> ForwardingStateRef<'_> {
        let star = self.bits & TOLD_STAR != 0;
        match &self.rare {
            Some(r) => ForwardingStateRef {
                star,
                include: r.told_include.as_slice(),
                blocked: r.told_blocked.as_slice(),
            },
            None => ForwardingStateRef {
                star,
                ..ForwardingStateRef::NONE
            },
        }
    }
    pub(crate) fn set_told(&mut self, f: ForwardingState) {
        if f.star {
            self.bits |= TOLD_STAR;
        } else {
            self.bits &= !TOLD_STAR;
        }
        self.set_rare(f.include, |r| &mut r.told_include);
        self.set_rare(f.blocked, |r| &mut r.told_blocked);
    }

    /// The host this group counts for in the per-host limit (`None` once empty).
    pub fn holder(&self) -> Option<Ipv4Addr> {
        (self.bits & HELD != 0).then_some(self.holder)
    }
    /// Sets the holder; the one it replaces.
    pub(crate) fn replace_holder(&mut self, h: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
        let old = self.holder();
        match h {
            Some(h) => {
                self.holder = h;
                self.bits |= HELD;
            }
            None => {
                self.holder = Ipv4Addr::UNSPECIFIED;
                self.bits &= !HELD;
            }
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes that make the per-group memory (the goal: ≤ 200 bytes per group, all tables
    /// together, so 20 000 groups fit a small router). A field added inline to the common case
    /// shows here first.
    #[test]
    fn the_common_case_stays_small() {
        use std::mem::size_of;
        assert!(size_of::<GroupState>() <= 96, "{}", size_of::<GroupState>());
        assert_eq!(size_of::<SourceMap>(), 8);
        assert_eq!(size_of::<Option<Box<Rare>>>(), 8);
    }

    #[test]
    fn source_records_stay_sorted_by_source_whatever_the_insertion_order() {
        let rec = |timer| SourceRec { timer, rexmit: 0 };
        let a = |i| Ipv4Addr::new(192, 0, 2, i);
        let mut m = SourceMap::default();
        for i in [9, 1, 200, 5, 3] {
            assert_eq!(m.insert(a(i), rec(u64::from(i))), None);
        }
        assert_eq!(
            m.insert(a(5), rec(50)),
            Some(rec(5)),
            "a second insert replaces"
        );
        let keys: Vec<_> = m.keys().copied().collect();
        assert_eq!(keys, [a(1), a(3), a(5), a(9), a(200)]);
        assert_eq!(m.get(&a(5)), Some(&rec(50)));
        assert_eq!(m.remove(&a(1)), Some(rec(1)));
        assert_eq!(m.remove(&a(1)), None);
        m.retain(|s, _| *s != a(200));
        assert_eq!(
            m.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            [a(3), a(5), a(9)]
        );
        assert!(!m.contains_key(&a(200)) && m.contains_key(&a(9)));
    }

    #[test]
    fn out_of_line_parts_come_and_go_with_their_use() {
        let mut g = GroupState::new(Ipv4Addr::new(239, 1, 1, 1));
        g.set_v1_host_timer(0);
        g.set_group_rexmit_at(0);
        g.set_told(ForwardingState {
            star: true,
            ..ForwardingState::default()
        });
        assert!(g.rare.is_none(), "zeros and a (*,G) need no allocation");
        assert!(g.told().star);
        g.sources.retain(|_, _| true);
        g.sources.remove(&Ipv4Addr::new(192, 0, 2, 1));
        assert!(g.sources.0.is_none());
        g.set_v1_host_timer(7);
        assert_eq!(g.v1_host_timer(), 7);
        g.settle();
        assert!(g.rare.is_some(), "a running v1 timer is kept");
        g.set_v1_host_timer(0);
        g.settle();
        assert!(g.rare.is_none(), "given back once it holds nothing");
        let s = Ipv4Addr::new(192, 0, 2, 1);
        g.sources.insert(
            s,
            SourceRec {
                timer: 5,
                rexmit: 0,
            },
        );
        assert_eq!(g.sources.len(), 1);
        g.sources.remove(&s);
        assert!(g.sources.0.is_none(), "an emptied source map is freed");
        assert_eq!(g.holder(), None);
        assert_eq!(g.replace_holder(Some(s)), None);
        assert_eq!(g.replace_holder(None), Some(s));
    }
}
