//! FHIR AuditEvent resources (R4 and R5) as audit events
//! (`docs/audit-log.md` §6.4).
//!
//! [`FhirAuditEvent::parse`] reads one AuditEvent resource in FHIR's JSON
//! form and keeps what the event needs: the action (its kind), `recorded`
//! (its time), the record concerned (an entity), who acted (an agent), the
//! type, subtype and outcome codes, and the SHA-256 of the resource's bytes
//! as its content digest, so the clinic can later show the resource it
//! kept is the one logged. [`FhirAuditEvent::to_event`] takes the salted
//! references of the record and actor; their identifiers never reach the
//! log.
//!
//! ```
//! use btc_anchor_log::entry::{ActorRef, RecordRef, Salt};
//! use btc_anchor_log::event::EventKind;
//! use btc_anchor_log::fhir::{FhirAuditEvent, Release};
//!
//! let json = br#"{
//!   "resourceType": "AuditEvent",
//!   "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
//!   "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read"}],
//!   "action": "R",
//!   "recorded": "2026-12-03T09:15:00+01:00",
//!   "outcome": "0",
//!   "agent": [{"who": {"reference": "Practitioner/17"}, "requestor": true}],
//!   "source": {"observer": {"reference": "Device/ehr"}},
//!   "entity": [{"what": {"reference": "DocumentReference/abc"}}]
//! }"#;
//! let audit = FhirAuditEvent::parse(json)?;
//! assert_eq!(audit.release, Release::R4);
//! assert_eq!(audit.kind, EventKind::Read);
//! assert_eq!(audit.time, 1_796_285_700);
//! let salt = Salt::random()?;
//! let record = RecordRef::new(audit.record_id.as_bytes(), &salt);
//! let actor = ActorRef::new(audit.actor_id.as_bytes(), &salt);
//! let event = audit.to_event(record, actor, None);
//! assert_eq!(event.codes.outcome.as_deref(), Some("0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::entry::{ActorRef, ContentDigest, Entry, RecordRef};
use crate::event::{Codes, Event, EventKind, MAX_CODE_LEN, MAX_SUBTYPES, MAX_TIME};

/// Largest resource read, in bytes.
pub const MAX_RESOURCE_LEN: usize = 256 * 1024;
/// Longest record or actor identifier kept, in bytes.
pub const MAX_ID_LEN: usize = 1024;

/// The DICOM code of an export event (`DCM|110106`).
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";

/// The FHIR release a resource was read as.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Release {
    /// FHIR R4 (4.0.1) and R4B: `type` and `subtype` Codings, `outcome` a
    /// code.
    R4,
    /// FHIR R5 (5.0.0): `category` and `code` CodeableConcepts, `outcome`
    /// a backbone element.
    R5,
}

/// Errors of reading an AuditEvent resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// More bytes than [`MAX_RESOURCE_LEN`].
    #[error("resource is {found} bytes, over the limit of {MAX_RESOURCE_LEN}")]
    TooLarge {
        /// Length found.
        found: usize,
    },
    /// Bytes that are not a JSON object.
    #[error("resource is not a json object")]
    NotJson,
    /// A `resourceType` other than `AuditEvent`.
    #[error("resource is not an AuditEvent")]
    NotAuditEvent,
    /// Neither R4's `type` nor R5's `code`, or both.
    #[error(
        "cannot tell the FHIR release: an AuditEvent has R4's `type` or R5's `code`, not both"
    )]
    UnknownRelease,
    /// A member missing where it is required, of the wrong type, or with a
    /// value out of its value set or limits.
    #[error("member {member} is missing or invalid")]
    BadMember {
        /// The member's path, e.g. `recorded` or `agent.who`.
        member: &'static str,
    },
    /// No entity (nor, in R5, `patient`) names the record concerned.
    #[error("no entity names the record concerned")]
    NoRecord,
    /// No agent names who acted.
    #[error("no agent names who acted")]
    NoActor,
}

fn bad(member: &'static str) -> FhirError {
    FhirError::BadMember { member }
}

/// What an AuditEvent resource says, ready to be salted into an [`Event`].
///
/// `record_id` and `actor_id` identify people and records: they stay in
/// the clinic and are left out of `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct FhirAuditEvent {
    /// The release the resource was read as.
    pub release: Release,
    /// The event kind its `action` (and type) gives.
    pub kind: EventKind,
    /// `recorded`, in Unix seconds (fractions dropped).
    pub time: u64,
    /// The record concerned: the entity's reference, or its identifier as
    /// `system|value`.
    pub record_id: String,
    /// Who acted: the requesting agent's reference, or identifier.
    pub actor_id: String,
    /// The type, subtype and outcome codes.
    pub codes: Codes,
    /// SHA-256 of the resource's bytes as read.
    pub content: ContentDigest,
}

impl fmt::Debug for FhirAuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FhirAuditEvent")
            .field("release", &self.release)
            .field("kind", &self.kind)
            .field("time", &self.time)
            .field("record_id", &"<withheld>")
            .field("actor_id", &"<withheld>")
            .field("codes", &self.codes)
            .field("content", &self.content)
            .finish()
    }
}

impl FhirAuditEvent {
    /// Reads one AuditEvent resource, R4 or R5, told apart by its required
    /// members (R4's `type`, R5's `code`).
    ///
    /// # Errors
    ///
    /// A [`FhirError`] for bytes over the limit, not an AuditEvent, or
    /// missing what an event needs.
    pub fn parse(bytes: &[u8]) -> Result<FhirAuditEvent, FhirError> {
        if bytes.len() > MAX_RESOURCE_LEN {
            return Err(FhirError::TooLarge { found: bytes.len() });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|_| FhirError::NotJson)?;
        let obj = value.as_object().ok_or(FhirError::NotJson)?;
        if obj.get("resourceType").and_then(Value::as_str) != Some("AuditEvent") {
            return Err(FhirError::NotAuditEvent);
        }
        let release = match (obj.contains_key("type"), obj.contains_key("code")) {
            (true, false) => Release::R4,
            (false, true) => Release::R5,
            _ => return Err(FhirError::UnknownRelease),
        };
        let codes = match release {
            Release::R4 => r4_codes(obj)?,
            Release::R5 => r5_codes(obj)?,
        };
        let kind = kind(obj, &codes)?;
        let time = obj
            .get("recorded")
            .and_then(Value::as_str)
            .and_then(parse_instant)
            .ok_or_else(|| bad("recorded"))?;
        Ok(FhirAuditEvent {
            release,
            kind,
            time,
            record_id: record_id(obj, release)?,
            actor_id: actor_id(obj)?,
            codes,
            content: ContentDigest(Sha256::digest(bytes).into()),
        })
    }

    /// The event, with the references of its record and actor (salted
    /// from [`FhirAuditEvent::record_id`] and [`FhirAuditEvent::actor_id`]
    /// by the caller, e.g. with [`RecordRef::new`] or
    /// [`LogWriter::record_ref`]) and the record's previous event (`None`
    /// lets a [`LogWriter`] fill it in).
    ///
    /// [`FhirAuditEvent::record_id`]: FhirAuditEvent#structfield.record_id
    /// [`FhirAuditEvent::actor_id`]: FhirAuditEvent#structfield.actor_id
    /// [`LogWriter::record_ref`]: crate::writer::LogWriter::record_ref
    /// [`LogWriter`]: crate::writer::LogWriter
    pub fn to_event(&self, record: RecordRef, actor: ActorRef, prev: Option<Entry>) -> Event {
        Event {
            kind: self.kind.clone(),
            time: self.time,
            record,
            actor,
            content: Some(self.content),
            prev,
            codes: self.codes.clone(),
        }
    }
}

/// A Coding as `system|code` (`|code` without a system); `None` without a
/// code.
fn coding(v: &Value, member: &'static str) -> Result<Option<String>, FhirError> {
    let obj = v.as_object().ok_or_else(|| bad(member))?;
    let text = |k: &str| match obj.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(member)),
    };
    let (system, code) = (text("system")?, text("code")?);
    let Some(code) = code else {
        return Ok(None);
    };
    let s = format!("{}|{code}", system.unwrap_or(""));
    if code.is_empty() || s.len() > MAX_CODE_LEN || s.chars().any(char::is_control) {
        return Err(bad(member));
    }
    Ok(Some(s))
}

/// The codings of a CodeableConcept, those with a code.
fn concept(v: &Value, member: &'static str) -> Result<Vec<String>, FhirError> {
    let obj = v.as_object().ok_or_else(|| bad(member))?;
    match obj.get("coding") {
        None => Ok(Vec::new()),
        Some(Value::Array(cs)) => {
            let mut out = Vec::new();
            for c in cs {
                out.extend(coding(c, member)?);
            }
            Ok(out)
        }
        Some(_) => Err(bad(member)),
    }
}

fn array<'a>(obj: &'a Map<String, Value>, member: &'static str) -> Result<&'a [Value], FhirError> {
    match obj.get(member) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad(member)),
    }
}

fn limit_subtypes(subtype: Vec<String>, member: &'static str) -> Result<Vec<String>, FhirError> {
    if subtype.len() > MAX_SUBTYPES {
        return Err(bad(member));
    }
    Ok(subtype)
}

/// R4: `type` (Coding, 1..1), `subtype` (Coding, 0..*), `outcome` (code:
/// 0, 4, 8 or 12).
fn r4_codes(obj: &Map<String, Value>) -> Result<Codes, FhirError> {
    let r#type = Some(coding(&obj["type"], "type")?.ok_or_else(|| bad("type"))?);
    let mut subtype = Vec::new();
    for s in array(obj, "subtype")? {
        subtype.extend(coding(s, "subtype")?);
    }
    let outcome = match obj.get("outcome") {
        None => None,
        Some(Value::String(o)) if matches!(o.as_str(), "0" | "4" | "8" | "12") => Some(o.clone()),
        Some(_) => return Err(bad("outcome")),
    };
    Ok(Codes {
        r#type,
        subtype: limit_subtypes(subtype, "subtype")?,
        outcome,
    })
}

/// R5: the first coding of the first `category` (CodeableConcept, 0..*),
/// the codings of `code` (CodeableConcept, 1..1), `outcome.code` (Coding).
fn r5_codes(obj: &Map<String, Value>) -> Result<Codes, FhirError> {
    let r#type = match array(obj, "category")?.first() {
        None => None,
        Some(c) => concept(c, "category")?.into_iter().next(),
    };
    let subtype = concept(&obj["code"], "code")?;
    let outcome = match obj.get("outcome") {
        None => None,
        Some(Value::Object(o)) => Some(
            o.get("code")
                .map(|c| coding(c, "outcome.code"))
                .transpose()?
                .flatten()
                .ok_or_else(|| bad("outcome.code"))?,
        ),
        Some(_) => return Err(bad("outcome")),
    };
    Ok(Codes {
        r#type,
        subtype: limit_subtypes(subtype, "code")?,
        outcome,
    })
}

/// `action` (C, R, U, D, E) as the event kind; an export by its DICOM type
/// code (110106) whatever the action; no action is the custom kind `fhir`.
fn kind(obj: &Map<String, Value>, codes: &Codes) -> Result<EventKind, FhirError> {
    let export = format!("{DICOM}|110106");
    if codes.r#type.as_deref() == Some(export.as_str()) || codes.subtype.contains(&export) {
        return Ok(EventKind::Export);
    }
    Ok(match obj.get("action") {
        None => EventKind::Custom("fhir".into()),
        Some(Value::String(a)) => match a.as_str() {
            "C" => EventKind::Create,
            "R" => EventKind::Read,
            "U" => EventKind::Amend,
            "D" => EventKind::Delete,
            "E" => EventKind::Custom("execute".into()),
            _ => return Err(bad("action")),
        },
        Some(_) => return Err(bad("action")),
    })
}

/// A Reference as its `reference`, or its `identifier` as `system|value`.
fn reference(v: &Value, member: &'static str) -> Result<Option<String>, FhirError> {
    let obj = v.as_object().ok_or_else(|| bad(member))?;
    let id = match (obj.get("reference"), obj.get("identifier")) {
        (Some(Value::String(r)), _) => r.clone(),
        (Some(_), _) => return Err(bad(member)),
        (None, Some(Value::Object(i))) => {
            let part = |k: &str| match i.get(k) {
                None => Ok(""),
                Some(Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err(bad(member)),
            };
            let value = part("value")?;
            if value.is_empty() {
                return Ok(None);
            }
            format!("{}|{value}", part("system")?)
        }
        (None, Some(_)) => return Err(bad(member)),
        (None, None) => return Ok(None),
    };
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(bad(member));
    }
    Ok(Some(id))
}

/// The first entity's `what`; in R5 without one, `patient`.
fn record_id(obj: &Map<String, Value>, release: Release) -> Result<String, FhirError> {
    for e in array(obj, "entity")? {
        let e = e.as_object().ok_or_else(|| bad("entity"))?;
        if let Some(what) = e.get("what") {
            if let Some(id) = reference(what, "entity.what")? {
                return Ok(id);
            }
        }
    }
    if release == Release::R5 {
        if let Some(p) = obj.get("patient") {
            if let Some(id) = reference(p, "patient")? {
                return Ok(id);
            }
        }
    }
    Err(FhirError::NoRecord)
}

/// The first agent marked `requestor`, else the first agent, with a `who`.
fn actor_id(obj: &Map<String, Value>) -> Result<String, FhirError> {
    let mut first = None;
    for a in array(obj, "agent")? {
        let a = a.as_object().ok_or_else(|| bad("agent"))?;
        let requestor = match a.get("requestor") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("agent.requestor")),
        };
        let who = match a.get("who") {
            None => None,
            Some(w) => reference(w, "agent.who")?,
        };
        match who {
            Some(id) if requestor => return Ok(id),
            Some(id) if first.is_none() => first = Some(id),
            _ => {}
        }
    }
    first.ok_or(FhirError::NoActor)
}

/// A FHIR `instant` (`YYYY-MM-DDThh:mm:ss[.fff]` and `Z` or `±hh:mm`) in
/// Unix seconds, fractions dropped; `None` if malformed or before 1970.
pub fn parse_instant(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut at = 19;
    if sep(at, b'.') {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        at += 1 + digits;
    }
    let offset = match b.get(at..)? {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let (h, m) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if h > 14 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let t =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(t).ok().filter(|&t| t <= MAX_TIME)
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
