//! FHIR AuditEvent ingest: the vectors of `fixtures/fhir/` (R4 and R5
//! resources written from the FHIR element tables, and broken ones), the
//! instant parser, and hostile input.

use std::path::PathBuf;

use btc_anchor_log::entry::{ActorRef, Entry, RecordRef};
use btc_anchor_log::event::{Event, EventKind};
use btc_anchor_log::fhir::{parse_instant, FhirAuditEvent, FhirError, Release, MAX_RESOURCE_LEN};
use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::{outcome, salt};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fhir")
}

fn opt(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

#[test]
fn every_vector_gives_its_event_or_its_error() {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir().join("index.json")).unwrap()).unwrap();
    let vectors = index["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 25, "{} vectors", vectors.len());
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "index.json")
        .collect();
    files.sort();
    let mut named: Vec<String> = vectors
        .iter()
        .map(|v| v["file"].as_str().unwrap().to_owned())
        .collect();
    named.sort();
    assert_eq!(files, named, "every file is a vector, once");

    for v in vectors {
        let file = v["file"].as_str().unwrap();
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let expect = v["expect"].as_str().unwrap();
        let got = FhirAuditEvent::parse(&bytes);
        if expect != "valid" {
            assert_eq!(outcome(&got.unwrap_err()), expect, "{file}");
            continue;
        }
        let a = got.unwrap_or_else(|e| panic!("{file}: {e}"));
        let e = &v["event"];
        let release = match a.release {
            Release::R4 => "r4",
            Release::R5 => "r5",
            other => panic!("{other:?}"),
        };
        assert_eq!(release, e["release"], "{file}");
        let kind = match &a.kind {
            EventKind::Custom(name) => format!("custom:{name}"),
            k => k.as_str().to_owned(),
        };
        assert_eq!(kind, e["kind"].as_str().unwrap(), "{file}");
        assert_eq!(a.time, e["time"].as_u64().unwrap(), "{file}");
        assert_eq!(a.record_id, e["record_id"].as_str().unwrap(), "{file}");
        assert_eq!(a.actor_id, e["actor_id"].as_str().unwrap(), "{file}");
        assert_eq!(a.codes.r#type, opt(&e["type"]), "{file}");
        let subtype: Vec<String> = e["subtype"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(a.codes.subtype, subtype, "{file}");
        assert_eq!(a.codes.outcome, opt(&e["outcome"]), "{file}");
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(
            a.content.0, digest,
            "{file}: the content is the resource's SHA-256"
        );

        // Identifiers stay out of Debug (and so out of logs).
        let dbg = format!("{a:?}");
        assert!(
            !dbg.contains(&a.record_id) && !dbg.contains(&a.actor_id),
            "{dbg}"
        );

        // The event is canonical, round-trips, and hides the identifiers.
        let prev = Some(Entry([7; 32]));
        let record = RecordRef::new(a.record_id.as_bytes(), &salt("record"));
        let actor = ActorRef::new(a.actor_id.as_bytes(), &salt("actor"));
        let event = a.to_event(record, actor, prev);
        let json = event.to_canonical_json().unwrap();
        assert_eq!(Event::from_canonical_json(&json).unwrap(), event, "{file}");
        let text = String::from_utf8(json).unwrap();
        assert!(
            !text.contains(&a.record_id) && !text.contains(&a.actor_id),
            "{text}"
        );
        assert_eq!(event.prev, prev);
        assert_eq!(event.content, Some(a.content));
    }
}

#[test]
fn instants() {
    let ok = [
        ("1970-01-01T00:00:00Z", 0),
        ("2000-02-29T12:00:00Z", 951_825_600),
        ("2024-02-29T00:00:00.5+00:00", 1_709_164_800),
        ("2026-12-31T23:59:60Z", 1_798_761_600),
        ("1970-01-01T01:00:00+01:00", 0),
        ("2026-12-03T00:00:00-12:00", 1_796_299_200),
    ];
    for (s, t) in ok {
        assert_eq!(parse_instant(s), Some(t), "{s}");
    }
    for s in [
        "2100-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:60:00Z",
        "2026-01-01T00:00:61Z",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00+1:00",
        "2026-01-01T00:00:00+15:00",
        "2026-01-01T00:00:00z",
        "2026-01-01 00:00:00Z",
        "2026-01-01",
        "+2026-01-01T00:00:00Z",
        "1970-01-01T00:00:00+00:01",
        "",
        "2026-01-01T00:00:00Z ",
        "２026-01-01T00:00:00Z",
    ] {
        assert_eq!(parse_instant(s), None, "{s}");
    }
}

#[test]
fn a_resource_over_the_limit_is_refused_before_parsing() {
    let big = vec![b' '; MAX_RESOURCE_LEN + 1];
    assert_eq!(
        FhirAuditEvent::parse(&big),
        Err(FhirError::TooLarge {
            found: MAX_RESOURCE_LEN + 1
        })
    );
    // Deep nesting is refused by the JSON reader, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        FhirAuditEvent::parse(deep.as_bytes()),
        Err(FhirError::NotJson)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = FhirAuditEvent::parse(&bytes);
    }

    #[test]
    fn mutated_vectors_never_panic(at in 0usize..2000, byte in any::<u8>()) {
        let mut bytes = std::fs::read(dir().join("r5-update.json")).unwrap();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = FhirAuditEvent::parse(&bytes);
    }

    #[test]
    fn instants_never_panic(s in "[0-9TZ:+.-]{0,32}") {
        let _ = parse_instant(&s);
    }
}
