//! Audit events and their canonical JSON (`docs/audit-log.md` §6.2).
//!
//! ```json
//! {"actor":"<64 hex>","content":"<64 hex>","kind":"read","prev":"<64 hex>","record":"<64 hex>","time":1767225600,"v":1}
//! ```
//!
//! `content`, `prev`, `type`, `subtype` and `outcome` are left out when
//! absent; a `custom` event adds `"custom":"<name>"`. The entry commits to exactly these canonical bytes
//! (RFC 8785), so [`Event::from_canonical_json`] accepts only them.

use crate::entry::{parse_hex32, ActorRef, ContentDigest, Entry, RecordRef};
use crate::jcs::{to_canonical, JcsError, Value, MAX_SAFE_INTEGER};

/// The event format version, the `v` member.
pub const EVENT_VERSION: i64 = 1;
/// Longest canonical event accepted, in bytes.
pub const MAX_EVENT_LEN: usize = 2048;
/// Longest code (`type`, each `subtype`, `outcome`), in bytes.
pub const MAX_CODE_LEN: usize = 128;
/// Most codes in `subtype`.
pub const MAX_SUBTYPES: usize = 8;
/// Longest custom kind name, in bytes.
pub const MAX_CUSTOM_LEN: usize = 64;
/// Latest time accepted: 2^53 − 1 seconds.
pub const MAX_TIME: u64 = MAX_SAFE_INTEGER as u64;

/// What happened to the record.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// The record was created.
    Create,
    /// The record was changed.
    Amend,
    /// The record was read.
    Read,
    /// The record was exported.
    Export,
    /// The record was deleted.
    Delete,
    /// Consent was given.
    ConsentGrant,
    /// Consent was withdrawn.
    ConsentRevoke,
    /// A liveness beacon of the log itself.
    Beacon,
    /// A checkpoint of the log was anchored in Bitcoin.
    CheckpointAnchor,
    /// An application-defined kind: 1 to [`MAX_CUSTOM_LEN`] bytes of
    /// `[a-z0-9._-]`, starting with a letter or digit.
    Custom(String),
}

impl EventKind {
    /// The `kind` member's value.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Create => "create",
            EventKind::Amend => "amend",
            EventKind::Read => "read",
            EventKind::Export => "export",
            EventKind::Delete => "delete",
            EventKind::ConsentGrant => "consent-grant",
            EventKind::ConsentRevoke => "consent-revoke",
            EventKind::Beacon => "beacon",
            EventKind::CheckpointAnchor => "checkpoint-anchor",
            EventKind::Custom(_) => "custom",
        }
    }

    fn from_name(s: &str) -> Option<EventKind> {
        Some(match s {
            "create" => EventKind::Create,
            "amend" => EventKind::Amend,
            "read" => EventKind::Read,
            "export" => EventKind::Export,
            "delete" => EventKind::Delete,
            "consent-grant" => EventKind::ConsentGrant,
            "consent-revoke" => EventKind::ConsentRevoke,
            "beacon" => EventKind::Beacon,
            "checkpoint-anchor" => EventKind::CheckpointAnchor,
            _ => return None,
        })
    }

    /// The kind named `name` as the `kind` member writes it
    /// (`consent-grant`…); any other valid custom name is a custom kind.
    ///
    /// # Errors
    ///
    /// [`EventError::BadCustomKind`] for a name that is neither.
    pub fn parse(name: &str) -> Result<EventKind, EventError> {
        match EventKind::from_name(name) {
            Some(k) => Ok(k),
            None if name == "custom" => Err(EventError::BadCustomKind),
            None => EventKind::custom(name),
        }
    }

    /// A custom kind, its name checked.
    ///
    /// # Errors
    ///
    /// [`EventError::BadCustomKind`] for a name breaking the rules.
    pub fn custom(name: &str) -> Result<EventKind, EventError> {
        check_custom(name)?;
        Ok(EventKind::Custom(name.to_owned()))
    }
}

fn check_custom(name: &str) -> Result<(), EventError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_CUSTOM_LEN
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(EventError::BadCustomKind)
    }
}

/// What kind of event it was in the terms of the system that reported it,
/// e.g. a FHIR AuditEvent's codes (`docs/audit-log.md` §6.2): each code is
/// 1 to [`MAX_CODE_LEN`] bytes with no control character, written
/// `system|code` (`|code` without a system) for coded values.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Codes {
    /// The event's type.
    pub r#type: Option<String>,
    /// Its subtypes, at most [`MAX_SUBTYPES`], in the reporter's order.
    pub subtype: Vec<String>,
    /// Its outcome.
    pub outcome: Option<String>,
}

impl Codes {
    fn check(&self) -> Result<(), EventError> {
        let ok = |c: &String| {
            !c.is_empty() && c.len() <= MAX_CODE_LEN && !c.chars().any(char::is_control)
        };
        if !self.r#type.iter().all(ok) {
            return Err(bad("type"));
        }
        if self.subtype.len() > MAX_SUBTYPES || !self.subtype.iter().all(ok) {
            return Err(bad("subtype"));
        }
        if !self.outcome.iter().all(ok) {
            return Err(bad("outcome"));
        }
        Ok(())
    }
}

/// One audit event.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// When, in Unix seconds (at most [`MAX_TIME`]).
    pub time: u64,
    /// The record it happened to.
    pub record: RecordRef,
    /// Who did it.
    pub actor: ActorRef,
    /// A digest of the content concerned, if any.
    pub content: Option<ContentDigest>,
    /// The entry of the previous event of the same record, if any.
    pub prev: Option<Entry>,
    /// The reporter's codes for the event (none for events made here).
    pub codes: Codes,
}

/// Errors of writing or reading an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// A custom kind name that breaks the rules.
    #[error("invalid custom event kind")]
    BadCustomKind,
    /// A time past [`MAX_TIME`].
    #[error("time {found} is past the limit of {MAX_TIME}")]
    TimeOutOfRange {
        /// The time.
        found: u64,
    },
    /// The canonical writer refused the value.
    #[error("cannot write canonical json")]
    Canonical(#[from] JcsError),
    /// Bytes over [`MAX_EVENT_LEN`].
    #[error("event is {found} bytes, over the limit of {MAX_EVENT_LEN}")]
    TooLarge {
        /// Length found.
        found: usize,
    },
    /// Bytes that are not JSON, or not a JSON object.
    #[error("event is not a json object")]
    NotJson,
    /// A member missing, of the wrong type, malformed, or unknown.
    #[error("event member {member:?} is missing or invalid")]
    BadMember {
        /// The member's key.
        member: String,
    },
    /// A `v` other than [`EVENT_VERSION`].
    #[error("unsupported event version {found}")]
    Version {
        /// The version found.
        found: i64,
    },
    /// Valid JSON that is not in canonical form.
    #[error("event json is not canonical")]
    NotCanonical,
}

fn bad(member: &str) -> EventError {
    EventError::BadMember {
        member: member.to_owned(),
    }
}

impl Event {
    /// The event as a canonical JSON value.
    ///
    /// # Errors
    ///
    /// An [`EventError`] for a time out of range or an invalid custom kind.
    pub fn to_value(&self) -> Result<Value, EventError> {
        if self.time > MAX_TIME {
            return Err(EventError::TimeOutOfRange { found: self.time });
        }
        let s = |v: String| Value::String(v);
        let mut m = vec![
            ("v".to_owned(), Value::Integer(EVENT_VERSION)),
            ("kind".to_owned(), s(self.kind.as_str().to_owned())),
            ("time".to_owned(), Value::Integer(self.time as i64)),
            ("record".to_owned(), s(self.record.to_hex())),
            ("actor".to_owned(), s(self.actor.to_hex())),
        ];
        if let EventKind::Custom(name) = &self.kind {
            check_custom(name)?;
            m.push(("custom".to_owned(), s(name.clone())));
        }
        if let Some(c) = &self.content {
            m.push(("content".to_owned(), s(c.to_hex())));
        }
        if let Some(p) = &self.prev {
            m.push(("prev".to_owned(), s(p.to_hex())));
        }
        self.codes.check()?;
        if let Some(t) = &self.codes.r#type {
            m.push(("type".to_owned(), s(t.clone())));
        }
        if !self.codes.subtype.is_empty() {
            let items = self.codes.subtype.iter().cloned().map(s).collect();
            m.push(("subtype".to_owned(), Value::Array(items)));
        }
        if let Some(o) = &self.codes.outcome {
            m.push(("outcome".to_owned(), s(o.clone())));
        }
        Ok(Value::Object(m))
    }

    /// The canonical JSON bytes the entry commits to.
    ///
    /// # Errors
    ///
    /// As [`Event::to_value`].
    pub fn to_canonical_json(&self) -> Result<Vec<u8>, EventError> {
        Ok(to_canonical(&self.to_value()?)?)
    }

    /// Reads an event from its canonical JSON, refusing any other
    /// encoding of it (whitespace, member order, escapes, unknown members).
    ///
    /// # Errors
    ///
    /// An [`EventError`] for bytes over the limit, not an event, or not
    /// canonical.
    pub fn from_canonical_json(bytes: &[u8]) -> Result<Event, EventError> {
        if bytes.len() > MAX_EVENT_LEN {
            return Err(EventError::TooLarge { found: bytes.len() });
        }
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| EventError::NotJson)?;
        let obj = v.as_object().ok_or(EventError::NotJson)?;
        let str_of = |k: &str| obj.get(k).and_then(|v| v.as_str());
        let opt_str = |k: &str| -> Result<Option<String>, EventError> {
            match obj.get(k) {
                None => Ok(None),
                Some(v) => v.as_str().map(|s| Some(s.to_owned())).ok_or_else(|| bad(k)),
            }
        };
        let hex_of = |k: &str| -> Result<Option<[u8; 32]>, EventError> {
            match obj.get(k) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(parse_hex32)
                    .map(Some)
                    .ok_or_else(|| bad(k)),
            }
        };
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "v" | "kind"
                    | "time"
                    | "record"
                    | "actor"
                    | "custom"
                    | "content"
                    | "prev"
                    | "type"
                    | "subtype"
                    | "outcome"
            ) {
                return Err(bad(k));
            }
        }
        let version = obj
            .get("v")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| bad("v"))?;
        if version != EVENT_VERSION {
            return Err(EventError::Version { found: version });
        }
        let kind_s = str_of("kind").ok_or_else(|| bad("kind"))?;
        let kind = match (kind_s, str_of("custom")) {
            ("custom", Some(name)) => EventKind::custom(name)?,
            ("custom", None) => return Err(bad("custom")),
            (_, Some(_)) => return Err(bad("custom")),
            (k, None) => EventKind::from_name(k).ok_or_else(|| bad("kind"))?,
        };
        let time = obj
            .get("time")
            .and_then(|v| v.as_u64())
            .filter(|&t| t <= MAX_TIME)
            .ok_or_else(|| bad("time"))?;
        let event = Event {
            kind,
            time,
            record: RecordRef(hex_of("record")?.ok_or_else(|| bad("record"))?),
            actor: ActorRef(hex_of("actor")?.ok_or_else(|| bad("actor"))?),
            content: hex_of("content")?.map(ContentDigest),
            prev: hex_of("prev")?.map(Entry),
            codes: Codes {
                r#type: opt_str("type")?,
                subtype: match obj.get("subtype") {
                    None => Vec::new(),
                    Some(v) => v
                        .as_array()
                        .filter(|a| !a.is_empty())
                        .and_then(|a| {
                            a.iter()
                                .map(|x| x.as_str().map(str::to_owned))
                                .collect::<Option<Vec<_>>>()
                        })
                        .ok_or_else(|| bad("subtype"))?,
                },
                outcome: opt_str("outcome")?,
            },
        };
        if event.to_canonical_json()? != bytes {
            return Err(EventError::NotCanonical);
        }
        Ok(event)
    }
}
