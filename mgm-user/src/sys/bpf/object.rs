//! The igmp-ebpf object embedded at build time (see build.rs).

/// The ELF bytes of the classifier, 8-byte aligned as aya requires.
#[cfg(not(mgm_no_ebpf))]
pub fn object_bytes() -> anyhow::Result<&'static [u8]> {
    Ok(aya::include_bytes_aligned!(env!("MGM_EBPF_OBJECT_PATH")))
}

/// This build has no classifier object; say how to get one.
#[cfg(mgm_no_ebpf)]
pub fn object_bytes() -> anyhow::Result<&'static [u8]> {
    anyhow::bail!(
        "this mgm binary was built without the igmp-ebpf object; build it with `cargo xtask build`"
    )
}
