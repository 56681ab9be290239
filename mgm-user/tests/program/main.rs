//! Program tests: the real igmp-ebpf object, loaded with aya and fed crafted Ethernet frames
//! (and, for the classifiers of L3 and GRE links, IPv4 packets) through `BPF_PROG_TEST_RUN`;
//! then return code, packet bytes, counters, map entries and ring-buffer events are checked.
//!
//! Needs root (CAP_BPF + CAP_NET_ADMIN) and the object built into mgm-user (see build.rs); without
//! either every test FAILS with the reason, it does not skip.
//!
//! How the interface id works under test_run: the kernel runs a sched_cls program on an skb whose
//! device is the loopback of the caller's network namespace (ifindex 1 in the initial one) unless
//! `ctx_in` names another existing device in `__sk_buff.ifindex`. `__sk_buff.vlan_present` /
//! `vlan_tci` cannot be set through `ctx_in`, so VLAN coverage through test_run is tags in the
//! frame; `skb_vlan_metadata_counts_as_a_tag` attaches to a veth in a namespace for the metadata.
//! The object is loaded once per test process (the verifier takes a while); each test takes the
//! fixture under a lock, reset to empty maps and zero counters.

mod agreement;
mod batch;
mod budget;
mod events;
mod fastpath;
mod l2;
mod l3;
mod malformed;
mod messages;
mod slowpath;
mod support;
