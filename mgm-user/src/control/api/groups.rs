//! `show_groups`: its filter, and how its answer is streamed.
//!
//! The answer is one [`super::Response`] line whose `data` is the array of
//! [`super::GroupView`]s, the same bytes as any other response; only the daemon writes it in
//! pieces as it walks its groups ([`response_head`], rows, [`RESPONSE_TAIL`]), and `mgm show
//! groups` reads it row by row ([`crate::control::client::stream`]). Neither side holds the
//! whole answer, and a reader of whole lines sees an ordinary response.
use serde::{Deserialize, Serialize};

/// Which groups `show_groups` lists: `{"command":"show_groups"}` lists every one; the keys
/// narrow it to one interface and to the groups in one prefix.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(default)]
pub struct GroupFilter {
    /// Only the groups of this interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Only the groups in this prefix: `a.b.c.d/len`, or one group `a.b.c.d`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// What a streamed response starts with, up to the `[` of its data: `{"version":…,"id":…,
/// "ok":true,"data":[`.
pub fn response_head(id: Option<u64>) -> String {
    let empty = super::Response::ok([(); 0]).with_id(id);
    let mut text = serde_json::to_string(&empty).unwrap_or_default();
    // Serialized as `…"data":[]}`: keep everything before the closing `]}`.
    text.truncate(text.len().saturating_sub(RESPONSE_TAIL.len()));
    text
}

/// What a streamed response ends with, after its last row (the newline is the line's end).
pub const RESPONSE_TAIL: &str = "]}";

#[cfg(test)]
mod tests {
    use super::super::{GroupView, Request, Response};
    use super::*;

    #[test]
    fn a_filter_is_optional_and_only_sent_when_given() {
        let all: Request = serde_json::from_str(r#"{"command":"show_groups"}"#).unwrap();
        assert_eq!(all, Request::ShowGroups(GroupFilter::default()));
        assert_eq!(
            serde_json::to_string(&all).unwrap(),
            r#"{"command":"show_groups"}"#
        );
        let one = Request::ShowGroups(GroupFilter {
            interface: Some("eth1".into()),
            group: Some("239.1.0.0/16".into()),
        });
        let text = serde_json::to_string(&one).unwrap();
        assert_eq!(
            text,
            r#"{"command":"show_groups","interface":"eth1","group":"239.1.0.0/16"}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), one);
    }

    fn row(group: &str) -> GroupView {
        GroupView {
            interface: "eth1".into(),
            ifindex: 2,
            group: group.into(),
            filter_mode: "exclude".into(),
            expires_in_ms: 1000,
            compat_version: 3,
            last_reporter: None,
            sources: vec![],
            hosts: None,
        }
    }

    #[test]
    fn head_rows_and_tail_make_the_one_line_response() {
        let rows = vec![row("239.1.1.1"), row("239.1.1.2")];
        let whole = serde_json::to_string(&Response::ok(rows.clone()).with_id(Some(7))).unwrap();
        let body: Vec<String> = rows
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        let streamed = format!(
            "{}{}{RESPONSE_TAIL}",
            response_head(Some(7)),
            body.join(",")
        );
        assert_eq!(streamed, whole);
        let none = format!("{}{RESPONSE_TAIL}", response_head(None));
        assert_eq!(
            none,
            serde_json::to_string(&Response::ok(Vec::<GroupView>::new())).unwrap()
        );
    }
}
