//! Reading `mgm.toml`: the TOML is parsed with spans, every key is checked against what mgm
//! knows (the global keys of [`GLOBAL_KEYS`], the IGMP settings of [`SETTINGS`], the sections),
//! and every value is read as the flag of the same name reads it. Every error names the file,
//! the line and column, and the key.

use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::keys::{GlobalKey, GLOBAL_KEYS};
use super::{StaticJoin, StaticRoute};
use crate::settings::{find, Kind, Setting, PREFIX_SEPARATOR};

/// A configuration error: where (file, line, column) and which key, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based; 0 when the error is about the file as a whole.
    pub line: usize,
    pub column: usize,
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if let Some(k) = &self.key {
            write!(f, ": {k}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The text of a file and its name: turns byte spans into errors with line and column.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    pub fn error(
        &self,
        at: Option<Range<usize>>,
        key: Option<&str>,
        message: String,
    ) -> ConfigError {
        let (line, column) = match at {
            Some(at) => line_column(&self.text, at.start),
            None => (0, 0),
        };
        ConfigError {
            path: self.path.clone(),
            line,
            column,
            key: key.map(str::to_string),
            message,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// A value with where it was in the file.
#[derive(Clone, Debug)]
pub struct At<T> {
    pub value: T,
    pub at: Range<usize>,
}

/// One IGMP setting as the file gives it: the text the flag would take.
#[derive(Clone, Debug)]
pub struct IgmpValue {
    pub setting: &'static Setting,
    pub key: String,
    pub text: String,
    pub at: Range<usize>,
}

/// One `[[interface]]` section.
#[derive(Clone, Debug)]
pub struct FileInterface {
    pub name: At<String>,
    pub protocol: Option<At<String>>,
    pub igmp: Vec<IgmpValue>,
}

/// The file as read: nothing merged with the command line yet.
#[derive(Clone, Debug)]
pub struct FileConfig {
    pub source: Source,
    /// Global keys other than IGMP settings: (key, value) in file order.
    pub globals: Vec<(&'static GlobalKey, At<GlobalValue>)>,
    /// IGMP settings for every interface.
    pub igmp: Vec<IgmpValue>,
    pub interfaces: Vec<FileInterface>,
    pub joins: Vec<At<StaticJoin>>,
    pub routes: Vec<At<StaticRoute>>,
}

/// A global key's value, in the type its key takes.
#[derive(Clone, Debug, PartialEq)]
pub enum GlobalValue {
    Text(String),
    Switch(bool),
    Number(u32),
}

impl FileConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            key: None,
            message: format!("cannot read it: {e}"),
        })?;
        Self::parse(path, text)
    }

    /// Checks `text`, the content of `path`.
    pub fn parse(path: &Path, text: String) -> Result<Self, ConfigError> {
        let source = Source {
            path: path.to_path_buf(),
            text,
        };
        let table = DeTable::parse(&source.text).map_err(|e| {
            let message = e.message().trim().to_string();
            source.error(e.span(), None, format!("not valid TOML: {message}"))
        })?;
        let mut out = FileConfig {
            source: source.clone(),
            globals: Vec::new(),
            igmp: Vec::new(),
            interfaces: Vec::new(),
            joins: Vec::new(),
            routes: Vec::new(),
        };
        let r = Reader { src: &source };
        for (key, value) in entries(table.get_ref()) {
            let name = key.get_ref().as_ref();
            match name {
                "interface" => {
                    for t in r.tables(key, value)? {
                        let iface = r.interface(t)?;
                        if let Some(first) = out
                            .interfaces
                            .iter()
                            .find(|i| i.name.value == iface.name.value)
                        {
                            let (line, _) = line_column(&source.text, first.name.at.start);
                            return Err(source.error(
                                Some(iface.name.at.clone()),
                                Some("name"),
                                format!(
                                    "interface {} is listed twice (first on line {line})",
                                    iface.name.value
                                ),
                            ));
                        }
                        out.interfaces.push(iface);
                    }
                }
                "join" => {
                    for t in r.tables(key, value)? {
                        out.joins.push(r.join(t)?);
                    }
                }
                "route" => {
                    for t in r.tables(key, value)? {
                        out.routes.push(r.route(t)?);
                    }
                }
                _ => {
                    if let Some(g) = GLOBAL_KEYS.iter().find(|g| g.name == name) {
                        let v = r.global(g, value)?;
                        out.globals.push((g, v));
                    } else if let Some(s) = find(name) {
                        out.igmp.push(r.igmp(s, name, value)?);
                    } else {
                        return Err(r.unknown(key, "at the top level"));
                    }
                }
            }
        }
        Ok(out)
    }

    /// A global key's value, when the file gives it.
    pub fn global(&self, name: &str) -> Option<&At<GlobalValue>> {
        self.globals
            .iter()
            .find(|(g, _)| g.name == name)
            .map(|(_, v)| v)
    }
}

type Key<'i> = Spanned<std::borrow::Cow<'i, str>>;
type Value<'i> = Spanned<DeValue<'i>>;

/// A table's entries in file order.
fn entries<'a, 'i>(t: &'a DeTable<'i>) -> Vec<(&'a Key<'i>, &'a Value<'i>)> {
    let mut v: Vec<_> = t.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

/// Reads values, making errors located in the source.
struct Reader<'s> {
    src: &'s Source,
}

impl Reader<'_> {
    fn err(&self, at: Range<usize>, key: &str, message: String) -> ConfigError {
        self.src.error(Some(at), Some(key), message)
    }

    fn unknown(&self, key: &Key, place: &str) -> ConfigError {
        self.err(
            key.span(),
            key.get_ref(),
            format!("unknown key {place} (mgm.toml(5) lists the keys)"),
        )
    }

    fn wrong_type(&self, key: &str, v: &Value, want: &str) -> ConfigError {
        self.err(
            v.span(),
            key,
            format!("expected {want}, found {}", v.get_ref().type_str()),
        )
    }

    fn string(&self, key: &str, v: &Value) -> Result<At<String>, ConfigError> {
        match v.get_ref() {
            DeValue::String(s) => Ok(At {
                value: s.to_string(),
                at: v.span(),
            }),
            _ => Err(self.wrong_type(key, v, "a string")),
        }
    }

    fn address(&self, key: &str, v: &Value) -> Result<Ipv4Addr, ConfigError> {
        let s = self.string(key, v)?;
        s.value.trim().parse().map_err(|_| {
            self.err(
                v.span(),
                key,
                format!("'{}' is not an IPv4 address", s.value),
            )
        })
    }

    /// `[[NAME]]`: an array of tables.
    fn tables<'a, 'i>(
        &self,
        key: &Key,
        v: &'a Value<'i>,
    ) -> Result<Vec<(Range<usize>, &'a DeTable<'i>)>, ConfigError> {
        let name = key.get_ref().as_ref();
        let not = || {
            self.err(
                key.span(),
                name,
                format!("'{name}' is a list of sections: write [[{name}]] above each"),
            )
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(not());
        };
        items
            .iter()
            .map(|t| match t.get_ref() {
                DeValue::Table(table) => Ok((t.span(), table)),
                _ => Err(not()),
            })
            .collect()
    }

    fn global(&self, g: &GlobalKey, v: &Value) -> Result<At<GlobalValue>, ConfigError> {
        let value = match (g.kind, v.get_ref()) {
            (super::keys::ValueKind::Switch, DeValue::Boolean(b)) => GlobalValue::Switch(*b),
            (super::keys::ValueKind::Switch, _) => {
                return Err(self.wrong_type(g.name, v, "true or false"))
            }
            (super::keys::ValueKind::Number, DeValue::Integer(i)) => {
                let n = i.as_str().replace('_', "");
                let n =
                    u32::from_str_radix(n.trim_start_matches('+'), i.radix()).map_err(|_| {
                        self.err(
                            v.span(),
                            g.name,
                            format!("'{i}' is not a table id (0 to 4294967295)"),
                        )
                    })?;
                GlobalValue::Number(n)
            }
            (super::keys::ValueKind::Number, _) => {
                return Err(self.wrong_type(g.name, v, "an integer"))
            }
            (super::keys::ValueKind::Text, _) => GlobalValue::Text(self.string(g.name, v)?.value),
        };
        if let (GlobalValue::Text(t), Some(check)) = (&value, g.check) {
            check(t).map_err(|e| self.err(v.span(), g.name, e))?;
        }
        Ok(At {
            value,
            at: v.span(),
        })
    }

    /// An IGMP setting: its value as the flag's text, checked by the setting itself.
    fn igmp(&self, s: &'static Setting, key: &str, v: &Value) -> Result<IgmpValue, ConfigError> {
        let text = match (s.kind, v.get_ref()) {
            (_, DeValue::String(t)) => t.to_string(),
            (
                Kind::Version { .. } | Kind::Byte { .. } | Kind::Count { .. },
                DeValue::Integer(i),
            ) if i.radix() == 10 => i.as_str().replace('_', ""),
            (Kind::Switch { .. }, DeValue::Boolean(b)) => if *b { "on" } else { "off" }.into(),
            (Kind::Prefixes { .. }, DeValue::Array(items)) => {
                let parts = items
                    .iter()
                    .map(|p| self.string(key, p).map(|s| s.value))
                    .collect::<Result<Vec<_>, _>>()?;
                parts.join(&PREFIX_SEPARATOR.to_string())
            }
            (Kind::Duration { .. }, DeValue::Integer(i)) => {
                return Err(self.err(
                    v.span(),
                    key,
                    format!("a duration needs its unit: write \"{i}s\" (or 100ms, 1m30s, 1.5s)"),
                ))
            }
            _ => return Err(self.wrong_type(key, v, expected(s))),
        };
        s.check(&text)
            .map_err(|e| self.err(v.span(), key, e.to_string()))?;
        if let Kind::Version { .. } = s.kind {
            if !matches!(text.trim(), "1" | "2" | "3") {
                let why = format!("IGMP version must be 1, 2 or 3, not {}", text.trim());
                return Err(self.err(v.span(), key, why));
            }
        }
        Ok(IgmpValue {
            setting: s,
            key: key.to_string(),
            text,
            at: v.span(),
        })
    }

    fn interface(&self, (at, t): (Range<usize>, &DeTable)) -> Result<FileInterface, ConfigError> {
        let mut name = None;
        let mut protocol = None;
        let mut igmp = Vec::new();
        for (key, v) in entries(t) {
            let k = key.get_ref().as_ref();
            match k {
                "name" => {
                    let n = self.string(k, v)?;
                    if n.value.trim().is_empty() || n.value.contains(',') {
                        return Err(self.err(
                            v.span(),
                            k,
                            format!("'{}' is not an interface name", n.value),
                        ));
                    }
                    name = Some(n);
                }
                super::super::settings::PROTOCOL_KEY => {
                    let p = self.string(k, v)?;
                    crate::daemon::check_protocol_name(&p.value)
                        .map_err(|e| self.err(v.span(), k, e))?;
                    protocol = Some(p);
                }
                _ => match find(k) {
                    Some(s) => igmp.push(self.igmp(s, k, v)?),
                    None => return Err(self.unknown(key, "in [[interface]]")),
                },
            }
        }
        let name =
            name.ok_or_else(|| self.err(at, "name", "this [[interface]] has no name".to_string()))?;
        Ok(FileInterface {
            name,
            protocol,
            igmp,
        })
    }

    fn join(&self, (at, t): (Range<usize>, &DeTable)) -> Result<At<StaticJoin>, ConfigError> {
        let (mut interface, mut group, mut source) = (None, None, None);
        for (key, v) in entries(t) {
            let k = key.get_ref().as_ref();
            match k {
                "interface" => interface = Some(self.string(k, v)?.value),
                "group" => group = Some((self.address(k, v)?, v.span())),
                "source" => source = Some((self.address(k, v)?, v.span())),
                _ => return Err(self.unknown(key, "in [[join]]")),
            }
        }
        let missing = |k: &str| self.err(at.clone(), k, format!("this [[join]] has no {k}"));
        let interface = interface.ok_or_else(|| missing("interface"))?;
        let (group, g_at) = group.ok_or_else(|| missing("group"))?;
        self.check_group(group, g_at)?;
        if let Some((s, s_at)) = &source {
            self.check_source(*s, s_at.clone())?;
        }
        Ok(At {
            value: StaticJoin {
                interface,
                group,
                source: source.map(|(s, _)| s),
            },
            at,
        })
    }

    fn route(&self, (at, t): (Range<usize>, &DeTable)) -> Result<At<StaticRoute>, ConfigError> {
        let (mut source, mut group, mut iif, mut oifs) = (None, None, None, None);
        for (key, v) in entries(t) {
            let k = key.get_ref().as_ref();
            match k {
                "source" => source = Some((self.address(k, v)?, v.span())),
                "group" => group = Some((self.address(k, v)?, v.span())),
                "iif" => iif = Some(self.string(k, v)?.value),
                "oif" => {
                    let list = match v.get_ref() {
                        DeValue::Array(items) => items
                            .iter()
                            .map(|o| self.string(k, o).map(|s| s.value))
                            .collect::<Result<Vec<_>, _>>()?,
                        DeValue::String(s) => vec![s.to_string()],
                        _ => return Err(self.wrong_type(k, v, "a list of interface names")),
                    };
                    if list.is_empty() {
                        return Err(self.err(v.span(), k, "no outgoing interface".into()));
                    }
                    oifs = Some(list);
                }
                _ => return Err(self.unknown(key, "in [[route]]")),
            }
        }
        let missing = |k: &str| self.err(at.clone(), k, format!("this [[route]] has no {k}"));
        let (source, s_at) = source.ok_or_else(|| missing("source"))?;
        let (group, g_at) = group.ok_or_else(|| missing("group"))?;
        let iif = iif.ok_or_else(|| missing("iif"))?;
        let oifs = oifs.ok_or_else(|| missing("oif"))?;
        self.check_source(source, s_at)?;
        self.check_group(group, g_at)?;
        if oifs.contains(&iif) {
            return Err(self.err(
                at,
                "oif",
                format!("{iif} is both the incoming and an outgoing interface"),
            ));
        }
        Ok(At {
            value: StaticRoute {
                source,
                group,
                iif,
                oifs,
            },
            at,
        })
    }

    fn check_group(&self, g: Ipv4Addr, at: Range<usize>) -> Result<(), ConfigError> {
        if g.is_multicast() {
            return Ok(());
        }
        Err(self.err(
            at,
            "group",
            format!("{g} is not a multicast group (224.0.0.0/4)"),
        ))
    }

    fn check_source(&self, s: Ipv4Addr, at: Range<usize>) -> Result<(), ConfigError> {
        if s.is_multicast() || s.is_unspecified() || s.is_broadcast() {
            return Err(self.err(at, "source", format!("{s} is not a unicast source address")));
        }
        Ok(())
    }
}

/// What a setting's value looks like in the file, for a wrong type.
fn expected(s: &Setting) -> &'static str {
    match s.kind {
        Kind::Duration { .. } => "a duration string (\"125s\", \"100ms\", \"1m30s\")",
        Kind::Version { .. } => "1, 2 or 3",
        Kind::Byte { .. } | Kind::Count { .. } => "an integer",
        Kind::OlderQuerier { .. } => "\"warn\" or \"follow\"",
        Kind::Switch { .. } => "true or false (or \"on\", \"off\")",
        Kind::Prefixes { .. } => "a list of prefixes ([\"239.1.0.0/16\", \"232.0.0.0/8\"])",
    }
}
