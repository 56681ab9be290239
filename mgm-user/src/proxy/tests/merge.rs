//! RFC 4605 §4.1 / RFC 3376 §3.2: merging the downstream subscriptions of a group, rule by rule.

use super::*;

fn m(records: &[Filter]) -> Filter {
    let forward = merge(records);
    let backward = merge(records.iter().rev());
    assert_eq!(forward, backward, "order does not matter");
    forward
}

#[test]
fn no_records_is_no_interest() {
    assert_eq!(m(&[]), Filter::none());
    assert!(m(&[]).is_none());
    assert_eq!(m(&[Filter::none(), Filter::none()]), Filter::none());
}

#[test]
fn includes_are_united() {
    assert_eq!(m(&[inc(&[S1])]), inc(&[S1]));
    assert_eq!(m(&[inc(&[S1, S2]), inc(&[S2, S3])]), inc(&[S1, S2, S3]));
    assert_eq!(m(&[inc(&[S1]), Filter::none(), inc(&[S3])]), inc(&[S1, S3]));
}

#[test]
fn excludes_are_intersected() {
    assert_eq!(m(&[exc(&[S1, S2])]), exc(&[S1, S2]));
    assert_eq!(m(&[exc(&[S1, S2]), exc(&[S2, S3])]), exc(&[S2]));
    assert_eq!(
        m(&[exc(&[S1, S2, S3]), exc(&[S2, S3, S4]), exc(&[S3, S2])]),
        exc(&[S2, S3])
    );
    // A plain join anywhere lets every source through.
    assert_eq!(m(&[exc(&[S1]), exc(&[])]), exc(&[]));
}

#[test]
fn exclude_minus_includes() {
    assert_eq!(m(&[exc(&[S1, S2]), inc(&[S2])]), exc(&[S1]));
    assert_eq!(m(&[exc(&[S1, S2]), inc(&[S1, S2, S3])]), exc(&[]));
    assert_eq!(
        m(&[exc(&[S1]), inc(&[S3])]),
        exc(&[S1]),
        "S3 already passes"
    );
}

#[test]
fn mixed() {
    // EXCLUDE({S1,S2,S3}) ∩ EXCLUDE({S2,S3,S4}) = {S2,S3}, minus INCLUDE {S3} ∪ {S1} → {S2}.
    assert_eq!(
        m(&[
            exc(&[S1, S2, S3]),
            inc(&[S3]),
            Filter::none(),
            exc(&[S2, S3, S4]),
            inc(&[S1]),
        ]),
        exc(&[S2])
    );
    // Exclude mode wins even with an empty include beside it.
    assert_eq!(m(&[Filter::none(), exc(&[S4])]), exc(&[S4]));
}

#[test]
fn filter_helpers() {
    assert!(exc(&[]).is_exclude() && !exc(&[]).is_none());
    assert!(!inc(&[S1]).is_none() && !inc(&[S1]).is_exclude());
    assert!(inc(&[S1]).forwards(S1) && !inc(&[S1]).forwards(S2));
    assert!(!exc(&[S1]).forwards(S1) && exc(&[S1]).forwards(S2));
    assert_eq!(Filter::default(), Filter::none());
    assert_eq!(
        exc(&[S2, S1]).to_string(),
        "EXCLUDE(203.0.113.1, 203.0.113.2)"
    );
    assert_eq!(Filter::none().to_string(), "INCLUDE()");
}

#[test]
fn filters_from_router_group_states() {
    use crate::igmp::{FilterMode, GroupState, SourceRec};
    let with = |mode: FilterMode, sources: &[(Ipv4Addr, u64)]| {
        let mut g = GroupState::new(G);
        g.mode = mode;
        for (s, timer) in sources {
            g.sources.insert(
                *s,
                SourceRec {
                    timer: *timer,
                    rexmit: 0,
                },
            );
        }
        Filter::of_router_group(&g)
    };
    // INCLUDE(A): the sources with running timers.
    assert_eq!(
        with(FilterMode::Include, &[(S1, T0), (S2, T0)]),
        inc(&[S1, S2])
    );
    assert_eq!(with(FilterMode::Include, &[]), Filter::none());
    // EXCLUDE(X, Y): Y only (timer 0); X is forwarded like any unlisted source.
    assert_eq!(
        with(FilterMode::Exclude, &[(S1, T0), (S2, 0), (S3, 0)]),
        exc(&[S2, S3])
    );
    assert_eq!(with(FilterMode::Exclude, &[(S1, T0)]), exc(&[]));
    // Two downstream interfaces: EXCLUDE(X={S1}, Y={S2, S3}) and INCLUDE({S3}) → EXCLUDE({S2}).
    assert_eq!(
        merge(&[
            with(FilterMode::Exclude, &[(S1, T0), (S2, 0), (S3, 0)]),
            with(FilterMode::Include, &[(S3, T0)]),
        ]),
        exc(&[S2])
    );
}
