//! Unit tests of `igmp_ports.rs`.

use super::*;
use crate::daemon::preflight::subnet;

#[test]
fn the_classifier_is_told_our_address_to_keep_our_own_queries() {
    let cfg = crate::igmp::IgmpConfig::default();
    let p = Params::derive(&cfg, None, None);
    let us = Ipv4Addr::new(192, 0, 2, 1);
    let lan = [subnet(us, 24)];
    let s = settings_for(&p, (us, &lan), false, false);
    assert_eq!(s.address, [192, 0, 2, 1]);
    assert!(s.is_own_address(us.octets()));
    assert!(!s.is_own_address([192, 0, 2, 2]));
    assert_eq!(s.subnet_count, 1);
    assert_eq!(s.flags, 0);
}

/// The object's maps, created (root: CAP_BPF); the object is built into the test binary.
fn kernel_maps() -> (aya::Ebpf, KernelMaps) {
    let bytes = crate::sys::bpf::object::object_bytes().expect("the igmp-ebpf object");
    let mut ebpf = aya::EbpfLoader::new().load(bytes).expect("maps created");
    let maps = KernelMaps::take_from(&mut ebpf).expect("maps");
    (ebpf, maps)
}

/// A port on the loopback (its query socket needs CAP_NET_RAW: the tests run as root).
fn loopback() -> ManagedInterface {
    ManagedInterface {
        name: "lo".into(),
        ifindex: 1,
        address: Ipv4Addr::LOCALHOST,
        subnets: vec![subnet(Ipv4Addr::LOCALHOST, 8)],
        link: crate::sys::link::LinkKind::L3,
    }
}

#[test]
fn settings_are_written_again_after_what_may_change_them() {
    let lo = loopback();
    let (_ebpf, mut maps) = kernel_maps();
    let mut ports = IgmpPorts::new(false, false);
    let cfg = IgmpConfig::default();
    ports
        .add_interface(&lo, &cfg, &mut maps, 0)
        .expect("port on lo");
    let gmi = |maps: &KernelMaps| {
        maps.ifaces
            .get(&1, 0)
            .expect("settings written")
            .group_membership_interval_ns
    };
    let before = gmi(&maps);
    assert_eq!(
        before,
        Params::derive(&cfg, None, None).group_membership_interval
    );
    // Nothing changed: nothing to write (the entry removed behind its back stays removed).
    maps.ifaces.remove(&1).expect("remove");
    ports.sync_all_settings(&mut maps);
    assert!(
        maps.ifaces.get(&1, 0).is_err(),
        "written with nothing changed"
    );
    // A reload raises the robustness: the group membership interval follows.
    let robust = IgmpConfig {
        robustness: 3,
        ..cfg.clone()
    };
    ports.reconfigure(1, &robust, &maps, 0);
    ports.sync_all_settings(&mut maps);
    let after = gmi(&maps);
    assert_eq!(
        after,
        Params::derive(&robust, None, None).group_membership_interval
    );
    assert!(after > before);
    // The budget of events: the default, then what a reload sets (0: no limit).
    let budget = |maps: &KernelMaps| {
        let s = maps.ifaces.get(&1, 0).expect("settings written");
        (s.max_reports_per_second, s.report_burst)
    };
    assert_eq!(budget(&maps), (10_000, mgm_common::maps::MAX_REPORT_BURST));
    let unlimited = IgmpConfig {
        max_reports_per_second: 0,
        ..robust
    };
    ports.reconfigure(1, &unlimited, &maps, 0);
    ports.sync_all_settings(&mut maps);
    assert_eq!(budget(&maps), (0, 0));
}

#[test]
fn reports_come_from_host_addresses_of_the_link() {
    let lan = [subnet(Ipv4Addr::new(192, 0, 2, 1), 24)];
    let host = |s: &str| from_link_host(&lan, s.parse().expect("address"));
    assert!(host("192.0.2.10"));
    assert!(host("0.0.0.0"), "a host without an address yet");
    assert!(!host("198.51.100.10"), "off the link");
    assert!(!host("192.0.2.255"), "the subnet's broadcast address");
    assert!(!host("192.0.2.0"), "the subnet's network address");
    let p2p = [subnet(Ipv4Addr::new(203, 0, 113, 4), 31)];
    assert!(from_link_host(&p2p, Ipv4Addr::new(203, 0, 113, 4)));
    assert!(from_link_host(&p2p, Ipv4Addr::new(203, 0, 113, 5)));
}

#[test]
fn a_readdressed_port_tells_the_classifier_its_new_address_and_subnets() {
    let lo = ManagedInterface {
        name: "lo".into(),
        ifindex: 1,
        address: Ipv4Addr::LOCALHOST,
        subnets: vec![subnet(Ipv4Addr::LOCALHOST, 8)],
        link: crate::sys::link::LinkKind::L3,
    };
    let (_ebpf, mut maps) = kernel_maps();
    let mut ports = IgmpPorts::new(false, false);
    ports
        .add_interface(&lo, &IgmpConfig::default(), &mut maps, 0)
        .expect("port on lo");
    let moved = ManagedInterface {
        address: Ipv4Addr::new(127, 0, 0, 2),
        subnets: vec![
            subnet(Ipv4Addr::LOCALHOST, 8),
            subnet(Ipv4Addr::new(192, 0, 2, 1), 24),
        ],
        ..lo
    };
    ports.readdress(&moved);
    ports.sync_all_settings(&mut maps);
    let s = maps.ifaces.get(&1, 0).expect("settings written");
    assert_eq!(s.address, [127, 0, 0, 2]);
    assert_eq!(
        &s.subnets[..usize::from(s.subnet_count)],
        &moved.subnets[..]
    );
    let port = &ports.ports[&1];
    assert_eq!(port.router.our_addr(), moved.address);
    assert!(from_link_host(&port.subnets, Ipv4Addr::new(192, 0, 2, 10)));
}

#[test]
fn queries_are_split_for_the_link_mtu() {
    let (_ebpf, mut maps) = kernel_maps();
    let mut ports = IgmpPorts::new(false, false);
    ports
        .add_interface(&loopback(), &IgmpConfig::default(), &mut maps, 0)
        .expect("port on lo");
    let query = QueryMessage {
        version: mgm_common::igmp::QueryVersion::V3,
        group: Ipv4Addr::new(239, 1, 2, 3),
        sources: (0..400u32)
            .map(|i| Ipv4Addr::from(0xc633_6400 + i))
            .collect(),
        s_flag: false,
        max_resp_tenths: 10,
        qrv: 2,
        qqic_secs: 125,
    };
    let queued = |ports: &mut IgmpPorts| {
        ports.queue_query(1, query.group, &query);
        let port = ports.ports.get_mut(&1).expect("port");
        port.sender.take_queued_lengths()
    };
    // A WireGuard link: 346 sources a packet (24 + 12 + 4 × 346 = 1420).
    ports.set_mtu(1, 1420);
    let lengths = queued(&mut ports);
    assert_eq!(lengths, vec![1420, 24 + 12 + 4 * 54], "{lengths:?}");
    // The link's MTU changes: the next query follows it.
    ports.set_mtu(1, 1280);
    let lengths = queued(&mut ports);
    assert!(lengths.iter().all(|&l| l <= 1280), "{lengths:?}");
    assert_eq!(lengths.iter().sum::<usize>(), 2 * 36 + 4 * 400);
    // Below the IPv4 minimum it is taken as 576.
    ports.set_mtu(1, 400);
    let lengths = queued(&mut ports);
    assert!(lengths.iter().all(|&l| l <= 576), "{lengths:?}");
    assert_eq!(lengths.len(), 3);
}
