//! The mroute socket: kernel multicast routing (ipmr) control through a raw IGMP socket.
//!
//! The socket and its options go through `raw_socket`; the one other FFI call is the
//! `SIOCGETSGCNT` ioctl, with its `SAFETY` argument.
use super::raw_socket::{open_raw, receive_drops, set_opt};
use super::upcall::{parse_upcall, Upcall, UPCALL_FILTER};
use crate::manager::{ForwarderAction, MfeCounters, MAX_VIFS};
use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};
use std::collections::BTreeMap;
use std::io;
use std::mem::size_of;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

// linux/mroute.h
const MRT_BASE: libc::c_int = 200;
const MRT_INIT: libc::c_int = MRT_BASE;
const MRT_DONE: libc::c_int = MRT_BASE + 1;
const MRT_ADD_VIF: libc::c_int = MRT_BASE + 2;
const MRT_DEL_VIF: libc::c_int = MRT_BASE + 3;
const MRT_ADD_MFC: libc::c_int = MRT_BASE + 4;
const MRT_DEL_MFC: libc::c_int = MRT_BASE + 5;
const MRT_ASSERT: libc::c_int = MRT_BASE + 7;
const MRT_PIM: libc::c_int = MRT_BASE + 8;
const MRT_TABLE: libc::c_int = MRT_BASE + 9;
const VIFF_USE_IFINDEX: u8 = 0x8;
// asm-generic/socket.h (libc defines it for Android only).
const SO_RCVBUFFORCE: libc::c_int = 33;
/// Room for upcalls waiting to be read. The kernel charges each NOCACHE upcall at about 830
/// bytes, and the default buffer (`net.core.rmem_default`, 208 KiB) holds about 256 of them: a
/// burst of new sources larger than that, or a daemon busy for a moment, lost the rest, and
/// with each lost upcall the kernel drops its unresolved entry and the packet. The kernel
/// doubles the value asked (its bookkeeping): 8 MiB, about 10 000 upcalls. Memory is charged
/// only while upcalls wait.
const UPCALL_BUFFER_BYTES: libc::c_int = 4 << 20;
/// `SIOCPROTOPRIVATE + 1`.
const SIOCGETSGCNT: libc::c_ulong = 0x89E1;

/// `struct vifctl` (with the `vifc_lcl_ifindex` arm of its union).
#[repr(C)]
struct VifCtl {
    vifc_vifi: u16,
    vifc_flags: u8,
    vifc_threshold: u8,
    vifc_rate_limit: u32,
    vifc_lcl_ifindex: i32,
    vifc_rmt_addr: u32,
}

impl VifCtl {
    /// A VIF for an interface named by ifindex (`VIFF_USE_IFINDEX`), TTL threshold 1.
    fn by_ifindex(vif: u16, ifindex: u32) -> Self {
        VifCtl {
            vifc_vifi: vif,
            vifc_flags: VIFF_USE_IFINDEX,
            vifc_threshold: 1,
            vifc_rate_limit: 0,
            vifc_lcl_ifindex: ifindex as i32,
            vifc_rmt_addr: 0,
        }
    }
}

/// `struct mfcctl`.
#[repr(C)]
struct MfcCtl {
    mfcc_origin: u32,
    mfcc_mcastgrp: u32,
    mfcc_parent: u16,
    mfcc_ttls: [u8; MAX_VIFS],
    mfcc_pkt_cnt: u32,
    mfcc_byte_cnt: u32,
    mfcc_wrong_if: u32,
    mfcc_expire: i32,
}

/// `struct sioc_sg_req`.
#[repr(C)]
struct SiocSgReq {
    src: u32,
    grp: u32,
    pktcnt: libc::c_ulong,
    bytecnt: libc::c_ulong,
    wrong_if: libc::c_ulong,
}

const _: () = assert!(size_of::<VifCtl>() == 16);
const _: () = assert!(size_of::<MfcCtl>() == 60);

/// An `in_addr` (network byte order in memory).
fn in_addr(a: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(a.octets())
}

/// The controlling socket of one kernel mroute table. Remembers the VIFs and MFC entries it
/// made and removes them (then `MRT_DONE`) on drop; nothing else in the kernel is touched.
#[derive(Debug)]
pub struct MrouteSocket {
    fd: OwnedFd,
    /// ifindex → VIF.
    vifs: BTreeMap<u32, u16>,
    /// (source, group) → parent VIF, and the entry's kernel counters when it took that parent
    /// (what it counted before went to the former parent's [`Self::retired`]).
    mfcs: BTreeMap<(Ipv4Addr, Ipv4Addr), (u16, MfeCounters)>,
    /// By incoming interface (ifindex): what entries counted there before they were deleted
    /// or moved to another incoming interface, so the sums of [`Self::counters_by_iif`] only
    /// grow.
    retired: BTreeMap<u32, MfeCounters>,
    done: bool,
}

impl AsFd for MrouteSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What [`MrouteSocket::set_mfc`] replaced: the entry's parent VIF before (`None`: it was
/// new to this socket) and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replaced {
    pub parent: Option<u16>,
    pub now: u16,
}

impl Replaced {
    /// The write moved an installed entry to another incoming VIF.
    pub fn moved(&self) -> bool {
        self.parent.is_some_and(|p| p != self.now)
    }
}

/// What [`MrouteSocket::apply_all`] did: the errors (every action is tried), and the (S,G)s
/// whose installed entry's incoming VIF moved (the daemon stamps them: no clock here).
#[derive(Debug, Default)]
pub struct Applied {
    pub errors: Vec<anyhow::Error>,
    pub moved: Vec<(Ipv4Addr, Ipv4Addr)>,
}

impl MrouteSocket {
    /// Opens the raw IGMP socket, selects `table` (`MRT_TABLE`, before `MRT_INIT`), becomes the
    /// multicast router (`MRT_INIT`), enables WRONGVIF upcalls (`MRT_ASSERT`) and attaches the
    /// upcall-only socket filter. Needs `CAP_NET_ADMIN`.
    pub fn open(table: Option<u32>) -> Result<Self> {
        let fd = open_raw(libc::IPPROTO_IGMP, false)
            .context("mroute: socket(AF_INET, SOCK_RAW, IPPROTO_IGMP) (needs CAP_NET_RAW)")?;
        // Filter first, so no IGMP packet is queued before it is in place.
        let mut prog: Vec<libc::sock_filter> = UPCALL_FILTER
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_mut_ptr(),
        };
        set_opt(fd.as_fd(), libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
            .context("mroute: attach the upcall-only socket filter (SO_ATTACH_FILTER)")?;
        // Past net.core.rmem_max: SO_RCVBUFFORCE (CAP_NET_ADMIN, which MRT_INIT needs too).
        set_opt(
            fd.as_fd(),
            libc::SOL_SOCKET,
            SO_RCVBUFFORCE,
            &UPCALL_BUFFER_BYTES,
        )
        .with_context(|| {
            format!(
                "mroute: receive buffer for upcalls of {} MiB (SO_RCVBUFFORCE; needs \
                 CAP_NET_ADMIN)",
                UPCALL_BUFFER_BYTES >> 20
            )
        })?;
        if let Some(t) = table {
            set_opt(fd.as_fd(), libc::IPPROTO_IP, MRT_TABLE, &t).with_context(|| {
                format!(
                    "mroute: select table {t} (MRT_TABLE; needs CONFIG_IP_MROUTE_MULTIPLE_TABLES)"
                )
            })?;
        }
        let one: libc::c_int = 1;
        set_opt(fd.as_fd(), libc::IPPROTO_IP, MRT_INIT, &one).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EADDRINUSE) {
                ": another multicast router (smcroute, pimd, igmpproxy, another mgm) already \
                 controls this mroute table"
            } else {
                ""
            };
            anyhow::Error::new(e).context(format!(
                "mroute: MRT_INIT on table {}{hint}",
                table.map_or("default".to_string(), |t| t.to_string())
            ))
        })?;
        set_opt(fd.as_fd(), libc::IPPROTO_IP, MRT_ASSERT, &one)
            .context("mroute: enable WRONGVIF upcalls (MRT_ASSERT)")?;
        Ok(MrouteSocket {
            fd,
            vifs: BTreeMap::new(),
            mfcs: BTreeMap::new(),
            retired: BTreeMap::new(),
            done: false,
        })
    }

    /// `MRT_PIM`: with it the kernel reports WRONGVIF for packets arriving on any VIF; with only
    /// `MRT_ASSERT` (the default) just for packets arriving on a VIF in the entry's OIL (the
    /// PIM assert case). Both are rate-limited per entry (`MFC_ASSERT_THRESH`, 3 s).
    pub fn set_pim(&mut self, on: bool) -> Result<()> {
        let v: libc::c_int = on.into();
        set_opt(self.fd.as_fd(), libc::IPPROTO_IP, MRT_PIM, &v)
            .with_context(|| format!("mroute: MRT_PIM {v}"))
    }

    /// `MRT_ADD_VIF` with `VIFF_USE_IFINDEX`.
    pub fn add_vif(&mut self, vif: u16, ifindex: u32) -> Result<()> {
        if usize::from(vif) >= MAX_VIFS {
            bail!("mroute: VIF {vif} for ifindex {ifindex}: the kernel allows at most {MAX_VIFS} VIFs (MAXVIFS)");
        }
        let ctl = VifCtl::by_ifindex(vif, ifindex);
        set_opt(self.fd.as_fd(), libc::IPPROTO_IP, MRT_ADD_VIF, &ctl)
            .with_context(|| format!("mroute: MRT_ADD_VIF vif {vif} ifindex {ifindex}"))?;
        self.vifs.insert(ifindex, vif);
        Ok(())
    }

    /// `MRT_DEL_VIF`.
    pub fn del_vif(&mut self, vif: u16, ifindex: u32) -> Result<()> {
        let ctl = VifCtl::by_ifindex(vif, ifindex);
        self.vifs.remove(&ifindex);
        already_gone_is_ok(set_opt(
            self.fd.as_fd(),
            libc::IPPROTO_IP,
            MRT_DEL_VIF,
            &ctl,
        ))
        .with_context(|| format!("mroute: MRT_DEL_VIF vif {vif} ifindex {ifindex}"))
    }

    /// The VIF of an ifindex, and back.
    pub fn vif_of(&self, ifindex: u32) -> Option<u16> {
        self.vifs.get(&ifindex).copied()
    }
    pub fn ifindex_of(&self, vif: u16) -> Option<u32> {
        self.vifs.iter().find(|(_, v)| **v == vif).map(|(i, _)| *i)
    }

    /// The VIF of `ifindex`; the error names the call (`what`, made only for the error).
    fn vif_or(&self, ifindex: u32, what: impl Fn() -> String) -> Result<u16> {
        self.vif_of(ifindex)
            .with_context(|| format!("mroute: {}: ifindex {ifindex} has no VIF", what()))
    }

    /// `MRT_ADD_MFC` (add or replace): parent `iif`, TTL threshold 1 on `oifs`, 255 elsewhere.
    /// What it replaced: the entry's parent VIF as this socket had installed it (`None`: new).
    pub fn set_mfc(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: u32,
        oifs: &[u32],
    ) -> Result<Replaced> {
        // The error's text only when there is an error: this is on the path of every join.
        let what = || format!("MRT_ADD_MFC ({source},{group})");
        let parent = self.vif_or(iif, what)?;
        let mut ttls = [255u8; MAX_VIFS];
        for o in oifs {
            ttls[usize::from(self.vif_or(*o, what)?)] = 1;
        }
        let ctl = MfcCtl {
            mfcc_origin: in_addr(source),
            mfcc_mcastgrp: in_addr(group),
            mfcc_parent: parent,
            mfcc_ttls: ttls,
            mfcc_pkt_cnt: 0,
            mfcc_byte_cnt: 0,
            mfcc_wrong_if: 0,
            mfcc_expire: 0,
        };
        // An entry that moves to another incoming interface keeps its kernel counters: what it
        // counted so far stays with the interface it arrived on.
        let before = self.mfcs.get(&(source, group)).copied();
        let moved = match before {
            Some((old, base)) if old != parent => {
                Some((old, base, self.counters(source, group).ok()))
            }
            _ => None,
        };
        set_opt(self.fd.as_fd(), libc::IPPROTO_IP, MRT_ADD_MFC, &ctl)
            .with_context(|| format!("mroute: {} iif {iif} oifs {oifs:?}", what()))?;
        let base = match (moved, self.mfcs.get(&(source, group))) {
            (Some((old, base, Some(now))), _) => {
                self.retire(old, since(now, base));
                now
            }
            (Some((_, base, None)), _) | (None, Some(&(_, base))) => base,
            (None, None) => MfeCounters::default(),
        };
        self.mfcs.insert((source, group), (parent, base));
        Ok(Replaced {
            parent: before.map(|(old, _)| old),
            now: parent,
        })
    }

    /// Adds `counted` to what entries counted on the interface of VIF `parent`.
    fn retire(&mut self, parent: u16, counted: MfeCounters) {
        if let Some(ifindex) = self.ifindex_of(parent) {
            let r = self.retired.entry(ifindex).or_default();
            *r = add(*r, counted);
        }
    }

    /// The kernel counters of the entries this socket made, summed by incoming interface
    /// (ifindex), with what deleted or moved entries counted there: each sum only grows while
    /// the socket lives. One `SIOCGETSGCNT` per entry.
    pub fn counters_by_iif(&self) -> BTreeMap<u32, MfeCounters> {
        let mut out = self.retired.clone();
        for (&(s, g), &(parent, base)) in &self.mfcs {
            let (Some(ifindex), Ok(now)) = (self.ifindex_of(parent), self.counters(s, g)) else {
                continue;
            };
            let sum = out.entry(ifindex).or_default();
            *sum = add(*sum, since(now, base));
        }
        out
    }

    /// Gives up the retired counts of `ifindex` (an interface that is gone; the caller keeps
    /// them under its name).
    pub fn take_retired(&mut self, ifindex: u32) -> Option<MfeCounters> {
        self.retired.remove(&ifindex)
    }

    /// The parent VIF of an entry this socket installed.
    pub fn parent_of(&self, source: Ipv4Addr, group: Ipv4Addr) -> Option<u16> {
        self.mfcs.get(&(source, group)).map(|(parent, _)| *parent)
    }

    /// Forgets an entry the kernel no longer has (its counts went with it), without a syscall.
    pub fn forget_mfc(&mut self, source: Ipv4Addr, group: Ipv4Addr) {
        self.mfcs.remove(&(source, group));
    }

    /// Number of MFC entries this socket holds in the kernel.
    pub fn mfc_count(&self) -> usize {
        self.mfcs.len()
    }

    /// `MRT_DEL_MFC`.
    pub fn del_mfc(&mut self, source: Ipv4Addr, group: Ipv4Addr) -> Result<()> {
        let parent = match self.mfcs.remove(&(source, group)) {
            Some((parent, base)) => {
                // Read before the entry goes (not on shutdown: nobody asks any more).
                if !self.done {
                    if let Ok(now) = self.counters(source, group) {
                        self.retire(parent, since(now, base));
                    }
                }
                parent
            }
            None => 0,
        };
        let ctl = MfcCtl {
            mfcc_origin: in_addr(source),
            mfcc_mcastgrp: in_addr(group),
            mfcc_parent: parent,
            mfcc_ttls: [255; MAX_VIFS],
            mfcc_pkt_cnt: 0,
            mfcc_byte_cnt: 0,
            mfcc_wrong_if: 0,
            mfcc_expire: 0,
        };
        already_gone_is_ok(set_opt(
            self.fd.as_fd(),
            libc::IPPROTO_IP,
            MRT_DEL_MFC,
            &ctl,
        ))
        .with_context(|| format!("mroute: MRT_DEL_MFC ({source},{group})"))
    }

    /// `SIOCGETSGCNT`: packets, bytes and wrong-interface count of an MFC entry.
    // `c_ulong` is u32 on 32-bit targets, u64 here.
    #[allow(clippy::useless_conversion)]
    pub fn counters(&self, source: Ipv4Addr, group: Ipv4Addr) -> Result<MfeCounters> {
        let mut req = SiocSgReq {
            src: in_addr(source),
            grp: in_addr(group),
            pktcnt: 0,
            bytecnt: 0,
            wrong_if: 0,
        };
        // SAFETY: `req` is a live, writable `struct sioc_sg_req`; SIOCGETSGCNT reads `src`/`grp`
        // and writes the three counters within its size. The fd is valid.
        let r = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                SIOCGETSGCNT as _,
                &mut req as *mut SiocSgReq,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("mroute: SIOCGETSGCNT ({source},{group})"));
        }
        Ok(MfeCounters {
            packets: u64::from(req.pktcnt),
            bytes: u64::from(req.bytecnt),
            wrong_if: u64::from(req.wrong_if),
        })
    }

    /// Applies one manager action: whether it moved an installed entry's incoming VIF.
    pub fn apply(&mut self, a: &ForwarderAction) -> Result<bool> {
        match a {
            ForwarderAction::AddVif { vif, ifindex } => {
                self.add_vif(*vif, *ifindex).map(|()| false)
            }
            ForwarderAction::DelVif { vif, ifindex } => {
                self.del_vif(*vif, *ifindex).map(|()| false)
            }
            ForwarderAction::SetMfe {
                source,
                group,
                iif,
                oifs,
            } => self.set_mfc(*source, *group, *iif, oifs).map(|r| r.moved()),
            ForwarderAction::DelMfe { source, group, .. } => {
                self.del_mfc(*source, *group).map(|()| false)
            }
        }
    }

    /// Applies actions in order; every one is tried: the errors, and the (S,G)s whose
    /// installed incoming VIF moved.
    pub fn apply_all(&mut self, actions: &[ForwarderAction]) -> Applied {
        let mut applied = Applied::default();
        for a in actions {
            match self.apply(a) {
                Err(e) => applied.errors.push(e),
                Ok(true) => {
                    if let ForwarderAction::SetMfe { source, group, .. } = a {
                        applied.moved.push((*source, *group));
                    }
                }
                Ok(false) => {}
            }
        }
        applied
    }

    /// Upcalls the kernel could not queue since the socket was made (the receive buffer was
    /// full): each was a new (S,G) whose packet was dropped with its unresolved entry.
    pub fn upcalls_dropped(&self) -> Result<u64> {
        receive_drops(self.fd.as_fd())
            .map(u64::from)
            .context("mroute: read the upcall drop count (SO_MEMINFO)")
    }

    /// Reads one message without blocking, whatever it is: `Ok(None)` when none is queued.
    /// With the socket filter in place only upcalls ever arrive.
    pub fn recv_raw(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        loop {
            match recv(self.fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => return Ok(Some(n)),
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e).context("mroute: read upcall"),
            }
        }
    }

    /// Reads one upcall without blocking: `Ok(None)` when none is queued. `buf` receives the
    /// raw message (the `igmpmsg` and whatever the kernel copied of the packet).
    pub fn recv_upcall(&self, buf: &mut [u8]) -> Result<Option<(Upcall, usize)>> {
        while let Some(n) = self.recv_raw(buf)? {
            match parse_upcall(&buf[..n]) {
                Ok(u) => return Ok(Some((u, n))),
                Err(e) => log::debug!("mroute: ignoring non-upcall message: {e:?}"),
            }
        }
        Ok(None)
    }

    /// Deletes what this socket made, then `MRT_DONE`. Reports the first error.
    /// Deletes what this socket made and gives up the table (`MRT_DONE`).
    pub fn close(mut self) -> Result<()> {
        self.cleanup()
    }

    fn cleanup(&mut self) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let mut first: Option<anyhow::Error> = None;
        let mfcs: Vec<_> = self.mfcs.keys().copied().collect();
        for (s, g) in mfcs {
            if let Err(e) = self.del_mfc(s, g) {
                first.get_or_insert(e);
            }
        }
        let vifs: Vec<_> = self.vifs.iter().map(|(i, v)| (*i, *v)).collect();
        for (ifindex, vif) in vifs {
            if let Err(e) = self.del_vif(vif, ifindex) {
                first.get_or_insert(e);
            }
        }
        let one: libc::c_int = 1;
        if let Err(e) = set_opt(self.fd.as_fd(), libc::IPPROTO_IP, MRT_DONE, &one) {
            first.get_or_insert(anyhow::Error::new(e).context("mroute: MRT_DONE"));
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for MrouteSocket {
    fn drop(&mut self) {
        if let Err(e) = self.cleanup() {
            log::warn!("{e:#}");
        }
    }
}

/// `a + b`, field by field.
pub fn add(a: MfeCounters, b: MfeCounters) -> MfeCounters {
    MfeCounters {
        packets: a.packets.saturating_add(b.packets),
        bytes: a.bytes.saturating_add(b.bytes),
        wrong_if: a.wrong_if.saturating_add(b.wrong_if),
    }
}

/// What `now` counted since `base`, field by field.
fn since(now: MfeCounters, base: MfeCounters) -> MfeCounters {
    MfeCounters {
        packets: now.packets.saturating_sub(base.packets),
        bytes: now.bytes.saturating_sub(base.bytes),
        wrong_if: now.wrong_if.saturating_sub(base.wrong_if),
    }
}

/// A delete of something the kernel already removed (the interface went away, taking its VIF
/// and the entries using it) has nothing left to do.
fn already_gone_is_ok(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT)
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::Replaced;

    #[test]
    fn a_write_moved_the_entry_only_when_it_had_another_parent() {
        let new = Replaced {
            parent: None,
            now: 1,
        };
        let same = Replaced {
            parent: Some(1),
            now: 1,
        };
        let moved = Replaced {
            parent: Some(2),
            now: 1,
        };
        assert!(!new.moved(), "a new entry did not move");
        assert!(!same.moved(), "new OIFs, same incoming VIF");
        assert!(moved.moved());
    }
}
