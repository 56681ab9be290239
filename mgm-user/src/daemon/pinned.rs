//! The pinned map entries of one interface, paired for re-adoption: each group's member entry
//! with its group's source entries. One pass over each list: a restart at scale holds hundreds
//! of thousands of source entries, which a scan per group would compare with every member.
use std::collections::HashMap;
use std::hash::Hash;

/// The member entries, each with its group's source entries, and the source entries of no
/// member entry (orphans).
pub(crate) struct Paired<M, S> {
    pub(crate) groups: Vec<(M, Vec<S>)>,
    pub(crate) orphans: Vec<S>,
}

/// Pairs `members` with `sources` by group (`member_group`, `source_group`: an entry's group).
/// Reads each source entry's group once.
pub(crate) fn pair_by_group<M, S, G: Hash + Eq>(
    members: Vec<M>,
    sources: Vec<S>,
    member_group: impl Fn(&M) -> G,
    mut source_group: impl FnMut(&S) -> G,
) -> Paired<M, S> {
    let mut by_group: HashMap<G, Vec<S>> = HashMap::with_capacity(members.len());
    for s in sources {
        by_group.entry(source_group(&s)).or_default().push(s);
    }
    let groups = members
        .into_iter()
        .map(|m| {
            let srcs = by_group.remove(&member_group(&m)).unwrap_or_default();
            (m, srcs)
        })
        .collect();
    Paired {
        groups,
        orphans: by_group.into_values().flatten().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_gets_its_own_sources_and_the_rest_are_orphans() {
        let members = vec![(1u32, 'a'), (2, 'b'), (3, 'c')];
        let sources = vec![(2u32, 20), (1, 10), (9, 90), (2, 21), (1, 11)];
        let p = pair_by_group(members, sources, |m| m.0, |s| s.0);
        let got: Vec<(char, Vec<u32>)> = p
            .groups
            .iter()
            .map(|(m, s)| (m.1, s.iter().map(|x| x.1).collect()))
            .collect();
        assert_eq!(
            got,
            vec![('a', vec![10, 11]), ('b', vec![20, 21]), ('c', vec![])]
        );
        assert_eq!(p.orphans, vec![(9, 90)]);
    }

    #[test]
    fn pairing_reads_each_source_entry_once_at_scale() {
        // 5 000 groups × 10 sources, as the maps' dump of one interface returns them:
        // interleaved, not grouped.
        let (groups, per_group) = (5_000u32, 10u32);
        let members: Vec<u32> = (0..groups).collect();
        let sources: Vec<(u32, u32)> = (0..per_group)
            .flat_map(|s| (0..groups).map(move |g| (g, s)))
            .collect();
        let total = sources.len() as u64;
        let mut visits = 0u64;
        let p = pair_by_group(
            members,
            sources,
            |m| *m,
            |s| {
                visits += 1;
                s.0
            },
        );
        assert!(p.groups.iter().all(|(_, s)| s.len() == per_group as usize));
        assert!(p.orphans.is_empty());
        assert!(
            visits <= u64::from(groups) + total,
            "{visits} source-entry visits for {groups} groups and {total} sources"
        );
    }
}
