//! `verify_file` and the one `Verification` result: both formats, the
//! header-source choice, the errors that stop a check, and the JSON shape
//! of `docs/verification.md`.

use std::fs;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::Network;
use btc_anchor::headers::{EmbeddedOnly, HeadersFile, SourceKind};
use btc_anchor::verification::{
    verify_file, Answer, Document, Headers, NativeFailure, Outcome, Verification, VerifyFileError,
};
use btc_anchor::verify::{VerifyError, VerifyOptions};
use btc_anchor_testenv::{repo_file, shared_data, skip};
use serde_json::Value;

fn example() -> (PathBuf, Vec<u8>) {
    (
        repo_file("fixtures/example/record.txt.anchor.json"),
        fs::read(repo_file("fixtures/example/record.txt")).unwrap(),
    )
}

fn check(
    proof: &Path,
    document: &[u8],
    headers: Headers<'_>,
    network: Network,
) -> Result<Verification, VerifyFileError> {
    let mut reader = document;
    verify_file(
        proof,
        Document::Content(&mut reader),
        headers,
        &VerifyOptions::new(network),
    )
}

/// The members every JSON answer of the format has (docs/verification.md
/// §3), whatever the outcome.
fn assert_shape(j: &Value, format: &str) {
    let common = [
        "result", "reason", "message", "format", "network", "digest", "block", "chain",
    ];
    let own: &[&str] = match format {
        "btc-anchor" => &[
            "stage",
            "batch_size",
            "root",
            "txid",
            "output",
            "evidence",
            "test_network",
            "not_checked",
        ],
        _ => &[
            "file_hash",
            "attestations",
            "attestations_omitted",
            "needed_heights",
        ],
    };
    let obj = j.as_object().unwrap();
    for key in common.iter().chain(own) {
        assert!(obj.contains_key(*key), "{key} missing in {j}");
    }
    assert_eq!(obj.len(), common.len() + own.len(), "extra members in {j}");
    assert_eq!(j["format"], format);
    for key in ["source", "location", "tip"] {
        assert!(j["chain"].get(key).is_some(), "chain.{key} missing in {j}");
    }
}

#[test]
fn a_valid_proof_answers_valid_with_its_block() {
    let (proof, doc) = example();
    let v = check(&proof, &doc, Headers::ProofOnly, Network::Regtest).unwrap();
    assert_eq!(v.outcome(), Outcome::Valid);
    assert_eq!(v.reason(), None);
    assert!(v.error().is_none());
    assert!(v.not_later_than().is_some());
    assert_eq!(v.source, SourceKind::EmbeddedOnly);
    let j = serde_json::to_value(&v).unwrap();
    assert_shape(&j, "btc-anchor");
    assert_eq!(j["result"], "valid");
    assert_eq!(j["stage"], "confirmed");
    assert_eq!(j["test_network"], true);
    assert_eq!(j["chain"]["source"], "embedded");
    assert_eq!(
        j["block"]["not_later_than"].as_u64(),
        v.not_later_than().map(u64::from)
    );
}

#[test]
fn a_headers_file_is_chosen_opened_and_counted() {
    let (proof, doc) = example();
    let path = repo_file("fixtures/example/headers.bin");
    let v = check(&proof, &doc, Headers::File(&path), Network::Regtest).unwrap();
    assert_eq!(v.outcome(), Outcome::Valid);
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["chain"]["source"], "headers-file");
    assert_eq!(j["chain"]["checked"], true);
    assert!(j["chain"]["tip"].as_u64().is_some(), "{j}");
    assert!(j["chain"]["confirmations"].as_u64().unwrap() >= 1, "{j}");

    // The same file opened by the caller gives the same answer.
    let file = HeadersFile::open(&path, Network::Regtest).unwrap();
    let w = check(&proof, &doc, Headers::Source(&file), Network::Regtest).unwrap();
    assert_eq!(serde_json::to_value(&w).unwrap(), j);
}

#[test]
fn another_network_is_its_own_answer_not_a_forgery() {
    let (proof, doc) = example();
    // Checked before the headers file is opened: that file would fail on
    // mainnet's genesis block and hide the clearer reason.
    let headers = repo_file("fixtures/example/headers.bin");
    let v = check(&proof, &doc, Headers::File(&headers), Network::Bitcoin).unwrap();
    assert_eq!(v.outcome(), Outcome::WrongNetwork);
    assert_eq!(v.reason(), Some("wrong-network"));
    assert!(matches!(
        &v.answer,
        Answer::Native {
            result: Err(NativeFailure::Rejected(VerifyError::WrongNetwork { .. })),
            ..
        }
    ));
    let j = serde_json::to_value(&v).unwrap();
    assert_shape(&j, "btc-anchor");
    assert_eq!(j["result"], "wrong-network");
    assert_eq!(j["block"], Value::Null);
}

#[test]
fn altered_documents_and_damaged_proofs_are_invalid_answers() {
    let (proof, mut doc) = example();
    doc.push(b'!');
    let v = check(&proof, &doc, Headers::ProofOnly, Network::Regtest).unwrap();
    assert_eq!(v.outcome(), Outcome::Invalid);
    assert_eq!(v.reason(), Some("digest-mismatch"));
    let j = serde_json::to_value(&v).unwrap();
    assert_shape(&j, "btc-anchor");
    assert!(j["message"].as_str().unwrap().contains("SHA-256"), "{j}");
    assert_eq!(j["stage"], "confirmed");

    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("p.anchor.json");
    fs::write(&damaged, b"{\"format\": \"btc-anchor\"").unwrap();
    let v = check(&damaged, b"x", Headers::ProofOnly, Network::Regtest).unwrap();
    assert_eq!(v.outcome(), Outcome::Invalid);
    assert!(matches!(
        &v.answer,
        Answer::Native {
            stage: None,
            result: Err(NativeFailure::Malformed(_)),
            ..
        }
    ));
    let j = serde_json::to_value(&v).unwrap();
    assert_shape(&j, "btc-anchor");
    assert_eq!(j["stage"], Value::Null);
    assert!(j["reason"].as_str().is_some(), "{j}");

    // A headers file read and found wrong is an answer too.
    let (proof, doc) = example();
    let bad = dir.path().join("h.bin");
    fs::write(&bad, [0u8; 79]).unwrap();
    let v = check(&proof, &doc, Headers::File(&bad), Network::Regtest).unwrap();
    assert_eq!(v.outcome(), Outcome::Invalid);
    assert_eq!(v.reason(), Some("header-source"));
}

#[test]
fn what_stops_a_check_is_an_error() {
    let (proof, doc) = example();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.anchor.json");
    assert!(matches!(
        check(&missing, &doc, Headers::ProofOnly, Network::Regtest),
        Err(VerifyFileError::Proof(e)) if e.is_io()
    ));
    assert!(matches!(
        check(dir.path(), &doc, Headers::ProofOnly, Network::Regtest),
        Err(VerifyFileError::Proof(_))
    ));
    let no_headers = dir.path().join("none.bin");
    assert!(matches!(
        check(&proof, &doc, Headers::File(&no_headers), Network::Regtest),
        Err(VerifyFileError::Headers(e)) if e.is_io()
    ));
    let short = [0u8; 20];
    let e = verify_file(
        &proof,
        Document::Digest(&short),
        Headers::ProofOnly,
        &VerifyOptions::new(Network::Regtest),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            VerifyFileError::DigestLength {
                expected: 64,
                found: 40,
                ..
            }
        ),
        "{e:?}"
    );

    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("device gone"))
        }
    }
    let e = verify_file(
        &proof,
        Document::Content(&mut Broken),
        Headers::Source(&EmbeddedOnly),
        &VerifyOptions::new(Network::Regtest),
    )
    .unwrap_err();
    assert!(matches!(e, VerifyFileError::Document(_)), "{e:?}");
}

#[test]
fn ots_files_answer_through_the_same_type() {
    let dir = shared_data("ots-examples");
    if !dir.is_dir() {
        return skip(format_args!("{} is absent", dir.display()));
    }
    let doc = fs::read(dir.join("hello-world.txt")).unwrap();
    let ots = dir.join("hello-world.txt.ots");
    let v = check(&ots, &doc, Headers::ProofOnly, Network::Bitcoin).unwrap();
    // Offline, a Bitcoin attestation needs its header.
    assert_eq!(v.outcome(), Outcome::Unverified);
    let j = serde_json::to_value(&v).unwrap();
    assert_shape(&j, "ots");
    assert_eq!(j["result"], "unverified");
    assert_eq!(j["file_hash"], "sha256");
    assert!(!j["needed_heights"].as_array().unwrap().is_empty(), "{j}");

    // Another document: an invalid answer, with the digest-mismatch reason.
    let v = check(&ots, b"not hello", Headers::ProofOnly, Network::Bitcoin).unwrap();
    assert_eq!(v.outcome(), Outcome::Invalid);
    assert_eq!(v.reason(), Some("digest-mismatch"));
    assert_shape(&serde_json::to_value(&v).unwrap(), "ots");

    // A digest of the wrong length for the file's hash stops the check.
    let e = verify_file(
        &ots,
        Document::Digest(&[0; 20]),
        Headers::ProofOnly,
        &VerifyOptions::new(Network::Bitcoin),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            VerifyFileError::DigestLength {
                hash: "SHA-256",
                ..
            }
        ),
        "{e:?}"
    );

    // A damaged .ots file is a malformed answer, without hash or digest.
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = fs::read(&ots).unwrap();
    bytes.truncate(bytes.len() - 3);
    let cut = tmp.path().join("cut.ots");
    fs::write(&cut, bytes).unwrap();
    let v = check(&cut, &doc, Headers::ProofOnly, Network::Bitcoin).unwrap();
    assert_eq!(v.outcome(), Outcome::Invalid);
    let j = serde_json::to_value(&v).unwrap();
    assert_shape(&j, "ots");
    assert_eq!(j["file_hash"], Value::Null);
    assert!(j["reason"].as_str().is_some(), "{j}");
}
