//! Walks: MFEs by group then source, group enumeration.
use super::*;

#[test]
fn mfe_walk_is_by_group_then_source() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    let keys = [(S2, G2), (S1, G2), (S2, G1), (S3, G1), (S1, G1)];
    for (s, g) in keys {
        h.pkt(s, g, 1).unwrap();
    }
    let want = [(S1, G1), (S2, G1), (S3, G1), (S1, G2), (S2, G2)];
    let (first, more) = h.m.mfe_first(h.now, 2);
    assert!(more);
    let mut got: Vec<(Ipv4Addr, Ipv4Addr)> = first.iter().map(|m| (m.source, m.group)).collect();
    let mut last = *got.last().unwrap();
    loop {
        let (next, more) = h.m.mfe_next(h.now, last.0, last.1, 2);
        got.extend(next.iter().map(|m| (m.source, m.group)));
        last = *got.last().unwrap();
        if !more {
            break;
        }
    }
    assert_eq!(got, want);
    assert_eq!(h.m.mfe_table(h.now).len(), 5);
}

#[test]
fn group_enumeration() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    h.take(a, &[1, 2]);
    h.add(a, Sg::sg(S1, G2), 1).unwrap();
    h.add(a, Sg::star_g(G1), 1).unwrap();
    h.add(a, Sg::star_g(G1), 2).unwrap();
    h.add(a, Sg::sg(S1, G1), 2).unwrap();
    let e =
        h.m.group_enumeration_start(a, EnumType::AllSources)
            .unwrap();
    let (rows, more) = h.m.group_enumeration_next(e, 2).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(more);
    let (rest, more) = h.m.group_enumeration_next(e, 10).unwrap();
    assert!(!more);
    let mut all = rows;
    all.extend(rest);
    assert_eq!(all, vec![Sg::star_g(G1), Sg::sg(S1, G1), Sg::sg(S1, G2)]);
    h.m.group_enumeration_end(e).unwrap();
    assert_eq!(
        h.m.group_enumeration_next(e, 1),
        Err(MgmError::InvalidParameter(Invalid::UnknownEnumeration))
    );
    assert_eq!(
        h.m.groups(EnumType::AnySource),
        vec![Sg::star_g(G1), Sg::star_g(G2)]
    );
}
