//! The `btc-anchor` program as a user sees it: arguments in; stdout, stderr
//! and exit code out.
//!
//! Every test reads the fixtures in place and writes only inside its own
//! temporary folder, so the tests run in parallel.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::*;
use serde_json::Value;

const EXAMPLE_DIGEST: &str = "5a530a97f98bb08cb3c50dcb2f90313bed4473e77084d6717d7d658078e97648";
const EXAMPLE_TXID: &str = "ec691f3f0f7eb0926d93f9eb1848bf67b184a0cfd5dc126b11bb90ab083c538f";
const EXAMPLE_BLOCK: &str = "66b89e5b2b600f4664c9d3321170d8064729cc1bea0a7558d8739ee805a8b18c";

fn root() -> PathBuf {
    btc_anchor_testenv::repo_root()
}

fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// `verify` on the example document, with more arguments.
fn verify_example(more: &[&str]) -> Run {
    let mut args = vec!["verify", "fixtures/example/record.txt"];
    args.extend_from_slice(more);
    run(args)
}

/// A file's bytes, for before/after comparisons.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// verify: the example
// ---------------------------------------------------------------------------

#[test]
fn example_is_valid_on_regtest() {
    // In plain words by default: the headline, the digest, the block, the
    // evidence and the chain; the technical lines are --verbose's.
    let plain = verify_example(&["--network", "regtest"]);
    plain.expect_code(VALID);
    assert_eq!(plain.stderr, "");
    let headline = "VALID: this document existed by 3 Feb 2011, 01:56 UTC (Bitcoin regtest \
                    block 16, time accurate to about 2 hours; a test network: no weight as \
                    evidence)";
    let labels: Vec<&str> = plain
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.trim_start().split(':').next())
        .collect();
    assert_eq!(plain.stdout.lines().next(), Some(headline));
    assert_eq!(
        labels,
        ["record SHA-256", "block", "evidence", "chain"],
        "{}",
        plain.stdout
    );

    let r = verify_example(&["--network", "regtest", "--verbose"]);
    r.expect_code(VALID);
    assert_eq!(r.stderr, "");
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some(headline));
    for detail in lines {
        assert!(
            detail.starts_with("  "),
            "detail lines are indented: {detail}"
        );
    }
    for expected in [
        EXAMPLE_DIGEST,
        "3 records",
        EXAMPLE_TXID,
        "(output 0)",
        EXAMPLE_BLOCK,
        "2011-02-03 01:56:42 UTC (approximate",
        "up to 2 hours ahead",
        "at the latest the record existed at 2011-02-03 03:56:42 UTC",
        "6 carried in the proof",
        "at height 16 (as the proof states it)",
        "3 records (as the proof states it)",
        "carries no weight as evidence",
        "checked offline",
        "membership in the best chain not checked",
        "batch size as the proof states it",
        "transaction scripts and signatures not checked",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }
}

#[test]
fn example_without_network_is_refused_with_a_hint() {
    let r = verify_example(&[]);
    r.expect_code(WRONG_NETWORK);
    assert_eq!(
        r.stdout,
        "WRONG NETWORK: the proof was made on Bitcoin regtest, not Bitcoin: it is no evidence \
         on Bitcoin\n"
    );
    let (error, hint) = r.two_line_error();
    assert!(error.contains("wrong-network"), "{error}");
    assert!(hint.contains("--network regtest"), "{hint}");

    // The same with an explicit but wrong network, and as JSON.
    let r = verify_example(&["--network", "signet", "--json"]);
    r.expect_code(WRONG_NETWORK);
    let j = r.json();
    assert_eq!(j["result"], "wrong-network");
    assert_eq!(j["reason"], "wrong-network");
    assert_eq!(j["network"], "signet");
    assert!(r.two_line_error().1.contains("--network regtest"));
}

#[test]
fn example_with_headers_file_counts_confirmations_in_the_chain() {
    let r = verify_example(&[
        "--network",
        "regtest",
        "--headers",
        "fixtures/example/headers.bin",
    ]);
    r.expect_code(VALID);
    assert!(
        r.stdout.contains(
            "in the best chain of headers file fixtures/example/headers.bin: \
             6 confirmations (tip at height 21)"
        ),
        "{}",
        r.stdout
    );
    assert!(!r
        .stdout
        .contains("membership in the best chain not checked"));

    let r = verify_example(&[
        "--network",
        "regtest",
        "--headers",
        "fixtures/example/headers.bin",
        "--json",
    ]);
    r.expect_code(VALID);
    let chain = &r.json()["chain"];
    assert_eq!(chain["source"], "headers-file");
    assert_eq!(chain["location"], "fixtures/example/headers.bin");
    assert_eq!(chain["checked"], true);
    assert_eq!(chain["tip"], 21);
    assert_eq!(chain["confirmations"], 6);
}

#[test]
fn example_as_json() {
    let r = verify_example(&["--network", "regtest", "--json"]);
    r.expect_code(VALID);
    assert_eq!(r.stderr, "");
    assert_eq!(r.stdout.lines().count(), 1, "one JSON object on one line");
    let j = r.json();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "result",
        "reason",
        "message",
        "network",
        "digest",
        "stage",
        "batch_size",
        "root",
        "txid",
        "output",
        "block",
        "chain",
        "not_checked",
    ] {
        assert!(keys.contains(&key), "missing {key} in {j}");
    }
    assert_eq!(j["result"], "valid");
    assert_eq!(j["reason"], Value::Null);
    assert_eq!(j["message"], Value::Null);
    assert_eq!(j["network"], "regtest");
    assert_eq!(j["digest"], EXAMPLE_DIGEST);
    assert_eq!(j["stage"], "confirmed");
    assert_eq!(j["batch_size"], 3);
    assert_eq!(
        j["root"],
        "b71e6b01561583ae46446be9062763189145170826c62e785f5a15b07590df0d"
    );
    assert_eq!(j["txid"], EXAMPLE_TXID);
    assert_eq!(j["output"], 0);
    let b = &j["block"];
    assert_eq!(b["height"], 16);
    assert_eq!(b["hash"], EXAMPLE_BLOCK);
    assert_eq!(b["time"], 1_296_698_202);
    assert_eq!(b["time_utc"], "2011-02-03T01:56:42Z");
    assert_eq!(b["not_later_than"], 1_296_698_202 + 7200);
    assert_eq!(b["not_later_than_utc"], "2011-02-03T03:56:42Z");
    assert_eq!(b["confirmations_in_proof"], 6);
    let work = b["work_in_proof_log2"].as_f64().unwrap();
    // Six regtest blocks of work 2 each.
    assert!((work - 12f64.log2()).abs() < 0.001, "{work}");
    assert_eq!(j["chain"]["source"], "embedded");
    assert_eq!(j["chain"]["checked"], false);
    assert_eq!(j["chain"]["tip"], Value::Null);
    assert_eq!(j["evidence"], "test-network");
    assert_eq!(j["test_network"], true);
    assert_eq!(b["height_checked"], false);
    let not_checked = j["not_checked"].as_array().unwrap();
    assert_eq!(not_checked.len(), 3, "{not_checked:?}");
    assert!(not_checked[0].as_str().unwrap().contains("best chain"));
}

#[test]
fn digest_instead_of_document() {
    let proof = "fixtures/example/record.txt.anchor.json";
    let r = run([
        "verify",
        "--digest",
        EXAMPLE_DIGEST,
        "--proof",
        proof,
        "--network",
        "regtest",
    ]);
    r.expect_code(VALID);
    assert!(
        r.stdout
            .starts_with("VALID: the document with this SHA-256 existed by 3 Feb 2011, 01:56 UTC"),
        "{}",
        r.stdout
    );

    // Digests are pasted from many tools: upper case and white space are fine.
    let upper = format!(" {}\n", EXAMPLE_DIGEST.to_uppercase());
    let r = run([
        "verify",
        "--digest",
        &upper,
        "--proof",
        proof,
        "--network",
        "regtest",
    ]);
    r.expect_code(VALID);

    // Another digest is refused.
    let other = "00".repeat(32);
    let r = run([
        "verify",
        "--digest",
        &other,
        "--proof",
        proof,
        "--network",
        "regtest",
        "--json",
    ]);
    r.expect_code(INVALID);
    assert_eq!(r.json()["reason"], "digest-mismatch");
    r.two_line_error();
}

#[test]
fn default_proof_is_found_next_to_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("report.pdf");
    fs::copy(fixture("example/record.txt"), &doc).unwrap();
    fs::copy(
        fixture("example/record.txt.anchor.json"),
        dir.path().join("report.pdf.anchor.json"),
    )
    .unwrap();
    run([
        OsStr::new("verify"),
        doc.as_os_str(),
        OsStr::new("--network"),
        OsStr::new("regtest"),
    ])
    .expect_code(VALID);
}

#[test]
fn altered_document_is_invalid_and_nothing_is_modified() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("record.txt");
    let mut bytes = fs::read(fixture("example/record.txt")).unwrap();
    bytes[0] ^= 1;
    fs::write(&doc, &bytes).unwrap();
    fs::copy(
        fixture("example/record.txt.anchor.json"),
        dir.path().join("record.txt.anchor.json"),
    )
    .unwrap();
    let headers = fixture("example/headers.bin");
    let before = snapshot(dir.path());
    let headers_before = fs::read(&headers).unwrap();

    for json in [false, true] {
        let mut args = vec![
            OsStr::new("verify"),
            doc.as_os_str(),
            OsStr::new("--network"),
            OsStr::new("regtest"),
            OsStr::new("--headers"),
            headers.as_os_str(),
        ];
        if json {
            args.push(OsStr::new("--json"));
        }
        let r = run(args);
        r.expect_code(INVALID);
        if json {
            assert_eq!(r.json()["reason"], "digest-mismatch");
        } else {
            assert!(
                r.stdout.starts_with("INVALID: the document's SHA-256 is "),
                "{}",
                r.stdout
            );
        }
        let (error, _hint) = r.two_line_error();
        assert!(error.contains("digest-mismatch"), "{error}");
    }

    // Same files, same bytes, nothing added next to them.
    assert_eq!(snapshot(dir.path()), before);
    assert_eq!(fs::read(&headers).unwrap(), headers_before);
}

#[test]
fn valid_verification_modifies_nothing() {
    let before = snapshot(&fixture("example"));
    verify_example(&[
        "--network",
        "regtest",
        "--headers",
        "fixtures/example/headers.bin",
    ])
    .expect_code(VALID);
    run(["info", "fixtures/example/record.txt.anchor.json"]).expect_code(VALID);
    assert_eq!(snapshot(&fixture("example")), before);
}

// ---------------------------------------------------------------------------
// verify: input/output and usage errors
// ---------------------------------------------------------------------------

#[test]
fn missing_document_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-document.txt");
    let r = run([OsStr::new("verify"), missing.as_os_str()]);
    r.expect_code(IO);
    assert_eq!(r.stdout, "");
    let (error, _) = r.two_line_error();
    assert!(error.contains("no-such-document.txt"), "{error}");

    // A folder is not a document either.
    let r = run([OsStr::new("verify"), dir.path().as_os_str()]);
    r.expect_code(IO);
    r.two_line_error();
}

#[test]
fn missing_proof_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("lonely.txt");
    fs::write(&doc, b"no proof next to me").unwrap();
    let r = run([OsStr::new("verify"), doc.as_os_str()]);
    r.expect_code(IO);
    let (error, hint) = r.two_line_error();
    assert!(error.contains("lonely.txt.anchor.json"), "{error}");
    assert!(hint.contains("--proof"), "{hint}");

    let missing = dir.path().join("elsewhere.json");
    let r = run([
        OsStr::new("verify"),
        OsStr::new("--digest"),
        OsStr::new(EXAMPLE_DIGEST),
        OsStr::new("--proof"),
        missing.as_os_str(),
    ]);
    r.expect_code(IO);
    r.two_line_error();
}

#[test]
fn missing_headers_file_is_an_io_error_and_a_bad_one_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("headers.bin");
    let r = run([
        OsStr::new("verify"),
        OsStr::new("fixtures/example/record.txt"),
        OsStr::new("--network"),
        OsStr::new("regtest"),
        OsStr::new("--headers"),
        missing.as_os_str(),
    ]);
    r.expect_code(IO);
    r.two_line_error();

    let r = verify_example(&[
        "--network",
        "regtest",
        "--headers",
        "fixtures/headers/regtest-truncated.bin",
        "--json",
    ]);
    r.expect_code(INVALID);
    assert_eq!(r.json()["reason"], "header-source");
    r.two_line_error();
}

#[test]
fn oversized_proof_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("huge.json");
    fs::write(&proof, vec![b' '; (1 << 20) + 1]).unwrap();
    let r = run([
        OsStr::new("verify"),
        OsStr::new("--digest"),
        OsStr::new(EXAMPLE_DIGEST),
        OsStr::new("--proof"),
        proof.as_os_str(),
        OsStr::new("--json"),
    ]);
    r.expect_code(INVALID);
    assert_eq!(r.json()["reason"], "too-large");
    r.two_line_error();
}

#[test]
fn usage_errors_exit_2_with_two_lines() {
    let proof = "fixtures/example/record.txt.anchor.json";
    let cases: &[&[&str]] = &[
        // Bad digest hex: too short, not hex.
        &["verify", "--digest", "abc", "--proof", proof],
        &["verify", "--digest", &"zz".repeat(32), "--proof", proof],
        // Both a document and a digest.
        &[
            "verify",
            "fixtures/example/record.txt",
            "--digest",
            EXAMPLE_DIGEST,
            "--proof",
            proof,
        ],
        // Neither.
        &["verify", "--proof", proof],
        &["verify"],
        // A digest needs a proof.
        &["verify", "--digest", EXAMPLE_DIGEST],
        // Unknown network, option, command; no command.
        &[
            "verify",
            "fixtures/example/record.txt",
            "--network",
            "moonnet",
        ],
        &["verify", "fixtures/example/record.txt", "--no-such-option"],
        &["info"],
        &["frobnicate"],
        &[],
    ];
    for args in cases {
        let r = run(*args);
        assert_eq!(r.code, USAGE, "{args:?}\n{}{}", r.stdout, r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
        r.two_line_error();
    }
    let r = run(["verify", "--digest", "abc", "--proof", proof]);
    assert!(
        r.two_line_error().0.contains("64 hex characters"),
        "{}",
        r.stderr
    );
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [&["--help"][..], &["verify", "--help"][..]] {
        let r = run(args);
        r.expect_code(0);
        for code in [
            "0  valid",
            "1  invalid",
            "2  usage error",
            "3  pending",
            "4  input/output error",
        ] {
            assert!(
                r.stdout.contains(code),
                "{args:?} lacks {code:?}:\n{}",
                r.stdout
            );
        }
    }
    run(["info", "--help"]).expect_code(0);
    run(["--version"]).expect_code(0);
    // Each anchoring command lists its own exit codes, in its own words,
    // not verify's.
    for (cmd, own) in [
        ("stamp", "12  partial"),
        ("anchor", "9  nothing to do"),
        ("upgrade", "9  nothing to do: no batch is waiting"),
        ("status", "8  busy"),
        ("wallet", "7  wallet error"),
    ] {
        let r = run([cmd, "--help"]);
        r.expect_code(0);
        assert!(
            r.stdout.contains(own),
            "{cmd} --help lacks {own:?}:\n{}",
            r.stdout
        );
        assert!(
            !r.stdout.contains("the document existed"),
            "{cmd} --help describes verify's exit codes:\n{}",
            r.stdout
        );
    }
}

// ---------------------------------------------------------------------------
// verify: every vector in fixtures/vectors/
// ---------------------------------------------------------------------------

/// Runs one vector through the program: the document (or its digest) and
/// the proof written to a temporary folder, the headers file and network
/// passed as options.
fn run_vector(v: &Value, dir: &Path, json: bool) -> Run {
    let proof_text = match (v.get("proof"), v.get("proof_text")) {
        (Some(p), None) => serde_json::to_string_pretty(p).unwrap(),
        (None, Some(Value::String(t))) => t.clone(),
        _ => panic!("a vector has exactly one of proof, proof_text"),
    };
    let proof = dir.join("proof.json");
    fs::write(&proof, proof_text).unwrap();
    let mut args: Vec<PathBuf> = vec!["verify".into()];
    match (v.get("document_text"), v.get("document_digest")) {
        (Some(Value::String(text)), None) => {
            let doc = dir.join("document.txt");
            fs::write(&doc, text).unwrap();
            args.push(doc);
        }
        (None, Some(Value::String(digest))) => {
            args.extend(["--digest".into(), digest.into()]);
        }
        _ => panic!("a vector has exactly one of document_text, document_digest"),
    }
    args.extend(["--proof".into(), proof]);
    args.extend(["--network".into(), v["network"].as_str().unwrap().into()]);
    if let Some(Value::String(rel)) = v.get("headers_file") {
        args.extend(["--headers".into(), fixture(rel)]);
    }
    if json {
        args.push("--json".into());
    }
    run(args)
}

#[test]
fn checkpoint_tables_given_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let table = |name: &str, text: &str| {
        let p = dir.path().join(name);
        fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let regtest = table("regtest.txt", "btc-anchor checkpoints 1\nnetwork regtest\n");
    let bitcoin = table("bitcoin.txt", "btc-anchor checkpoints 1\nnetwork bitcoin\n");
    let broken = table(
        "broken.txt",
        "btc-anchor checkpoints 1\nnetwork regtest\n1 ab -\n",
    );
    let missing = dir.path().join("missing.txt").to_str().unwrap().to_owned();
    let folder = dir.path().to_str().unwrap().to_owned();
    // A table of the proof's network is used (this one pins nothing).
    let r = verify_example(&["--network", "regtest", "--checkpoints", &regtest]);
    r.expect_code(VALID);
    assert!(r.stdout.starts_with("VALID: "), "{}", r.stdout);
    for (path, code, expected) in [
        (
            &bitcoin,
            USAGE,
            "the checkpoint table is for bitcoin, not regtest",
        ),
        (&broken, INVALID, "line 3: expected epoch 0"),
        (&missing, IO, "cannot read checkpoint table"),
        (&folder, IO, "cannot read checkpoint table"),
    ] {
        let r = verify_example(&["--network", "regtest", "--checkpoints", path]);
        r.expect_code(code);
        assert_eq!(r.stdout, "", "{path}");
        let (error, hint) = r.two_line_error();
        assert!(error.contains(expected), "{path}: {error}");
        assert!(hint.contains("checkpoint"), "{hint}");
    }
}

#[test]
fn the_network_can_come_from_the_environment() {
    let r: Run = command()
        .args(["verify", "fixtures/example/record.txt", "--json"])
        .env("BTC_ANCHOR_NETWORK", "regtest")
        .output()
        .unwrap()
        .into();
    r.expect_code(VALID);
    assert_eq!(r.json()["network"], "regtest");
    // The flag wins over the environment.
    let r: Run = command()
        .args([
            "verify",
            "fixtures/example/record.txt",
            "--network",
            "signet",
        ])
        .env("BTC_ANCHOR_NETWORK", "regtest")
        .output()
        .unwrap()
        .into();
    r.expect_code(WRONG_NETWORK);
}

#[test]
fn mainnet_is_another_name_for_bitcoin() {
    // The example is a regtest proof: both names ask for mainnet, and get
    // the same refusal.
    let a = verify_example(&["--network", "mainnet"]);
    let b = verify_example(&["--network", "bitcoin"]);
    assert_eq!(
        (a.code, &a.stdout, &a.stderr),
        (b.code, &b.stdout, &b.stderr)
    );
    a.expect_code(WRONG_NETWORK);
}

#[test]
fn every_vector() {
    let mut paths: Vec<PathBuf> = fs::read_dir(fixture("vectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("json")))
        .collect();
    paths.sort();
    assert!(paths.len() >= 80, "found only {} vectors", paths.len());
    let (mut valid, mut pending, mut invalid, mut inconclusive) = (0, 0, 0, 0);
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy();
        let v: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let expect = v["expect"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();

        let text = run_vector(&v, dir.path(), false);
        let json = run_vector(&v, dir.path(), true);
        let j = json.json();
        let context = format!("{name}: {}{}", json.stdout, json.stderr);
        match expect {
            "valid" => {
                valid += 1;
                text.expect_code(VALID);
                json.expect_code(VALID);
                assert!(
                    text.stdout.starts_with("VALID: "),
                    "{name}: {}",
                    text.stdout
                );
                assert_eq!(text.stderr, "", "{name}");
                assert_eq!(j["result"], "valid", "{context}");
                assert_eq!(j["reason"], Value::Null, "{context}");
                if let Some(h) = v.get("height") {
                    assert_eq!(&j["block"]["height"], h, "{context}");
                }
                if let Some(c) = v.get("confirmations_in_proof") {
                    assert_eq!(&j["block"]["confirmations_in_proof"], c, "{context}");
                }
                if let Some(c) = v.get("confirmations_in_chain") {
                    assert_eq!(j["chain"]["checked"], true, "{context}");
                    assert_eq!(&j["chain"]["confirmations"], c, "{context}");
                }
            }
            "pending" => {
                pending += 1;
                text.expect_code(PENDING);
                json.expect_code(PENDING);
                assert!(
                    text.stdout.starts_with("PENDING: "),
                    "{name}: {}",
                    text.stdout
                );
                assert!(text.stdout.contains("upgraded"), "{name}: {}", text.stdout);
                assert_eq!(text.stderr, "", "{name}");
                assert_eq!(j["result"], "pending", "{context}");
                assert_eq!(&j["stage"], &v["stage"], "{context}");
                assert_eq!(j["block"], Value::Null, "{context}");
            }
            "inconclusive" => {
                inconclusive += 1;
                text.expect_code(INCONCLUSIVE);
                json.expect_code(INCONCLUSIVE);
                assert!(
                    text.stdout.starts_with("INCONCLUSIVE: "),
                    "{name}: {}",
                    text.stdout
                );
                assert!(!text.stdout.contains("VALID:"), "{name}");
                assert!(
                    text.stdout.contains("forgery cost:"),
                    "{name}: {}",
                    text.stdout
                );
                assert!(text.stdout.contains("--electrum URL"), "{name}");
                let (error, hint) = text.two_line_error();
                assert!(error.contains("real Bitcoin chain"), "{name}: {error}");
                assert!(hint.contains("--headers FILE"), "{name}: {hint}");
                assert_eq!(j["result"], "inconclusive", "{context}");
                assert_eq!(j["evidence"], Value::Null, "{context}");
                assert_eq!(j["block"]["height_checked"], false, "{context}");
                // Every inconclusive vector is a forgery mined at difficulty 1.
                assert_eq!(
                    j["block"]["forgery_cost"]["above_threshold"], false,
                    "{context}"
                );
            }
            "wrong-network" => {
                // Counted with the negative vectors: a proof of another
                // network is no evidence on the one asked for.
                invalid += 1;
                text.expect_code(WRONG_NETWORK);
                json.expect_code(WRONG_NETWORK);
                assert!(
                    text.stdout
                        .starts_with("WRONG NETWORK: the proof was made on "),
                    "{name}: {}",
                    text.stdout
                );
                let (error, hint) = text.two_line_error();
                assert!(error.contains("wrong-network"), "{name}: {error}");
                assert!(hint.contains("--network"), "{name}: {hint}");
                assert_eq!(j["result"], "wrong-network", "{context}");
                assert_eq!(j["reason"], "wrong-network", "{context}");
                assert_eq!(j["block"], Value::Null, "{context}");
            }
            reason => {
                invalid += 1;
                text.expect_code(INVALID);
                json.expect_code(INVALID);
                assert!(
                    text.stdout.starts_with("INVALID: "),
                    "{name}: {}",
                    text.stdout
                );
                assert_eq!(text.stdout.lines().count(), 1, "{name}: {}", text.stdout);
                let (error, _) = text.two_line_error();
                assert!(error.contains(reason), "{name}: {error}");
                json.two_line_error();
                assert_eq!(j["result"], "invalid", "{context}");
                assert_eq!(j["reason"], reason, "{context}");
                let message = j["message"].as_str().unwrap();
                assert_eq!(text.stdout, format!("INVALID: {message}\n"), "{name}");
            }
        }
    }
    assert!(
        valid > 0 && pending > 0 && inconclusive > 0,
        "vectors of every kind"
    );
    assert!(
        invalid > valid + pending + inconclusive,
        "negative vectors outnumber positive ones"
    );
}

#[test]
fn pending_proofs_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "pending-queued.json",
            "is stamped, and its proof file waits",
        ),
        ("pending-batched.json", "is in a batch of 5 records"),
        ("pending-broadcast.json", "broadcast but not yet in a block"),
    ];
    for (name, expected) in cases {
        let v: Value =
            serde_json::from_slice(&fs::read(fixture("vectors").join(name)).unwrap()).unwrap();
        let r = run_vector(&v, dir.path(), false);
        r.expect_code(PENDING);
        assert!(
            r.stdout.starts_with("PENDING: this document "),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains(expected), "{name}: {}", r.stdout);
    }
    let v: Value =
        serde_json::from_slice(&fs::read(fixture("vectors/pending-broadcast.json")).unwrap())
            .unwrap();
    let j = run_vector(&v, dir.path(), true).json();
    let txid = j["txid"].as_str().unwrap();
    assert_eq!(txid.len(), 64);
    assert_eq!(j["output"], 0);
    assert_eq!(j["batch_size"], 5);
}

// ---------------------------------------------------------------------------
// info
// ---------------------------------------------------------------------------

#[test]
fn info_on_the_example() {
    let r = run(["info", "fixtures/example/record.txt.anchor.json"]);
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    assert!(
        r.stdout.lines().next().unwrap().contains("not verified"),
        "{}",
        r.stdout
    );
    for expected in [
        "format version 1",
        "regtest",
        "confirmed",
        EXAMPLE_DIGEST,
        "16 bytes",
        "index 1 of 3 records",
        "2 hashes",
        EXAMPLE_TXID,
        "0 of 2: commits to the batch root",
        EXAMPLE_BLOCK,
        "at height 16",
        "2011-02-03 01:56:42 UTC",
        "transaction 1 in the block, branch of 2 hashes",
        "headers after:",
        "5 (6 blocks carried",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }

    let r = run(["info", "fixtures/example/record.txt.anchor.json", "--json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["verified"], false);
    assert_eq!(j["format_version"], 1);
    assert_eq!(j["network"], "regtest");
    assert_eq!(j["stage"], "confirmed");
    assert_eq!(j["digest"], EXAMPLE_DIGEST);
    assert_eq!(j["salt_bytes"], 16);
    assert_eq!(j["batch"]["size"], 3);
    assert_eq!(j["batch"]["index"], 1);
    assert_eq!(j["batch"]["path_length"], 2);
    let a = &j["anchor"];
    assert_eq!(a["txid"], EXAMPLE_TXID);
    assert_eq!(a["output"], 0);
    assert_eq!(a["commitment"]["matches_batch_root"], true);
    assert_eq!(a["commitment"]["found"], j["batch"]["root"]);
    assert_eq!(a["block"]["height"], 16);
    assert_eq!(a["block"]["hash"], EXAMPLE_BLOCK);
    assert_eq!(a["block"]["time_utc"], "2011-02-03T01:56:42Z");
    assert_eq!(a["block"]["tx_index"], 1);
    assert_eq!(a["block"]["branch_length"], 2);
    assert_eq!(a["block"]["headers_after"], 5);

    // The txid info computes is the one verify establishes.
    let verified = verify_example(&["--network", "regtest", "--json"]).json();
    assert_eq!(verified["txid"], a["txid"]);
}

#[test]
fn info_describes_without_verifying() {
    // A proof whose commitment is someone else's root still reads, and
    // info says what its output holds.
    let dir = tempfile::tempdir().unwrap();
    let v: Value =
        serde_json::from_slice(&fs::read(fixture("vectors/bad-output-is-change.json")).unwrap())
            .unwrap();
    let proof = dir.path().join("proof.json");
    fs::write(&proof, serde_json::to_string(&v["proof"]).unwrap()).unwrap();
    let r = run([OsStr::new("info"), proof.as_os_str(), OsStr::new("--json")]);
    r.expect_code(0);
    let c = &r.json()["anchor"]["commitment"];
    assert_eq!(c["found"], Value::Null);
    assert_eq!(c["matches_batch_root"], false);
    assert!(c["problem"].as_str().unwrap().contains("OP_RETURN"), "{c}");

    // A queued proof has neither batch nor anchor yet.
    let v: Value =
        serde_json::from_slice(&fs::read(fixture("vectors/pending-queued.json")).unwrap()).unwrap();
    fs::write(&proof, serde_json::to_string(&v["proof"]).unwrap()).unwrap();
    let r = run([OsStr::new("info"), proof.as_os_str(), OsStr::new("--json")]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["stage"], "queued");
    assert_eq!(j["batch"], Value::Null);
    assert_eq!(j["anchor"], Value::Null);
}

#[test]
fn info_on_a_malformed_proof() {
    let r = run(["info", "fixtures/example/record.txt"]);
    r.expect_code(INVALID);
    assert_eq!(r.stdout, "");
    let (error, _) = r.two_line_error();
    assert!(error.starts_with("not a valid proof"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("v2.json");
    fs::write(&proof, br#"{"format": "btc-anchor-proof", "version": 2}"#).unwrap();
    let r = run([OsStr::new("info"), proof.as_os_str(), OsStr::new("--json")]);
    r.expect_code(INVALID);
    assert_eq!(r.json()["result"], "error");
    let (error, hint) = r.two_line_error();
    assert_eq!(error, "unsupported proof version 2");
    assert!(hint.contains("upgrade btc-anchor"), "{hint}");

    let r = run([
        OsStr::new("info"),
        dir.path().join("missing.json").as_os_str(),
    ]);
    r.expect_code(IO);
    r.two_line_error();
}

// ---------------------------------------------------------------------------
// Offline means offline
// ---------------------------------------------------------------------------

#[test]
fn offline_verify_opens_no_network_socket() {
    let strace_found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join("strace").is_file()))
        .unwrap_or(false);
    if !strace_found {
        btc_anchor_testenv::skip("strace is not on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    // Offline with a headers file, and writing a report: neither opens a
    // socket.
    for more in [
        vec![OsStr::new("--json")],
        vec![OsStr::new("--report"), report.as_os_str()],
    ] {
        let trace = dir.path().join("trace");
        let out = std::process::Command::new("strace")
            .current_dir(root())
            .arg("-f")
            .args(["-e", "trace=socket,connect,execve"])
            .arg("-o")
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_btc-anchor"))
            .args([
                "verify",
                "fixtures/example/record.txt",
                "--network",
                "regtest",
                "--headers",
                "fixtures/example/headers.bin",
            ])
            .args(&more)
            .output()
            .unwrap();
        let log = fs::read_to_string(&trace).unwrap_or_default();
        if !log.contains("execve(") {
            // strace is there but may not trace here (no ptrace in some sandboxes).
            btc_anchor_testenv::skip(format_args!(
                "strace could not trace the program: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            return;
        }
        assert_eq!(out.status.code(), Some(VALID), "{log}");
        for line in log.lines() {
            assert!(
                !line.contains("AF_INET"),
                "offline verification touched the network: {line}\n{log}"
            );
        }
    }
    assert!(fs::read_to_string(&report)
        .unwrap()
        .contains(EXAMPLE_DIGEST));
}

// ---------------------------------------------------------------------------
// OpenTimestamps: export --ots, and .ots files in verify and info
// ---------------------------------------------------------------------------

const EXAMPLE_PROOF: &str = "fixtures/example/record.txt.anchor.json";
const EXAMPLE_HEADERS: &str = "fixtures/example/headers.bin";

/// `export --ots` of the example proof into `dir`, checked; returns the
/// path written.
fn export_example(dir: &Path) -> PathBuf {
    let out = dir.join("record.ots");
    let r = run([
        OsStr::new("export"),
        OsStr::new("--ots"),
        OsStr::new(EXAMPLE_PROOF),
        OsStr::new("--out"),
        out.as_os_str(),
    ]);
    r.expect_code(VALID);
    assert_eq!(r.stderr, "");
    assert!(
        r.stdout.starts_with(&format!("wrote {}", out.display())),
        "{}",
        r.stdout
    );
    out
}

fn os(args: &[&str]) -> Vec<PathBuf> {
    args.iter().map(PathBuf::from).collect()
}

#[test]
fn exported_ots_verifies_like_the_native_proof() {
    let dir = tempfile::tempdir().unwrap();
    let out = export_example(dir.path());
    let bytes = fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"\x00OpenTimestamps\x00\x00Proof\x00"));

    // The export says which block and merkle root the file reaches, on one line.
    let again = dir.path().join("again.ots");
    let r = run([
        OsStr::new("export"),
        OsStr::new("--ots"),
        OsStr::new(EXAMPLE_PROOF),
        OsStr::new("--out"),
        again.as_os_str(),
    ]);
    let reach = r
        .stdout
        .lines()
        .find(|l| l.contains("block 16"))
        .unwrap_or_else(|| panic!("no block line in\n{}", r.stdout));
    assert!(reach.contains("merkle root"), "{reach}");
    assert!(reach.contains("display order"), "{reach}");
    assert_eq!(fs::read(&again).unwrap(), bytes, "export is deterministic");

    // With the headers file: VALID, with the native proof's block and time.
    let native = verify_example(&["--network", "regtest", "--headers", EXAMPLE_HEADERS]);
    native.expect_code(VALID);
    let mut args = os(&["verify", "fixtures/example/record.txt", "--proof"]);
    args.push(out.clone());
    args.extend(os(&["--network", "regtest", "--headers", EXAMPLE_HEADERS]));
    let mut verbose = args.clone();
    verbose.push("--verbose".into());
    let r = run(&verbose);
    r.expect_code(VALID);
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout.lines().next(),
        native.stdout.lines().next(),
        "same headline, height and UTC time\n{}",
        r.stdout
    );
    assert!(
        r.stdout
            .starts_with("VALID: this document existed by 3 Feb 2011, 01:56 UTC"),
        "{}",
        r.stdout
    );
    for expected in [
        EXAMPLE_BLOCK,
        "confirmed",
        "6 confirmations (tip at height 21)",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }

    // The same as JSON, against the native JSON.
    args.push("--json".into());
    let j = run(&args).expect_code(VALID).json();
    let nj = verify_example(&[
        "--network",
        "regtest",
        "--headers",
        EXAMPLE_HEADERS,
        "--json",
    ])
    .json();
    assert_eq!(j["result"], "valid");
    assert_eq!(j["format"], "ots");
    assert_eq!(nj["format"], "btc-anchor");
    assert_eq!(j["file_hash"], "sha256");
    assert_eq!(j["digest"], EXAMPLE_DIGEST);
    for key in ["height", "hash", "time", "time_utc", "not_later_than_utc"] {
        assert_eq!(j["block"][key], nj["block"][key], "{key}");
    }
    let atts = j["attestations"].as_array().unwrap();
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0]["kind"], "bitcoin");
    assert_eq!(atts[0]["height"], 16);
    assert_eq!(atts[0]["result"], "confirmed");
    assert_eq!(atts[0]["block_hash"], EXAMPLE_BLOCK);
    assert_eq!(atts[0]["time"], 1_296_698_202);
    assert_eq!(j["needed_heights"], serde_json::json!([]));

    // Without a header source: UNVERIFIED, exit 5, naming the block.
    let mut args = os(&["verify", "fixtures/example/record.txt", "--proof"]);
    args.push(out.clone());
    args.extend(os(&["--network", "regtest"]));
    let r = run(&args);
    r.expect_code(UNVERIFIED);
    assert_eq!(r.stderr, "");
    assert!(
        r.stdout.starts_with(
            "UNVERIFIED: the timestamp is attested in Bitcoin regtest block 16; a header source \
             is needed to check it (pass --headers FILE)"
        ),
        "{}",
        r.stdout
    );
    args.push("--json".into());
    let j = run(&args).expect_code(UNVERIFIED).json();
    assert_eq!(j["result"], "unverified");
    assert_eq!(j["needed_heights"], serde_json::json!([16]));
    assert_eq!(j["attestations"][0]["result"], "header-needed");
    assert_eq!(j["block"], Value::Null);
}

#[test]
fn info_on_an_exported_ots() {
    let dir = tempfile::tempdir().unwrap();
    let out = export_example(dir.path());
    let r = run([OsStr::new("info"), out.as_os_str()]);
    r.expect_code(VALID);
    assert_eq!(r.stderr, "");
    assert!(
        r.stdout.lines().next().unwrap().contains("not verified"),
        "{}",
        r.stdout
    );
    for expected in [
        "OpenTimestamps",
        "sha256",
        EXAMPLE_DIGEST,
        "bitcoin block 16",
        // The tree, as OpenTimestamps tools show it.
        &format!("file sha256 hash: {EXAMPLE_DIGEST}"),
        "prepend 00",
        "verify bitcoin block 16",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }

    let r = run([OsStr::new("info"), out.as_os_str(), OsStr::new("--json")]);
    r.expect_code(VALID);
    let j = r.json();
    assert_eq!(j["verified"], false);
    assert_eq!(j["format"], "ots");
    assert_eq!(j["major_version"], 1);
    assert_eq!(j["file_hash"], "sha256");
    assert_eq!(j["digest"], EXAMPLE_DIGEST);
    assert_eq!(j["attestations"][0]["kind"], "bitcoin");
    assert_eq!(j["attestations"][0]["height"], 16);
    let tree = j["tree"].as_array().unwrap();
    assert_eq!(tree.len() as u64, j["operations"].as_u64().unwrap() + 1);
    assert_eq!(tree[0]["op"], "prepend");
    assert_eq!(tree[0]["parent"], Value::Null);
    assert_eq!(tree.last().unwrap()["attestation"], "bitcoin");

    // Detected by content, not by name.
    let renamed = dir.path().join("looks-like.json");
    fs::copy(&out, &renamed).unwrap();
    let r = run([
        OsStr::new("info"),
        renamed.as_os_str(),
        OsStr::new("--json"),
    ]);
    assert_eq!(r.expect_code(VALID).json()["format"], "ots");
    // And a native proof named .ots is still a native proof.
    let native = dir.path().join("native.ots");
    fs::copy(fixture("example/record.txt.anchor.json"), &native).unwrap();
    let r = run([OsStr::new("info"), native.as_os_str(), OsStr::new("--json")]);
    assert_eq!(r.expect_code(VALID).json()["format"], "btc-anchor");
}

#[test]
fn ots_found_next_to_the_document_and_checked_against_headers() {
    let dir = tempfile::tempdir().unwrap();
    let out = export_example(dir.path());
    let doc = dir.path().join("report.txt");
    fs::copy(fixture("example/record.txt"), &doc).unwrap();
    fs::rename(&out, dir.path().join("report.txt.ots")).unwrap();
    let verify_doc = |more: &[&str]| {
        let mut args = vec![PathBuf::from("verify"), doc.clone()];
        args.extend(os(more));
        run(&args)
    };
    // Only report.txt.ots exists: it is the proof.
    let r = verify_doc(&["--network", "regtest", "--headers", EXAMPLE_HEADERS]);
    r.expect_code(VALID);

    // A report.txt.anchor.json next to it is preferred.
    fs::copy(
        fixture("example/record.txt.anchor.json"),
        dir.path().join("report.txt.anchor.json"),
    )
    .unwrap();
    let j = verify_doc(&["--network", "regtest", "--json"]).json();
    assert_eq!(j["format"], "btc-anchor");
    fs::remove_file(dir.path().join("report.txt.anchor.json")).unwrap();

    // An attestation of another height is contradicted by the headers
    // file: the block at 15 has another merkle root.
    let ots = dir.path().join("report.txt.ots");
    let mut bytes = fs::read(&ots).unwrap();
    assert_eq!(bytes.last(), Some(&16));
    *bytes.last_mut().unwrap() = 15;
    fs::write(&ots, &bytes).unwrap();
    let r = verify_doc(&["--network", "regtest", "--headers", EXAMPLE_HEADERS]);
    r.expect_code(INVALID);
    assert!(r.stdout.starts_with("INVALID: "), "{}", r.stdout);
    assert!(r.stdout.contains("mismatch"), "{}", r.stdout);
    let (error, _) = r.two_line_error();
    assert!(error.contains("mismatch"), "{error}");
    let r = verify_doc(&[
        "--network",
        "regtest",
        "--headers",
        EXAMPLE_HEADERS,
        "--json",
    ]);
    r.expect_code(INVALID);
    let j = r.json();
    assert_eq!(j["result"], "invalid");
    assert_eq!(j["reason"], "mismatch");
    assert_eq!(j["attestations"][0]["result"], "mismatch");
    assert_eq!(j["attestations"][0]["height"], 15);

    // A missing headers file is an input/output error, a bad one invalid.
    let r = verify_doc(&["--headers", "no/such/headers.bin"]);
    r.expect_code(IO);
    r.two_line_error();
    let r = verify_doc(&[
        "--network",
        "regtest",
        "--headers",
        "fixtures/headers/regtest-truncated.bin",
        "--json",
    ]);
    r.expect_code(INVALID);
    assert_eq!(r.json()["reason"], "header-source");
}

#[test]
fn export_refuses_to_overwrite_and_writes_next_to_the_proof() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("record.txt.anchor.json");
    fs::copy(fixture("example/record.txt.anchor.json"), &proof).unwrap();
    let export = |more: &[&str]| {
        let mut args = vec![
            PathBuf::from("export"),
            PathBuf::from("--ots"),
            proof.clone(),
        ];
        args.extend(os(more));
        run(&args)
    };
    // Default output: .anchor.json replaced by .ots.
    let r = export(&[]);
    r.expect_code(VALID);
    let out = dir.path().join("record.txt.ots");
    assert!(
        r.stdout.contains(&out.display().to_string()),
        "{}",
        r.stdout
    );
    let written = fs::read(&out).unwrap();

    // Not again over an existing file, which is left as it was.
    fs::write(&out, b"someone else's file").unwrap();
    let r = export(&[]);
    r.expect_code(IO);
    assert_eq!(r.stdout, "");
    let (error, hint) = r.two_line_error();
    assert!(error.contains("exists"), "{error}");
    assert!(hint.contains("--force"), "{hint}");
    assert_eq!(fs::read(&out).unwrap(), b"someone else's file");

    // With --force it is replaced, whole.
    export(&["--force"]).expect_code(VALID);
    assert_eq!(fs::read(&out).unwrap(), written);

    // Nothing but the proof and the .ots: no temporary file left over.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["record.txt.anchor.json", "record.txt.ots"]);

    // Never over the proof itself, even with --force.
    let r = export(&["--out", proof.to_str().unwrap(), "--force"]);
    r.expect_code(USAGE);
    r.two_line_error();
    assert_eq!(
        fs::read(&proof).unwrap(),
        fs::read(fixture("example/record.txt.anchor.json")).unwrap()
    );

    // A proof named otherwise gets .ots appended.
    let other = dir.path().join("proof.json");
    fs::copy(&proof, &other).unwrap();
    run([OsStr::new("export"), OsStr::new("--ots"), other.as_os_str()]).expect_code(VALID);
    assert!(dir.path().join("proof.json.ots").is_file());

    // --ots is required (the format to write).
    let r = run([OsStr::new("export"), proof.as_os_str()]);
    r.expect_code(USAGE);
    r.two_line_error();
}

#[test]
fn export_of_a_pending_proof_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    for (vector, stage) in [
        ("pending-broadcast.json", "broadcast"),
        ("pending-batched.json", "batched"),
        ("pending-queued.json", "queued"),
    ] {
        let v: Value =
            serde_json::from_slice(&fs::read(fixture("vectors").join(vector)).unwrap()).unwrap();
        let proof = dir.path().join("pending.anchor.json");
        fs::write(&proof, serde_json::to_string_pretty(&v["proof"]).unwrap()).unwrap();
        let r = run([OsStr::new("export"), OsStr::new("--ots"), proof.as_os_str()]);
        r.expect_code(INVALID);
        assert_eq!(r.stdout, "");
        let (error, hint) = r.two_line_error();
        assert!(
            error.starts_with(&format!("a {stage} proof has no .ots form")),
            "{error}"
        );
        assert!(
            hint.contains("run btc-anchor upgrade once the transaction confirms"),
            "{hint}"
        );
        assert!(!dir.path().join("pending.ots").exists());
    }

    // A proof that does not verify is not exported either.
    let v: Value =
        serde_json::from_slice(&fs::read(fixture("vectors/bad-pow.json")).unwrap()).unwrap();
    let proof = dir.path().join("bad.anchor.json");
    fs::write(&proof, serde_json::to_string_pretty(&v["proof"]).unwrap()).unwrap();
    let r = run([OsStr::new("export"), OsStr::new("--ots"), proof.as_os_str()]);
    r.expect_code(INVALID);
    assert!(
        r.two_line_error().0.contains("does not verify"),
        "{}",
        r.stderr
    );

    // A missing proof is an input/output error; a .ots is not a proof to export.
    let r = run([
        OsStr::new("export"),
        OsStr::new("--ots"),
        dir.path().join("missing.anchor.json").as_os_str(),
    ]);
    r.expect_code(IO);
    r.two_line_error();
    let out = export_example(dir.path());
    let r = run([OsStr::new("export"), OsStr::new("--ots"), out.as_os_str()]);
    r.expect_code(INVALID);
    assert!(r
        .two_line_error()
        .0
        .contains("already an OpenTimestamps file"));
}

#[test]
fn help_documents_exit_code_5_and_export() {
    for args in [&["--help"][..], &["verify", "--help"][..]] {
        let r = run(args);
        r.expect_code(0);
        assert!(
            r.stdout.contains("5  unverified"),
            "{args:?} lacks exit code 5:\n{}",
            r.stdout
        );
    }
    let r = run(["export", "--help"]);
    r.expect_code(0);
    for expected in [
        "--ots",
        "--out",
        "--force",
        "0  the .ots file was written",
        "4  input/output error",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }
}

// ---------------------------------------------------------------------------
// OpenTimestamps: the reference examples
// ---------------------------------------------------------------------------

/// `../shared/data/ots-examples/`, or `None` (and a message) when absent.
fn ots_examples() -> Option<PathBuf> {
    let dir = root().join("../shared/data/ots-examples");
    if dir.is_dir() {
        Some(dir)
    } else {
        btc_anchor_testenv::skip(format_args!("{} is absent", dir.display()));
        None
    }
}

const HELLO_ROOT_INTERNAL: &str =
    "007ee445d23ad061af4a36b809501fab1ac4f2d7e7a739817dd0cbb7ec661b8a";
const HELLO_ROOT_DISPLAY: &str = "8a1b66ecb7cbd07d8139a7e7d7f2c41aab1f5009b8364aaf61d03ad245e47e00";

#[test]
fn hello_world_needs_a_header_source() {
    let Some(dir) = ots_examples() else { return };
    let doc = dir.join("hello-world.txt");
    let ots = dir.join("hello-world.txt.ots");
    let r = run([
        OsStr::new("verify"),
        doc.as_os_str(),
        OsStr::new("--proof"),
        ots.as_os_str(),
    ]);
    r.expect_code(UNVERIFIED);
    assert_eq!(r.stderr, "");
    assert!(
        r.stdout.starts_with(
            "UNVERIFIED: the timestamp is attested in Bitcoin block 358391; a header source is \
             needed to check it (pass --headers FILE)"
        ),
        "{}",
        r.stdout
    );
    // The merkle root the block must have, in both byte orders, labelled.
    for expected in [
        format!("{HELLO_ROOT_DISPLAY} (display order"),
        format!("{HELLO_ROOT_INTERNAL} (internal byte order"),
        "height 358391".to_owned(),
    ] {
        assert!(
            r.stdout.contains(&expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }

    // Found next to the document without --proof (no .anchor.json there).
    let r = run([OsStr::new("verify"), doc.as_os_str(), OsStr::new("--json")]);
    r.expect_code(UNVERIFIED);
    let j = r.json();
    assert_eq!(j["result"], "unverified");
    assert_eq!(j["reason"], Value::Null);
    assert_eq!(j["format"], "ots");
    assert_eq!(j["file_hash"], "sha256");
    assert_eq!(
        j["digest"],
        "03ba204e50d126e4674c005e04d82e84c21366780af1f43bd54a37816b6ab340"
    );
    assert_eq!(j["needed_heights"], serde_json::json!([358391]));
    let a = &j["attestations"][0];
    assert_eq!(a["kind"], "bitcoin");
    assert_eq!(a["height"], 358391);
    assert_eq!(a["message"], HELLO_ROOT_INTERNAL);
    assert_eq!(a["merkle_root"], HELLO_ROOT_DISPLAY);
    assert_eq!(a["result"], "header-needed");
    assert_eq!(a["path"], serde_json::json!([]));
    assert_eq!(a["block_hash"], Value::Null);
    assert_eq!(a["time"], Value::Null);

    // The same from the digest.
    let r = run([
        OsStr::new("verify"),
        OsStr::new("--digest"),
        OsStr::new("03ba204e50d126e4674c005e04d82e84c21366780af1f43bd54a37816b6ab340"),
        OsStr::new("--proof"),
        ots.as_os_str(),
    ]);
    r.expect_code(UNVERIFIED);
}

#[test]
fn incomplete_ots_is_pending() {
    let Some(dir) = ots_examples() else { return };
    let doc = dir.join("incomplete.txt");
    let r = run([OsStr::new("verify"), doc.as_os_str()]);
    r.expect_code(PENDING);
    assert_eq!(r.stderr, "");
    assert!(r.stdout.starts_with("PENDING: "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("pending at https://alice.btc.calendar.opentimestamps.org"),
        "{}",
        r.stdout
    );
    let r = run([OsStr::new("verify"), doc.as_os_str(), OsStr::new("--json")]);
    r.expect_code(PENDING);
    let j = r.json();
    assert_eq!(j["result"], "pending");
    assert_eq!(j["attestations"][0]["kind"], "pending");
    assert_eq!(
        j["attestations"][0]["uri"],
        "https://alice.btc.calendar.opentimestamps.org"
    );
    assert_eq!(j["attestations"][0]["result"], "pending");

    // Every attestation is listed, with its path through the forks.
    let r = run([
        OsStr::new("verify"),
        dir.join("different-blockchains.txt").as_os_str(),
        OsStr::new("--json"),
    ]);
    r.expect_code(UNVERIFIED);
    let atts = r.json()["attestations"].as_array().unwrap().clone();
    let shown: Vec<String> = atts
        .iter()
        .map(|a| format!("{} {}", a["kind"], a["path"]))
        .collect();
    assert_eq!(
        shown,
        [
            "\"pending\" [\"1/2\",\"1/2\"]",
            "\"unknown\" [\"1/2\",\"2/2\"]",
            "\"pending\" [\"2/2\",\"1/2\"]",
            "\"bitcoin\" [\"2/2\",\"2/2\"]",
        ]
    );
    assert_eq!(atts[1]["tag"], "30fe8087b5c7ead7");
    assert_eq!(atts[1]["result"], "not-checked");
}

#[test]
fn modified_document_fails_its_ots() {
    let Some(dir) = ots_examples() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join("hello-world.txt");
    let mut bytes = fs::read(dir.join("hello-world.txt")).unwrap();
    bytes[0] ^= 0x20;
    fs::write(&doc, &bytes).unwrap();
    let ots = dir.join("hello-world.txt.ots");
    for json in [false, true] {
        let mut args = vec![
            OsStr::new("verify"),
            doc.as_os_str(),
            OsStr::new("--proof"),
            ots.as_os_str(),
        ];
        if json {
            args.push(OsStr::new("--json"));
        }
        let r = run(args);
        r.expect_code(INVALID);
        if json {
            let j = r.json();
            assert_eq!(j["result"], "invalid");
            assert_eq!(j["reason"], "digest-mismatch");
            assert_eq!(j["format"], "ots");
        } else {
            assert!(
                r.stdout
                    .starts_with("INVALID: the document's sha256 digest is "),
                "{}",
                r.stdout
            );
        }
        let (error, hint) = r.two_line_error();
        assert!(error.contains("digest-mismatch"), "{error}");
        assert!(hint.contains("another document"), "{hint}");
    }
}

#[test]
fn malformed_ots_is_refused_with_a_hint() {
    let Some(dir) = ots_examples() else { return };
    let bad = dir.join("invalid/bad-major-version.ots");
    let r = run([OsStr::new("info"), bad.as_os_str()]);
    r.expect_code(INVALID);
    assert_eq!(r.stdout, "");
    let (error, hint) = r.two_line_error();
    assert!(error.starts_with("unknown major version"), "{error}");
    assert!(hint.contains("major version 1"), "{hint}");

    let r = run([
        OsStr::new("verify"),
        dir.join("hello-world.txt").as_os_str(),
        OsStr::new("--proof"),
        bad.as_os_str(),
        OsStr::new("--json"),
    ]);
    r.expect_code(INVALID);
    let j = r.json();
    assert_eq!(j["reason"], "unknown-major-version");
    assert_eq!(j["format"], "ots");
    assert!(r.two_line_error().0.contains("unknown major version"));

    // A truncated file: every prefix past the magic is an error, never a crash.
    let tmp = tempfile::tempdir().unwrap();
    let good = fs::read(dir.join("hello-world.txt.ots")).unwrap();
    let cut = tmp.path().join("cut.ots");
    fs::write(&cut, &good[..good.len() - 3]).unwrap();
    let r = run([OsStr::new("info"), cut.as_os_str()]);
    r.expect_code(INVALID);
    assert!(r.two_line_error().0.contains("ends early"), "{}", r.stderr);
}

#[test]
fn info_on_a_sha1_ots() {
    let Some(dir) = ots_examples() else { return };
    let ots = dir.join("bitcoin.pdf.ots");
    let r = run([OsStr::new("info"), ots.as_os_str()]);
    r.expect_code(VALID);
    for expected in [
        "sha1",
        "SHA-1 8de2fdb04edce612738eb51e14ecc426381f8ed8",
        "file sha1 hash: 8de2fdb04edce612738eb51e14ecc426381f8ed8",
        "bitcoin block 465751",
    ] {
        assert!(
            r.stdout.contains(expected),
            "missing {expected:?} in\n{}",
            r.stdout
        );
    }
    let j = run([OsStr::new("info"), ots.as_os_str(), OsStr::new("--json")])
        .expect_code(VALID)
        .json();
    assert_eq!(j["file_hash"], "sha1");
    assert_eq!(j["digest"], "8de2fdb04edce612738eb51e14ecc426381f8ed8");

    // --digest takes the file hash's length: 40 hex characters for SHA-1.
    let verify_digest = |digest: &str| {
        run([
            OsStr::new("verify"),
            OsStr::new("--digest"),
            OsStr::new(digest),
            OsStr::new("--proof"),
            ots.as_os_str(),
        ])
    };
    verify_digest("8de2fdb04edce612738eb51e14ecc426381f8ed8").expect_code(UNVERIFIED);
    let r = verify_digest(EXAMPLE_DIGEST);
    r.expect_code(USAGE);
    assert!(
        r.two_line_error().0.contains("40 hex characters"),
        "{}",
        r.stderr
    );
    // And a btc-anchor proof only takes a SHA-256.
    let r = run([
        "verify",
        "--digest",
        "8de2fdb04edce612738eb51e14ecc426381f8ed8",
        "--proof",
        EXAMPLE_PROOF,
    ]);
    r.expect_code(USAGE);
    r.two_line_error();
}

/// `stamp` needs no server: it queues in the store and writes a queued
/// proof. It never overwrites a proof file it did not write, nor the proof
/// of another version of the document.
#[test]
fn stamp_never_overwrites_a_proof_it_did_not_write() {
    let docs = tempfile::tempdir().unwrap();
    let data_a = tempfile::tempdir().unwrap();
    let data_b = tempfile::tempdir().unwrap();
    let doc = docs.path().join("letter.txt");
    std::fs::write(&doc, b"referral letter\n").unwrap();
    let proof = docs.path().join("letter.txt.anchor.json");
    let stamp = |data: &Path| {
        command()
            .args(["stamp", "--network", "regtest"])
            .arg(&doc)
            .env("BTC_ANCHOR_DATA_DIR", data)
            .env_remove("BTC_ANCHOR_ELECTRUM")
            .output()
            .unwrap()
    };
    let out = stamp(data_a.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued 1 record;"));
    let written = std::fs::read(&proof).unwrap();
    // Again in the same data directory: nothing new.
    let out = stamp(data_a.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 already stamped"));
    // Another data directory: the proof file is not its own.
    let out = stamp(data_b.path());
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("already holds a proof"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
    // The document changed: the new version is stamped, and the older
    // version's proof is kept, byte for byte, under its digest.
    let old_digest = sha256_hex(b"referral letter\n");
    std::fs::write(&doc, b"referral letter, amended\n").unwrap();
    let out = stamp(data_a.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("a new version"), "{stdout}");
    let older = docs
        .path()
        .join(format!("letter.txt.{}.anchor.json", &old_digest[..16]));
    assert_eq!(std::fs::read(&older).unwrap(), written);
    assert_ne!(std::fs::read(&proof).unwrap(), written);
    // Both versions' proofs check out for their own version.
    std::fs::write(docs.path().join("old.txt"), b"referral letter\n").unwrap();
    for (document, proof) in [(docs.path().join("old.txt"), &older), (doc.clone(), &proof)] {
        let r: Run = command()
            .arg("verify")
            .arg(&document)
            .arg("--proof")
            .arg(proof)
            .args(["--network", "regtest", "--json"])
            .output()
            .unwrap()
            .into();
        r.expect_code(PENDING);
    }
    // Stamped again, nothing changes.
    let out = stamp(data_a.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 already stamped"));
}

/// Re-stamping a folder where one file changed, one is new and one holds
/// another data directory's proof: the others are stamped, each file's
/// outcome is named, and the run says it was partial (exit 12).
#[test]
fn one_bad_file_does_not_block_the_folder() {
    let docs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let folder = docs.path().join("reports");
    std::fs::create_dir(&folder).unwrap();
    for name in ["a.txt", "b.txt", "c.txt"] {
        std::fs::write(folder.join(name), format!("report {name}\n")).unwrap();
    }
    let stamp = |data: &Path, args: &[&str]| -> Run {
        command()
            .arg("stamp")
            .arg(&folder)
            .args(["--network", "regtest"])
            .args(args)
            .env("BTC_ANCHOR_DATA_DIR", data)
            .output()
            .unwrap()
            .into()
    };
    stamp(data.path(), &[]).expect_code(VALID);
    // c.txt's proof is replaced by another data directory's.
    std::fs::remove_file(folder.join("c.txt.anchor.json")).unwrap();
    std::fs::write(folder.join("c.txt"), b"report c, from elsewhere\n").unwrap();
    let elsewhere = command()
        .arg("stamp")
        .arg(folder.join("c.txt"))
        .args(["--network", "regtest"])
        .env("BTC_ANCHOR_DATA_DIR", other.path())
        .output()
        .unwrap();
    assert_eq!(elsewhere.status.code(), Some(0), "{elsewhere:?}");
    std::fs::write(folder.join("a.txt"), b"report a, amended\n").unwrap();
    std::fs::write(folder.join("d.txt"), b"report d\n").unwrap();

    let r = stamp(data.path(), &["--json"]);
    r.expect_code(12);
    let j = r.json();
    let outcomes: Vec<(String, String)> = j["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let label = r["label"].as_str().unwrap();
            let name = Path::new(label).file_name().unwrap().to_string_lossy();
            (name.into_owned(), r["outcome"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("a.txt".to_owned(), "amended".to_owned()),
            ("b.txt".to_owned(), "already-stamped".to_owned()),
            ("c.txt".to_owned(), "not-stamped".to_owned()),
            ("d.txt".to_owned(), "queued".to_owned()),
        ]
    );
    assert_eq!(j["queued"], 2);
    assert_eq!(j["not_stamped"].as_array().unwrap().len(), 1);
    let (error, _) = r.two_line_error();
    assert!(error.contains("not stamped: 1 file of 4"), "{error}");

    // As text, the failure is named and --quiet keeps only what matters.
    let r = stamp(data.path(), &["--quiet"]);
    r.expect_code(12);
    assert!(r.stdout.contains("not stamped "), "{}", r.stdout);
    assert!(r.stdout.contains("c.txt: "), "{}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
}

fn sha256_hex(bytes: &[u8]) -> String {
    btc_anchor::hash::RecordDigest::of_bytes(bytes).to_hex()
}

/// With --json, a failure is one JSON object on stdout too (with the two
/// lines on stderr), whatever failed: an input, the arguments, the data
/// directory.
#[test]
fn failures_with_json_are_json_on_stdout() {
    let data = tempfile::tempdir().unwrap();
    let cases: [(&[&str], i32); 5] = [
        (&["verify", "no-such-record.txt", "--json"], IO),
        (&["verify", "--json"], USAGE),
        (&["info", "--json", "fixtures/example/record.txt"], INVALID),
        (&["export", "--ots", "--json", "no-such.anchor.json"], IO),
        (&["status", "--json", "--frobnicate"], USAGE),
    ];
    for (args, code) in cases {
        let r: Run = command()
            .args(args)
            .env("BTC_ANCHOR_DATA_DIR", data.path())
            .output()
            .unwrap()
            .into();
        r.expect_code(code);
        let j = r.json();
        assert_eq!(j["result"], "error", "{args:?}: {j}");
        assert_eq!(j["exit_code"], code, "{args:?}: {j}");
        let (error, hint) = r.two_line_error();
        assert_eq!(j["error"], error.as_str(), "{args:?}");
        assert_eq!(j["hint"], hint.as_str(), "{args:?}");
    }
    // Without --json, stdout stays empty.
    let r = run(["verify", "no-such-record.txt"]);
    r.expect_code(IO);
    assert_eq!(r.stdout, "");
}

/// A data directory serves one network: the one its config.toml names, or
/// the one its store was created for, used when --network is left out and
/// enforced when it is given.
#[test]
fn a_data_directory_keeps_its_network() {
    let docs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let doc = docs.path().join("note.txt");
    std::fs::write(&doc, b"consultation note\n").unwrap();
    let run_in = |data: &Path, args: &[&str]| -> Run {
        command()
            .args(args)
            .env("BTC_ANCHOR_DATA_DIR", data)
            .output()
            .unwrap()
            .into()
    };
    let r = run_in(
        data.path(),
        &["stamp", "--network", "regtest", doc.to_str().unwrap()],
    );
    r.expect_code(VALID);
    // Without --network, the store's network is used.
    let r = run_in(data.path(), &["status", "--json"]);
    r.expect_code(VALID);
    assert_eq!(r.json()["network"], "regtest");
    assert_eq!(r.json()["queued"].as_array().unwrap().len(), 1);
    // Another network is refused, with what to do, and nothing changes.
    for args in [
        &["stamp", "--network", "bitcoin", doc.to_str().unwrap()][..],
        &["status", "--network", "signet"][..],
        &["wallet", "--network", "bitcoin", "create"][..],
    ] {
        let r = run_in(data.path(), args);
        r.expect_code(USAGE);
        let (error, hint) = r.two_line_error();
        assert!(error.contains("for regtest"), "{args:?}: {error}");
        assert!(hint.contains("--network regtest"), "{args:?}: {hint}");
    }
    assert!(!data.path().join("wallet.secret").exists());
    // A folder whose config.toml says regtest makes a regtest wallet.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("config.toml"), "network = \"regtest\"\n").unwrap();
    let r = run_in(other.path(), &["wallet", "create"]);
    r.expect_code(VALID);
    assert!(
        r.stdout.starts_with("created a regtest wallet"),
        "{}",
        r.stdout
    );
    let r = run_in(other.path(), &["wallet", "address"]);
    r.expect_code(VALID);
    assert!(r.stdout.starts_with("bcrt1"), "{}", r.stdout);
}

// ---------------------------------------------------------------------------
// Hostile input: pipes, folders, huge files, terminal controls, odd JSON,
// fork bombs
// ---------------------------------------------------------------------------

/// Runs the program with `stdin` as its standard input, killed after a
/// minute: a program that waits for input that never comes fails the test
/// instead of hanging it.
fn run_with_stdin<I, S>(args: I, stdin: Vec<u8>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command()
        .args(args)
        .write_stdin(stdin)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
        .into()
}

#[test]
fn proof_from_standard_input_is_read_once() {
    let proof = fs::read(fixture("example/record.txt.anchor.json")).unwrap();
    let r = run_with_stdin(
        [
            "verify",
            "fixtures/example/record.txt",
            "--proof",
            "/dev/stdin",
            "--network",
            "regtest",
        ],
        proof.clone(),
    );
    r.expect_code(VALID);
    assert!(r.stdout.starts_with("VALID: "), "{}", r.stdout);
    assert_eq!(r.stderr, "");

    let r = run_with_stdin(["info", "/dev/stdin", "--json"], proof);
    r.expect_code(VALID);
    assert_eq!(r.json()["format"], "btc-anchor");

    // A .ots file too: the magic bytes read to tell the format are not
    // lost to the parser.
    let dir = tempfile::tempdir().unwrap();
    let ots = fs::read(export_example(dir.path())).unwrap();
    let r = run_with_stdin(["info", "/dev/stdin", "--json"], ots.clone());
    r.expect_code(VALID);
    assert_eq!(r.json()["format"], "ots");
    let r = run_with_stdin(
        [
            "verify",
            "fixtures/example/record.txt",
            "--proof",
            "/dev/stdin",
            "--network",
            "regtest",
            "--headers",
            EXAMPLE_HEADERS,
        ],
        ots,
    );
    r.expect_code(VALID);

    // Export reads its proof once as well.
    let out = dir.path().join("from-stdin.ots");
    let r = run_with_stdin(
        [
            OsStr::new("export"),
            OsStr::new("--ots"),
            OsStr::new("/dev/stdin"),
            OsStr::new("--out"),
            out.as_os_str(),
        ],
        fs::read(fixture("example/record.txt.anchor.json")).unwrap(),
    );
    r.expect_code(VALID);
    assert_eq!(
        fs::read(&out).unwrap(),
        fs::read(dir.path().join("record.ots")).unwrap()
    );
}

#[test]
fn proof_from_a_fifo_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("proof.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        btc_anchor_testenv::skip("mkfifo is unavailable");
        return;
    }
    for command in ["verify", "info"] {
        // The writer blocks until the program opens the FIFO, writes the
        // proof and closes it; a program that opened it twice would wait
        // for a second writer that never comes, until the timeout.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                fs::write(
                    fifo,
                    fs::read(fixture("example/record.txt.anchor.json")).unwrap(),
                )
            })
        };
        let mut args = vec![OsStr::new(command)];
        if command == "verify" {
            args.extend([
                OsStr::new("fixtures/example/record.txt"),
                OsStr::new("--network"),
                OsStr::new("regtest"),
                OsStr::new("--proof"),
            ]);
        }
        args.push(fifo.as_os_str());
        let r = run_with_stdin(args, Vec::new());
        r.expect_code(VALID);
        writer.join().unwrap().unwrap();
    }
}

#[test]
fn folders_are_input_output_errors() {
    let dir = tempfile::tempdir().unwrap();
    // As the headers file.
    let r = verify_example(&[
        "--network",
        "regtest",
        "--headers",
        dir.path().to_str().unwrap(),
    ]);
    r.expect_code(IO);
    assert_eq!(r.stdout, "");
    let (error, hint) = r.two_line_error();
    assert!(error.contains("it is a folder, not a file"), "{error}");
    assert!(hint.contains("--headers"), "{hint}");
    // As the proof, for each command that reads one.
    for args in [
        vec!["verify", "fixtures/example/record.txt", "--proof"],
        vec!["info"],
        vec!["export", "--ots"],
    ] {
        let mut args: Vec<&OsStr> = args.into_iter().map(OsStr::new).collect();
        args.push(dir.path().as_os_str());
        let r = run(args);
        r.expect_code(IO);
        let (error, _) = r.two_line_error();
        assert!(error.starts_with("cannot read proof file "), "{error}");
        assert!(error.ends_with("it is a folder, not a file"), "{error}");
    }
}

#[test]
fn too_large_files_are_refused_with_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let proof = dir.path().join("huge.json");
    let size = 3 << 20;
    fs::write(&proof, vec![b' '; size]).unwrap();
    let r = run([
        OsStr::new("verify"),
        OsStr::new("--digest"),
        OsStr::new(EXAMPLE_DIGEST),
        OsStr::new("--proof"),
        proof.as_os_str(),
    ]);
    r.expect_code(INVALID);
    assert_eq!(
        r.stdout,
        format!("INVALID: proof file is {size} bytes, the limit is 1048576\n")
    );
    // A .ots file by its magic, whatever its name.
    let mut ots = fs::read(export_example(dir.path())).unwrap();
    ots.resize(size, 0);
    fs::write(&proof, ots).unwrap();
    let r = run([OsStr::new("info"), proof.as_os_str()]);
    r.expect_code(INVALID);
    let (error, _) = r.two_line_error();
    assert_eq!(
        error,
        format!("timestamp file is {size} bytes, the limit is 1048576")
    );
    // Through a pipe the size is not known, only that it is over the limit.
    let r = run_with_stdin(["info", "/dev/stdin"], vec![b' '; size]);
    r.expect_code(INVALID);
    let (error, _) = r.two_line_error();
    assert_eq!(error, "proof file is over the limit of 1048576 bytes");
}

/// Whether `s` holds a character that could steer a terminal.
fn has_raw_controls(s: &str) -> bool {
    s.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn controls_and_bidi_from_the_input_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let example = fs::read_to_string(fixture("example/record.txt.anchor.json")).unwrap();
    // An unknown member named with a right-to-left override, DEL and CSI
    // (U+009B, which starts a terminal escape sequence), all allowed raw
    // in a JSON string.
    let proof = dir.path().join("bidi.json");
    fs::write(
        &proof,
        example.replacen(
            "\"record\"",
            "\"a\u{202e}b\u{7f}\u{9b}2J\": 1, \"record\"",
            1,
        ),
    )
    .unwrap();
    let args = [
        OsStr::new("verify"),
        OsStr::new("fixtures/example/record.txt"),
        OsStr::new("--network"),
        OsStr::new("regtest"),
        OsStr::new("--proof"),
        proof.as_os_str(),
    ];
    let r = run(args);
    r.expect_code(INVALID);
    assert!(!has_raw_controls(&r.stdout), "{:?}", r.stdout);
    assert!(
        r.stdout.contains("a\\u{202e}b\\u{7f}\\u{9b}2J"),
        "{}",
        r.stdout
    );
    assert!(!has_raw_controls(&r.stderr), "{:?}", r.stderr);
    r.two_line_error();
    let r = run(args.iter().chain([&OsStr::new("--json")]));
    r.expect_code(INVALID);
    assert!(!has_raw_controls(&r.stdout), "{:?}", r.stdout);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("a\\u{202e}b"));

    // File names: a headers file whose name forges a second line, and a
    // document whose name reverses itself.
    let headers = dir.path().join("h\nVALID: forged\u{202e}.bin");
    fs::write(&headers, b"not headers").unwrap();
    let r = run([
        OsStr::new("verify"),
        OsStr::new("fixtures/example/record.txt"),
        OsStr::new("--network"),
        OsStr::new("regtest"),
        OsStr::new("--headers"),
        headers.as_os_str(),
    ]);
    r.expect_code(INVALID);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("h\\u{a}VALID: forged\\u{202e}.bin"),
        "{}",
        r.stdout
    );
    assert!(!has_raw_controls(&r.stdout), "{:?}", r.stdout);
    r.two_line_error();

    let document = dir.path().join("invoice\u{202e}fdp.exe");
    let r = run([OsStr::new("verify"), document.as_os_str()]);
    r.expect_code(IO);
    let (error, hint) = r.two_line_error();
    assert!(error.contains("invoice\\u{202e}fdp.exe"), "{error}");
    assert!(!has_raw_controls(&error) && !has_raw_controls(&hint));
}

#[test]
fn odd_json_gets_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let example = fs::read_to_string(fixture("example/record.txt.anchor.json")).unwrap();
    let no_block = {
        let start = example.find(",\n    \"block\"").unwrap();
        let end = example.rfind("\n  }\n}").unwrap();
        format!("{}{}", &example[..start], &example[end..])
    };
    let cases = [
        (
            example.replacen("\"version\": 1", "\"version\": 1.0", 1),
            "field version: must be an integer such as 1, found the number 1.0",
        ),
        (
            example.replacen("\"version\": 1", "\"version\": \"1\"", 1),
            "field version: must be an integer such as 1, found a string",
        ),
        (
            "null".to_owned(),
            "not a valid proof: a proof is one JSON object, the file holds null",
        ),
        (
            format!("\u{feff}{example}"),
            "the file starts with a byte-order mark; proofs are UTF-8 JSON without one",
        ),
        (
            example.replacen("\"regtest\"", "\"\\u0072egtest\"", 1),
            "not a valid proof: field network: JSON escapes are not allowed \
             (docs/proof-format.md §3)",
        ),
        (
            no_block.replacen("\"output\": 0", "\"output\": 0, \"block\": null", 1),
            "not a valid proof: field anchor.block: must not be null; a part that is absent \
             is left out (docs/proof-format.md §3.2)",
        ),
    ];
    let proof = dir.path().join("odd.json");
    for (text, expected) in cases {
        fs::write(&proof, &text).unwrap();
        let r = run([OsStr::new("info"), proof.as_os_str()]);
        r.expect_code(INVALID);
        let (error, _) = r.two_line_error();
        assert!(error.starts_with(expected), "{error}\nexpected {expected}");
        for jargon in [
            "u64",
            "u32",
            "borrowed",
            "struct",
            "floating point",
            "invalid type",
        ] {
            assert!(!error.contains(jargon), "{jargon}: {error}");
        }
    }
}

#[test]
fn info_on_a_fork_bomb_is_bounded() {
    use btc_anchor::ots::{Attestation, DetachedTimestamp, FileHashOp, Item, Op, Timestamp};
    // 1000 branches from the digest, each 200 operations long: some
    // 200,000 lines of tree in a file of a fifth of a megabyte.
    let chain = |height: u64| {
        let mut t = Timestamp::attestation(Attestation::Bitcoin { height });
        for _ in 0..200 {
            t = Timestamp::op(Op::Sha256, t);
        }
        t
    };
    let mut root = Timestamp::op(Op::Sha256, chain(0));
    for height in 1..1000 {
        root.push(Item::Op(Op::Prepend(vec![0xee; 16]), chain(height)));
    }
    let ts = DetachedTimestamp {
        file_hash: FileHashOp::Sha256,
        digest: vec![1; 32],
        timestamp: root,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.ots");
    fs::write(&path, ts.to_bytes()).unwrap();
    assert!(DetachedTimestamp::from_bytes(&ts.to_bytes()).is_ok());

    let r = run([OsStr::new("info"), path.as_os_str()]);
    r.expect_code(VALID);
    assert!(r.stdout.len() < 256 * 1024, "{} bytes", r.stdout.len());
    assert!(
        r.stdout.lines().count() < 1000,
        "{} lines",
        r.stdout.lines().count()
    );
    assert!(
        r.stdout.contains("  attestations:    1000\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("… and 950 more attestations (not shown)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("more lines (not shown)"), "{}", r.stdout);

    let r = run([OsStr::new("info"), path.as_os_str(), OsStr::new("--json")]);
    r.expect_code(VALID);
    assert!(r.stdout.len() < 256 * 1024, "{} bytes", r.stdout.len());
    let j = r.json();
    assert_eq!(j["operations"], 201_000);
    let shown = j["attestations"].as_array().unwrap().len();
    assert_eq!(j["attestations_omitted"], 1000 - shown);
    let tree = j["tree"].as_array().unwrap().len();
    assert_eq!(j["tree_omitted"], 201_000 + 1000 - tree);

    // verify lists the attestations it could not check, bounded the same.
    let digest = "01".repeat(32);
    for json in [false, true] {
        let mut args = vec![
            OsStr::new("verify"),
            OsStr::new("--digest"),
            OsStr::new(&digest),
            OsStr::new("--proof"),
            path.as_os_str(),
        ];
        if json {
            args.push(OsStr::new("--json"));
        }
        let r = run(args);
        r.expect_code(UNVERIFIED);
        assert!(r.stdout.len() < 256 * 1024, "{} bytes", r.stdout.len());
        if json {
            let j = r.json();
            let shown = j["attestations"].as_array().unwrap().len();
            assert!(shown <= 50, "{shown}");
            assert_eq!(j["attestations_omitted"], 1000 - shown);
        } else {
            assert!(
                r.stdout.contains("more attestations (not shown)"),
                "{}",
                r.stdout
            );
        }
    }
}

/// `stamp -` stamps what standard input carries, under the label given; a
/// path named that is not a file or folder (`/dev/stdin` is a link) is not
/// stamped and says what to use instead; a folder with nothing to stamp
/// has nothing to do.
#[test]
fn stamping_standard_input_and_what_cannot_be_stamped() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let scan = b"scanned consent form".to_vec();
    let digest = btc_anchor::hash::RecordDigest::of_bytes(&scan).to_hex();
    let data_dir = data.path().to_str().unwrap().to_owned();
    let out_dir = out.path().to_str().unwrap().to_owned();
    let stamp = |args: &[&str], stdin: Vec<u8>| {
        let mut all = vec!["stamp", "--network", "regtest", "--data-dir", &data_dir];
        all.extend_from_slice(args);
        run_with_stdin(all, stdin)
    };
    let r = stamp(
        &[
            "-",
            "--label",
            "consent scan 12",
            "--out",
            &out_dir,
            "--json",
        ],
        scan.clone(),
    );
    r.expect_code(VALID);
    let j = r.json();
    assert_eq!(j["records"][0]["label"], "consent scan 12");
    assert_eq!(j["records"][0]["digest"], digest.as_str());
    let proof = out.path().join(format!("{digest}.anchor.json"));
    assert!(proof.is_file());
    let r: Run = command()
        .args([
            "verify",
            "--digest",
            &digest,
            "--network",
            "regtest",
            "--proof",
        ])
        .arg(&proof)
        .output()
        .unwrap()
        .into();
    r.expect_code(PENDING);

    // /dev/stdin is a symbolic link: named, it is refused, not skipped.
    let r = stamp(&["/dev/stdin"], scan);
    r.expect_code(USAGE);
    assert!(
        r.stdout.contains("not stamped /dev/stdin: symbolic link"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("btc-anchor stamp -"), "{}", r.stdout);
    r.two_line_error();

    // --label names one record.
    stamp(&["-", "--digest", &digest, "--label", "x"], Vec::new()).expect_code(USAGE);

    // Nothing to stamp in an empty folder: exit 9, not a failure.
    let empty = tempfile::tempdir().unwrap();
    let r = stamp(&[empty.path().to_str().unwrap()], Vec::new());
    r.expect_code(9);
    assert!(r.stdout.starts_with("nothing to stamp"), "{}", r.stdout);
    assert_eq!(r.stderr, "");
}

/// `proof` writes a record's current proof from the store: to stdout, or
/// to --out (never over a file without --force); an unknown record is an
/// input error.
#[test]
fn a_lost_proof_is_written_again_from_the_store() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let doc = docs.path().join("lab-result.txt");
    fs::write(&doc, b"potassium 4.1 mmol/L\n").unwrap();
    let in_data = |args: &[&OsStr]| -> Run {
        command()
            .args(args)
            .args(["--network", "regtest"])
            .env("BTC_ANCHOR_DATA_DIR", data.path())
            .output()
            .unwrap()
            .into()
    };
    in_data(&[OsStr::new("stamp"), doc.as_os_str()]).expect_code(VALID);
    let proof = docs.path().join("lab-result.txt.anchor.json");
    let written = fs::read(&proof).unwrap();
    fs::remove_file(&proof).unwrap();
    let r = in_data(&[OsStr::new("proof"), doc.as_os_str()]);
    r.expect_code(VALID);
    assert_eq!(r.stdout.as_bytes(), [&written[..], b"\n"].concat());
    let r = in_data(&[
        OsStr::new("proof"),
        doc.as_os_str(),
        OsStr::new("--out"),
        proof.as_os_str(),
    ]);
    r.expect_code(VALID);
    assert!(
        r.stdout.starts_with("wrote the queued proof of "),
        "{}",
        r.stdout
    );
    assert_eq!(fs::read(&proof).unwrap(), written);
    let again = [
        OsStr::new("proof"),
        doc.as_os_str(),
        OsStr::new("--out"),
        proof.as_os_str(),
    ];
    in_data(&again).expect_code(IO);
    let mut forced = again.to_vec();
    forced.push(OsStr::new("--force"));
    in_data(&forced).expect_code(VALID);
    let r = in_data(&[
        OsStr::new("proof"),
        OsStr::new("--digest"),
        OsStr::new(&"ab".repeat(32)),
    ]);
    r.expect_code(IO);
    assert!(r.two_line_error().0.starts_with("no record with SHA-256"));
}

/// A folder (or several documents) is verified each against the proof
/// beside it: one line per document, a summary, the worst outcome's exit
/// code, and with --json each document's verification.
#[test]
fn a_folder_is_verified_document_by_document() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a-record.txt");
    fs::copy(fixture("example/record.txt"), &good).unwrap();
    fs::copy(
        fixture("example/record.txt.anchor.json"),
        dir.path().join("a-record.txt.anchor.json"),
    )
    .unwrap();
    let altered = dir.path().join("b-altered.txt");
    let mut bytes = fs::read(fixture("example/record.txt")).unwrap();
    bytes.push(b'!');
    fs::write(&altered, bytes).unwrap();
    fs::copy(
        fixture("example/record.txt.anchor.json"),
        dir.path().join("b-altered.txt.anchor.json"),
    )
    .unwrap();
    fs::write(dir.path().join("c-unstamped.txt"), b"never stamped").unwrap();

    let r = run([
        OsStr::new("verify"),
        dir.path().as_os_str(),
        OsStr::new("--network"),
        OsStr::new("regtest"),
    ]);
    r.expect_code(INVALID);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[0].starts_with("VALID ") && lines[0].contains("a-record.txt"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("existed by 3 Feb 2011, 01:56 UTC"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("INVALID ") && lines[1].contains("digest-mismatch"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("UNREADABLE ") && lines[2].contains("c-unstamped.txt"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "3 documents: 1 valid, 1 unreadable, 1 invalid");
    r.two_line_error();

    // Named one by one, as JSON.
    let r = run([
        OsStr::new("verify"),
        good.as_os_str(),
        altered.as_os_str(),
        OsStr::new("--network"),
        OsStr::new("regtest"),
        OsStr::new("--json"),
    ]);
    r.expect_code(INVALID);
    let j = r.json();
    assert_eq!(j["documents"], 2);
    assert_eq!(j["summary"]["valid"], 1);
    assert_eq!(j["summary"]["invalid"], 1);
    assert_eq!(j["files"][0]["verification"]["result"], "valid");
    assert_eq!(j["files"][1]["verification"]["reason"], "digest-mismatch");

    // Only valid documents: exit 0, nothing on stderr.
    let r = run([
        OsStr::new("verify"),
        good.as_os_str(),
        good.as_os_str(),
        OsStr::new("--network"),
        OsStr::new("regtest"),
    ]);
    r.expect_code(VALID);
    assert_eq!(r.stderr, "");
    // A named path that is not a document is reported, not passed over.
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    let r = run([
        OsStr::new("verify"),
        good.as_os_str(),
        link.as_os_str(),
        OsStr::new("--network"),
        OsStr::new("regtest"),
    ]);
    r.expect_code(IO);
    assert!(
        r.stdout.contains("UNREADABLE") && r.stdout.contains("symbolic link"),
        "{}",
        r.stdout
    );
    // --proof names one document's proof.
    run([
        OsStr::new("verify"),
        dir.path().as_os_str(),
        OsStr::new("--proof"),
        OsStr::new("x"),
    ])
    .expect_code(USAGE);
}

/// `backup` writes a data directory of its own: restored by using it (or
/// a copy of it) as the data directory, with every record and the same
/// wallet.
#[test]
fn a_backup_restores_records_and_wallet() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let doc = docs.path().join("discharge.txt");
    fs::write(&doc, b"discharge summary\n").unwrap();
    let in_dir = |dir: &Path, args: &[&OsStr]| -> Run {
        command()
            .args(args)
            .arg("--network")
            .arg("regtest")
            .env("BTC_ANCHOR_DATA_DIR", dir)
            .output()
            .unwrap()
            .into()
    };
    in_dir(data.path(), &[OsStr::new("wallet"), OsStr::new("create")]).expect_code(VALID);
    in_dir(data.path(), &[OsStr::new("stamp"), doc.as_os_str()]).expect_code(VALID);
    let address = in_dir(data.path(), &[OsStr::new("wallet"), OsStr::new("address")]).stdout;
    let status = in_dir(data.path(), &[OsStr::new("status"), OsStr::new("--json")]).json();

    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy");
    let r = in_dir(
        data.path(),
        &[
            OsStr::new("backup"),
            OsStr::new("--out"),
            copy.as_os_str(),
            OsStr::new("--json"),
        ],
    );
    r.expect_code(VALID);
    assert_eq!(
        r.json()["files"],
        serde_json::json!(["store.sqlite", "wallet.sqlite", "wallet.secret"])
    );
    // The data directory is lost; the copy is restored into a new one.
    drop(data);
    let restored = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(&copy).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), restored.path().join(entry.file_name())).unwrap();
    }
    let after = in_dir(
        restored.path(),
        &[OsStr::new("status"), OsStr::new("--json")],
    )
    .json();
    assert_eq!(after["queued"], status["queued"]);
    // Labels (file paths) only when asked.
    assert!(after["queued"][0].get("label").is_none(), "{after}");
    let labelled = in_dir(
        restored.path(),
        &[
            OsStr::new("status"),
            OsStr::new("--json"),
            OsStr::new("--labels"),
        ],
    )
    .json();
    assert!(labelled["queued"][0]["label"]
        .as_str()
        .unwrap()
        .ends_with("discharge.txt"));
    let again = in_dir(
        restored.path(),
        &[OsStr::new("wallet"), OsStr::new("address")],
    );
    again.expect_code(VALID);
    assert_eq!(again.stdout, address);
    // A backup never overwrites.
    in_dir(
        restored.path(),
        &[OsStr::new("backup"), OsStr::new("--out"), copy.as_os_str()],
    )
    .expect_code(IO);
}

/// The schema that every JSON output of the tests is held to
/// (`support::parse_json`) refuses shapes it does not document.
#[test]
fn the_json_schema_refuses_undocumented_shapes() {
    let r = verify_example(&["--network", "regtest", "--json"]);
    let good = r.json();
    let refused = |v: Value| {
        let line = v.to_string();
        std::panic::catch_unwind(|| crate::support::parse_json(&line)).is_err()
    };
    let mut extra = good.clone();
    extra["surprise"] = Value::from(1);
    assert!(refused(extra));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("result");
    assert!(refused(missing));
    let mut wrong = good.clone();
    wrong["result"] = Value::from("probably");
    assert!(refused(wrong));
    let mut nested = good;
    nested["block"]["height"] = Value::from("sixteen");
    assert!(refused(nested));
}

// ---------------------------------------------------------------------------
// Progress bars: on a terminal only, never with --quiet
// ---------------------------------------------------------------------------

/// A folder `name` of 150 small files and one of 40 MiB, to stamp.
fn progress_docs(dir: &Path, name: &str) -> PathBuf {
    let docs = dir.join(name);
    fs::create_dir(&docs).unwrap();
    for i in 0..150 {
        fs::write(docs.join(format!("r{i:03}.txt")), format!("record {i}\n")).unwrap();
    }
    fs::write(docs.join("scan.bin"), vec![7u8; 40 << 20]).unwrap();
    docs
}

#[test]
fn progress_bars_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // Each run stamps a folder of its own into a data directory of its
    // own, so that each does the whole work.
    let stamp = |name: &str, quiet: bool| {
        let docs = progress_docs(dir.path(), name);
        let mut args = vec![
            "stamp".to_owned(),
            docs.display().to_string(),
            "--data-dir".to_owned(),
            dir.path()
                .join(format!("{name}.data"))
                .display()
                .to_string(),
            "--network".to_owned(),
            "regtest".to_owned(),
        ];
        if quiet {
            args.push("--quiet".to_owned());
        }
        args
    };
    // Stderr not a terminal: not a byte of a bar.
    let out = command().args(stamp("piped", false)).output().unwrap();
    let r = Run::from(out);
    r.expect_code(VALID);
    assert_eq!(r.stderr, "", "a bar on a stderr that is not a terminal");
    assert!(r.stdout.contains("queued 151 records"), "{}", r.stdout);

    // On a terminal (script(1) gives the program one): the bars are drawn
    // (bytes hashed, records stamped), and none with --quiet. The stamps
    // go to fresh data directories.
    let script_found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join("script").is_file()))
        .unwrap_or(false);
    if !script_found {
        btc_anchor_testenv::skip("script(1) is not on PATH to give the program a terminal");
        return;
    }
    let on_terminal = |args: Vec<String>| {
        let line = std::iter::once(env!("CARGO_BIN_EXE_btc-anchor").to_owned())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ");
        let out = std::process::Command::new("script")
            .args(["-q", "-e", "-c", &line, "/dev/null"])
            .env_remove("BTC_ANCHOR_DATA_DIR")
            .env_remove("BTC_ANCHOR_NETWORK")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{line}: {}",
            &text[..text.len().min(2000)]
        );
        text
    };
    let shown = on_terminal(stamp("terminal", false));
    assert!(
        shown.contains("hashing "),
        "no hashing bar on a terminal:\n{shown}"
    );
    assert!(
        shown.contains(" MiB"),
        "the hashing bar counts bytes:\n{shown}"
    );
    assert!(
        shown.contains("stamping "),
        "no records bar on a terminal:\n{shown}"
    );
    assert!(shown.contains("records"), "{shown}");
    let quiet = on_terminal(stamp("quiet", true));
    assert!(quiet.contains("queued 151 records"), "{quiet}");
    for bar in ["hashing ", "stamping ", "writing proofs ", "\x1b[2K"] {
        assert!(!quiet.contains(bar), "{bar:?} drawn with --quiet:\n{quiet}");
    }
}
