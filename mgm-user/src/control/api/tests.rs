//! The protocol's tests: requests tagged, unknown commands refused, versions checked, event
//! lines with their documented keys.

use super::*;
use serde_json::json;

#[test]
fn requests_are_tagged_snake_case() {
    let json = serde_json::to_string(&Request::ShowGroups(GroupFilter::default())).unwrap();
    assert_eq!(json, r#"{"command":"show_groups"}"#);
    let back: Request = serde_json::from_str(r#"{"command":"events"}"#).unwrap();
    assert_eq!(back, Request::Events);
    let back: Request = serde_json::from_str(r#"{"command":"hello"}"#).unwrap();
    assert_eq!(back, Request::Hello);
}

#[test]
fn unknown_commands_are_rejected() {
    assert!(serde_json::from_str::<Request>(r#"{"command":"reboot"}"#).is_err());
    assert!(serde_json::from_str::<Request>("not json").is_err());
}

#[test]
fn responses_round_trip_with_their_version() {
    let p = ProtocolView {
        name: "local".into(),
        kind: "routing".into(),
        protocol_id: 1,
        component_id: 1,
        interfaces: vec!["eth0".into()],
    };
    let line = serde_json::to_string(&Response::ok(Reply::Protocols(vec![p.clone()]))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["version"], json!(PROTOCOL_VERSION));
    assert_eq!(
        v["data"][0]["name"],
        json!("local"),
        "data is the bare view"
    );
    let back: Response<Vec<ProtocolView>> = serde_json::from_str(&line).unwrap();
    assert_eq!(back.data, Some(vec![p]));
    assert!(back.check_version().is_ok());
    let err: Response<()> =
        serde_json::from_str(&serde_json::to_string(&Response::<Reply>::error("boom")).unwrap())
            .unwrap();
    assert!(!err.ok);
    assert_eq!(err.error.as_deref(), Some("boom"));
}

#[test]
fn a_version_mismatch_names_both_versions() {
    let old: Response<()> = serde_json::from_str(r#"{"ok":true,"data":null}"#).unwrap();
    let e = old.check_version().unwrap_err();
    assert!(e.contains("version 0"), "{e}");
    assert!(e.contains(&format!("version {PROTOCOL_VERSION}")), "{e}");
    let newer: Response<()> = serde_json::from_str(r#"{"version":99,"ok":true}"#).unwrap();
    assert!(newer.check_version().unwrap_err().contains("99"));
}

fn line(event: Event) -> serde_json::Value {
    let l = EventLine {
        event,
        protocol: "local".into(),
        interface: Some("eth1".into()),
        source: None,
        group: Some(Ipv4Addr::new(239, 1, 2, 3)),
        time_ns: 42,
    };
    let v = serde_json::to_value(&l).unwrap();
    let back: EventLine = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back, l, "round trip");
    v
}

#[test]
fn event_lines_keep_the_documented_keys_and_carry_arguments() {
    let v = line(Event::PruneAlert {
        member_delete: false,
        timeout_s: 30,
    });
    assert_eq!(v["kind"], json!("prune_alert"));
    assert_eq!(v["protocol"], json!("local"));
    assert_eq!(v["interface"], json!("eth1"));
    assert_eq!(v["source"], json!(null), "the wildcard is null, not absent");
    assert_eq!(v["group"], json!("239.1.2.3"));
    assert_eq!(v["time_ns"], json!(42));
    assert_eq!(v["member_delete"], json!(false));
    assert_eq!(v["timeout_s"], json!(30));

    let v = line(Event::MfeAdd(MfeArgs {
        iif: "eth0".into(),
        oifs: vec!["eth1".into(), "eth2".into()],
        upstream: Ipv4Addr::new(192, 0, 2, 10),
        negative: false,
    }));
    assert_eq!(v["kind"], json!("mfe_add"));
    assert_eq!(v["iif"], json!("eth0"));
    assert_eq!(v["oifs"], json!(["eth1", "eth2"]));
    assert_eq!(v["upstream"], json!("192.0.2.10"));

    let v = line(Event::Rpf {
        arrival: "eth0".into(),
        iif: "eth3".into(),
        upstream: Ipv4Addr::new(198, 51, 100, 1),
        verdict: RpfVerdictView::Reject,
    });
    assert_eq!(v["kind"], json!("rpf"));
    assert_eq!(v["verdict"], json!("reject"));
    assert_eq!(v["arrival"], json!("eth0"));

    let v = line(Event::JoinAlert {
        member_update: true,
    });
    assert_eq!(v["member_update"], json!(true));
    let v = line(Event::CreationAlert {
        oifs: vec!["eth1".into()],
        vetoed: vec!["eth2".into()],
        pending: false,
    });
    assert_eq!(v["vetoed"], json!(["eth2"]));
    let v = line(Event::WrongInterface {
        arrival: "eth2".into(),
        iif: None,
    });
    assert_eq!(v["arrival"], json!("eth2"));
    let v = line(Event::QuerierChanged {
        detail: "us".into(),
    });
    assert_eq!(v["kind"], json!("querier_changed"));
    assert_eq!(v["detail"], json!("us"));
    assert_eq!(line(Event::IgmpJoin)["kind"], json!("igmp_join"));
    assert_eq!(
        Event::MfeDelete(MfeArgs {
            iif: String::new(),
            oifs: vec![],
            upstream: Ipv4Addr::UNSPECIFIED,
            negative: true
        })
        .kind(),
        "mfe_delete"
    );
}
