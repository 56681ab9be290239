//! `show_mfe` in chunks, against a manager holding a few hundred MFEs.
use super::*;
use crate::control::api::Response;
use crate::manager::local::register_local;
use crate::manager::{IfKey, ProtocolHandle, StaticRpf};
use std::net::Ipv4Addr;

const NOW: u64 = 1_000_000_000_000;

/// `local` owns interfaces 1 and 2; 192.0.2.0/24 is reached through 1.
fn manager() -> (Manager, ProtocolHandle) {
    let rpf = StaticRpf::new().route(Ipv4Addr::new(192, 0, 2, 0), 24, 1, Ipv4Addr::UNSPECIFIED);
    let mut m = Manager::new(Box::new(rpf));
    let h = register_local(&mut m).unwrap();
    for i in [1, 2] {
        m.take_interface_ownership(NOW, h, IfKey::new(i)).unwrap();
    }
    (m, h)
}

fn sg(s: u8, g: u16) -> (Ipv4Addr, Ipv4Addr) {
    let [hi, lo] = g.to_be_bytes();
    (Ipv4Addr::new(192, 0, 2, s), Ipv4Addr::new(239, 1, hi, lo))
}

fn packet(m: &mut Manager, (s, g): (Ipv4Addr, Ipv4Addr)) {
    m.new_packet(NOW, s, g, 1, &[0x45]).unwrap();
    m.take_actions();
}

/// 300 entries: 3 sources in each of 100 groups, made in no particular order.
fn lab() -> (Manager, ProtocolHandle) {
    let (mut m, h) = manager();
    for g in (0..100u16).rev() {
        for s in [7, 3, 5] {
            packet(&mut m, sg(s, g * 3 % 100));
        }
    }
    assert_eq!(m.mfe_table(NOW).len(), 300);
    (m, h)
}

/// A row as the test reads it: (source, group).
fn rows(infos: Vec<MfeInfo>) -> Vec<(String, String)> {
    infos
        .into_iter()
        .map(|i| (i.source.to_string(), i.group.to_string()))
        .collect()
}

/// The chunks of one walk, `rows` entries each, with `between` run after each chunk.
fn walk(m: &mut Manager, n: usize, mut between: impl FnMut(&mut Manager, usize)) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut after = None;
    loop {
        let c = mfe_chunk(m, Some(9), after, n, NOW, rows);
        pieces.push(c.text);
        match c.next {
            Some(Cursor::Mfe(next)) => after = Some(next),
            other => {
                assert_eq!(other, None);
                return pieces;
            }
        }
        between(m, pieces.len());
    }
}

#[test]
fn the_chunks_make_the_one_response_line_of_the_whole_answer() {
    let (mut m, _) = lab();
    let whole = rows(m.mfe_table(NOW));
    let expect = serde_json::to_string(&Response::ok(&whole).with_id(Some(9))).unwrap() + "\n";
    for n in [1, 7, 100, 299, 300, 301, usize::MAX] {
        let pieces = walk(&mut m, n, |_, _| {});
        assert_eq!(pieces.concat(), expect, "{n} a chunk");
        assert_eq!(pieces.len(), 300usize.div_ceil(n).max(1), "{n} a chunk");
    }
    // The walk goes by group, then source.
    assert_eq!(whole[0], ("192.0.2.3".into(), "239.1.0.0".into()));
    assert_eq!(whole[1], ("192.0.2.5".into(), "239.1.0.0".into()));
    // No entry: the head and the tail.
    let (empty, _) = manager();
    let c = mfe_chunk(&empty, None, None, 5, NOW, rows);
    assert_eq!(c.next, None);
    let r: Response<Vec<(String, String)>> = serde_json::from_str(&c.text).unwrap();
    assert_eq!(r.data, Some(vec![]));
}

#[test]
fn entries_added_or_deleted_between_chunks_skip_or_repeat_no_other() {
    let (mut m, h) = lab();
    let before = rows(m.mfe_table(NOW));
    // After the first chunk of 50 (groups 239.1.0.0 to .16): one entry deleted and one added
    // behind the cursor, one of each ahead of it.
    let pieces = walk(&mut m, 50, |m, done| {
        if done == 1 {
            let (s, g) = sg(5, 2);
            m.remove_mfe(NOW, h, s, g).unwrap();
            let (s, g) = sg(5, 90);
            m.remove_mfe(NOW, h, s, g).unwrap();
            packet(m, sg(9, 2));
            packet(m, sg(9, 90));
        }
    });
    let line = pieces.concat();
    let got: Response<Vec<(String, String)>> = serde_json::from_str(&line).unwrap();
    let got = got.data.unwrap();
    let key = |s: &str| s.to_string();
    let mut want: Vec<(String, String)> = before
        .into_iter()
        .filter(|(s, g)| !(s == "192.0.2.5" && g == "239.1.0.90"))
        .collect();
    want.push((key("192.0.2.9"), key("239.1.0.90")));
    want.sort_by_key(|(s, g)| {
        (
            g.parse::<Ipv4Addr>().unwrap(),
            s.parse::<Ipv4Addr>().unwrap(),
        )
    });
    // Behind the cursor the rows already went out: (5, 2) listed, (9, 2) not; ahead the
    // change shows; every other entry exactly once, in order.
    assert_eq!(got, want);
}
