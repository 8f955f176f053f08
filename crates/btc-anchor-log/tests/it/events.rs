//! Canonical JSON against RFC 8785's examples, events and entries.

use btc_anchor_log::entry::{
    ActorRef, ContentDigest, Entry, RecordRef, Salt, ACTOR_DOMAIN, ENTRY_DOMAIN, RECORD_DOMAIN,
};
use btc_anchor_log::event::{
    Codes, Event, EventError, EventKind, MAX_CODE_LEN, MAX_EVENT_LEN, MAX_SUBTYPES,
};
use btc_anchor_log::jcs::{to_canonical, JcsError, Value};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::{event, outcome, salt};

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

#[test]
fn rfc8785_sorting_example() {
    // RFC 8785 §3.2.3: keys sorted by UTF-16 code units.
    let v = Value::Object(vec![
        ("\u{20ac}".into(), s("Euro Sign")),
        ("\r".into(), s("Carriage Return")),
        ("\u{fb33}".into(), s("Hebrew Letter Dalet With Dagesh")),
        ("1".into(), s("One")),
        ("\u{1f600}".into(), s("Emoji: Grinning Face")),
        ("\u{80}".into(), s("Control")),
        ("\u{f6}".into(), s("Latin Small Letter O With Diaeresis")),
    ]);
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
        \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
        \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(
        String::from_utf8(to_canonical(&v).unwrap()).unwrap(),
        expected
    );
}

#[test]
fn rfc8785_string_example() {
    // RFC 8785 §3.2.2.2's "string" member: "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"
    // is written "€$\u000f\nA'B\"\\\\\"/".
    let v = Value::Object(vec![("string".into(), s("\u{20ac}$\u{0f}\nA'B\"\\\\\"/"))]);
    let expected = "{\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(
        String::from_utf8(to_canonical(&v).unwrap()).unwrap(),
        expected
    );
    // Every other control character: short forms where JSON.stringify has them.
    let ctl: String = (0u8..0x20).map(char::from).collect();
    let out = String::from_utf8(to_canonical(&s(&ctl)).unwrap()).unwrap();
    assert_eq!(
        out,
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\
         \\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""
    );
    // U+007F and U+2028 are written as they are (ECMAScript does).
    assert_eq!(
        to_canonical(&s("\u{7f}\u{2028}")).unwrap(),
        "\"\u{7f}\u{2028}\"".as_bytes()
    );
}

#[test]
fn rfc8785_integers_and_nesting() {
    // RFC 8785 Appendix B: integral values in the safe range.
    for (n, text) in [
        (0, "0"),
        (1, "1"),
        (-1, "-1"),
        (9007199254740991, "9007199254740991"),
        (-9007199254740991, "-9007199254740991"),
        (295147905179352830, ""),
    ] {
        let r = to_canonical(&Value::Integer(n));
        if text.is_empty() {
            assert_eq!(r, Err(JcsError::UnsafeInteger { found: n }));
        } else {
            assert_eq!(r.unwrap(), text.as_bytes());
        }
    }
    let v = Value::Object(vec![
        (
            "b".into(),
            Value::Object(vec![("z".into(), Value::Integer(1)), ("a".into(), s(""))]),
        ),
        ("a".into(), Value::Integer(2)),
    ]);
    assert_eq!(to_canonical(&v).unwrap(), br#"{"a":2,"b":{"a":"","z":1}}"#);
    let dup = Value::Object(vec![
        ("a".into(), Value::Integer(1)),
        ("a".into(), Value::Integer(2)),
    ]);
    assert_eq!(
        to_canonical(&dup),
        Err(JcsError::DuplicateKey { key: "a".into() })
    );
}

#[test]
fn domains_are_spelled_out() {
    assert_eq!(ENTRY_DOMAIN, b"btc-anchor/log-entry/v1\0");
    assert_eq!(RECORD_DOMAIN, b"btc-anchor/log-record/v1\0");
    assert_eq!(ACTOR_DOMAIN, b"btc-anchor/log-actor/v1\0");
}

#[test]
fn codes_byte_exact_and_their_limits() {
    let mut e = event(0, None);
    e.codes = Codes {
        r#type: Some("http://dicom.nema.org/resources/ontology/DCM|110110".into()),
        subtype: vec![
            "http://hl7.org/fhir/restful-interaction|read".into(),
            "|z".into(),
        ],
        outcome: Some("0".into()),
    };
    let json = String::from_utf8(e.to_canonical_json().unwrap()).unwrap();
    assert!(json.contains(",\"outcome\":\"0\",\"record\":"), "{json}");
    assert!(
        json.contains(
            "\"subtype\":[\"http://hl7.org/fhir/restful-interaction|read\",\"|z\"],\"time\":"
        ),
        "{json}"
    );
    assert!(
        json.ends_with(
            ",\"type\":\"http://dicom.nema.org/resources/ontology/DCM|110110\",\"v\":1}"
        ),
        "{json}"
    );
    assert_eq!(Event::from_canonical_json(json.as_bytes()).unwrap(), e);

    // Codes that break the rules are refused on writing and on reading.
    let long = "c".repeat(MAX_CODE_LEN + 1);
    let cases: Vec<(Codes, &str)> = vec![
        (
            Codes {
                r#type: Some(String::new()),
                ..Codes::default()
            },
            "type",
        ),
        (
            Codes {
                r#type: Some(long.clone()),
                ..Codes::default()
            },
            "type",
        ),
        (
            Codes {
                outcome: Some("a\nb".into()),
                ..Codes::default()
            },
            "outcome",
        ),
        (
            Codes {
                subtype: vec!["ok".into(), "\u{7f}".into()],
                ..Codes::default()
            },
            "subtype",
        ),
        (
            Codes {
                subtype: vec!["s".into(); MAX_SUBTYPES + 1],
                ..Codes::default()
            },
            "subtype",
        ),
    ];
    for (codes, member) in cases {
        let mut bad = event(0, None);
        bad.codes = codes;
        assert_eq!(
            bad.to_canonical_json(),
            Err(EventError::BadMember {
                member: member.into()
            }),
            "{member}"
        );
    }
    let base = String::from_utf8(event(0, None).to_canonical_json().unwrap()).unwrap();
    let with = |member: &str| base.replacen("\"time\"", &format!("{member},\"time\""), 1);
    for (json, member) in [
        (with("\"subtype\":[]"), "subtype"),
        (with("\"subtype\":[1]"), "subtype"),
        (with("\"subtype\":\"x\""), "subtype"),
        (
            base.replacen("\"v\":1", &format!("\"type\":{},\"v\":1", "\"\""), 1),
            "type",
        ),
        (base.replacen("\"v\":1", "\"type\":7,\"v\":1", 1), "type"),
    ] {
        assert_eq!(
            Event::from_canonical_json(json.as_bytes()),
            Err(EventError::BadMember {
                member: member.into()
            }),
            "{json}"
        );
    }
}

#[test]
fn an_event_byte_exact() {
    let e = Event {
        kind: EventKind::Read,
        time: 1_767_225_600,
        record: RecordRef([0x11; 32]),
        actor: ActorRef([0x22; 32]),
        content: Some(ContentDigest([0x33; 32])),
        prev: Some(Entry([0x44; 32])),
        codes: Default::default(),
    };
    let json = String::from_utf8(e.to_canonical_json().unwrap()).unwrap();
    let h = |b: &str| b.repeat(32);
    assert_eq!(
        json,
        format!(
            "{{\"actor\":\"{}\",\"content\":\"{}\",\"kind\":\"read\",\"prev\":\"{}\",\"record\":\"{}\",\"time\":1767225600,\"v\":1}}",
            h("22"), h("33"), h("44"), h("11")
        )
    );
    assert_eq!(Event::from_canonical_json(json.as_bytes()).unwrap(), e);
    // The entry by hand: SHA-256(domain ‖ salt ‖ SHA-256(json)).
    let salt = Salt([0x55; 32]);
    let mut h2 = Sha256::new();
    h2.update(ENTRY_DOMAIN);
    h2.update(salt.0);
    h2.update(Sha256::digest(json.as_bytes()));
    let expected: [u8; 32] = h2.finalize().into();
    assert_eq!(Entry::commit(&e, &salt).unwrap(), Entry(expected));
    // The record reference by hand.
    let mut h3 = Sha256::new();
    h3.update(RECORD_DOMAIN);
    h3.update(salt.0);
    h3.update(b"record 17");
    let expected: [u8; 32] = h3.finalize().into();
    assert_eq!(RecordRef::new(b"record 17", &salt), RecordRef(expected));
    assert_ne!(RecordRef::new(b"x", &salt).0, ActorRef::new(b"x", &salt).0);
}

#[test]
fn every_kind_round_trips_and_custom_kinds_are_limited() {
    assert_eq!(
        EventKind::parse("consent-revoke"),
        Ok(EventKind::ConsentRevoke)
    );
    assert_eq!(
        EventKind::parse("x-ray.read"),
        Ok(EventKind::Custom("x-ray.read".into()))
    );
    for bad in ["custom", "Read", "", "-x", "a b"] {
        assert_eq!(
            EventKind::parse(bad),
            Err(EventError::BadCustomKind),
            "{bad:?}"
        );
    }
    let kinds = [
        EventKind::Create,
        EventKind::Amend,
        EventKind::Read,
        EventKind::Export,
        EventKind::Delete,
        EventKind::ConsentGrant,
        EventKind::ConsentRevoke,
        EventKind::Beacon,
        EventKind::CheckpointAnchor,
        EventKind::custom("lab.result-viewed").unwrap(),
    ];
    for kind in kinds {
        let e = Event {
            kind,
            ..event(0, None)
        };
        let json = e.to_canonical_json().unwrap();
        assert_eq!(Event::from_canonical_json(&json).unwrap(), e);
    }
    for bad in ["", "Upper", "-lead", "sp ace", "é", &"a".repeat(65)] {
        assert_eq!(
            EventKind::custom(bad),
            Err(EventError::BadCustomKind),
            "{bad:?}"
        );
        let e = Event {
            kind: EventKind::Custom(bad.to_owned()),
            ..event(0, None)
        };
        assert_eq!(e.to_canonical_json(), Err(EventError::BadCustomKind));
    }
    assert!(EventKind::custom(&"a".repeat(64)).is_ok());
    let late = Event {
        time: 1 << 53,
        ..event(0, None)
    };
    assert!(matches!(
        late.to_canonical_json(),
        Err(EventError::TimeOutOfRange { .. })
    ));
}

#[test]
fn non_canonical_or_foreign_event_json_is_refused() {
    let e = event(1, Some(Entry([9; 32])));
    let json = String::from_utf8(e.to_canonical_json().unwrap()).unwrap();
    let err = |t: &str| outcome(&Event::from_canonical_json(t.as_bytes()).unwrap_err());
    assert_eq!(err(&json.replacen(',', ", ", 1)), "not-canonical");
    assert_eq!(err(&format!(" {json}")), "not-canonical");
    assert_eq!(err(&json.replacen("\"v\":1", "\"v\":1.0", 1)), "bad-member");
    assert_eq!(err(&json.replacen("\"v\":1", "\"v\":2", 1)), "version");
    assert_eq!(
        err(&json.replacen("\"kind\":\"read\"", "\"kind\":\"r\\u0065ad\"", 1)),
        "not-canonical"
    );
    assert_eq!(
        err(&json.replacen("\"kind\":\"read\"", "\"kind\":\"peek\"", 1)),
        "bad-member"
    );
    assert_eq!(
        err(&json.replacen("\"time\":", "\"time\":-", 1)),
        "bad-member"
    );
    assert_eq!(
        err(&json.replacen("\"v\":1", "\"v\":1,\"x\":1", 1)),
        "bad-member"
    );
    assert_eq!(
        err(&json.replacen("\"kind\":\"read\"", "\"custom\":\"x\",\"kind\":\"read\"", 1)),
        "bad-member"
    );
    assert_eq!(err(&json.to_uppercase()), "bad-member");
    assert_eq!(err("[]"), "not-json");
    assert_eq!(err("{"), "not-json");
    assert_eq!(err(&" ".repeat(MAX_EVENT_LEN + 1)), "too-large");
    // Members in another order: valid JSON, same event, not canonical.
    let swapped = json.replacen("{\"actor\"", "{\"zzz\"", 1);
    assert_eq!(err(&swapped), "bad-member");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn events_round_trip(time in 0u64..(1 << 53), r in any::<[u8; 32]>(), a in any::<[u8; 32]>(),
                         c in proptest::option::of(any::<[u8; 32]>()), p in proptest::option::of(any::<[u8; 32]>()),
                         k in 0usize..10,
                         codes in proptest::collection::vec("[^\\p{Cc}]{1,30}", 0..9)) {
        let kinds = [
            EventKind::Create, EventKind::Amend, EventKind::Read, EventKind::Export,
            EventKind::Delete, EventKind::ConsentGrant, EventKind::ConsentRevoke,
            EventKind::Beacon, EventKind::CheckpointAnchor, EventKind::Custom("x-1".into()),
        ];
        let e = Event { kind: kinds[k].clone(), time, record: RecordRef(r), actor: ActorRef(a),
                        content: c.map(ContentDigest), prev: p.map(Entry),
                        codes: Codes {
                            r#type: codes.first().cloned(),
                            subtype: codes.iter().skip(1).cloned().collect(),
                            outcome: codes.last().cloned(),
                        } };
        let json = e.to_canonical_json().unwrap();
        prop_assert_eq!(Event::from_canonical_json(&json).unwrap(), e.clone());
        // Two salts never give the same entry.
        prop_assert_ne!(Entry::commit(&e, &salt("a")).unwrap(), Entry::commit(&e, &salt("b")).unwrap());
    }

    #[test]
    fn canonical_keys_are_in_utf16_order(keys in proptest::collection::btree_set("[^\"\\\\\\p{C}]{0,4}", 0..6)) {
        let v = Value::Object(keys.iter().rev().map(|k| (k.clone(), Value::Integer(0))).collect());
        let out = String::from_utf8(to_canonical(&v).unwrap()).unwrap();
        // serde_json reads it back to the same keys.
        let back: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&out).unwrap();
        prop_assert_eq!(back.len(), keys.len());
        let mut sorted: Vec<Vec<u16>> = keys.iter().map(|k| k.encode_utf16().collect()).collect();
        sorted.sort();
        let order: Vec<Vec<u16>> = {
            let mut positions: Vec<(usize, Vec<u16>)> = keys.iter()
                .map(|k| (out.find(&to_json_key(k)).unwrap(), k.encode_utf16().collect())).collect();
            positions.sort();
            positions.into_iter().map(|(_, k)| k).collect()
        };
        prop_assert_eq!(order, sorted);
    }
}

fn to_json_key(k: &str) -> String {
    let mut s = String::from_utf8(to_canonical(&Value::String(k.to_owned())).unwrap()).unwrap();
    s.push(':');
    s
}
