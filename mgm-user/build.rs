//! Embeds the igmp-ebpf object in the binary. `cargo xtask build` builds the object first and
//! passes its path in MGM_EBPF_OBJECT; without it the default output path is tried. A binary built
//! without the object still runs its host tests, and `mgm run` says how to build it properly.
use std::path::PathBuf;

fn main() {
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
