//! Embeds the igmp-ebpf object in the binary. `cargo xtask build` builds the object first and
//! passes its path in MGM_EBPF_OBJECT; without it the default output path is tried. A binary built
//! without the object still runs its host tests, and `mgm run` says how to build it properly.
//! It also passes the release binary's code layout to the linker ([`order_idle_code`]).
use std::path::PathBuf;

fn main() {
    order_idle_code();
    println!("cargo:rustc-check-cfg=cfg(mgm_no_ebpf)");
    println!("cargo:rerun-if-env-changed=MGM_EBPF_OBJECT");
    let path = match std::env::var_os("MGM_EBPF_OBJECT") {
        Some(p) => PathBuf::from(p),
        None => {
            let manifest =
                PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
            manifest.join("../target/ebpf/bpfel-unknown-none/release/igmp-ebpf")
        }
    };
    println!("cargo:rerun-if-changed={}", path.display());
    if path.is_file() {
        println!("cargo:rustc-env=MGM_EBPF_OBJECT_PATH={}", path.display());
    } else {
        println!("cargo:rustc-cfg=mgm_no_ebpf");
        println!(
            "cargo:warning=eBPF object not found at {}; `mgm run` will refuse to start (build with `cargo xtask build`)",
            path.display()
        );
    }
}

/// The release `mgm` binary gets the functions an idle daemon runs laid out together
/// (`link/idle-order.txt`, docs/memory.md "Code pages"): fewer code pages resident while idle.
/// Only where rustc links with lld (its default on x86_64 Linux), which reads the file;
/// `MGM_NO_CODE_ORDER=1` leaves the layout to the linker (another linker set by hand).
fn order_idle_code() {
    println!("cargo:rerun-if-env-changed=MGM_NO_CODE_ORDER");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let order = manifest.join("link/idle-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let lld_target = std::env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    let opted_out = std::env::var_os("MGM_NO_CODE_ORDER").is_some_and(|v| v == "1");
    if release && lld_target && !opted_out && order.is_file() {
        println!(
            "cargo:rustc-link-arg-bin=mgm=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=mgm=-Wl,--no-warn-symbol-ordering");
    }
}
