//! OpenTimestamps interoperability: the reference example files (read,
//! written back byte for byte, replayed to known block merkle roots,
//! checked against header sources), hostile inputs built here, and
//! `.ots` export of proofs from the synthetic chain.
//!
//! The examples live in `../shared/data/ots-examples/`; tests that need
//! them say so and pass when the folder is absent.

use std::fs;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::block::{Header, Version};
use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::{
    Amount, BlockHash, CompactTarget, Network, ScriptBuf, TxMerkleNode, TxOut,
};
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::{EmbeddedOnly, HeaderSource, HeaderSourceError, HeadersFile, SourceKind};
use btc_anchor::merkle::record_leaf;
use btc_anchor::ots::*;
use btc_anchor::proof::Stage;
use btc_anchor::verify::{verify, VerifyOptions};
use btc_anchor_testenv::chain::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn examples() -> Option<PathBuf> {
    let dir = btc_anchor_testenv::shared_data("ots-examples");
    if dir.is_dir() {
        Some(dir)
    } else {
        btc_anchor_testenv::skip(format_args!("{} is absent", dir.display()));
        None
    }
}

fn read_example(dir: &Path, name: &str) -> (Vec<u8>, DetachedTimestamp) {
    let bytes = fs::read(dir.join(name)).unwrap();
    let ts = DetachedTimestamp::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    (bytes, ts)
}

fn unhex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

/// A header source that knows one header, at one height.
struct OneHeader {
    height: u32,
    header: Header,
}

impl OneHeader {
    /// A made-up header at `height` whose merkle root is `root` (internal
    /// byte order).
    fn with_root(height: u32, root: [u8; 32], time: u32) -> OneHeader {
        OneHeader {
            height,
            header: Header {
                version: Version::from_consensus(4),
                prev_blockhash: BlockHash::all_zeros(),
                merkle_root: TxMerkleNode::from_byte_array(root),
                time,
                bits: CompactTarget::from_consensus(0x1d00_ffff),
                nonce: 0,
            },
        }
    }
}

impl HeaderSource for OneHeader {
    fn kind(&self) -> SourceKind {
        SourceKind::HeadersFile(PathBuf::from("test header"))
    }
    fn header_at(&self, height: u32) -> Result<Option<Header>, HeaderSourceError> {
        Ok((height == self.height).then_some(self.header))
    }
    fn best_height(&self) -> Result<Option<u32>, HeaderSourceError> {
        Ok(Some(self.height))
    }
}

/// The start of a file: magic, version 1, sha256 and a digest.
fn file_header() -> Vec<u8> {
    let mut v = MAGIC.to_vec();
    v.push(0x01);
    v.push(0x08);
    v.extend_from_slice(&[0x11; 32]);
    v
}

/// `00` + the Bitcoin tag + payload `varuint(height)` (height < 128).
fn bitcoin_attestation(height: u8) -> Vec<u8> {
    let mut v = vec![0x00];
    v.extend_from_slice(&BITCOIN_TAG);
    v.extend_from_slice(&[1, height]);
    v
}

fn parse_with(tail: &[u8]) -> Result<DetachedTimestamp, OtsError> {
    let mut v = file_header();
    v.extend_from_slice(tail);
    DetachedTimestamp::from_bytes(&v)
}

// ---------------------------------------------------------------------------
// The reference examples
// ---------------------------------------------------------------------------

#[test]
fn every_example_parses_and_round_trips() {
    let Some(dir) = examples() else { return };
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("ots") {
            continue;
        }
        let bytes = fs::read(&path).unwrap();
        let ts = DetachedTimestamp::from_bytes(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            ts.to_bytes(),
            bytes,
            "{} does not round-trip",
            path.display()
        );
        assert!(!ts.attestations().is_empty());
        // The tree display never fails and names every attestation.
        let shown = ts.to_string();
        assert_eq!(shown.matches("verify ").count(), ts.attestations().len());
        count += 1;
    }
    assert!(count >= 13, "only {count} example files");
}

#[test]
fn invalid_examples_are_rejected_with_their_reason() {
    let Some(dir) = examples() else { return };
    let read = |name: &str| {
        DetachedTimestamp::from_bytes(&fs::read(dir.join("invalid").join(name)).unwrap())
            .unwrap_err()
    };
    let e = read("bad-major-version.ots");
    assert!(matches!(e, OtsError::UnknownMajorVersion { .. }), "{e}");
    assert!(e.to_string().starts_with("unknown major version"), "{e}");
    let e = read("exceeds-max-msg-length.ots");
    assert_eq!(
        e,
        OtsError::ResultTooLong {
            op: "append",
            len: 4112,
            offset: 72
        },
        "{e}"
    );
    let e = read("invalid-file-digest-type.ots");
    assert_eq!(e, OtsError::BadFileHashOp { tag: 0xf3 });
    assert!(e.to_string().starts_with("bad file hash op 0xf3"), "{e}");
    assert_eq!(e.kind(), "bad-file-hash-op");
}

#[test]
fn documents_match_their_digests() {
    let Some(dir) = examples() else { return };
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let ots = entry.unwrap().path();
        if ots.extension().and_then(|e| e.to_str()) != Some("ots") {
            continue;
        }
        let document = ots.with_extension("");
        if !document.is_file() {
            continue;
        }
        let ts = DetachedTimestamp::from_bytes(&fs::read(&ots).unwrap()).unwrap();
        let digest = ts.file_hash.hash(&fs::read(&document).unwrap());
        assert_eq!(digest, ts.digest, "{}", document.display());
        verify_ots(&ts, &digest, &EmbeddedOnly)
            .unwrap_or_else(|e| panic!("{}: {e}", document.display()));
        // Another document is refused.
        let other = ts.file_hash.hash(b"another document");
        let err = verify_ots(&ts, &other, &EmbeddedOnly).unwrap_err();
        assert!(matches!(err, OtsVerifyError::DigestMismatch { .. }));
        assert_eq!(err.kind(), "digest-mismatch");
        checked += 1;
    }
    // hello-world, bad-stamp, empty, incomplete, different-blockchains,
    // known-and-unknown-notary, merkle1-3, two-calendars, unknown-notary.
    assert!(checked >= 11, "only {checked} documents checked");
    let (_, hello) = read_example(&dir, "hello-world.txt.ots");
    assert_eq!(hello.file_hash, FileHashOp::Sha256);
    assert_eq!(
        hello.digest,
        RecordDigest::of_bytes(b"Hello World!\n").as_bytes()
    );
    let (_, empty) = read_example(&dir, "empty.ots");
    assert_eq!(empty.digest, RecordDigest::of_bytes(b"").as_bytes());
}

/// Bitcoin attestations of the examples, with the message each reaches:
/// the block's merkle root in internal byte order. hello-world (358391) and
/// bitcoin.pdf (465751) agree with the mainnet blocks' merkle roots as block
/// explorers show them (reversed); the others are what the replay gives.
const KNOWN_ROOTS: &[(&str, u32, &str)] = &[
    (
        "hello-world.txt.ots",
        358391,
        "007ee445d23ad061af4a36b809501fab1ac4f2d7e7a739817dd0cbb7ec661b8a",
    ),
    (
        "bitcoin.pdf.ots",
        465751,
        "76086b72bf393f2c72e3c8c4d07d6844abbd63de4af16c35522d522e8d9f9898",
    ),
    (
        "gdp2q25-2nd.pdf.ots",
        912095,
        "ae390025e12b85acb0cf0472c8e42ad40f78a9c6c1d832198e98294199316193",
    ),
    (
        "empty.ots",
        129405,
        "715b7e36276a66d842e56dd102c9d9eddfe4d9f2dfa908ae31157ac2c2fd29db",
    ),
    (
        "different-blockchains.txt.ots",
        455605,
        "9ae69a8ba5bb6eadb6feaa4c9b58495819623a9bb616a5eebab10ff02c19192a",
    ),
];

#[test]
fn bitcoin_attestations_reach_known_merkle_roots() {
    let Some(dir) = examples() else { return };
    for &(name, height, root_hex) in KNOWN_ROOTS {
        let (_, ts) = read_example(&dir, name);
        let root = unhex32(root_hex);
        let bitcoin: Vec<_> = ts
            .attestations()
            .into_iter()
            .filter(|a| matches!(a.attestation, Attestation::Bitcoin { .. }))
            .collect();
        assert_eq!(bitcoin.len(), 1, "{name}");
        assert_eq!(
            bitcoin[0].attestation,
            Attestation::Bitcoin {
                height: u64::from(height)
            },
            "{name}"
        );
        assert_eq!(bitcoin[0].message, root, "{name}");

        // A source with that block: confirmed, valid.
        let source = OneHeader::with_root(height, root, 1_432_827_678);
        let report = verify_ots(&ts, &ts.digest, &source).unwrap();
        let check = report
            .attestations
            .iter()
            .find_map(|a| a.bitcoin.clone())
            .unwrap();
        assert!(
            matches!(check, BitcoinCheck::Confirmed { height: h, time: 1_432_827_678, confirmations: Some(1), .. } if h == height),
            "{name}: {check}"
        );
        assert!(
            matches!(report.verdict, OtsVerdict::Valid { height: h, time: 1_432_827_678, .. } if h == height),
            "{name}: {}",
            report.verdict
        );

        // Offline: the header is needed, and the report says which root it
        // must have, in both byte orders.
        let report = verify_ots(&ts, &ts.digest, &EmbeddedOnly).unwrap();
        let check = report
            .attestations
            .iter()
            .find_map(|a| a.bitcoin.clone())
            .unwrap();
        assert_eq!(
            check,
            BitcoinCheck::HeaderNeeded {
                height,
                expected_merkle_root: root
            }
        );
        let mut display = root;
        display.reverse();
        let text = check.to_string();
        assert!(text.contains(&height.to_string()), "{text}");
        assert!(text.contains(root_hex), "{text}");
        assert!(text.contains(&hex::encode(display)), "{text}");
        assert_eq!(
            report.verdict,
            OtsVerdict::HeadersNeeded {
                heights: vec![height]
            }
        );
    }
}

#[test]
fn hello_world_block_as_explorers_show_it() {
    let Some(dir) = examples() else { return };
    let (_, ts) = read_example(&dir, "hello-world.txt.ots");
    let root = unhex32(KNOWN_ROOTS[0].2);
    let source = OneHeader::with_root(358391, root, 1_432_827_678);
    let report = verify_ots(&ts, &ts.digest, &source).unwrap();
    let shown = report.to_string();
    assert!(
        shown.starts_with("valid: existed no later than bitcoin block 358391"),
        "{shown}"
    );
    // The merkle root in display order is the one block explorers show.
    let mut display = root;
    display.reverse();
    assert_eq!(
        hex::encode(display),
        "8a1b66ecb7cbd07d8139a7e7d7f2c41aab1f5009b8364aaf61d03ad245e47e00"
    );
}

#[test]
fn bad_stamp_mismatches_the_real_block() {
    let Some(dir) = examples() else { return };
    let (_, bad) = read_example(&dir, "bad-stamp.txt.ots");
    let found = bad.attestations();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].attestation,
        Attestation::Bitcoin { height: 358391 }
    );
    let real_root = unhex32(KNOWN_ROOTS[0].2);
    assert_ne!(found[0].message, real_root);
    assert_eq!(
        hex::encode(&found[0].message),
        "921f81b9147c9aebe712d7805d810cf0f762479967e4c26008178277b89db41b"
    );

    let document = fs::read(dir.join("bad-stamp.txt")).unwrap();
    let source = OneHeader::with_root(358391, real_root, 1_432_827_678);
    let report = verify_ots(&bad, &bad.file_hash.hash(&document), &source).unwrap();
    let check = report.attestations[0].bitcoin.clone().unwrap();
    assert!(
        matches!(check, BitcoinCheck::Mismatch { height: 358391, header_merkle_root, .. } if header_merkle_root == real_root),
        "{check}"
    );
    assert!(check.is_failure());
    assert_eq!(check.kind(), "mismatch");
    assert_eq!(report.verdict, OtsVerdict::Invalid { failures: 1 });
    assert!(report.to_string().starts_with("invalid"));

    // Offline it cannot be told apart from a good one: a header is needed.
    let report = verify_ots(&bad, &bad.digest, &EmbeddedOnly).unwrap();
    assert_eq!(
        report.verdict,
        OtsVerdict::HeadersNeeded {
            heights: vec![358391]
        }
    );
}

#[test]
fn pending_and_unknown_attestations_are_reported_not_failed() {
    let Some(dir) = examples() else { return };
    let kinds = |name: &str| {
        let (_, ts) = read_example(&dir, name);
        let report = verify_ots(&ts, &ts.digest, &EmbeddedOnly).unwrap();
        assert!(report
            .attestations
            .iter()
            .all(|a| a.bitcoin.is_none() || matches!(a.attestation, Attestation::Bitcoin { .. })));
        (report.verdict.clone(), report.attestations)
    };

    let (verdict, atts) = kinds("incomplete.txt.ots");
    assert_eq!(verdict, OtsVerdict::Pending);
    assert_eq!(atts.len(), 1);
    assert_eq!(
        atts[0].attestation,
        Attestation::Pending {
            uri: "https://alice.btc.calendar.opentimestamps.org".into()
        }
    );
    assert!(atts[0].path.is_empty());
    assert!(atts[0].to_string().contains("ask the calendar"));

    let unknown = Attestation::Unknown {
        tag: [1, 2, 3, 4, 5, 6, 7, 8],
        payload: vec![b'x'; 46],
    };
    let (verdict, atts) = kinds("unknown-notary.txt.ots");
    assert_eq!(verdict, OtsVerdict::Pending);
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].attestation, unknown);
    assert!(atts[0].attestation.to_string().contains("0102030405060708"));

    let (verdict, atts) = kinds("known-and-unknown-notary.txt.ots");
    assert_eq!(verdict, OtsVerdict::Pending);
    assert_eq!(atts.len(), 2);
    assert_eq!(
        atts[0].attestation,
        Attestation::Pending {
            uri: "https://bob.btc.calendar.opentimestamps.org".into()
        }
    );
    assert_eq!(atts[1].attestation, unknown);

    // Bitcoin, two calendars and an unknown chain, across two levels of forks.
    let (verdict, atts) = kinds("different-blockchains.txt.ots");
    assert_eq!(
        verdict,
        OtsVerdict::HeadersNeeded {
            heights: vec![455605]
        }
    );
    let shown: Vec<String> = atts
        .iter()
        .map(|a| format!("{} @ {}", a.attestation, display_path(&a.path)))
        .collect();
    assert_eq!(
        shown,
        [
            "pending at https://eth.ots.eternitywall.com @ 1/2 > 1/2",
            "unknown attestation 30fe8087b5c7ead7 (payload 81b6c801) @ 1/2 > 2/2",
            "pending at https://ots.eternitywall.it @ 2/2 > 1/2",
            "bitcoin block 455605 @ 2/2 > 2/2",
        ]
    );
}

#[test]
fn forks_lead_to_each_calendar() {
    let Some(dir) = examples() else { return };
    for name in [
        "two-calendars.txt.ots",
        "merkle1.txt.ots",
        "merkle2.txt.ots",
        "merkle3.txt.ots",
    ] {
        let (_, ts) = read_example(&dir, name);
        let found = ts.attestations();
        assert_eq!(found.len(), 2, "{name}");
        let uris: Vec<_> = found
            .iter()
            .map(|a| match &a.attestation {
                Attestation::Pending { uri } => uri.as_str(),
                other => panic!("{name}: {other}"),
            })
            .collect();
        assert_eq!(
            uris,
            [
                "https://alice.btc.calendar.opentimestamps.org",
                "https://bob.btc.calendar.opentimestamps.org"
            ],
            "{name}"
        );
        assert_eq!(found[0].path, [Branch { taken: 0, of: 2 }], "{name}");
        assert_eq!(found[1].path, [Branch { taken: 1, of: 2 }], "{name}");
        assert_ne!(found[0].message, found[1].message);
        assert!(ts.to_string().contains(" -> "), "{name}");
    }
    // merkle1 and merkle2 are two leaves of one calendar tree: they meet.
    let (_, m1) = read_example(&dir, "merkle1.txt.ots");
    let (_, m2) = read_example(&dir, "merkle2.txt.ots");
    assert_ne!(m1.digest, m2.digest);
    assert_eq!(m1.attestations()[0].message, m2.attestations()[0].message);
}

#[test]
fn every_prefix_of_every_example_is_an_error() {
    let Some(dir) = examples() else { return };
    for name in [
        "hello-world.txt.ots",
        "different-blockchains.txt.ots",
        "merkle3.txt.ots",
    ] {
        let bytes = fs::read(dir.join(name)).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                DetachedTimestamp::from_bytes(&bytes[..cut]).is_err(),
                "{name} cut at {cut}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Hostile inputs built here
// ---------------------------------------------------------------------------

/// A small file using every kind of item: forks, all eight operations and
/// all four kinds of attestation.
fn everything() -> DetachedTimestamp {
    let mut ts = Timestamp::op(
        Op::Append(vec![0xaa; 3]),
        Timestamp::op(
            Op::Reverse,
            Timestamp::op(
                Op::Hexlify,
                Timestamp::op(
                    Op::Sha1,
                    Timestamp::attestation(Attestation::Litecoin { height: 300 }),
                ),
            ),
        ),
    );
    ts.push(Item::Op(
        Op::Prepend(vec![0xbb]),
        Timestamp::op(
            Op::Ripemd160,
            Timestamp::attestation(Attestation::Bitcoin { height: 1 }),
        ),
    ));
    ts.push(Item::Op(
        Op::Keccak256,
        Timestamp::attestation(Attestation::Pending {
            uri: "https://a.example/x_y-z:1".into(),
        }),
    ));
    ts.push(Item::Attestation(Attestation::Unknown {
        tag: [9; 8],
        payload: vec![],
    }));
    ts.push(Item::Op(
        Op::Sha256,
        Timestamp::attestation(Attestation::Bitcoin { height: u64::MAX }),
    ));
    DetachedTimestamp {
        file_hash: FileHashOp::Sha256,
        digest: vec![0x11; 32],
        timestamp: ts,
    }
}

#[test]
fn built_file_round_trips_and_replays() {
    let ts = everything();
    let bytes = ts.to_bytes();
    assert_eq!(DetachedTimestamp::from_bytes(&bytes).unwrap(), ts);
    let found = ts.attestations();
    assert_eq!(found.len(), 5);
    let msg = [vec![0x11; 32], vec![0xaa; 3]].concat();
    let mut rev = msg.clone();
    rev.reverse();
    assert_eq!(
        found[0].message,
        FileHashOp::Sha1.hash(hex::encode(&rev).as_bytes())
    );
    assert_eq!(found[0].ops, 4);
    assert_eq!(found[0].path, [Branch { taken: 0, of: 5 }]);
    assert_eq!(
        found[1].message,
        FileHashOp::Ripemd160.hash(&[&[0xbb][..], &[0x11; 32]].concat())
    );
    assert_eq!(found[2].message, FileHashOp::Keccak256.hash(&[0x11; 32]));
    assert_eq!(found[3].message, vec![0x11; 32]);
    assert_eq!(found[3].ops, 0);

    // Checked offline: the impossible height and the 20-byte message fail.
    let report = verify_ots(&ts, &[0x11; 32], &EmbeddedOnly).unwrap();
    let checks: Vec<_> = report
        .attestations
        .iter()
        .filter_map(|a| a.bitcoin.as_ref().map(BitcoinCheck::kind))
        .collect();
    assert_eq!(checks, ["not-a-merkle-root", "height-out-of-range"]);
    assert_eq!(report.verdict, OtsVerdict::Invalid { failures: 2 });
}

#[test]
fn prefixes_of_a_built_file_are_errors() {
    let bytes = everything().to_bytes();
    for cut in 0..bytes.len() {
        let e = DetachedTimestamp::from_bytes(&bytes[..cut]).unwrap_err();
        if cut >= MAGIC.len() {
            assert!(matches!(e, OtsError::Truncated { .. }), "cut {cut}: {e}");
        }
    }
}

#[test]
fn size_and_magic() {
    assert_eq!(
        DetachedTimestamp::from_bytes(&vec![0; MAX_OTS_BYTES + 1]),
        Err(OtsError::TooLarge {
            size: MAX_OTS_BYTES + 1
        })
    );
    assert_eq!(DetachedTimestamp::from_bytes(&[]), Err(OtsError::BadMagic));
    let mut v = file_header();
    v.extend_from_slice(&bitcoin_attestation(5));
    assert!(DetachedTimestamp::from_bytes(&v).is_ok());
    v[1] = b'o';
    let e = DetachedTimestamp::from_bytes(&v).unwrap_err();
    assert_eq!(e, OtsError::BadMagic);
    assert_eq!(e.to_string(), "not an opentimestamps file: bad magic bytes");
}

#[test]
fn versions_and_file_hash_ops() {
    let mut v = file_header();
    v.extend_from_slice(&bitcoin_attestation(5));
    let at = MAGIC.len();
    v[at] = 2;
    assert_eq!(
        DetachedTimestamp::from_bytes(&v),
        Err(OtsError::UnknownMajorVersion { found: 2 })
    );
    // Version 1 written as an overlong varuint.
    let mut overlong = v.clone();
    overlong.splice(at..at + 1, [0x81, 0x00]);
    assert_eq!(
        DetachedTimestamp::from_bytes(&overlong),
        Err(OtsError::NonCanonicalVaruint { offset: at })
    );
    v[at] = 1;
    v[at + 1] = 0xf0;
    assert_eq!(
        DetachedTimestamp::from_bytes(&v),
        Err(OtsError::BadFileHashOp { tag: 0xf0 })
    );
    // Each hash op reads its own digest length.
    for (tag, len) in [(0x02u8, 20usize), (0x03, 20), (0x08, 32), (0x67, 32)] {
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&[1, tag]);
        f.extend_from_slice(&vec![7; len]);
        f.extend_from_slice(&bitcoin_attestation(5));
        let ts = DetachedTimestamp::from_bytes(&f).unwrap();
        assert_eq!(ts.digest.len(), len);
        assert_eq!(ts.file_hash.tag(), tag);
        assert_eq!(ts.to_bytes(), f);
    }
}

#[test]
fn varuints_must_be_canonical_and_fit() {
    // Argument length 1 written in two bytes.
    let e = parse_with(&[0xf0, 0x81, 0x00, 0xaa]).unwrap_err();
    assert!(matches!(e, OtsError::NonCanonicalVaruint { .. }), "{e}");
    // A Bitcoin height past 64 bits.
    let mut att = vec![0x00];
    att.extend_from_slice(&BITCOIN_TAG);
    att.push(11);
    att.extend_from_slice(&[0xff; 10]);
    att.push(0x01);
    let e = parse_with(&att).unwrap_err();
    assert!(matches!(e, OtsError::VaruintOverflow { .. }), "{e}");
    // The largest height still fits.
    let mut att = vec![0x00];
    att.extend_from_slice(&BITCOIN_TAG);
    att.push(10);
    att.extend_from_slice(&[0xff; 9]);
    att.push(0x01);
    let ts = parse_with(&att).unwrap();
    assert_eq!(
        ts.attestations()[0].attestation,
        Attestation::Bitcoin { height: u64::MAX }
    );
    // A height with a redundant zero group, inside the payload.
    let mut att = vec![0x00];
    att.extend_from_slice(&BITCOIN_TAG);
    att.extend_from_slice(&[2, 0x85, 0x00]);
    let e = parse_with(&att).unwrap_err();
    assert!(matches!(e, OtsError::NonCanonicalVaruint { .. }), "{e}");
}

#[test]
fn argument_lengths() {
    let e = parse_with(&[0xf0, 0x00]).unwrap_err();
    assert_eq!(
        e,
        OtsError::EmptyArgument {
            op: "append",
            offset: file_header().len() + 1
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "append argument of 0 bytes at byte {} (at least 1 is needed)",
            file_header().len() + 1
        )
    );
    let e = parse_with(&[0xf1, 0x00]).unwrap_err();
    assert!(matches!(e, OtsError::EmptyArgument { op: "prepend", .. }));

    // 4097 bytes: refused from the length alone, before reading them.
    let e = parse_with(&[0xf0, 0x81, 0x20]).unwrap_err();
    assert!(
        matches!(
            e,
            OtsError::ArgumentTooLong {
                op: "append",
                len: 4097,
                ..
            }
        ),
        "{e}"
    );
    // 4096 bytes is a legal argument, but after a 32-byte message the
    // result is too long.
    let mut v = vec![0xf1, 0x80, 0x20];
    v.extend_from_slice(&[1; 4096]);
    v.extend_from_slice(&bitcoin_attestation(1));
    let e = parse_with(&v).unwrap_err();
    assert!(
        matches!(
            e,
            OtsError::ResultTooLong {
                op: "prepend",
                len: 4128,
                ..
            }
        ),
        "{e}"
    );
    // 4064 bytes after 32 reach exactly 4096: accepted.
    let mut v = vec![0xf0, 0xe0, 0x1f];
    v.extend_from_slice(&[1; 4064]);
    v.extend_from_slice(&bitcoin_attestation(1));
    let ts = parse_with(&v).unwrap();
    assert_eq!(ts.attestations()[0].message.len(), 4096);
    // One more byte is too many.
    let mut v = vec![0xf0, 0xe1, 0x1f];
    v.extend_from_slice(&[1; 4065]);
    v.extend_from_slice(&bitcoin_attestation(1));
    assert!(matches!(
        parse_with(&v),
        Err(OtsError::ResultTooLong { len: 4097, .. })
    ));
    // An argument running past the end.
    let e = parse_with(&[0xf0, 0x05, 1, 2]).unwrap_err();
    assert!(matches!(e, OtsError::Truncated { needed: 3, .. }), "{e}");
}

#[test]
fn hexlify_doubles_up_to_the_limit() {
    // 32 bytes, hexlified 7 times: 4096. An 8th time: 8192.
    let mut v = vec![0xf3; 7];
    v.extend_from_slice(&bitcoin_attestation(1));
    let ts = parse_with(&v).unwrap();
    assert_eq!(ts.attestations()[0].message.len(), 4096);
    let mut v = vec![0xf3; 8];
    v.extend_from_slice(&bitcoin_attestation(1));
    assert_eq!(
        parse_with(&v),
        Err(OtsError::ResultTooLong {
            op: "hexlify",
            len: 8192,
            offset: file_header().len() + 7
        })
    );
}

#[test]
fn nesting_limit() {
    // 255 operations in a row: 256 timestamps on the path, the limit.
    let mut v = vec![0x08; MAX_DEPTH - 1];
    v.extend_from_slice(&bitcoin_attestation(1));
    let ts = parse_with(&v).unwrap();
    assert_eq!(ts.attestations()[0].ops, 255);
    assert_eq!(DetachedTimestamp::from_bytes(&ts.to_bytes()).unwrap(), ts);
    // 256 operations: 257 timestamps.
    let mut v = vec![0x08; MAX_DEPTH];
    v.extend_from_slice(&bitcoin_attestation(1));
    let e = parse_with(&v).unwrap_err();
    assert_eq!(
        e,
        OtsError::TooDeep {
            offset: file_header().len() + MAX_DEPTH
        }
    );
    assert_eq!(e.kind(), "too-deep");
    // Far deeper input is refused just as fast, without exhausting the stack.
    let mut v = vec![0x08; 500_000];
    v.extend_from_slice(&bitcoin_attestation(1));
    assert!(matches!(parse_with(&v), Err(OtsError::TooDeep { .. })));
}

#[test]
fn trailing_bytes_and_unknown_ops() {
    let mut v = bitcoin_attestation(3);
    v.push(0x00);
    assert_eq!(
        parse_with(&v),
        Err(OtsError::TrailingBytes {
            offset: file_header().len() + 11,
            count: 1
        })
    );
    let e = parse_with(&[0x08, 0x04]).unwrap_err();
    assert_eq!(
        e,
        OtsError::UnknownOp {
            tag: 0x04,
            offset: file_header().len() + 1
        }
    );
    assert_eq!(
        e.to_string(),
        format!("unknown op tag 0x04 at byte {}", file_header().len() + 1)
    );
    // A fork marker cannot introduce another fork marker.
    assert!(matches!(
        parse_with(&[0xff, 0xff]),
        Err(OtsError::UnknownOp { tag: 0xff, .. })
    ));
    // A fork marker at the very end.
    assert!(matches!(
        parse_with(&[0xff]),
        Err(OtsError::Truncated { .. })
    ));
    // Nothing after the digest.
    assert!(matches!(parse_with(&[]), Err(OtsError::Truncated { .. })));
}

#[test]
fn attestation_payloads() {
    let att = |tag: [u8; 8], payload: &[u8]| {
        let mut v = vec![0x00];
        v.extend_from_slice(&tag);
        v.push(payload.len() as u8);
        v.extend_from_slice(payload);
        v
    };
    // A Bitcoin payload with a byte after the height.
    assert!(matches!(
        parse_with(&att(BITCOIN_TAG, &[5, 0])),
        Err(OtsError::PayloadTrailingBytes {
            kind: "bitcoin",
            count: 1,
            ..
        })
    ));
    assert!(matches!(
        parse_with(&att(LITECOIN_TAG, &[])),
        Err(OtsError::Truncated { .. })
    ));
    // URIs: allowed characters only, length within the payload.
    let mut uri = vec![7];
    uri.extend_from_slice(b"http://");
    assert!(parse_with(&att(PENDING_TAG, &uri)).is_ok());
    let mut bad = vec![7];
    bad.extend_from_slice(b"http:/?");
    assert!(matches!(
        parse_with(&att(PENDING_TAG, &bad)),
        Err(OtsError::UriBadCharacter { byte: b'?', .. })
    ));
    assert!(matches!(
        parse_with(&att(PENDING_TAG, &[9, b'a'])),
        Err(OtsError::Truncated { .. })
    ));
    // A URI longer than 1000 bytes (in a payload within its own limit).
    let mut long = vec![0x00];
    long.extend_from_slice(&PENDING_TAG);
    long.extend_from_slice(&[0xeb, 0x07, 0xe9, 0x07]); // payload 1003, uri 1001
    long.extend_from_slice(&[b'a'; 1001]);
    assert!(matches!(
        parse_with(&long),
        Err(OtsError::UriTooLong { len: 1001, .. })
    ));
    // A payload over 8192 bytes, refused from its length.
    let mut big = vec![0x00];
    big.extend_from_slice(&[9; 8]);
    big.extend_from_slice(&[0x81, 0x40]);
    assert!(matches!(
        parse_with(&big),
        Err(OtsError::PayloadTooLong { len: 8193, .. })
    ));
    // 8192 bytes of an unknown kind are kept.
    let mut max = vec![0x00];
    max.extend_from_slice(&[9; 8]);
    max.extend_from_slice(&[0x80, 0x40]);
    max.extend_from_slice(&[3; 8192]);
    let ts = parse_with(&max).unwrap();
    assert!(
        matches!(&ts.attestations()[0].attestation, Attestation::Unknown { payload, .. } if payload.len() == 8192)
    );
}

#[test]
fn attestation_count_limit() {
    let fork_at = |n: usize| {
        let mut v = Vec::new();
        for _ in 1..n {
            v.push(0xff);
            v.extend_from_slice(&bitcoin_attestation(1));
        }
        v.extend_from_slice(&bitcoin_attestation(1));
        parse_with(&v)
    };
    assert_eq!(
        fork_at(MAX_ATTESTATIONS).unwrap().attestations().len(),
        MAX_ATTESTATIONS
    );
    assert!(matches!(
        fork_at(MAX_ATTESTATIONS + 1),
        Err(OtsError::TooManyAttestations { .. })
    ));
}

#[test]
fn verdict_rules() {
    let root = [0x42; 32];
    // Digest → sha256 → attestation at height 7: the message is sha256(digest).
    let digest = vec![0x11; 32];
    let msg = FileHashOp::Sha256.hash(&digest);
    let good_root: [u8; 32] = msg.clone().try_into().unwrap();
    let file = |items: Vec<Item>| {
        let mut it = items.into_iter();
        let mut ts = Timestamp::new(it.next().unwrap());
        for i in it {
            ts.push(i);
        }
        DetachedTimestamp {
            file_hash: FileHashOp::Sha256,
            digest: digest.clone(),
            timestamp: Timestamp::op(Op::Sha256, ts),
        }
    };
    let btc = |h| Item::Attestation(Attestation::Bitcoin { height: h });
    let pending = Item::Attestation(Attestation::Pending {
        uri: "https://c".into(),
    });

    // Confirmed at 7, header needed at 9: valid.
    let ts = file(vec![btc(7), btc(9), pending.clone()]);
    let r = verify_ots(&ts, &digest, &OneHeader::with_root(7, good_root, 100)).unwrap();
    assert!(matches!(
        r.verdict,
        OtsVerdict::Valid {
            height: 7,
            time: 100,
            ..
        }
    ));
    // One confirmed and one mismatched at the same source: invalid.
    let ts = file(vec![btc(7), pending.clone()]);
    let r = verify_ots(&ts, &digest, &OneHeader::with_root(7, root, 100)).unwrap();
    assert_eq!(r.verdict, OtsVerdict::Invalid { failures: 1 });
    // Only pending: pending.
    let ts = file(vec![pending.clone()]);
    let r = verify_ots(&ts, &digest, &OneHeader::with_root(7, root, 100)).unwrap();
    assert_eq!(r.verdict, OtsVerdict::Pending);
    assert_eq!(r.verdict.to_string(), "pending: no bitcoin attestation yet");
    // Bitcoin attestations, no headers: unverified, each height once.
    let ts = file(vec![btc(9), btc(3), btc(9), pending]);
    let r = verify_ots(&ts, &digest, &EmbeddedOnly).unwrap();
    assert_eq!(
        r.verdict,
        OtsVerdict::HeadersNeeded {
            heights: vec![3, 9]
        }
    );
    assert_eq!(
        r.verdict.to_string(),
        "unverified: headers needed at height(s) 3, 9"
    );
    assert_eq!(r.attestations.len(), 4);
}

fn arb_attestation() -> impl Strategy<Value = Attestation> {
    prop_oneof![
        any::<u64>().prop_map(|height| Attestation::Bitcoin { height }),
        any::<u64>().prop_map(|height| Attestation::Litecoin { height }),
        "[a-zA-Z0-9._/:-]{0,40}".prop_map(|uri| Attestation::Pending { uri }),
        (
            any::<[u8; 8]>().prop_filter("a known tag", |t| ![
                BITCOIN_TAG,
                LITECOIN_TAG,
                PENDING_TAG
            ]
            .contains(t)),
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(tag, payload)| Attestation::Unknown { tag, payload }),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(Op::Append),
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(Op::Prepend),
        Just(Op::Reverse),
        Just(Op::Hexlify),
        Just(Op::Sha1),
        Just(Op::Ripemd160),
        Just(Op::Sha256),
        Just(Op::Keccak256),
    ]
}

fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
    let leaf = arb_attestation().prop_map(Timestamp::attestation);
    leaf.prop_recursive(10, 64, 4, |inner| {
        proptest::collection::vec(
            prop_oneof![
                arb_attestation().prop_map(Item::Attestation),
                (arb_op(), inner).prop_map(|(op, next)| Item::Op(op, next)),
            ],
            1..4,
        )
        .prop_map(|items| {
            let mut items = items.into_iter();
            let mut ts = Timestamp::new(items.next().unwrap());
            for item in items {
                ts.push(item);
            }
            ts
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any bytes after a valid header: never a panic, and whatever is
    /// accepted is written back unchanged and replays.
    #[test]
    fn arbitrary_tail_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(ts) = parse_with(&tail) {
            let mut v = file_header();
            v.extend_from_slice(&tail);
            prop_assert_eq!(ts.to_bytes(), v);
            let _ = ts.attestations();
        }
    }

    /// The same with bytes drawn mostly from the format's own tags, so that
    /// deeper structures are reached.
    #[test]
    fn tag_soup_never_panics(tail in proptest::collection::vec(
        prop_oneof![
            3 => prop::sample::select(vec![0x00u8, 0xff, 0xf0, 0xf1, 0xf2, 0xf3, 0x02, 0x03, 0x08, 0x67, 0x01, 0x05, 0x20]),
            1 => any::<u8>(),
        ],
        0..300,
    )) {
        if let Ok(ts) = parse_with(&tail) {
            let mut v = file_header();
            v.extend_from_slice(&tail);
            prop_assert_eq!(ts.to_bytes(), v);
            let _ = verify_ots(&ts, &ts.digest, &EmbeddedOnly);
        }
    }

    /// Any tree written reads back equal (or, when hexlify and appends
    /// grow a message past the limit, is refused for it).
    #[test]
    fn written_trees_read_back(timestamp in arb_timestamp(), sha1 in any::<bool>()) {
        let file_hash = if sha1 { FileHashOp::Sha1 } else { FileHashOp::Keccak256 };
        let ts = DetachedTimestamp { file_hash, digest: vec![0x5a; file_hash.digest_len()], timestamp };
        match DetachedTimestamp::from_bytes(&ts.to_bytes()) {
            Ok(read) => {
                prop_assert_eq!(&read, &ts);
                let n = ts.to_string().matches("verify ").count();
                prop_assert_eq!(read.attestations().len(), n);
            }
            Err(OtsError::ResultTooLong { .. }) => {}
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    /// Bytes of a valid file changed at random: never a panic.
    #[test]
    fn mutations_never_panic(changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut v = everything().to_bytes();
        for (i, b) in changes {
            let at = i.index(v.len());
            v[at] = b;
        }
        if let Ok(ts) = DetachedTimestamp::from_bytes(&v) {
            prop_assert_eq!(ts.to_bytes(), v);
        }
    }
}

// ---------------------------------------------------------------------------
// Export of btc-anchor proofs
// ---------------------------------------------------------------------------

fn headers_file(chain: &Chain) -> (tempfile::TempDir, HeadersFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers");
    fs::write(&path, chain.headers_file_bytes()).unwrap();
    let file = HeadersFile::open(&path, chain.network).unwrap();
    (dir, file)
}

/// The single path of a timestamp without forks, as a list of operations.
fn linear_ops(ts: &DetachedTimestamp) -> (Vec<Op>, Attestation) {
    let mut ops = Vec::new();
    let mut node = &ts.timestamp;
    loop {
        match node.items() {
            [Item::Op(op, next)] => {
                ops.push(op.clone());
                node = next;
            }
            [Item::Attestation(a)] => return (ops, a.clone()),
            other => panic!("a fork in an exported file: {other:?}"),
        }
    }
}

#[test]
fn exported_proofs_verify_as_ots() {
    let combos: &[(u64, u64, u32, u32, u32)] = &[
        (1, 0, 1, 2, 0),
        (2, 0, 1, 2, 1),
        (2, 1, 1, 3, 0),
        (5, 0, 2, 5, 3),
        (5, 2, 1, 2, 0),
        (5, 4, 4, 5, 2),
        (1000, 0, 3, 7, 1),
        (1000, 999, 6, 7, 0),
        (1000, 500, 1, 16, 5),
        (1000, 511, 9, 11, 0),
    ];
    for &(n, i, position, total, after) in combos {
        let label = format!("n={n} i={i} position={position}/{total} after={after}");
        let (batch, chain, proof) = complete(n, i, position, total, after);
        let bytes = export_ots(&proof).unwrap_or_else(|e| panic!("{label}: {e}"));
        let ts = DetachedTimestamp::from_bytes(&bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(ts.to_bytes(), bytes, "{label}");
        assert_eq!(ts, timestamp_from_proof(&proof).unwrap(), "{label}");
        assert_eq!(ts.file_hash, FileHashOp::Sha256);
        assert_eq!(ts.digest, proof.record.digest.as_bytes(), "{label}");

        // One path, one Bitcoin attestation, reaching the header's root.
        let header = chain.headers[1];
        let found = ts.attestations();
        assert_eq!(found.len(), 1, "{label}");
        assert_eq!(
            found[0].attestation,
            Attestation::Bitcoin { height: 1 },
            "{label}"
        );
        assert_eq!(
            found[0].message,
            header.merkle_root.to_byte_array(),
            "{label}"
        );

        // Step by step: the leaf, the batch root, the txid.
        let (ops, _) = linear_ops(&ts);
        let batch_path = proof.batch.as_ref().unwrap();
        let block = proof.anchor.as_ref().unwrap().block.as_ref().unwrap();
        assert_eq!(
            ops.len(),
            3 + 3 * batch_path.path.len() + 4 + 3 * block.branch.len()
        );
        let mut msg = ts.digest.clone();
        let mut replayed = Vec::new();
        for op in &ops {
            msg = op.apply(&msg);
            replayed.push(msg.clone());
        }
        let leaf = record_leaf(&batch.records[i as usize].salt, &proof.record.digest);
        assert_eq!(replayed[2], leaf.as_bytes(), "{label}");
        let at_root = 2 + 3 * batch_path.path.len();
        assert_eq!(replayed[at_root], batch.tree.root().as_bytes(), "{label}");
        let txid = btc_anchor::chain::sha256d(&btc_anchor::bitcoin::consensus::serialize(
            &proof.anchor.as_ref().unwrap().tx,
        ));
        assert_eq!(replayed[at_root + 4], txid, "{label}");

        // Against the chain's headers: confirmed, at the native verifier's
        // height, block and time.
        let (_dir, headers) = headers_file(&chain);
        let native = verify(
            &proof,
            &proof.record.digest,
            &headers,
            &VerifyOptions::new(Network::Regtest),
        )
        .unwrap();
        let native_block = native.block.unwrap();
        let report = verify_ots(&ts, proof.record.digest.as_bytes(), &headers).unwrap();
        assert_eq!(
            report.verdict,
            OtsVerdict::Valid {
                height: native_block.height,
                block_hash: native_block.block_hash,
                time: native_block.time,
            },
            "{label}"
        );
        assert_eq!(
            report.attestations[0].bitcoin,
            Some(BitcoinCheck::Confirmed {
                height: 1,
                block_hash: native_block.block_hash,
                time: native_block.time,
                confirmations: Some(1 + after),
            }),
            "{label}"
        );
        // Offline: the header of block 1 is needed.
        let report = verify_ots(&ts, proof.record.digest.as_bytes(), &EmbeddedOnly).unwrap();
        assert_eq!(
            report.verdict,
            OtsVerdict::HeadersNeeded { heights: vec![1] },
            "{label}"
        );
    }
}

#[test]
fn exported_commitment_in_a_later_output() {
    // The commitment as the second of three outputs.
    let batch = Batch::numbered(3, 4);
    let mut chain = Chain::new(Network::Regtest);
    let root = batch.tree.root().0;
    let committing = anchor_tx(&root, 9).output[0].clone();
    let change = TxOut {
        value: Amount::from_sat(5000),
        script_pubkey: p2wpkh(1),
    };
    let tx = spend(9, vec![change.clone(), committing, change]);
    let placed = chain.place(tx.clone(), 2, 4);
    let mut proof = batch.proof(Network::Regtest, 1, Some(&tx), Some((&placed, &chain, 0)));
    proof.anchor.as_mut().unwrap().output = 1;
    let ts = DetachedTimestamp::from_bytes(&export_ots(&proof).unwrap()).unwrap();
    let (_dir, headers) = headers_file(&chain);
    let report = verify_ots(&ts, proof.record.digest.as_bytes(), &headers).unwrap();
    assert!(
        matches!(report.verdict, OtsVerdict::Valid { height: 1, .. }),
        "{}",
        report.verdict
    );
}

#[test]
fn incomplete_or_wrong_proofs_are_not_exported() {
    let batch = Batch::numbered(4, 2);
    let root = batch.tree.root().0;
    let tx = anchor_tx(&root, 3);
    for (proof, stage) in [
        (batch.queued(Network::Regtest, 1), Stage::Queued),
        (batch.proof(Network::Regtest, 1, None, None), Stage::Batched),
        (
            batch.proof(Network::Regtest, 1, Some(&tx), None),
            Stage::Broadcast,
        ),
    ] {
        let e = export_ots(&proof).unwrap_err();
        assert!(matches!(e, OtsExportError::NotConfirmed { stage: s } if s == stage));
        assert_eq!(
            e.to_string(),
            format!("a {stage} proof has no opentimestamps form: only a confirmed proof (with its block) can be exported")
        );
    }

    // A proof that does not verify is refused with the verifier's reason.
    let (_, _, mut proof) = complete(5, 2, 1, 3, 0);
    let step = &mut proof
        .anchor
        .as_mut()
        .unwrap()
        .block
        .as_mut()
        .unwrap()
        .branch[0];
    let mut bytes = step.to_byte_array();
    bytes[0] ^= 1;
    *step = TxMerkleNode::from_byte_array(bytes);
    let e = export_ots(&proof).unwrap_err();
    assert!(matches!(e, OtsExportError::Invalid(_)), "{e}");
    assert!(
        e.to_string().starts_with("the proof does not verify"),
        "{e}"
    );
}

#[test]
fn too_long_transaction_is_not_exported() {
    let batch = Batch::numbered(2, 5);
    let root = batch.tree.root().0;
    let mut outputs = anchor_tx(&root, 3).output;
    outputs.push(TxOut {
        value: Amount::from_sat(1),
        script_pubkey: ScriptBuf::from_bytes(vec![0x51; 5000]),
    });
    let tx = spend(3, outputs);
    let len = btc_anchor::bitcoin::consensus::serialize(&tx).len();
    assert!(len > MAX_RESULT_LEN);
    let mut chain = Chain::new(Network::Regtest);
    let placed = chain.place(tx.clone(), 1, 2);
    let proof = batch.proof(Network::Regtest, 0, Some(&tx), Some((&placed, &chain, 0)));
    // The native verifier accepts it; only the .ots form is impossible.
    verify(
        &proof,
        &proof.record.digest,
        &EmbeddedOnly,
        &VerifyOptions::new(Network::Regtest),
    )
    .unwrap();
    let e = export_ots(&proof).unwrap_err();
    assert!(
        matches!(e, OtsExportError::TxTooLong { len: l } if l == len),
        "{e}"
    );
    assert!(e.to_string().contains("at most 4096"), "{e}");
}

#[test]
fn exported_file_truncations_are_errors() {
    let (_, _, proof) = complete(5, 3, 2, 4, 0);
    let bytes = export_ots(&proof).unwrap();
    for cut in 0..bytes.len() {
        assert!(
            DetachedTimestamp::from_bytes(&bytes[..cut]).is_err(),
            "cut {cut}"
        );
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(
        DetachedTimestamp::from_bytes(&extra),
        Err(OtsError::TrailingBytes { count: 1, .. })
    ));
}
