//! Join/prune alert fan-out to routing protocols.
use super::*;

#[test]
fn star_g_alert_fanout_one_two_three_protocols() {
    // (number of protocols, steps (protocol index, add?), expected log per step)
    type Step = (usize, bool, &'static [&'static str]);
    let g = "(*,239.1.1.1)";
    let _ = g;
    let cases: Vec<(usize, Vec<Step>)> = vec![
        (1, vec![(0, true, &[]), (0, false, &[])]),
        (
            2,
            vec![
                (0, true, &["B join (*,239.1.1.1) update=true"]),
                (1, true, &["A join (*,239.1.1.1) update=true"]),
                (1, false, &["A prune (*,239.1.1.1) if3 delete=true"]),
                (0, false, &["B prune (*,239.1.1.1) if2 delete=true"]),
            ],
        ),
        (
            3,
            vec![
                // 1st client: everybody else; 2nd: the first only; 3rd: nobody.
                (
                    0,
                    true,
                    &[
                        "B join (*,239.1.1.1) update=true",
                        "C join (*,239.1.1.1) update=true",
                    ],
                ),
                (1, true, &["A join (*,239.1.1.1) update=true"]),
                (2, true, &[]),
                // Leaving: 3 → 2 clients: nobody; 2 → 1: the remaining one; 1 → 0: all others.
                (2, false, &[]),
                (0, false, &["B prune (*,239.1.1.1) if2 delete=true"]),
                (
                    1,
                    false,
                    &[
                        "A prune (*,239.1.1.1) if3 delete=true",
                        "C prune (*,239.1.1.1) if3 delete=true",
                    ],
                ),
            ],
        ),
    ];
    for (n, steps) in cases {
        let mut h = H::new();
        let names = ["A", "B", "C"];
        let hs: Vec<ProtocolHandle> = (0..n)
            .map(|i| {
                let (p, _) = h.routing(names[i]);
                h.take(p, &[2 + i as u32]);
                p
            })
            .collect();
        h.clear();
        for (k, (i, add, want)) in steps.into_iter().enumerate() {
            let r = if add {
                h.add(hs[i], Sg::star_g(G1), 2 + i as u32)
            } else {
                h.del(hs[i], Sg::star_g(G1), 2 + i as u32)
            };
            assert_eq!(r, Ok(()));
            assert_eq!(h.log(), strs(want), "{n} protocols, step {k}");
        }
    }
}

#[test]
fn second_interface_of_a_client_does_not_alert() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (_b, _) = h.routing("B");
    h.take(a, &[2, 3]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.log(), strs(&["B join (*,239.1.1.1) update=true"]));
    h.add(a, Sg::star_g(G1), 3).unwrap();
    h.del(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    h.del(a, Sg::star_g(G1), 3).unwrap();
    assert_eq!(h.log(), strs(&["B prune (*,239.1.1.1) if3 delete=true"]));
}

#[test]
fn sg_alerts_go_only_to_the_rpf_owner() {
    let mut h = H::new();
    let (a, _) = h.routing("A"); // owns if1, the RPF interface towards 192.0.2.0/24
    let (b, _) = h.routing("B");
    let (c, _) = h.routing("C");
    h.take(a, &[1]);
    h.take(b, &[3]);
    h.take(c, &[4]);
    let sg = Sg::sg(S1, G1);
    h.add(b, sg, 3).unwrap();
    assert_eq!(
        h.log(),
        strs(&["A join (192.0.2.10,239.1.1.1) update=true"])
    );
    h.add(c, sg, 4).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    h.del(c, sg, 4).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
    h.del(b, sg, 3).unwrap();
    assert_eq!(
        h.log(),
        strs(&["A prune (192.0.2.10,239.1.1.1) if3 delete=true"])
    );
    // The RPF owner itself joining gets no alert.
    h.add(a, sg, 1).unwrap();
    assert_eq!(h.log(), Vec::<String>::new());
}
