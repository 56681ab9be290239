//! The callback context: the read-only view of the manager and the typed queued calls.
use super::*;

/// Answers what the view says in its join alert, then takes and releases interfaces through
/// the context.
struct Probe {
    other: ProtocolHandle,
    seen: Log,
    take: Option<IfKey>,
    release: Option<IfKey>,
}

impl ProtocolHandler for Probe {
    fn join_alert(&mut self, ctx: &mut CallbackContext<'_>, sg: Sg, _: bool) {
        let view = ctx.view();
        let line = format!(
            "me={:?} other={:?} igmp_on(if2)={} igmp_on(if3)={} other_on={:?}",
            view.protocol_name(ctx.handle()),
            view.protocol_name(self.other),
            view.igmp_on(ifk(2)),
            view.igmp_on(ifk(3)),
            view.membership_interfaces(self.other, sg)
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>(),
        );
        self.seen.lock().unwrap().push(line);
        if let Some(i) = self.take.take() {
            ctx.take_interface(i);
        }
        if let Some(i) = self.release.take() {
            ctx.release_interface(i);
        }
    }
}

#[test]
fn a_handler_reads_the_view_and_takes_and_releases_through_the_context() {
    let mut h = H::new();
    let (a, _) = h.routing("A");
    let (i, _) = h.igmp("I");
    h.take(a, &[2]);
    h.take(i, &[2]);
    let seen = Log::default();
    let p =
        h.m.register(
            "P",
            ClientKind::Routing,
            ProtocolId(9),
            ComponentId(0),
            Box::new(Probe {
                other: a,
                seen: seen.clone(),
                take: Some(ifk(4)),
                release: Some(ifk(3)),
            }),
        )
        .unwrap();
    h.take(p, &[3]);
    h.add(a, Sg::star_g(G1), 2).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        strs(&[
            r#"me=Some("P") other=Some("A") igmp_on(if2)=true igmp_on(if3)=false other_on=["if2"]"#
        ])
    );
    assert!(h.m.take_errors().is_empty());
    let owned: Vec<(String, Vec<IfKey>)> =
        h.m.protocols()
            .into_iter()
            .map(|p| (p.name, p.interfaces))
            .collect();
    assert_eq!(
        owned,
        vec![
            ("A".to_string(), vec![ifk(2)]),
            ("I".to_string(), vec![ifk(2)]),
            ("P".to_string(), vec![ifk(4)]),
        ]
    );
}
