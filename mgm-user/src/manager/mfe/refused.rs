//! The (S,G)s refused lately at the MFE bound, so that a receiver joining one of their groups
//! gets the stream at once: its entry is made at the join instead of at the kernel's next
//! upcall, which comes only after the kernel drops its unresolved entry (up to 10 s).
//!
//! Bounded: the last [`MAX_REFUSED`] refused (S,G)s, the oldest dropped first; one refused
//! again moves to the back with its new packet. An (S,G) refused more than
//! [`REFUSED_FRESH_NS`] ago is not made at a join: a source still sending is refused again
//! at least every 10 s (each time the kernel's unresolved entry expires), one refused long ago
//! has likely stopped.
use super::{Manager, MfeKey};
use crate::manager::types::Sg;
use std::collections::VecDeque;

/// Most refused (S,G)s remembered.
pub(crate) const MAX_REFUSED: usize = 256;

/// How long a refusal counts as a source still sending: three of the kernel's 10 s.
pub(crate) const REFUSED_FRESH_NS: u64 = 30_000_000_000;

/// Most bytes of a refused packet's header kept for the RPF callback at the join.
const HEADER_BYTES: usize = 64;

/// One refused (S,G): where its packet arrived, its header (for the RPF callback), when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub key: MfeKey,
    pub arrival_ifindex: u32,
    pub header: Vec<u8>,
    pub at_ns: u64,
}

/// The refused (S,G)s, oldest first.
#[derive(Debug, Default)]
pub(crate) struct RefusedSgs(VecDeque<Refused>);

impl RefusedSgs {
    /// Notes a refusal at `at_ns`.
    pub(crate) fn push(&mut self, key: MfeKey, arrival_ifindex: u32, header: &[u8], at_ns: u64) {
        self.0.retain(|r| r.key != key);
        if self.0.len() >= MAX_REFUSED {
            self.0.pop_front();
        }
        self.0.push_back(Refused {
            key,
            arrival_ifindex,
            header: header[..header.len().min(HEADER_BYTES)].to_vec(),
            at_ns,
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Takes out the refusals a membership `sg` covers (its group, and its source if it names
    /// one), oldest first; those refused before `now_ns - REFUSED_FRESH_NS` are dropped.
    pub(crate) fn take_covered(&mut self, sg: Sg, now_ns: u64) -> Vec<Refused> {
        let covers = |k: &MfeKey| {
            sg.group.is_none_or(|g| g == k.group) && sg.source.is_none_or(|s| s == k.source)
        };
        let fresh_since = now_ns.saturating_sub(REFUSED_FRESH_NS);
        let mut taken = Vec::new();
        self.0.retain(|r| {
            if !covers(&r.key) {
                return true;
            }
            if r.at_ns >= fresh_since {
                taken.push(r.clone());
            }
            false
        });
        taken
    }
}

impl Manager {
    /// A membership `sg` was added on a new interface: the refused (S,G)s it covers are made
    /// now (past the bound: somebody wants them). One still refused (the new interface is its
    /// incoming one) goes back on the list, not counted again; one whose RPF answer is pending
    /// waits for the kernel's next upcall.
    pub(crate) fn make_refused(&mut self, sg: Sg) {
        if self.refused.len() == 0 {
            return;
        }
        for r in self.refused.take_covered(sg, self.now) {
            let MfeKey { source, group } = r.key;
            self.retrying_refused = Some(r.at_ns);
            let made = self.do_new_packet(source, group, r.arrival_ifindex, &r.header);
            self.retrying_refused = None;
            if let Err(e) = made {
                log::debug!("refused ({source}, {group}) not made at a join: {e}");
            }
        }
    }

    /// (Source, group) pairs refused lately, oldest first (for the tests).
    #[cfg(test)]
    pub(crate) fn refused_sgs(&self) -> Vec<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
        self.refused
            .0
            .iter()
            .map(|r| (r.key.source, r.key.group))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(g: u8, s: u8) -> MfeKey {
        MfeKey {
            group: Ipv4Addr::new(239, 0, 0, g),
            source: Ipv4Addr::new(192, 0, 2, s),
        }
    }

    #[test]
    fn the_list_keeps_the_last_refusals_once_each() {
        let mut l = RefusedSgs::default();
        for i in 0..MAX_REFUSED + 10 {
            l.push(
                key((i % 250) as u8, (i / 250) as u8 + 1),
                1,
                &[0; 100],
                i as u64,
            );
        }
        assert_eq!(l.len(), MAX_REFUSED, "bounded");
        assert_eq!(l.0[0].key, key(10, 1), "the oldest went first");
        assert_eq!(l.0[0].header.len(), HEADER_BYTES);
        // Refused again: moved to the back, not doubled.
        l.push(key(10, 1), 2, &[1], 1000);
        assert_eq!(l.len(), MAX_REFUSED);
        let last = l.0.back().unwrap();
        assert_eq!(
            (last.key, last.arrival_ifindex, last.at_ns),
            (key(10, 1), 2, 1000)
        );
    }

    #[test]
    fn a_membership_takes_what_it_covers_and_drops_the_stale() {
        let now = 100 * REFUSED_FRESH_NS;
        let mut l = RefusedSgs::default();
        l.push(key(1, 1), 1, &[], now - REFUSED_FRESH_NS - 1);
        l.push(key(1, 2), 1, &[], now);
        l.push(key(1, 3), 1, &[], now);
        l.push(key(2, 1), 1, &[], now);
        let g1 = Ipv4Addr::new(239, 0, 0, 1);
        let s3 = Ipv4Addr::new(192, 0, 2, 3);
        // (S3, G1): that one only.
        let taken = l.take_covered(Sg::sg(s3, g1), now);
        assert_eq!(taken.iter().map(|r| r.key).collect::<Vec<_>>(), [key(1, 3)]);
        // (*, G1): the rest of G1, the stale one dropped unmade.
        let taken = l.take_covered(Sg::star_g(g1), now);
        assert_eq!(taken.iter().map(|r| r.key).collect::<Vec<_>>(), [key(1, 2)]);
        assert_eq!(l.0.iter().map(|r| r.key).collect::<Vec<_>>(), [key(2, 1)]);
    }
}
