//! mgm's TC ingress classifier.
//!
//! Sees every packet on the managed interfaces and passes each one on unchanged (`TCX_NEXT`).
//! For IGMP it validates the message (each reason to ignore one has its own counter in
//! `MGM_STATS`), absorbs reports that only refresh state the daemon already holds (fast path:
//! expiry extended in `MGM_MEMBERS` / `MGM_SOURCES`), and sends everything else to the daemon
//! on `MGM_EVENTS` (slow path).
//!
//! The layers, each in its own module (as cilium's `bpf/lib` does in C):
//!
//! | module      | concern                                                                  |
//! |-------------|--------------------------------------------------------------------------|
//! | `l2`        | the link layer: where the IPv4 header starts (Ethernet and VLAN tags,    |
//! |             | none, GRE), is it IGMP, and whose (see the VLAN rule there)              |
//! | `ipv4`      | the IPv4 header: checksum, lengths, options (Router Alert)               |
//! | `csum`      | the IGMP checksum over the whole message                                 |
//! | `igmp`      | the pipeline: managed interface, VLAN, IPv4, checksum, then the handler |
//! | `query`     | membership queries, v1 to v3                                             |
//! | `v1v2`      | v1/v2 reports and v2 leaves                                              |
//! | `v3`        | v3 reports: the bounds walk over the group records, then the fast walk   |
//! | `fastpath`  | the refresh of `MGM_MEMBERS` / `MGM_SOURCES` entries                     |
//! | `rate`      | each interface's budget of messages to the daemon (per-CPU buckets)      |
//! | `events`    | the record on `MGM_EVENTS`: header + IGMP bytes, as long as the message  |
//! | `verdict`   | the typed outcome of a packet and the one function that counts it        |
//! | `maps`      | the maps                                                                 |
//! | `scratch`   | the per-CPU copy of the message, with offsets the verifier sees bounded  |
//! | `skb`       | reads of the packet and of the `__sk_buff` context                       |
//!
//! Each message type has one handler returning a [`verdict::Verdict`] (ignored with a reason,
//! absorbed, or sent up with a reason); [`verdict::count`] is the only writer of `MGM_STATS`.
//!
//! One entry point per kind of link, the same pipeline behind each: `mgm_igmp_ingress` for
//! Ethernet, `mgm_igmp_ingress_ip` for links without a link-layer header (tun, WireGuard, PPP,
//! ipip: packets start at the IPv4 header), `mgm_igmp_ingress_gre` for GRE. The daemon attaches
//! the one that fits each interface's device type (`mgm-user/src/sys/link.rs`), so the program
//! knows where the IPv4 header is without a map lookup.
//!
//! Cost for other traffic: a frame whose headers are in the linear part costs a few direct packet
//! loads (ethertype, through at most two VLAN tags, then the IP protocol; on links without an
//! Ethernet header the first byte and the IP protocol) before `TCX_NEXT`. Only IGMP, frames with
//! more tags, GRE's outer headers and non-linear headers go through `bpf_skb_load_bytes`.
//!
//! Verifier notes: every loop over packet contents (IP options, v3 records, v3 sources, checksum
//! chunks beyond the scratch copy) is a `bpf_loop` callback that reads the packet with
//! `bpf_skb_load_bytes`, so the verifier checks each body once; offsets into the per-CPU scratch
//! copy go through `scratch::clamp` / `scratch::chunk_len`, asm masks LLVM cannot drop.
//!
//! The object also holds `mgm_empty`, a classifier that only returns `TCX_NEXT`: the baseline of
//! the benchmark (`mgm-user/benches/classifier.rs`). The daemon never attaches it.
#![no_std]
#![no_main]
// For `scratch::clamp`: an asm mask the optimizer cannot drop, so the verifier sees every scratch
// offset bounded.
#![feature(asm_experimental_arch)]

mod csum;
mod events;
mod fastpath;
mod igmp;
mod ipv4;
mod l2;
mod maps;
mod query;
mod rate;
mod scratch;
mod skb;
mod v1v2;
mod v3;
mod verdict;

use aya_ebpf::{
    bindings::{__sk_buff, tcx_action_base::TCX_NEXT},
    macros::classifier,
    programs::TcContext,
};

use crate::l2::L2;

/// Baseline for the benchmark: the cheapest possible classifier.
// `pub`: the entry points are the symbols the object exports.
#[allow(unreachable_pub)]
#[classifier]
pub fn mgm_empty(_ctx: TcContext) -> i32 {
    TCX_NEXT
}

/// The IGMP classifier of Ethernet links. Always `TCX_NEXT`; never writes to the packet.
#[allow(unreachable_pub)]
#[classifier]
pub fn mgm_igmp_ingress(ctx: TcContext) -> i32 {
    classify(&ctx, l2::find_igmp)
}

/// The IGMP classifier of links without a link-layer header (packets start at the IPv4 header).
#[allow(unreachable_pub)]
#[classifier]
pub fn mgm_igmp_ingress_ip(ctx: TcContext) -> i32 {
    classify(&ctx, l2::find_igmp_ip)
}

/// The IGMP classifier of GRE links (the IPv4 header first, or the outer IPv4 and GRE headers).
#[allow(unreachable_pub)]
#[classifier]
pub fn mgm_igmp_ingress_gre(ctx: TcContext) -> i32 {
    classify(&ctx, l2::find_igmp_gre)
}

/// The pipeline behind every entry point: `find` locates IGMP for the kind of link, the rest
/// is shared. Always `TCX_NEXT`.
#[inline(always)]
fn classify(ctx: &TcContext, find: impl FnOnce(*mut __sk_buff) -> Option<L2>) -> i32 {
    let skb = ctx.skb.skb;
    if let Some(outcome) = find(skb).and_then(|l2| igmp::handle(skb, l2)) {
        verdict::count(outcome);
    }
    TCX_NEXT
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: the program has no panicking paths that the verifier would accept anyway.
    unsafe { core::hint::unreachable_unchecked() }
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
