//! Kernel MFC installs per second through `mgm_user::sys::mroute::MrouteSocket` (one
//! `MRT_ADD_MFC` setsockopt per entry), in a throwaway network namespace with four veth
//! interfaces as VIFs. Per run: install N (S,G) entries (OIL of 2 VIFs), replace them all with a
//! different OIL (what a membership change does to each affected MFE), delete them all; the count
//! in `/proc/net/ip_mr_cache` is checked after the install and after the delete. After the
//! install, the whole table is read back once per run as the daemon's periodic reconcile reads
//! it (`mgm_user::sys::mfc_dump::dump`: one rtnetlink dump, parsed). Median over 5 runs. Needs
//! root (CAP_NET_ADMIN, namespaces).
use mgm_user::sys::mfc_dump;
use mgm_user::sys::mroute::MrouteSocket;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Instant;

const N: u32 = 10_000;
const RUNS: usize = 5;
const IFACES: usize = 4;
const SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn group(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0xEF10_0000 | i)
}

fn mfc_count() -> usize {
    std::fs::read_to_string("/proc/thread-self/net/ip_mr_cache")
        .expect("read ip_mr_cache")
        .lines()
        .skip(1)
        .count()
}

fn median(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "mfc_install: needs root (CAP_NET_ADMIN) to create a network namespace and become its \
             multicast router; run it as root (cargo xtask bench)"
        );
        std::process::exit(1);
    }
    let ns = Netns(format!("mgmb-mfc-{}", std::process::id()));
    ip(&["netns", "add", &ns.0]);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    for i in 0..IFACES {
        // veth pairs (the dummy driver may be missing); the VIFs go on the `d{i}` ends.
        let (d, peer) = (format!("d{i}"), format!("p{i}"));
        ip(&[
            "-n", &ns.0, "link", "add", &d, "type", "veth", "peer", "name", &peer,
        ]);
        ip(&["-n", &ns.0, "link", "set", &peer, "up"]);
        ip(&["-n", &ns.0, "link", "set", &d, "up"]);
    }
    let path = format!("/run/netns/{}", ns.0);
    let result = std::thread::spawn(move || {
        setns(
            File::open(&path).expect("open netns"),
            CloneFlags::CLONE_NEWNET,
        )
        .expect("setns");
        let ifindex: Vec<u32> = (0..IFACES)
            .map(|i| nix::net::if_::if_nametoindex(format!("d{i}").as_str()).expect("ifindex"))
            .collect();
        let mut sock = MrouteSocket::open(None).expect("open the mroute socket");
        for (v, &i) in ifindex.iter().enumerate() {
            sock.add_vif(v as u16, i).expect("add VIF");
        }
        let (mut add, mut upd, mut del) = (Vec::new(), Vec::new(), Vec::new());
        let mut dump = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            for g in 0..N {
                sock.set_mfc(SOURCE, group(g), ifindex[0], &ifindex[1..3])
                    .expect("MRT_ADD_MFC");
            }
            add.push(N as f64 / t.elapsed().as_secs_f64());
            assert_eq!(mfc_count(), N as usize, "entries in /proc/net/ip_mr_cache");
            let t = Instant::now();
            let read = mfc_dump::dump(None).expect("dump the MFC");
            dump.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(read.len(), N as usize, "entries in the dump");
            let t = Instant::now();
            for g in 0..N {
                sock.set_mfc(SOURCE, group(g), ifindex[0], &ifindex[1..4])
                    .expect("MRT_ADD_MFC (replace)");
            }
            upd.push(N as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            for g in 0..N {
                sock.del_mfc(SOURCE, group(g)).expect("MRT_DEL_MFC");
            }
            del.push(N as f64 / t.elapsed().as_secs_f64());
            assert_eq!(mfc_count(), 0, "entries left after the delete");
        }
        sock.close().expect("close the mroute socket");
        (add, upd, del, dump)
    })
    .join();
    let (mut add, mut upd, mut del, mut dump) = match result {
        Ok(r) => r,
        Err(_) => {
            eprintln!("mfc_install: the benchmark thread panicked");
            std::process::exit(1);
        }
    };
    for (what, v) in [
        ("install (new entry)", &mut add),
        ("replace (OIL change)", &mut upd),
        ("delete", &mut del),
    ] {
        let (m, lo, hi) = median(v);
        println!(
            "MFC {what:<21} setsockopt: median {m:>9.0} entries/s (min {lo:.0}, max {hi:.0}; {RUNS} runs of {N} entries; {:.2} us/entry)",
            1e6 / m
        );
    }
    let (m, lo, hi) = median(&mut dump);
    println!(
        "MFC dump (rtnetlink, parsed) of {N} entries: median {m:.1} ms (min {lo:.1}, max {hi:.1}; {RUNS} runs; {:.2} us/entry)",
        m * 1e3 / f64::from(N)
    );
}
