//! Upcalls waiting for the FIB's answer about their source. Kept by source, so that an answer
//! finds its upcalls without a scan of every waiting one (a burst of new sources parks
//! thousands), and handed over in arrival order.
use crate::sys::upcall::Upcall;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// One parked upcall: the upcall, the ifindex it arrived on, the packet's header.
pub(super) type ParkedUpcall = (Upcall, u32, Vec<u8>);

#[derive(Default)]
pub(super) struct Parked {
    /// By source: (arrival number, upcall).
    by_source: HashMap<Ipv4Addr, Vec<(u64, ParkedUpcall)>>,
    arrivals: u64,
}

impl Parked {
    /// Parks `p` until its source's answer.
    pub(super) fn push(&mut self, p: ParkedUpcall) {
        self.arrivals += 1;
        self.by_source
            .entry(p.0.source)
            .or_default()
            .push((self.arrivals, p));
    }

    /// The upcalls of `sources`, in arrival order; they are no longer parked.
    pub(super) fn take(&mut self, sources: &[Ipv4Addr]) -> Vec<ParkedUpcall> {
        let mut ready: Vec<(u64, ParkedUpcall)> = sources
            .iter()
            .filter_map(|s| self.by_source.remove(s))
            .flatten()
            .collect();
        ready.sort_unstable_by_key(|(n, _)| *n);
        ready.into_iter().map(|(_, p)| p).collect()
    }

    /// Forgets the upcalls that arrived on `ifindex` (the interface is gone).
    pub(super) fn drop_arrivals_on(&mut self, ifindex: u32) {
        self.by_source.retain(|_, v| {
            v.retain(|(_, (_, arrival, _))| *arrival != ifindex);
            !v.is_empty()
        });
    }

    /// Upcalls parked.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_source.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::{Parked, ParkedUpcall};
    use crate::sys::upcall::{Upcall, UpcallKind};
    use std::net::Ipv4Addr;

    fn up(source: [u8; 4], group: u8, ifindex: u32) -> ParkedUpcall {
        let u = Upcall {
            kind: UpcallKind::NoCache,
            vif: 0,
            source: Ipv4Addr::from(source),
            group: Ipv4Addr::new(239, 1, 1, group),
        };
        (u, ifindex, vec![group])
    }
    const A: [u8; 4] = [192, 0, 2, 1];
    const B: [u8; 4] = [192, 0, 2, 2];
    const C: [u8; 4] = [198, 51, 100, 3];

    #[test]
    fn an_answer_releases_its_sources_upcalls_in_arrival_order() {
        let mut p = Parked::default();
        for (s, g) in [(A, 1), (B, 2), (A, 3), (C, 4), (B, 5)] {
            p.push(up(s, g, 7));
        }
        let got: Vec<u8> = p
            .take(&[Ipv4Addr::from(B), Ipv4Addr::from(A)])
            .into_iter()
            .map(|(_, _, h)| h[0])
            .collect();
        assert_eq!(
            got,
            vec![1, 2, 3, 5],
            "arrival order, not the answers' order"
        );
        assert_eq!(p.len(), 1);
        assert!(p.take(&[Ipv4Addr::from(A)]).is_empty(), "taken once");
        assert_eq!(p.take(&[Ipv4Addr::from(C)]).len(), 1);
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn a_gone_interface_drops_what_arrived_on_it() {
        let mut p = Parked::default();
        p.push(up(A, 1, 7));
        p.push(up(A, 2, 8));
        p.push(up(B, 3, 7));
        p.drop_arrivals_on(7);
        let got = p.take(&[Ipv4Addr::from(A), Ipv4Addr::from(B)]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, 8);
    }
}
