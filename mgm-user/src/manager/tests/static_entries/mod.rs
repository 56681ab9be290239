//! The built-in protocol `static`: static joins (permanent receivers, delegated like IGMP's)
//! and static routes (MFEs installed at once with a fixed incoming interface and OIL).
use super::static_protocol::register_static;
use super::*;

fn del_mfe(source: Ipv4Addr, group: Ipv4Addr, iif: u32) -> ForwarderAction {
    ForwarderAction::DelMfe { source, group, iif }
}

impl H {
    fn sjoin(&mut self, s: ProtocolHandle, sg: Sg, i: u32) -> MgmResult<()> {
        self.m.add_static_join(self.now, s, sg, ifk(i))
    }
    fn sleave(&mut self, s: ProtocolHandle, sg: Sg, i: u32) -> MgmResult<()> {
        self.m.delete_static_join(self.now, s, sg, ifk(i))
    }
    fn sroute(
        &mut self,
        s: ProtocolHandle,
        src: Ipv4Addr,
        iif: u32,
        oifs: &[u32],
    ) -> MgmResult<()> {
        let oifs: Vec<IfKey> = oifs.iter().map(|i| ifk(*i)).collect();
        self.m
            .add_static_route(self.now, s, src, G1, ifk(iif), &oifs)
    }
    /// `local` and IGMP on if1..if4, `static` registered; MFE (S1,G1) in on if1, negative.
    fn local_igmp_static() -> (H, ProtocolHandle, ProtocolHandle, ProtocolHandle) {
        let mut h = H::new();
        let l = register_local(&mut h.m).unwrap();
        let (i, _) = h.igmp("igmp");
        let s = register_static(&mut h.m).unwrap();
        h.take(l, &[1, 2, 3, 4]);
        h.take(i, &[1, 2, 3, 4]);
        h.pkt(S1, G1, 1).unwrap();
        assert_eq!(h.oifs(S1, G1), Vec::<u32>::new());
        h.clear();
        (h, l, i, s)
    }
}

mod joins;
mod routes;
