//! IGMP wire format: constants, a zero-copy, zero-allocation parser, the Max Resp Code / QQIC
//! floating-point code and the internet checksum. `no_std`; shared by the daemon and the tests.
//!
//! [`parse`] takes the IGMP message (the bytes after the IPv4 header, `IP total length − IHL`
//! of them) and returns an [`IgmpMessage`] or a [`ParseError`] naming the problem.
//!
//! # Validation policy
//!
//! * The checksum is verified over **all** bytes given, trailing bytes included (RFC 2236 §2.5,
//!   RFC 3376 §4.1.2 / §4.2.12 "additional data").
//! * Fewer than 8 bytes: [`ParseError::Truncated`]. Unknown type: [`ParseError::UnknownType`].
//! * Query version by length (RFC 3376 §7.1): 8 bytes → v1 (Max Resp Code 0) or v2; 12 bytes or
//!   more → v3; 9–11 bytes → [`ParseError::BadQueryLength`]. A v3 query whose Number of Sources
//!   runs past the end → [`ParseError::QuerySourcesBeyondEnd`].
//! * v3 report: every record header, source list and auxiliary data block must lie inside the
//!   message ([`ParseError::RecordBeyondEnd`], [`ParseError::RecordSourcesBeyondEnd`],
//!   [`ParseError::AuxDataBeyondEnd`]). Auxiliary data inside the message is skipped (§4.2.10:
//!   "MUST be ignored").
//! * Trailing bytes (after the 8 bytes of a v1/v2 message, after the source list of a v3 query,
//!   after the last record of a v3 report) are **ignored** by [`parse`], as RFC 2236 §2.5 and
//!   RFC 3376 §4.1.10 / §4.2.12 require; [`parse_strict`] rejects them with
//!   [`ParseError::TrailingBytes`].
//! * Unknown record types (not 1–6) are structurally walked (their layout is the common one) and
//!   yielded as [`RecordType::Unknown`] by [`parse`], so the router can silently ignore that
//!   record and still process the others (RFC 3376 §4.2.12 wording: "unrecognized Record Type
//!   values MUST be silently ignored"); [`parse_strict`] rejects the message with
//!   [`ParseError::UnknownRecordType`].
//! * Semantic checks (group is multicast, report destination) are the router's job, not the
//!   parser's: they depend on the IP header.
//!
//! # Truncated captures
//!
//! The classifier hands the daemon at most
//! [`MAX_EVENT_IGMP_LEN`](crate::event::MAX_EVENT_IGMP_LEN) bytes of a message and flags a
//! longer one [`EVENT_FLAG_TRUNCATED`](crate::event::EVENT_FLAG_TRUNCATED), after verifying
//! the checksum over the **full** message. [`parse_truncated`] reads such a prefix, with the
//! policy of [`parse`] except:
//!
//! * no checksum check (it cannot be computed over a prefix);
//! * v3 report: the records are walked as far as the bytes go; the first record whose header or
//!   source list is cut, and everything after it, is dropped silently instead of being an
//!   error. A record whose header and sources are complete but whose auxiliary data is cut is
//!   kept (auxiliary data is ignored anyway, RFC 3376 §4.2.10; it can only be the last one).
//!   [`V3Report::announced_records`] is the Number of Group Records of the header,
//!   [`V3Report::complete_records`] (= `records().len()`) the records yielded,
//!   [`V3Report::lost_records`] the difference;
//! * v3 query: the sources that fit are kept (a partial last address is dropped);
//! * v1/v2 messages, unknown types, 9–11-byte queries and fewer than 8 bytes: as [`parse`].
//!
//! Use it only on a capture the classifier flagged truncated: on anything else it would accept
//! corrupt messages.

use core::fmt;
use core::net::Ipv4Addr;

pub const IPPROTO_IGMP: u8 = 2;
pub const TYPE_MEMBERSHIP_QUERY: u8 = 0x11;
pub const TYPE_V1_REPORT: u8 = 0x12;
pub const TYPE_V2_REPORT: u8 = 0x16;
pub const TYPE_V2_LEAVE: u8 = 0x17;
pub const TYPE_V3_REPORT: u8 = 0x22;

/// IGMPv3 group record types (RFC 3376 §4.2.12); [`RecordType`] is their parsed form.
pub const MODE_IS_INCLUDE: u8 = 1;
pub const MODE_IS_EXCLUDE: u8 = 2;
pub const CHANGE_TO_INCLUDE_MODE: u8 = 3;
pub const CHANGE_TO_EXCLUDE_MODE: u8 = 4;
pub const ALLOW_NEW_SOURCES: u8 = 5;
pub const BLOCK_OLD_SOURCES: u8 = 6;

/// 224.0.0.1: general queries go here.
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
/// 224.0.0.2: v2 leaves go here.
pub const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// 224.0.0.22: v3 reports go here.
pub const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);

/// Length of a v1/v2 message and of the fixed part of a v3 report.
pub const HEADER_LEN: usize = 8;
/// Length of a v3 query without sources.
pub const V3_QUERY_MIN_LEN: usize = 12;
/// Length of a v3 group record header (type, aux len, nsrc, group).
pub const RECORD_HEADER_LEN: usize = 8;

/// Why a message was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than 8 bytes.
    Truncated { len: usize },
    /// The internet checksum over the whole message does not verify. `computed` is the checksum
    /// the message would need (the value computed with the checksum field zeroed).
    BadChecksum { found: u16, computed: u16 },
    /// Type not one of 0x11, 0x12, 0x16, 0x17, 0x22.
    UnknownType { msg_type: u8 },
    /// A query of 9, 10 or 11 bytes (RFC 3376 §7.1: ignored).
    BadQueryLength { len: usize },
    /// A v3 query whose Number of Sources needs more bytes than the message has.
    QuerySourcesBeyondEnd { nsrc: u16, len: usize },
    /// Group record `index` (0-based) header starts or ends past the end of the report.
    RecordBeyondEnd { index: u16, num_records: u16 },
    /// Group record `index` lists `nsrc` sources that run past the end of the report.
    RecordSourcesBeyondEnd { index: u16, nsrc: u16 },
    /// Group record `index` has `aux_words` 32-bit words of auxiliary data past the end.
    AuxDataBeyondEnd { index: u16, aux_words: u8 },
    /// Group record `index` has a record type other than 1–6 ([`parse_strict`] only).
    UnknownRecordType { index: u16, record_type: u8 },
    /// `extra` bytes after the message proper ([`parse_strict`] only).
    TrailingBytes { extra: usize },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::Truncated { len } => {
                write!(f, "truncated IGMP message: {len} bytes, need at least 8")
            }
            ParseError::BadChecksum { found, computed } => write!(
                f,
                "bad IGMP checksum: found {found:#06x}, computed {computed:#06x}"
            ),
            ParseError::UnknownType { msg_type } => {
                write!(f, "unknown IGMP message type {msg_type:#04x}")
            }
            ParseError::BadQueryLength { len } => write!(
                f,
                "membership query of {len} bytes (neither 8 nor at least 12)"
            ),
            ParseError::QuerySourcesBeyondEnd { nsrc, len } => {
                write!(f, "v3 query lists {nsrc} sources but has only {len} bytes")
            }
            ParseError::RecordBeyondEnd { index, num_records } => write!(
                f,
                "v3 report: group record {index} of {num_records} runs past the end"
            ),
            ParseError::RecordSourcesBeyondEnd { index, nsrc } => write!(
                f,
                "v3 report: group record {index} lists {nsrc} sources past the end"
            ),
            ParseError::AuxDataBeyondEnd { index, aux_words } => write!(
                f,
                "v3 report: group record {index} has {aux_words} words of aux data past the end"
            ),
            ParseError::UnknownRecordType { index, record_type } => write!(
                f,
                "v3 report: group record {index} has unknown record type {record_type}"
            ),
            ParseError::TrailingBytes { extra } => {
                write!(f, "{extra} trailing bytes after the IGMP message")
            }
        }
    }
}

/// Query version, detected from the length and Max Resp Code (RFC 3376 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueryVersion {
    V1 = 1,
    V2 = 2,
    V3 = 3,
}

impl QueryVersion {
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// A membership query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query<'a> {
    pub version: QueryVersion,
    /// Raw Max Resp Code byte (0 in a v1 query; linear tenths in v2; floating-point in v3).
    pub max_resp_code: u8,
    /// Group address; 0.0.0.0 for a general query.
    pub group: Ipv4Addr,
    /// Suppress Router-Side Processing (v3 only; false otherwise).
    pub s_flag: bool,
    /// Querier's Robustness Variable (v3 only; 0 otherwise).
    pub qrv: u8,
    /// Querier's Query Interval Code (v3 only; 0 otherwise).
    pub qqic: u8,
    /// Source list (v3 only; empty otherwise).
    pub sources: Sources<'a>,
}

impl Query<'_> {
    /// True for a general query (group 0.0.0.0).
    pub fn is_general(&self) -> bool {
        self.group.is_unspecified()
    }

    /// Max response time in tenths of a second: v1 → 100 (RFC 2236 §4: a v1 query means 10 s),
    /// v2 → the byte itself, v3 → the decoded floating-point code.
    pub fn max_resp_tenths(&self) -> u32 {
        match self.version {
            QueryVersion::V1 => 100,
            QueryVersion::V2 => u32::from(self.max_resp_code),
            QueryVersion::V3 => decode_float_code(self.max_resp_code),
        }
    }

    /// Querier's query interval in seconds (decoded QQIC), v3 only; 0 when absent.
    pub fn qqi_secs(&self) -> u32 {
        decode_float_code(self.qqic)
    }
}

/// v3 group record types (RFC 3376 §4.2.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// MODE_IS_INCLUDE (1)
    IsInclude,
    /// MODE_IS_EXCLUDE (2)
    IsExclude,
    /// CHANGE_TO_INCLUDE_MODE (3)
    ToInclude,
    /// CHANGE_TO_EXCLUDE_MODE (4)
    ToExclude,
    /// ALLOW_NEW_SOURCES (5)
    AllowNew,
    /// BLOCK_OLD_SOURCES (6)
    BlockOld,
    /// Anything else; the router ignores the record.
    Unknown(u8),
}

impl RecordType {
    pub fn from_u8(v: u8) -> Self {
        match v {
            MODE_IS_INCLUDE => RecordType::IsInclude,
            MODE_IS_EXCLUDE => RecordType::IsExclude,
            CHANGE_TO_INCLUDE_MODE => RecordType::ToInclude,
            CHANGE_TO_EXCLUDE_MODE => RecordType::ToExclude,
            ALLOW_NEW_SOURCES => RecordType::AllowNew,
            BLOCK_OLD_SOURCES => RecordType::BlockOld,
            other => RecordType::Unknown(other),
        }
    }

    pub fn as_u8(self) -> u8 {
        match self {
            RecordType::IsInclude => MODE_IS_INCLUDE,
            RecordType::IsExclude => MODE_IS_EXCLUDE,
            RecordType::ToInclude => CHANGE_TO_INCLUDE_MODE,
            RecordType::ToExclude => CHANGE_TO_EXCLUDE_MODE,
            RecordType::AllowNew => ALLOW_NEW_SOURCES,
            RecordType::BlockOld => BLOCK_OLD_SOURCES,
            RecordType::Unknown(v) => v,
        }
    }
}

/// Iterator over a list of IPv4 addresses stored back to back (4 bytes each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sources<'a> {
    bytes: &'a [u8],
}

impl<'a> Sources<'a> {
    /// An empty list.
    pub const EMPTY: Sources<'static> = Sources { bytes: &[] };

    /// `bytes.len()` must be a multiple of 4; a trailing partial address is never yielded.
    pub fn new(bytes: &'a [u8]) -> Self {
        Sources {
            bytes: &bytes[..bytes.len() / 4 * 4],
        }
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl Iterator for Sources<'_> {
    type Item = Ipv4Addr;

    fn next(&mut self) -> Option<Ipv4Addr> {
        let (head, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(Ipv4Addr::from(*head))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Sources<'_> {}

/// One v3 group record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupRecord<'a> {
    pub record_type: RecordType,
    /// Auxiliary data length in 32-bit words (the data itself is skipped).
    pub aux_words: u8,
    pub group: Ipv4Addr,
    pub sources: Sources<'a>,
}

/// Iterator over the (already validated) group records of a v3 report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records<'a> {
    bytes: &'a [u8],
    remaining: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = GroupRecord<'a>;

    fn next(&mut self) -> Option<GroupRecord<'a>> {
        if self.remaining == 0 {
            return None;
        }
        // Bounds were checked by `parse`; every access is still checked, never panics.
        let (hdr, rest) = self.bytes.split_first_chunk::<RECORD_HEADER_LEN>()?;
        let nsrc = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        let aux = usize::from(hdr[1]) * 4;
        let src_bytes = rest.get(..nsrc * 4)?;
        // A cut in the auxiliary data of the last record of a truncated capture leaves nothing.
        self.bytes = rest.get(nsrc * 4 + aux..).unwrap_or(&[]);
        self.remaining -= 1;
        Some(GroupRecord {
            record_type: RecordType::from_u8(hdr[0]),
            aux_words: hdr[1],
            group: Ipv4Addr::new(hdr[4], hdr[5], hdr[6], hdr[7]),
            sources: Sources::new(src_bytes),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.remaining);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Records<'_> {}

/// A v3 membership report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V3Report<'a> {
    /// Number of Group Records field of the header (= [`Self::announced_records`]).
    pub num_records: u16,
    records: Records<'a>,
}

impl<'a> V3Report<'a> {
    /// The group records, in message order (unknown types included, as [`RecordType::Unknown`]).
    /// From [`parse_truncated`], only the [`Self::complete_records`] that were captured.
    pub fn records(&self) -> Records<'a> {
        self.records
    }

    /// Number of Group Records announced in the header.
    pub fn announced_records(&self) -> u16 {
        self.num_records
    }

    /// Records [`Self::records`] yields: all announced ones from [`parse`] / [`parse_strict`],
    /// those captured completely from [`parse_truncated`].
    pub fn complete_records(&self) -> u16 {
        self.records.remaining
    }

    /// Announced records that were cut off by a truncated capture (0 from [`parse`]).
    pub fn lost_records(&self) -> u16 {
        self.num_records - self.records.remaining
    }
}

/// A parsed IGMP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgmpMessage<'a> {
    Query(Query<'a>),
    V1Report { group: Ipv4Addr },
    V2Report { group: Ipv4Addr },
    V2Leave { group: Ipv4Addr },
    V3Report(V3Report<'a>),
}

/// Parses an IGMP message with the lenient, RFC-mandated policy (see the module docs).
pub fn parse(bytes: &[u8]) -> Result<IgmpMessage<'_>, ParseError> {
    parse_with(bytes, Mode::Lenient)
}

/// Like [`parse`], but also rejects trailing bytes and unknown record types.
pub fn parse_strict(bytes: &[u8]) -> Result<IgmpMessage<'_>, ParseError> {
    parse_with(bytes, Mode::Strict)
}

/// Parses the captured prefix of a message the classifier truncated (whose checksum it
/// verified over the full message): no checksum check, a v3 report keeps the records captured
/// completely, a v3 query the sources that fit. See "Truncated captures" in the module docs.
pub fn parse_truncated(bytes: &[u8]) -> Result<IgmpMessage<'_>, ParseError> {
    parse_with(bytes, Mode::Truncated)
}

/// Parsing policy.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// [`parse`].
    Lenient,
    /// [`parse_strict`].
    Strict,
    /// [`parse_truncated`].
    Truncated,
}

fn ipv4_at(bytes: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3])
}

fn trailing(mode: Mode, len: usize, used: usize) -> Result<(), ParseError> {
    if mode == Mode::Strict && len > used {
        Err(ParseError::TrailingBytes { extra: len - used })
    } else {
        Ok(())
    }
}

fn parse_with(bytes: &[u8], mode: Mode) -> Result<IgmpMessage<'_>, ParseError> {
    let len = bytes.len();
    if len < HEADER_LEN {
        return Err(ParseError::Truncated { len });
    }
    if mode != Mode::Truncated && checksum(bytes) != 0 {
        let found = u16::from_be_bytes([bytes[2], bytes[3]]);
        // Sum of everything but the checksum field.
        let mut sum: u32 = u32::from(!checksum(bytes)) + u32::from(!found);
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return Err(ParseError::BadChecksum {
            found,
            computed: !(sum as u16),
        });
    }
    let msg_type = bytes[0];
    let group = ipv4_at(bytes, 4);
    match msg_type {
        TYPE_MEMBERSHIP_QUERY => parse_query(bytes, mode),
        TYPE_V1_REPORT => {
            trailing(mode, len, HEADER_LEN)?;
            Ok(IgmpMessage::V1Report { group })
        }
        TYPE_V2_REPORT => {
            trailing(mode, len, HEADER_LEN)?;
            Ok(IgmpMessage::V2Report { group })
        }
        TYPE_V2_LEAVE => {
            trailing(mode, len, HEADER_LEN)?;
            Ok(IgmpMessage::V2Leave { group })
        }
        TYPE_V3_REPORT => parse_v3_report(bytes, mode),
        other => Err(ParseError::UnknownType { msg_type: other }),
    }
}

fn parse_query(bytes: &[u8], mode: Mode) -> Result<IgmpMessage<'_>, ParseError> {
    let len = bytes.len();
    let max_resp_code = bytes[1];
    let group = ipv4_at(bytes, 4);
    if len == HEADER_LEN {
        let version = if max_resp_code == 0 {
            QueryVersion::V1
        } else {
            QueryVersion::V2
        };
        return Ok(IgmpMessage::Query(Query {
            version,
            max_resp_code,
            group,
            s_flag: false,
            qrv: 0,
            qqic: 0,
            sources: Sources::EMPTY,
        }));
    }
    if len < V3_QUERY_MIN_LEN {
        return Err(ParseError::BadQueryLength { len });
    }
    let nsrc = u16::from_be_bytes([bytes[10], bytes[11]]);
    let mut end = V3_QUERY_MIN_LEN + usize::from(nsrc) * 4;
    if end > len {
        if mode != Mode::Truncated {
            return Err(ParseError::QuerySourcesBeyondEnd { nsrc, len });
        }
        // The sources captured completely.
        end = V3_QUERY_MIN_LEN + (len - V3_QUERY_MIN_LEN) / 4 * 4;
    }
    trailing(mode, len, end)?;
    Ok(IgmpMessage::Query(Query {
        version: QueryVersion::V3,
        max_resp_code,
        group,
        s_flag: bytes[8] & 0x08 != 0,
        qrv: bytes[8] & 0x07,
        qqic: bytes[9],
        sources: Sources::new(&bytes[V3_QUERY_MIN_LEN..end]),
    }))
}

fn parse_v3_report(bytes: &[u8], mode: Mode) -> Result<IgmpMessage<'_>, ParseError> {
    let len = bytes.len();
    let num_records = u16::from_be_bytes([bytes[6], bytes[7]]);
    let truncated = mode == Mode::Truncated;
    let mut at = HEADER_LEN;
    let mut complete = 0;
    for index in 0..num_records {
        if at + RECORD_HEADER_LEN > len {
            if truncated {
                break;
            }
            return Err(ParseError::RecordBeyondEnd { index, num_records });
        }
        let record_type = bytes[at];
        let aux_words = bytes[at + 1];
        let nsrc = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]);
        if mode == Mode::Strict {
            if let RecordType::Unknown(record_type) = RecordType::from_u8(record_type) {
                return Err(ParseError::UnknownRecordType { index, record_type });
            }
        }
        let src_end = at + RECORD_HEADER_LEN + usize::from(nsrc) * 4;
        if src_end > len {
            if truncated {
                break;
            }
            return Err(ParseError::RecordSourcesBeyondEnd { index, nsrc });
        }
        let end = src_end + usize::from(aux_words) * 4;
        if end > len {
            if truncated {
                // Sources complete, (ignored) aux data cut: keep the record; nothing follows.
                at = len;
                complete += 1;
                break;
            }
            return Err(ParseError::AuxDataBeyondEnd { index, aux_words });
        }
        at = end;
        complete += 1;
    }
    trailing(mode, len, at)?;
    Ok(IgmpMessage::V3Report(V3Report {
        num_records,
        records: Records {
            bytes: &bytes[HEADER_LEN..at],
            remaining: complete,
        },
    }))
}

mod codes;
pub use codes::{checksum, decode_float_code, encode_float_code, FLOAT_CODE_MAX};

#[cfg(test)]
mod tests;
