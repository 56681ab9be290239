//! [`FibRpf`] against the real kernel FIB, in a throwaway network namespace: an interface `d0`
//! with 192.0.2.1/24 and a route to 198.51.100.0/24 via 192.0.2.254 (onlink), no default
//! route. `d0` is one end of a veth pair whose peer stays in the namespace: the `dummy` link
//! type is not built into every kernel (this one has no modules), veth is.
//!
//! Needs root (CAP_NET_ADMIN): without it this test fails, it does not skip. The namespace is
//! removed by a guard, also when the test fails.
use mgm_user::manager::{RpfLookup, RpfRoute};
use mgm_user::sys::fib::FibRpf;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::net::Ipv4Addr;
use std::process::Command;

/// A named network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        Netns::new_named("rpf")
    }
    /// Tests of one run make namespaces of their own: `role` tells them apart.
    fn new_named(role: &str) -> Netns {
        let name = format!("mgmt-fib-{role}-{}", std::process::id());
        run(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }
    fn ip(&self, args: &[&str]) {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        run(&v);
    }
    /// Runs `f` on a dedicated thread inside the namespace.
    fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                setns(file, CloneFlags::CLONE_NEWNET).expect("setns into the test namespace");
                f()
            })
            .join()
            .expect("namespace thread panicked")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rpf_through_the_kernel_fib() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the FIB test needs root (CAP_NET_ADMIN) to create a network namespace; run it as root"
    );
    let ns = Netns::new();
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d0p"]);
    ns.ip(&["link", "set", "d0p", "up"]);
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "d0"]);
    ns.ip(&["link", "set", "d0", "up"]);
    ns.ip(&[
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "192.0.2.254",
        "dev",
        "d0",
        "onlink",
    ]);

    ns.enter(|| {
        let d0 = nix::net::if_::if_nametoindex("d0").expect("if_nametoindex d0");
        let mut fib = FibRpf::new().expect("open rtnetlink");

        let onlink = fib
            .route(Ipv4Addr::new(192, 0, 2, 7))
            .expect("route 192.0.2.7");
        assert_eq!(
            onlink,
            Some(RpfRoute {
                ifindex: d0,
                gateway: Ipv4Addr::UNSPECIFIED
            })
        );
        let via = fib
            .route(Ipv4Addr::new(198, 51, 100, 9))
            .expect("route 198.51.100.9");
        assert_eq!(
            via,
            Some(RpfRoute {
                ifindex: d0,
                gateway: Ipv4Addr::new(192, 0, 2, 254)
            })
        );
        // No default route: the kernel answers ENETUNREACH.
        let none = Ipv4Addr::new(203, 0, 113, 1);
        assert_eq!(fib.route(none).expect("route 203.0.113.1"), None);
        assert_eq!(fib.lookup(none), None);
        // Through the trait, and many requests on one socket (sequence numbers line up).
        for _ in 0..100 {
            assert_eq!(fib.lookup(Ipv4Addr::new(198, 51, 100, 9)), via);
        }
    });

    // Routes that exist but lead nowhere are "no route" too.
    for (prefix, kind) in [
        ("203.0.113.128/25", "unreachable"),
        ("203.0.113.64/26", "prohibit"),
        ("203.0.113.32/27", "blackhole"),
    ] {
        ns.ip(&["route", "add", kind, prefix]);
    }
    ns.enter(|| {
        let mut fib = FibRpf::new().expect("open rtnetlink");
        for dst in [
            Ipv4Addr::new(203, 0, 113, 200),
            Ipv4Addr::new(203, 0, 113, 70),
            Ipv4Addr::new(203, 0, 113, 40),
        ] {
            assert_eq!(fib.route(dst).expect("route"), None, "{dst}");
        }
    });
}

/// A burst of questions (a host's report with hundreds of new sources) must not overrun the
/// resolver's socket, whose answers the kernel sends without waiting for room: every source
/// gets its answer, and nothing fails.
#[test]
fn a_burst_of_questions_is_answered_whole() {
    use mgm_user::sys::fib::{FibResolver, RouteCache};
    assert!(
        nix::unistd::geteuid().is_root(),
        "the FIB test needs root (CAP_NET_ADMIN) to create a network namespace; run it as root"
    );
    let ns = Netns::new_named("burst");
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d0p"]);
    ns.ip(&["link", "set", "d0p", "up"]);
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "d0"]);
    ns.ip(&["link", "set", "d0", "up"]);
    ns.enter(|| {
        let cache = RouteCache::new();
        let mut fib = FibResolver::new(cache.clone()).expect("open rtnetlink");
        let sources: Vec<Ipv4Addr> = [[192, 0, 2], [198, 51, 100], [203, 0, 113]]
            .iter()
            .flat_map(|p| (1..=254).map(move |h| Ipv4Addr::new(p[0], p[1], p[2], h)))
            .collect();
        let now = || mgm_user::time::monotonic_ns().expect("clock");
        // All asked before any answer is read, as a wake-up that handles one large report does.
        for s in &sources {
            fib.request(*s, now()).expect("request");
        }
        // Asked twice while the first question waits: one question (one answer).
        fib.request(sources[700], now()).expect("request again");
        assert!(
            sources.iter().all(|s| fib.asking(*s)),
            "all in flight or queued"
        );
        let mut answered = std::collections::BTreeSet::new();
        let mut answers = 0;
        let start = std::time::Instant::now();
        while answered.len() < sources.len() && start.elapsed() < std::time::Duration::from_secs(5)
        {
            let got = fib.answers(now());
            answers += got.len();
            answered.extend(got.into_iter().map(|(s, _)| s));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(answered.len(), sources.len(), "answers lost in the burst");
        assert_eq!(
            answers,
            sources.len(),
            "a source asked twice was answered twice"
        );
        // Answered: no longer asked, so a later lookup (after the cache forgets) asks again.
        assert!(
            sources.iter().all(|s| !fib.asking(*s)),
            "answered but still asked"
        );
        let on_link = cache.get(Ipv4Addr::new(192, 0, 2, 7)).flatten();
        assert!(on_link.is_some(), "192.0.2.7 is on d0");
        assert_eq!(
            cache.get(Ipv4Addr::new(203, 0, 113, 9)),
            Some(None),
            "no route"
        );
    });
}
