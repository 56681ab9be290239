//! Older-version hosts (RFC 3376 §7.3.2): how v1/v2 messages and v3 records are read while a
//! group is in IGMPv1 or IGMPv2 compatibility mode.

use crate::igmp::source_set::SourceSet;

use mgm_common::igmp::RecordType;

/// A report-side input of the state machine, before translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostInput {
    V1Report,
    V2Report,
    V2Leave,
    /// A v3 group record (type as received).
    V3Record(RecordType),
}

/// Translates an input for a group whose effective compatibility mode is `compat` (the group's
/// mode, capped by the version the interface runs) into the record to apply, or `None` when the
/// input is ignored:
/// - v1/v2 reports → IS_EX({});
/// - v2 leave → TO_IN({}), ignored in v1 mode;
/// - v1/v2 mode: BLOCK ignored, TO_EX(x) → TO_EX({});
/// - v1 mode: TO_IN ignored as well;
/// - unknown record types are ignored (RFC 3376 §4.2.12).
pub fn translate(
    compat: u8,
    input: HostInput,
    sources: SourceSet,
) -> Option<(RecordType, SourceSet)> {
    match input {
        HostInput::V1Report | HostInput::V2Report => {
            Some((RecordType::IsExclude, SourceSet::new()))
        }
        HostInput::V2Leave => (compat >= 2).then(|| (RecordType::ToInclude, SourceSet::new())),
        HostInput::V3Record(rt) => match rt {
            RecordType::Unknown(_) => None,
            RecordType::BlockOld if compat <= 2 => None,
            RecordType::ToExclude if compat <= 2 => Some((RecordType::ToExclude, SourceSet::new())),
            RecordType::ToInclude if compat == 1 => None,
            rt => Some((rt, sources)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn set(n: &[u8]) -> SourceSet {
        n.iter().map(|i| Ipv4Addr::new(192, 0, 2, *i)).collect()
    }

    #[test]
    fn v3_mode_passes_everything_known() {
        for rt in [
            RecordType::IsInclude,
            RecordType::IsExclude,
            RecordType::ToInclude,
            RecordType::ToExclude,
            RecordType::AllowNew,
            RecordType::BlockOld,
        ] {
            assert_eq!(
                translate(3, HostInput::V3Record(rt), set(&[1])),
                Some((rt, set(&[1])))
            );
        }
        assert_eq!(
            translate(3, HostInput::V3Record(RecordType::Unknown(7)), set(&[1])),
            None
        );
        assert_eq!(
            translate(3, HostInput::V2Leave, set(&[])),
            Some((RecordType::ToInclude, set(&[])))
        );
    }

    #[test]
    fn v2_mode_rules() {
        assert_eq!(
            translate(2, HostInput::V2Report, set(&[])),
            Some((RecordType::IsExclude, set(&[])))
        );
        assert_eq!(
            translate(2, HostInput::V2Leave, set(&[])),
            Some((RecordType::ToInclude, set(&[])))
        );
        assert_eq!(
            translate(2, HostInput::V3Record(RecordType::BlockOld), set(&[1])),
            None
        );
        assert_eq!(
            translate(2, HostInput::V3Record(RecordType::ToExclude), set(&[1])),
            Some((RecordType::ToExclude, set(&[])))
        );
        assert_eq!(
            translate(2, HostInput::V3Record(RecordType::ToInclude), set(&[1])),
            Some((RecordType::ToInclude, set(&[1])))
        );
        assert_eq!(
            translate(2, HostInput::V3Record(RecordType::IsExclude), set(&[1])),
            Some((RecordType::IsExclude, set(&[1])))
        );
    }

    #[test]
    fn v1_mode_rules() {
        assert_eq!(
            translate(1, HostInput::V1Report, set(&[])),
            Some((RecordType::IsExclude, set(&[])))
        );
        assert_eq!(
            translate(1, HostInput::V2Report, set(&[])),
            Some((RecordType::IsExclude, set(&[])))
        );
        assert_eq!(translate(1, HostInput::V2Leave, set(&[])), None);
        assert_eq!(
            translate(1, HostInput::V3Record(RecordType::ToInclude), set(&[1])),
            None
        );
        assert_eq!(
            translate(1, HostInput::V3Record(RecordType::BlockOld), set(&[1])),
            None
        );
        assert_eq!(
            translate(1, HostInput::V3Record(RecordType::ToExclude), set(&[1])),
            Some((RecordType::ToExclude, set(&[])))
        );
        assert_eq!(
            translate(1, HostInput::V3Record(RecordType::AllowNew), set(&[1])),
            Some((RecordType::AllowNew, set(&[1])))
        );
    }
}
