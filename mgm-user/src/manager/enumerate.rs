//! Group enumeration (`MgmGroupEnumerationStart` / `GetNext` / `End`): a snapshot cursor.
use super::types::{EnumType, ProtocolHandle, Sg, SourceGroupEntry};
use super::{Invalid, Manager, MgmError, MgmResult};
use std::collections::{BTreeSet, VecDeque};

/// An open group enumeration.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnumHandle(u32);

impl Manager {
    /// Snapshot of the joined groups (every client's memberships). `AnySource`: one `(*,G)`
    /// row per group with any membership (and `(*,*)` if joined); `AllSources`: every
    /// `(S,G)`, `(*,G)` and `(*,*)` membership.
    pub fn groups(&self, ty: EnumType) -> Vec<SourceGroupEntry> {
        let mut set = BTreeSet::new();
        for sg in self.st.members.keys() {
            let row = match ty {
                EnumType::AllSources => sg,
                EnumType::AnySource => Sg {
                    source: None,
                    group: sg.group,
                },
            };
            set.insert((row.group, row.source));
        }
        set.into_iter()
            .map(|(group, source)| Sg { source, group })
            .collect()
    }

    /// `MgmGroupEnumerationStart`.
    pub fn group_enumeration_start(
        &mut self,
        h: ProtocolHandle,
        ty: EnumType,
    ) -> MgmResult<EnumHandle> {
        self.st.check_handle(h)?;
        let rows: VecDeque<Sg> = self.groups(ty).into();
        let id = self.st.next_enum;
        self.st.next_enum += 1;
        self.st.enums.insert(id, (h, rows));
        Ok(EnumHandle(id))
    }

    /// `MgmGroupEnumerationGetNext`: up to `max` rows; the flag is `true` while more remain
    /// (`ERROR_MORE_DATA`), `false` at the end (`ERROR_NO_MORE_ITEMS`).
    pub fn group_enumeration_next(
        &mut self,
        e: EnumHandle,
        max: usize,
    ) -> MgmResult<(Vec<SourceGroupEntry>, bool)> {
        let (_, rows) = self
            .st
            .enums
            .get_mut(&e.0)
            .ok_or(MgmError::InvalidParameter(Invalid::UnknownEnumeration))?;
        let n = max.min(rows.len());
        let out: Vec<Sg> = rows.drain(..n).collect();
        Ok((out, !rows.is_empty()))
    }

    /// `MgmGroupEnumerationEnd`.
    pub fn group_enumeration_end(&mut self, e: EnumHandle) -> MgmResult<()> {
        self.st
            .enums
            .remove(&e.0)
            .map(|_| ())
            .ok_or(MgmError::InvalidParameter(Invalid::UnknownEnumeration))
    }
}
