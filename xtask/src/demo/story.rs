//! The demo's story, step by step: what happens and why, then the evidence: the events mgm
//! published (`mgm events --json`), the lines of the external handler, the forwarding entry
//! (`mgm show mfe`), and the stream counted on each link (the kernel's VIF counters) and by
//! each receiver (the datagrams' sequence numbers).
use super::interrupt::pause;
use super::lab::{Driven, Lab, Lines};
use super::report::{datagrams, event_line, received, sent_between};
use anyhow::{bail, Result};
use serde_json::Value;
use std::time::{Duration, Instant};

pub(crate) const GROUP: &str = "239.1.1.1";
pub(crate) const SOURCE: &str = "192.0.2.10";
pub(crate) const HANDLER: &str = "demo-pim";
pub(crate) const PORT: &str = "5000";
const LINKS: [&str; 3] = ["demo-lan1", "demo-lan2", "demo-lan3"];
/// How long each step's stream is counted.
const WINDOW: Duration = Duration::from_secs(1);

/// A receiving host.
pub(crate) struct Receiver {
    pub(crate) name: &'static str,
    pub(crate) link: &'static str,
    pub(crate) host: Driven,
}

/// What a step waits for before its evidence is taken.
enum Until {
    /// The (S,G) entry forwards to exactly these links.
    Oifs(&'static [&'static str]),
    /// The group on the link is in this filter mode.
    Mode(&'static str, &'static str),
    /// The group on the link lists the source.
    HasSource(&'static str),
    /// The group is gone from the link.
    Gone(&'static str),
    /// The protocol owns the interface.
    Owns(&'static str, &'static str),
}

pub(crate) struct Story {
    pub(crate) lab: Lab,
    /// The source host (sending once the story starts).
    pub(crate) source: Driven,
    pub(crate) events: Lines,
    pub(crate) handler: Option<Lines>,
    pub(crate) receivers: Vec<Receiver>,
    /// Steps whose outcome was not the expected one.
    pub(crate) surprises: Vec<String>,
    step: usize,
}

impl Story {
    pub(crate) fn new(lab: Lab, source: Driven, events: Lines, receivers: Vec<Receiver>) -> Story {
        Story {
            lab,
            source,
            events,
            handler: None,
            receivers,
            surprises: Vec::new(),
            step: 0,
        }
    }

    pub(crate) fn receiver(&mut self, name: &str) -> Result<&mut Driven> {
        match self.receivers.iter_mut().find(|r| r.name == name) {
            Some(r) => Ok(&mut r.host),
            None => bail!("no receiver {name}"),
        }
    }

    /// The whole story; the source already sends.
    pub(crate) fn play(&mut self) -> Result<()> {
        self.hosts_join()?;
        self.another_protocol_and_a_static_receiver()?;
        self.receivers_leave()
    }

    /// Steps 1-4: the stream with nobody, then hosts on LAN1 and LAN2 join it.
    fn hosts_join(&mut self) -> Result<()> {
        let g = GROUP;
        self.step(
            "The source 192.0.2.10 sends a stream to 239.1.1.1 (20 numbered datagrams a second); \
             nobody has joined.",
            "Its first packet reaches mgm as an upcall from the kernel: local, the owner of \
             demo-src, passes the RPF check (rpf); the entry is made with no outgoing interface \
             (mfe_add), and local hears that nobody wants the stream (prune_alert): the kernel \
             drops it at the router without asking again.",
            |s| s.source.cmd(&format!("send {g} {PORT} 0 50")),
            Until::Oifs(&[]),
            &[],
        )?;
        self.step(
            "h1 on LAN1 joins 239.1.1.1 (IGMPv3, any source).",
            "Its report reaches mgm's classifier on demo-lan1; the IGMP router tells the \
             manager, which calls local_join for the owner of demo-lan1 (local); local adds the \
             membership and the entry gains demo-lan1 (join_alert to the owner of demo-src).",
            |s| s.receiver("h1")?.cmd(&format!("join {g}")),
            Until::Oifs(&["demo-lan1"]),
            &["demo-lan1"],
        )?;
        self.step(
            "h2 on LAN1 joins 239.1.1.1 from 192.0.2.10 only (IGMPv3, INCLUDE {192.0.2.10}).",
            "LAN1 gets the stream already: the group's record gains the source, forwarding does \
             not change, no callback is made.",
            |s| s.receiver("h2")?.cmd(&format!("sjoin {g} {SOURCE}")),
            Until::HasSource("demo-lan1"),
            &["demo-lan1"],
        )?;
        self.step(
            "h3 on LAN2 joins 239.1.1.1 (IGMPv2).",
            "A version 2 report: the same callbacks for demo-lan2, and the entry gains it.",
            |s| s.receiver("h3")?.cmd(&format!("join {g}")),
            Until::Oifs(&["demo-lan1", "demo-lan2"]),
            &["demo-lan1", "demo-lan2"],
        )?;
        Ok(())
    }

    /// Steps 5-7: a routing protocol in another process takes LAN3, a host there joins, a static
    /// receiver holds LAN2.
    fn another_protocol_and_a_static_receiver(&mut self) -> Result<()> {
        let g = GROUP;
        self.step(
            "A routing protocol in another process registers: \
             `mgm handler --name demo-pim --take demo-lan3`.",
            "mgm was started with `-i demo-lan3,protocol=demo-pim`: demo-lan3 waits for \
             demo-pim, which owns it as soon as it registers. From now on the callbacks for \
             demo-lan3 go to demo-pim over the control socket (its own lines below); `mgm \
             handler` forwards to its receivers as local does.",
            |s| {
                s.handler = Some(s.lab.handler(HANDLER, "demo-lan3")?);
                Ok(())
            },
            Until::Owns(HANDLER, "demo-lan3"),
            &["demo-lan1", "demo-lan2"],
        )?;
        self.step(
            "h4 on LAN3 joins 239.1.1.1 (IGMPv3).",
            "local_join goes to demo-pim, in its process; it adds a membership of its own \
             (join_alert tells the other protocol, local), and the entry gains demo-lan3.",
            |s| s.receiver("h4")?.cmd(&format!("join {g}")),
            Until::Oifs(&LINKS),
            &LINKS,
        )?;
        self.step(
            "A static receiver on LAN2: `mgm join -i demo-lan2 -g 239.1.1.1`.",
            "A receiver that never leaves (protocol static), for a link whose hosts cannot \
             join. LAN2 has the stream already; it will keep it when h3 leaves.",
            |s| s.lab.mgm(&["join", "-i", "demo-lan2", "-g", g]).map(|_| ()),
            Until::Oifs(&LINKS),
            &LINKS,
        )?;
        Ok(())
    }

    /// Steps 8-12: the receivers leave one by one, until the stream stops at the router.
    fn receivers_leave(&mut self) -> Result<()> {
        let g = GROUP;
        self.step(
            "h1 leaves LAN1; h2 is still there.",
            "The router asks LAN1 whether anyone still wants the group (group-specific queries, \
             2 x 200 ms). h2 answers for its source: the group becomes INCLUDE {192.0.2.10}, so \
             local hears that LAN1 wants (192.0.2.10,239.1.1.1) and no longer (*,239.1.1.1); \
             LAN1 keeps this stream.",
            |s| s.receiver("h1")?.cmd(&format!("leave {g}")),
            Until::Mode("demo-lan1", "include"),
            &LINKS,
        )?;
        self.step(
            "h2 leaves LAN1: the last member there.",
            "Nobody answers the queries: the group is gone from LAN1 after 400 ms, local_leave \
             goes to local, the entry loses demo-lan1, and the stream stops on that link.",
            |s| s.receiver("h2")?.cmd(&format!("sleave {g} {SOURCE}")),
            Until::Oifs(&["demo-lan2", "demo-lan3"]),
            &["demo-lan2", "demo-lan3"],
        )?;
        self.step(
            "h3 leaves LAN2 (an IGMPv2 leave).",
            "The IGMP group goes from LAN2 (local_leave for the hosts' membership), but the \
             static receiver holds demo-lan2: the stream goes on there.",
            |s| s.receiver("h3")?.cmd(&format!("leave {g}")),
            Until::Gone("demo-lan2"),
            &["demo-lan2", "demo-lan3"],
        )?;
        self.step(
            "The static receiver goes: `mgm leave -i demo-lan2 -g 239.1.1.1`.",
            "The last receiver on LAN2: local_leave; no link of local wants (*,239.1.1.1) any \
             more, which the other protocol hears (prune_alert to demo-pim); the entry loses \
             demo-lan2.",
            |s| {
                s.lab
                    .mgm(&["leave", "-i", "demo-lan2", "-g", g])
                    .map(|_| ())
            },
            Until::Oifs(&["demo-lan3"]),
            &["demo-lan3"],
        )?;
        self.step(
            "h4 leaves LAN3.",
            "demo-pim gets local_leave and removes its membership (prune_alert to local, the \
             other protocol); the entry has no outgoing interface left (prune_alert to local as \
             the owner of demo-src): the stream stops at the router.",
            |s| s.receiver("h4")?.cmd(&format!("leave {g}")),
            Until::Oifs(&[]),
            &[],
        )?;
        Ok(())
    }

    /// One step: says what happens and why, does it, waits for its outcome, shows the
    /// evidence and checks the stream reaches exactly `flowing`.
    fn step(
        &mut self,
        what: &str,
        why: &str,
        action: impl FnOnce(&mut Story) -> Result<()>,
        until: Until,
        flowing: &[&str],
    ) -> Result<()> {
        self.step += 1;
        println!("\n[{}] {what}", self.step);
        println!("{}", wrap(why, "    "));
        let events_from = len(&self.events);
        let handler_from = self.handler.as_ref().map_or(0, len);
        action(self)?;
        if !self.wait(&until)? {
            self.surprise(format!(
                "step {}: {} did not come",
                self.step,
                until.describe()
            ));
        }
        // The events of the step's last changes, published just after them.
        pause(Duration::from_millis(300))?;
        self.show_events(events_from);
        if let Some(h) = &self.handler {
            let lines = since(h, handler_from);
            if !lines.is_empty() {
                println!("  {HANDLER} (mgm handler, another process) printed:");
                for l in lines {
                    println!("    {l}");
                }
            }
        }
        println!("  forwarding entry (mgm show mfe):");
        for l in self.lab.mgm(&["show", "mfe"])?.lines() {
            println!("    {l}");
        }
        self.count_stream(flowing)
    }

    fn show_events(&self, from: usize) {
        const MOST: usize = 14;
        let lines: Vec<String> = since(&self.events, from)
            .iter()
            .filter_map(|l| event_line(l))
            .collect();
        if lines.is_empty() {
            println!("  events (mgm events): none");
            return;
        }
        println!("  events (mgm events):");
        for l in lines.iter().take(MOST) {
            println!("    {l}");
        }
        if lines.len() > MOST {
            println!("    ... and {} more", lines.len() - MOST);
        }
    }

    /// Counts the stream for [`WINDOW`] on each link and at each receiver; a link with
    /// packets must be one of `flowing`, and each of `flowing` must have some.
    fn count_stream(&mut self, flowing: &[&str]) -> Result<()> {
        let before = self.lab.packets_out()?;
        let marks: Vec<usize> = self.receivers.iter().map(|r| r.host.len()).collect();
        pause(WINDOW)?;
        let after = self.lab.packets_out()?;
        println!("  the stream during {:.1} s:", WINDOW.as_secs_f64());
        let mut wrong = Vec::new();
        for link in LINKS {
            let out = sent_between(&before, &after, link);
            let hosts: Vec<String> = self
                .receivers
                .iter()
                .zip(&marks)
                .filter(|(r, _)| r.link == link)
                .map(|(r, m)| format!("{} got {}", r.name, datagrams(&received(&r.host.since(*m)))))
                .collect();
            println!("    {link:<10} {out:>3} packets out   {}", hosts.join(", "));
            if (out > 0) != flowing.contains(&link) {
                wrong.push(link);
            }
        }
        if wrong.is_empty() {
            println!("  => as expected: the stream reaches {}.", reach(flowing));
        } else {
            println!(
                "  => UNEXPECTED on {}: it should reach {}.",
                wrong.join(", "),
                reach(flowing)
            );
            self.surprise(format!(
                "step {}: the stream on {}",
                self.step,
                wrong.join(", ")
            ));
        }
        Ok(())
    }

    fn surprise(&mut self, what: String) {
        self.surprises.push(what);
    }

    /// Polls the daemon until `until` holds (true) or 8 s pass (false).
    fn wait(&self, until: &Until) -> Result<bool> {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            if self.holds(until)? {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            pause(Duration::from_millis(50))?;
        }
    }

    fn holds(&self, until: &Until) -> Result<bool> {
        let json = |what: &str| -> Result<Value> {
            Ok(serde_json::from_str(
                &self.lab.mgm(&["show", what, "--json"])?,
            )?)
        };
        let rows = |v: &Value| v.as_array().cloned().unwrap_or_default();
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let group_on = |link: &str| -> Result<Option<Value>> {
            Ok(rows(&json("groups")?)
                .into_iter()
                .find(|g| s(g, "interface") == link && s(g, "group") == GROUP))
        };
        Ok(match until {
            Until::Oifs(want) => rows(&json("mfe")?).iter().any(|m| {
                let mut oifs: Vec<&str> = m["oifs"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                oifs.sort_unstable();
                s(m, "source") == SOURCE && s(m, "group") == GROUP && oifs == *want
            }),
            Until::Mode(link, mode) => {
                group_on(link)?.is_some_and(|g| s(&g, "filter_mode") == *mode)
            }
            Until::HasSource(link) => group_on(link)?
                .is_some_and(|g| rows(&g["sources"]).iter().any(|x| s(x, "source") == SOURCE)),
            Until::Gone(link) => group_on(link)?.is_none(),
            Until::Owns(proto, link) => rows(&json("protocols")?).iter().any(|p| {
                s(p, "name") == *proto
                    && rows(&p["interfaces"])
                        .iter()
                        .any(|i| i.as_str() == Some(link))
            }),
        })
    }
}

impl Until {
    fn describe(&self) -> String {
        match self {
            Until::Oifs(l) => format!("the entry forwarding to [{}]", l.join(",")),
            Until::Mode(l, m) => format!("{GROUP} in {m} mode on {l}"),
            Until::HasSource(l) => format!("source {SOURCE} of {GROUP} on {l}"),
            Until::Gone(l) => format!("{GROUP} gone from {l}"),
            Until::Owns(p, l) => format!("{p} owning {l}"),
        }
    }
}

fn reach(links: &[&str]) -> String {
    match links {
        [] => "no link".to_string(),
        [one] => format!("{one} only"),
        _ => format!("{} and no other link", links.join(", ")),
    }
}

fn len(lines: &Lines) -> usize {
    lines.lock().map_or(0, |l| l.len())
}

fn since(lines: &Lines, from: usize) -> Vec<String> {
    lines
        .lock()
        .map(|l| l.get(from..).unwrap_or_default().to_vec())
        .unwrap_or_default()
}

/// `text` wrapped at 96 columns, each line indented by `indent`.
pub(crate) fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > 96 {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(indent);
    out.push_str(&line);
    out
}
