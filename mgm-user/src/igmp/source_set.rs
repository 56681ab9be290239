//! [`SourceSet`]: a set of source addresses as a sorted vector, the first four inline. The
//! RFC 3376 tables work on small sets (a record's sources, A, X, Y, their differences): a
//! `BTreeSet` allocates a node for each set that is not empty, this allocates nothing up to four
//! sources. Iteration is in ascending address order, as a `BTreeSet`'s.

use std::net::Ipv4Addr;

use smallvec::SmallVec;

/// A set of source addresses, sorted, without duplicates (module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceSet(SmallVec<[Ipv4Addr; 4]>);

impl SourceSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, s: &Ipv4Addr) -> bool {
        self.0.binary_search(s).is_ok()
    }

    /// Adds `s`; false when it was there already.
    pub fn insert(&mut self, s: Ipv4Addr) -> bool {
        match self.0.binary_search(&s) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, s);
                true
            }
        }
    }

    pub fn retain(&mut self, mut f: impl FnMut(&Ipv4Addr) -> bool) {
        self.0.retain(|s| f(s));
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// In ascending address order.
    pub fn iter(&self) -> std::slice::Iter<'_, Ipv4Addr> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Ipv4Addr] {
        &self.0
    }

    /// The sources of `self` not in `other`, in ascending order.
    pub fn difference<'a>(&'a self, other: &'a SourceSet) -> impl Iterator<Item = &'a Ipv4Addr> {
        sorted_difference(&self.0, &other.0)
    }

    /// The sources in both, in ascending order.
    pub fn intersection<'a>(&'a self, other: &'a SourceSet) -> impl Iterator<Item = &'a Ipv4Addr> {
        self.0.iter().filter(move |s| other.contains(s))
    }

    /// Replaces the content with `sources`, which come in ascending order without duplicates
    /// (from another sorted set or a source map), keeping the buffer.
    pub fn assign_sorted(&mut self, sources: impl Iterator<Item = Ipv4Addr>) {
        self.0.clear();
        self.0.extend(sources);
        debug_assert!(self.0.windows(2).all(|w| w[0] < w[1]), "not sorted");
    }
}

/// The addresses of `a` not in `b`, both sorted, in ascending order.
pub fn sorted_difference<'a>(
    a: &'a [Ipv4Addr],
    b: &'a [Ipv4Addr],
) -> impl Iterator<Item = &'a Ipv4Addr> {
    a.iter().filter(move |s| b.binary_search(s).is_err())
}

impl FromIterator<Ipv4Addr> for SourceSet {
    /// Any order, duplicates allowed.
    fn from_iter<I: IntoIterator<Item = Ipv4Addr>>(iter: I) -> Self {
        let mut v: SmallVec<[Ipv4Addr; 4]> = iter.into_iter().collect();
        if !v.windows(2).all(|w| w[0] < w[1]) {
            v.sort_unstable();
            v.dedup();
        }
        SourceSet(v)
    }
}

impl<'a> FromIterator<&'a Ipv4Addr> for SourceSet {
    fn from_iter<I: IntoIterator<Item = &'a Ipv4Addr>>(iter: I) -> Self {
        iter.into_iter().copied().collect()
    }
}

impl<'a> IntoIterator for &'a SourceSet {
    type Item = &'a Ipv4Addr;
    type IntoIter = std::slice::Iter<'a, Ipv4Addr>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for SourceSet {
    type Item = Ipv4Addr;
    type IntoIter = smallvec::IntoIter<[Ipv4Addr; 4]>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(i: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, i)
    }

    #[test]
    fn collects_sorted_without_duplicates_in_any_order() {
        let s: SourceSet = [a(9), a(1), a(5), a(1), a(9), a(3)].into_iter().collect();
        assert_eq!(s.as_slice(), &[a(1), a(3), a(5), a(9)]);
        let many: SourceSet = (0..40u8).rev().chain(0..40).map(a).collect();
        assert_eq!(many.len(), 40, "past the inline four");
        assert!(many.iter().zip(many.iter().skip(1)).all(|(x, y)| x < y));
    }

    #[test]
    fn set_operations_match_a_btreeset() {
        use std::collections::BTreeSet;
        let xs = [a(1), a(2), a(4), a(8), a(16), a(32)];
        let ys = [a(2), a(3), a(4), a(32), a(64)];
        let (x, y): (SourceSet, SourceSet) = (xs.iter().collect(), ys.iter().collect());
        let (bx, by): (BTreeSet<_>, BTreeSet<_>) = (xs.into(), ys.into());
        let d: Vec<_> = x.difference(&y).copied().collect();
        let bd: Vec<_> = bx.difference(&by).copied().collect();
        assert_eq!(d, bd);
        let i: Vec<_> = x.intersection(&y).copied().collect();
        let bi: Vec<_> = bx.intersection(&by).copied().collect();
        assert_eq!(i, bi);
        assert!(x.contains(&a(16)) && !x.contains(&a(3)));
    }

    #[test]
    fn insert_keeps_order_and_refuses_a_duplicate() {
        let mut s = SourceSet::new();
        assert!(s.insert(a(5)));
        assert!(s.insert(a(1)));
        assert!(!s.insert(a(5)));
        s.retain(|x| *x != a(1));
        assert_eq!(s.as_slice(), &[a(5)]);
    }
}
