//! Runs every vector in `fixtures/vectors/`: each file says what it is and
//! what the verifier must answer (see `fixtures/README.md`).
//!
//! `cargo test --test fixtures -- --ignored regenerate` rebuilds the vectors
//! from the synthetic chain in `tests/support/chain.rs` (deterministic).

use std::fs;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::{consensus, Network, Transaction, TxOut};
use btc_anchor::hash::RecordDigest;
use btc_anchor::headers::{EmbeddedOnly, HeaderSource, HeadersFile};
use btc_anchor::merkle::Salt;
use btc_anchor::proof::Proof;
use btc_anchor::verify::{verify, ChainCheck, Evidence, Shortfall, Verdict, VerifyOptions};
use btc_anchor_testenv::chain::*;
use serde_json::{json, Value};

fn fixtures_dir() -> PathBuf {
    btc_anchor_testenv::repo_file("fixtures")
}

/// What one vector answered, in the vocabulary of its `expect` field.
fn run_vector(v: &Value) -> (String, Option<btc_anchor::verify::Report>) {
    let text = match (v.get("proof"), v.get("proof_text")) {
        (Some(p), None) => serde_json::to_string_pretty(p).unwrap(),
        (None, Some(Value::String(t))) => t.clone(),
        _ => panic!("vector needs exactly one of proof, proof_text"),
    };
    let proof = match Proof::from_json(text.as_bytes()) {
        Ok(p) => p,
        Err(e) => return (e.kind().to_owned(), None),
    };
    let digest = match (v.get("document_text"), v.get("document_digest")) {
        (Some(Value::String(t)), None) => RecordDigest::of_bytes(t.as_bytes()),
        (None, Some(Value::String(d))) => d.parse().unwrap(),
        _ => panic!("vector needs exactly one of document_text, document_digest"),
    };
    let network: Network = v["network"].as_str().unwrap().parse().unwrap();
    let file;
    let source: &dyn HeaderSource = match v.get("headers_file") {
        Some(Value::String(rel)) => match HeadersFile::open(&fixtures_dir().join(rel), network) {
            Ok(f) => {
                file = f;
                &file
            }
            Err(_) => return ("header-source".to_owned(), None),
        },
        _ => &EmbeddedOnly,
    };
    match verify(&proof, &digest, source, &VerifyOptions::new(network)) {
        Ok(r) => {
            let answer = match r.verdict {
                Verdict::Valid => "valid",
                Verdict::Pending(_) => "pending",
                Verdict::Inconclusive(_) => "inconclusive",
                _ => "unknown",
            };
            (answer.to_owned(), Some(r))
        }
        Err(e) => (e.kind().to_owned(), None),
    }
}

#[test]
fn all_vectors() {
    let dir = fixtures_dir().join("vectors");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let (mut positive, mut negative, mut failures) = (0, 0, Vec::new());
    for path in &paths {
        let v: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let expect = v["expect"].as_str().unwrap();
        assert!(
            v["description"].as_str().is_some_and(|d| d.len() > 10),
            "{}: needs a description",
            path.display()
        );
        let (got, report) = run_vector(&v);
        if got != expect {
            failures.push(format!("{}: expected {expect}, got {got}", path.display()));
            continue;
        }
        if matches!(expect, "valid" | "pending" | "inconclusive") {
            positive += 1;
        } else {
            negative += 1;
        }
        // Optional facts a valid vector pins down.
        if let Some(r) = report {
            if let Some(h) = v.get("height").and_then(Value::as_u64) {
                assert_eq!(
                    r.block.as_ref().unwrap().height as u64,
                    h,
                    "{}",
                    path.display()
                );
            }
            if let Some(c) = v.get("confirmations_in_proof").and_then(Value::as_u64) {
                assert_eq!(
                    r.block.as_ref().unwrap().confirmations_in_proof as u64,
                    c,
                    "{}",
                    path.display()
                );
            }
            if let Some(c) = v.get("confirmations_in_chain").and_then(Value::as_u64) {
                match r.chain {
                    ChainCheck::InBestChain { confirmations, .. } => {
                        assert_eq!(confirmations as u64, c, "{}", path.display())
                    }
                    other => panic!("{}: chain check {other:?}", path.display()),
                }
            }
            if let Some(e) = v.get("evidence").and_then(Value::as_str) {
                let got = match r.evidence {
                    Some(Evidence::Checkpoint { .. }) => "checkpoint",
                    Some(Evidence::HeaderSource) => "header-source",
                    Some(Evidence::Work) => "work",
                    Some(Evidence::TestNetwork) => "test-network",
                    _ => "none",
                };
                assert_eq!(got, e, "{}", path.display());
            }
            if let Some(w) = v.get("shortfall").and_then(Value::as_str) {
                let got = match r.verdict {
                    Verdict::Inconclusive(Shortfall::FewHeaders { .. }) => "few-headers",
                    Verdict::Inconclusive(Shortfall::LittleWork) => "little-work",
                    _ => "none",
                };
                assert_eq!(got, w, "{}", path.display());
            }
            if let Some(stage) = v.get("stage").and_then(Value::as_str) {
                match r.verdict {
                    Verdict::Pending(s) => assert_eq!(s.to_string(), stage, "{}", path.display()),
                    other => panic!("{}: verdict {other:?}", path.display()),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing vectors:\n{}",
        failures.join("\n")
    );
    assert!(positive >= 15, "only {positive} positive vectors");
    assert!(negative >= 40, "only {negative} negative vectors");
    assert!(
        negative > positive,
        "negative vectors must outnumber positive ones"
    );
    println!(
        "{} passed ({positive} valid or pending, {negative} invalid)",
        paths.len()
    );
}

// ---------------------------------------------------------------------------
// The generator.
// ---------------------------------------------------------------------------

struct Out {
    dir: PathBuf,
    written: Vec<String>,
}

impl Out {
    fn write(&mut self, name: &str, mut v: Value) {
        let obj = v.as_object_mut().unwrap();
        assert!(obj.contains_key("description") && obj.contains_key("expect"));
        let path = self.dir.join(format!("{name}.json"));
        let mut s = serde_json::to_string_pretty(&v).unwrap();
        s.push('\n');
        fs::write(path, s).unwrap();
        self.written.push(name.to_owned());
    }
}

fn pj(p: &Proof) -> Value {
    serde_json::from_str(&p.to_json()).unwrap()
}

fn flip_hex_char(s: &str, pos: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[pos] = if b[pos] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

fn tx_hex(tx: &Transaction) -> String {
    hex::encode(consensus::serialize(tx))
}

#[test]
#[ignore = "rewrites fixtures/; run by hand after a format change"]
fn regenerate() {
    generate(&fixtures_dir());
}

/// The committed vectors, header files and example are exactly what the
/// generator writes: a change to the generator or to the format that is
/// not followed by `regenerate` (or a hand edit of a vector) fails here.
#[test]
fn the_committed_fixtures_are_what_the_generator_writes() {
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path());
    for sub in ["vectors", "headers", "example"] {
        let names = |dir: &Path| {
            let mut v: Vec<String> = fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let committed = fixtures_dir().join(sub);
        let generated = fresh.path().join(sub);
        assert_eq!(
            names(&committed),
            names(&generated),
            "fixtures/{sub}: the committed files differ from the generated ones"
        );
        for name in names(&generated) {
            assert!(
                fs::read(committed.join(&name)).unwrap()
                    == fs::read(generated.join(&name)).unwrap(),
                "fixtures/{sub}/{name} differs from what the generator writes \
                 (run `cargo test -p btc-anchor --test it -- --ignored regenerate`)"
            );
        }
    }
}

/// Writes every vector, header file and the example under `root` (the
/// forgeries are read from the committed `fixtures/forge/mined.json`).
fn generate(root: &Path) {
    let dir = root.join("vectors");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(root.join("headers")).unwrap();
    fs::create_dir_all(root.join("example")).unwrap();
    let mut out = Out {
        dir,
        written: vec![],
    };
    let rt = Network::Regtest;

    // Chain A: the main regtest chain of the vectors.
    let mut a = Chain::new(rt);
    let b5 = Batch::numbered(5, 5);
    let tx5 = anchor_tx(&b5.tree.root().0, 5);
    let p5 = a.place(tx5.clone(), 3, 7); // height 1, position 3 of 7
    a.mine_empty(6); // heights 2..=7
    let b1 = Batch::numbered(1, 1);
    let tx1 = anchor_tx(&b1.tree.root().0, 1);
    let p1 = a.place(tx1.clone(), 1, 2); // height 8
    let b1000 = Batch::numbered(1000, 1000);
    let tx1000 = anchor_tx(&b1000.tree.root().0, 1000);
    let p1000 = a.place(tx1000.clone(), 4, 5); // height 9: last of an odd level
    let b2 = Batch::numbered(2, 2);
    let tx2 = anchor_tx(&b2.tree.root().0, 2);
    let p2 = a.place(tx2.clone(), 1, 2); // height 10
    let b3 = Batch::numbered(3, 3);
    let tx3 = anchor_tx(&b3.tree.root().0, 3);
    let p3 = a.place(tx3.clone(), 6, 7); // height 11: last of an odd level
                                         // Commitment in the second output, next to another OP_RETURN.
    let b7 = Batch::numbered(7, 7);
    let mut tx7 = anchor_tx(&b7.tree.root().0, 77);
    tx7.output.insert(
        0,
        TxOut {
            value: btc_anchor::bitcoin::Amount::ZERO,
            script_pubkey: btc_anchor::bitcoin::ScriptBuf::from_bytes(
                [&[0x6a, 0x08][..], b"not ours"].concat(),
            ),
        },
    );
    let p7 = a.place(tx7.clone(), 2, 4); // height 12
    a.mine_empty(3); // heights 13..=15
    fs::write(root.join("headers/regtest-a.bin"), a.headers_file_bytes()).unwrap();

    // Chain B: a fork of the same length from genesis.
    let mut b = Chain::new(rt);
    b.mine_empty(15);
    fs::write(root.join("headers/regtest-b.bin"), b.headers_file_bytes()).unwrap();
    // A headers file that stops before the anchors.
    fs::write(
        root.join("headers/regtest-genesis-only.bin"),
        Chain::new(rt).headers_file_bytes(),
    )
    .unwrap();
    // Broken headers files.
    let mut unlinked = a.headers_file_bytes();
    unlinked[80 * 3 + 4] ^= 1;
    fs::write(root.join("headers/regtest-unlinked.bin"), unlinked).unwrap();
    // A header that carries another target: regtest never retargets
    // (docs/headers-file.md), so a harder one breaks the chain's rules
    // although it links and meets its own work.
    let mut retarget = a.clone();
    retarget.headers.truncate(3);
    let mut odd = retarget.headers[2];
    odd.prev_blockhash = odd.block_hash();
    odd.bits = bitcoin::CompactTarget::from_consensus(0x1f7f_ffff);
    odd.time += 600;
    mine_header(&mut odd);
    retarget.headers.push(odd);
    fs::write(
        root.join("headers/regtest-retarget.bin"),
        retarget.headers_file_bytes(),
    )
    .unwrap();
    fs::write(
        root.join("headers/regtest-truncated.bin"),
        &a.headers_file_bytes()[..80 * 4 + 7],
    )
    .unwrap();
    fs::write(
        root.join("headers/bitcoin-genesis-only.bin"),
        Chain::new(Network::Bitcoin).headers_file_bytes(),
    )
    .unwrap();

    // Signet: a real signet target, mined here.
    let mut s = Chain::new(Network::Signet);
    let bs = Batch::numbered(4, 44);
    let txs = anchor_tx(&bs.tree.root().0, 44);
    let ps = s.place(txs.clone(), 1, 3);
    s.mine_empty(2);

    let doc = |i: u64| format!("record {i}");
    let base = |p: &Proof, i: u64| json!({"network": p.network.to_string(), "document_text": doc(i), "proof": pj(p)});
    let with = |mut v: Value, extra: Value| {
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    };

    // ---------------- valid ----------------
    let v5_0 = b5.proof(rt, 0, Some(&tx5), Some((&p5, &a, 6)));
    out.write("valid-batch5-leaf0-6-headers", with(base(&v5_0, 0), json!({
        "description": "record 0 of a 5-record batch, anchored at position 3 of 7 in block 1, carrying 6 following headers",
        "expect": "valid", "height": 1, "confirmations_in_proof": 7})));
    let v5_4 = b5.proof(rt, 4, Some(&tx5), Some((&p5, &a, 6)));
    out.write("valid-batch5-leaf4-last", with(base(&v5_4, 4), json!({
        "description": "the last record of a 5-record batch: an unpaired node carried up two levels, never duplicated",
        "expect": "valid", "height": 1})));
    let v5_2 = b5.proof(rt, 2, Some(&tx5), Some((&p5, &a, 0)));
    out.write("valid-batch5-leaf2-headers-file", with(base(&v5_2, 2), json!({
        "description": "record 2 checked against a local headers file holding the anchoring block: 15 blocks deep there",
        "expect": "valid", "headers_file": "headers/regtest-a.bin", "confirmations_in_chain": 15, "confirmations_in_proof": 1})));
    out.write(
        "valid-batch5-leaf3-no-headers",
        with(
            base(&b5.proof(rt, 3, Some(&tx5), Some((&p5, &a, 0))), 3),
            json!({
        "description": "record 3 with no following headers: one confirmation carried in the proof",
        "expect": "valid", "confirmations_in_proof": 1}),
        ),
    );
    out.write(
        "valid-single-record-batch",
        with(
            base(&b1.proof(rt, 0, Some(&tx1), Some((&p1, &a, 2))), 0),
            json!({
        "description": "a batch of one record: empty inclusion path, the leaf hash is the root",
        "expect": "valid", "height": 8}),
        ),
    );
    for (i, name) in [(0u64, "first"), (511, "middle"), (999, "last")] {
        out.write(&format!("valid-batch1000-{name}"), with(base(&b1000.proof(rt, i, Some(&tx1000), Some((&p1000, &a, 1))), i), json!({
            "description": format!("record {i} of a 1000-record batch, its transaction the last of an odd block level (Bitcoin's tree duplicates it there)"),
            "expect": "valid", "height": 9})));
    }
    out.write(
        "valid-batch2-right-leaf",
        with(
            base(&b2.proof(rt, 1, Some(&tx2), Some((&p2, &a, 5))), 1),
            json!({
        "description": "the right leaf of a 2-record batch in a block of two transactions",
        "expect": "valid", "height": 10, "confirmations_in_proof": 6}),
        ),
    );
    out.write("valid-batch3-last-tx-of-7", with(base(&b3.proof(rt, 2, Some(&tx3), Some((&p3, &a, 4))), 2), json!({
        "description": "the transaction is the 7th of 7: duplicated at the first level of the block tree",
        "expect": "valid", "height": 11, "headers_file": "headers/regtest-a.bin", "confirmations_in_chain": 5})));
    let mut v7 = b7.proof(rt, 6, Some(&tx7), Some((&p7, &a, 3)));
    v7.anchor.as_mut().unwrap().output = 1;
    out.write(
        "valid-commitment-in-second-output",
        with(
            base(&v7, 6),
            json!({
        "description": "the commitment is output 1; output 0 is someone else's 8-byte OP_RETURN",
        "expect": "valid", "height": 12}),
        ),
    );
    let mut vd = base(&v5_0, 0);
    vd.as_object_mut().unwrap().remove("document_text");
    vd["document_digest"] = json!(RecordDigest::of_bytes(doc(0).as_bytes()).to_hex());
    out.write("valid-digest-only", with(vd, json!({
        "description": "verification from the bare SHA-256 digest of the document, without the document",
        "expect": "valid"})));
    let vs = bs.proof(Network::Signet, 3, Some(&txs), Some((&ps, &s, 2)));
    out.write(
        "valid-signet",
        with(
            base(&vs, 3),
            json!({
        "description": "a proof on signet, whose headers meet the signet proof-of-work limit",
        "expect": "valid", "height": 1, "confirmations_in_proof": 3}),
        ),
    );
    out.write(
        "valid-batch7-leaf0",
        with(
            base(
                &{
                    let mut p = b7.proof(rt, 0, Some(&tx7), Some((&p7, &a, 0)));
                    p.anchor.as_mut().unwrap().output = 1;
                    p
                },
                0,
            ),
            json!({
        "description": "record 0 of a 7-record batch, transaction at position 2 of 4",
        "expect": "valid"}),
        ),
    );
    out.write(
        "valid-headers-file-deep",
        with(
            base(&b1.proof(rt, 0, Some(&tx1), Some((&p1, &a, 0))), 0),
            json!({
        "description": "block 8 checked against the headers file: 8 confirmations there",
        "expect": "valid", "headers_file": "headers/regtest-a.bin", "confirmations_in_chain": 8}),
        ),
    );
    // Pending forms.
    out.write(
        "pending-queued",
        with(
            base(&b5.queued(rt, 1), 1),
            json!({
        "description": "a queued record: no batch yet, only the digest and salt",
        "expect": "pending", "stage": "queued"}),
        ),
    );
    out.write(
        "pending-batched",
        with(
            base(&b5.proof(rt, 1, None, None), 1),
            json!({
        "description": "a batched record: its tree root is fixed, not yet broadcast",
        "expect": "pending", "stage": "batched"}),
        ),
    );
    out.write(
        "pending-broadcast",
        with(
            base(&b5.proof(rt, 1, Some(&tx5), None), 1),
            json!({
        "description": "broadcast but unconfirmed: the commitment in the transaction is checked",
        "expect": "pending", "stage": "broadcast"}),
        ),
    );

    // ---------------- invalid: parsing ----------------
    let good = pj(&v5_0);
    let good_text = v5_0.to_json();
    let neg = |proof: Value, desc: &str, expect: &str| json!({"network": "regtest", "document_text": doc(0), "proof": proof, "description": desc, "expect": expect});
    let neg_text = |text: String, desc: &str, expect: &str| json!({"network": "regtest", "document_text": doc(0), "proof_text": text, "description": desc, "expect": expect});
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut p = good.clone();
        f(&mut p);
        p
    };
    out.write(
        "bad-truncated-json",
        neg_text(
            good_text[..good_text.len() / 2].to_owned(),
            "the file is cut off half way",
            "malformed",
        ),
    );
    out.write(
        "bad-not-json",
        neg_text(
            "%PDF-1.4 not a proof".into(),
            "a document passed where the proof was expected",
            "malformed",
        ),
    );
    out.write(
        "bad-no-format",
        neg(
            edit(&|p| {
                p.as_object_mut().unwrap().remove("format");
            }),
            "JSON without the format field",
            "not-a-proof",
        ),
    );
    out.write(
        "bad-other-format",
        neg(
            edit(&|p| p["format"] = json!("chainpoint")),
            "JSON naming another format",
            "not-a-proof",
        ),
    );
    out.write(
        "bad-version-2",
        neg(
            edit(&|p| p["version"] = json!(2)),
            "a future format version must be refused by name",
            "unsupported-version",
        ),
    );
    out.write(
        "bad-version-0",
        neg(
            edit(&|p| p["version"] = json!(0)),
            "version 0 does not exist",
            "unsupported-version",
        ),
    );
    out.write(
        "bad-version-string",
        neg(
            edit(&|p| p["version"] = json!("1")),
            "the version must be a number",
            "not-a-proof",
        ),
    );
    out.write(
        "bad-network-name",
        neg(
            edit(&|p| p["network"] = json!("mainnet")),
            "an unknown network name (the spec says bitcoin)",
            "unknown-network",
        ),
    );
    out.write(
        "bad-hash-algorithm",
        neg(
            edit(&|p| p["hash"] = json!("sha512")),
            "an unsupported hash algorithm",
            "unsupported-hash",
        ),
    );
    out.write(
        "bad-uppercase-digest",
        neg(
            edit(&|p| {
                p["record"]["digest"] =
                    json!(p["record"]["digest"].as_str().unwrap().to_uppercase())
            }),
            "upper-case hex is not canonical",
            "bad-hex",
        ),
    );
    out.write(
        "bad-short-digest",
        neg(
            edit(&|p| {
                p["record"]["digest"] = json!(&p["record"]["digest"].as_str().unwrap()[..62])
            }),
            "a digest of 31 bytes",
            "bad-hex",
        ),
    );
    out.write(
        "bad-odd-salt",
        neg(
            edit(&|p| {
                p["record"]["salt"] = json!(format!("{}0", p["record"]["salt"].as_str().unwrap()))
            }),
            "an odd number of hex characters",
            "bad-hex",
        ),
    );
    out.write(
        "bad-short-salt",
        neg(
            edit(&|p| p["record"]["salt"] = json!("00".repeat(15))),
            "a salt of 15 bytes, below the 16-byte minimum",
            "bad-salt",
        ),
    );
    out.write(
        "bad-long-salt",
        neg(
            edit(&|p| p["record"]["salt"] = json!("00".repeat(65))),
            "a salt of 65 bytes, above the 64-byte maximum",
            "bad-hex",
        ),
    );
    out.write(
        "bad-path-too-long",
        neg(
            edit(&|p| p["batch"]["path"] = json!(vec!["00".repeat(32); 33])),
            "an inclusion path of 33 hashes, above the limit of 32",
            "malformed",
        ),
    );
    out.write(
        "bad-branch-too-long",
        neg(
            edit(&|p| p["anchor"]["block"]["branch"] = json!(vec!["00".repeat(32); 33])),
            "a block merkle branch of 33 hashes, above the limit of 32",
            "malformed",
        ),
    );
    out.write(
        "bad-unknown-field",
        neg(
            edit(&|p| p["record"]["name"] = json!("patient 123")),
            "an unknown field (here one that would leak data) is refused",
            "malformed",
        ),
    );
    out.write(
        "bad-missing-salt",
        neg(
            edit(&|p| {
                p["record"].as_object_mut().unwrap().remove("salt");
            }),
            "a record without its salt",
            "malformed",
        ),
    );
    out.write(
        "bad-tree-size-zero",
        neg(
            edit(&|p| p["batch"]["size"] = json!(0)),
            "a tree of no leaves",
            "bad-tree-size",
        ),
    );
    out.write(
        "bad-tree-size-huge",
        neg(
            edit(&|p| p["batch"]["size"] = json!(1u64 << 40)),
            "a tree larger than 2^32 leaves",
            "bad-tree-size",
        ),
    );
    out.write(
        "bad-negative-index",
        neg(
            edit(&|p| p["batch"]["index"] = json!(-1)),
            "a negative leaf index",
            "malformed",
        ),
    );
    let mut tx_w = tx5.clone();
    tx_w.input[0].witness.push([1u8; 72]);
    out.write(
        "bad-tx-with-witness",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(tx_hex(&tx_w))),
            "the transaction carries witness data; the format holds it stripped",
            "tx-not-canonical",
        ),
    );
    out.write(
        "bad-tx-trailing-bytes",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(format!("{}00", tx_hex(&tx5)))),
            "a byte after the end of the transaction",
            "tx-not-canonical",
        ),
    );
    out.write(
        "bad-tx-garbage",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!("0200000001")),
            "a transaction cut short",
            "bad-tx",
        ),
    );
    out.write(
        "bad-header-length",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["header"] =
                    json!(&p["anchor"]["block"]["header"].as_str().unwrap()[..158])
            }),
            "a header of 79 bytes",
            "bad-hex",
        ),
    );
    out.write(
        "bad-anchor-without-batch",
        neg(
            edit(&|p| {
                p.as_object_mut().unwrap().remove("batch");
            }),
            "an anchor with no batch to anchor",
            "anchor-without-batch",
        ),
    );
    let d0 = RecordDigest::of_bytes(doc(0).as_bytes()).to_hex();
    let escaped = good_text.replacen(
        &format!("\"digest\": \"{d0}"),
        &format!("\"digest\": \"\\u{:04x}{}", d0.as_bytes()[0], &d0[1..]),
        1,
    );
    assert_ne!(escaped, good_text);
    out.write(
        "bad-escaped-hex",
        neg_text(
            escaped,
            "a hex field written with a JSON escape is not canonical",
            "malformed",
        ),
    );

    // One spelling per proof, in plain words (§3): no byte-order mark, one
    // object, integers without fraction, no JSON escape anywhere, absent
    // parts left out rather than null.
    out.write(
        "bad-version-float",
        neg(
            edit(&|p| p["version"] = json!(1.0)),
            "the version must be an integer, not 1.0",
            "not-a-proof",
        ),
    );
    out.write(
        "bad-version-null",
        neg(
            edit(&|p| p["version"] = Value::Null),
            "a null version is no version",
            "not-a-proof",
        ),
    );
    out.write(
        "bad-height-float",
        neg(
            edit(&|p| p["anchor"]["block"]["height"] = json!(1.0)),
            "a block height written with a fraction",
            "malformed",
        ),
    );
    out.write(
        "bad-top-level-null",
        neg_text(
            "null\n".into(),
            "a file holding JSON null instead of an object",
            "malformed",
        ),
    );
    out.write(
        "bad-top-level-list",
        neg_text(
            format!("[{good_text}]"),
            "the proof wrapped in a JSON list",
            "malformed",
        ),
    );
    out.write(
        "bad-byte-order-mark",
        neg_text(
            format!("\u{feff}{good_text}"),
            "a proof preceded by a UTF-8 byte-order mark",
            "malformed",
        ),
    );
    let escaped_network = good_text.replacen("\"regtest\"", "\"\\u0072egtest\"", 1);
    assert_ne!(escaped_network, good_text);
    out.write(
        "bad-escaped-network",
        neg_text(
            escaped_network,
            "a network name written with a JSON escape",
            "malformed",
        ),
    );
    let escaped_slash = good_text.replacen("\"sha256\"", "\"sha256\\/\"", 1);
    assert_ne!(escaped_slash, good_text);
    out.write(
        "bad-escaped-slash",
        neg_text(
            escaped_slash,
            "a string with an escaped slash, which decodes to another value",
            "malformed",
        ),
    );
    let escaped_name = good_text.replacen("\"salt\"", "\"\\u0073alt\"", 1);
    assert_ne!(escaped_name, good_text);
    out.write(
        "bad-escaped-member-name",
        neg_text(
            escaped_name,
            "a member name written with a JSON escape, the proof otherwise valid",
            "malformed",
        ),
    );
    out.write(
        "bad-null-block",
        neg(
            edit(&|p| p["anchor"]["block"] = Value::Null),
            "an unconfirmed proof must leave the block out, not set it to null",
            "malformed",
        ),
    );
    out.write(
        "bad-null-anchor",
        neg(
            edit(&|p| p["anchor"] = Value::Null),
            "a batched proof must leave the anchor out, not set it to null",
            "malformed",
        ),
    );
    out.write(
        "bad-null-batch",
        neg(
            edit(&|p| {
                p.as_object_mut().unwrap().remove("anchor");
                p["batch"] = Value::Null;
            }),
            "a queued proof must leave the batch out, not set it to null",
            "malformed",
        ),
    );

    // ---------------- invalid: verification ----------------
    out.write("bad-other-document", json!({"network": "regtest", "document_text": "record 0 (amended)", "proof": good.clone(),
        "description": "a valid proof presented with an altered document", "expect": "digest-mismatch"}));
    out.write("bad-wrong-network", json!({"network": "bitcoin", "document_text": doc(0), "proof": good.clone(),
        "description": "a regtest proof presented where a mainnet proof is required", "expect": "wrong-network"}));
    out.write("bad-signet-as-regtest", json!({"network": "regtest", "document_text": doc(3), "proof": pj(&vs),
        "description": "a signet proof presented where a regtest proof is required", "expect": "wrong-network"}));
    out.write(
        "bad-salt-changed",
        neg(
            edit(&|p| {
                p["record"]["salt"] = json!(flip_hex_char(p["record"]["salt"].as_str().unwrap(), 0))
            }),
            "the salt changed: the leaf no longer leads to the root",
            "root-mismatch",
        ),
    );
    out.write(
        "bad-path-hash-flipped",
        neg(
            edit(&|p| {
                p["batch"]["path"][1] =
                    json!(flip_hex_char(p["batch"]["path"][1].as_str().unwrap(), 63))
            }),
            "one bit of an inclusion path hash changed",
            "root-mismatch",
        ),
    );
    out.write(
        "bad-path-short",
        neg(
            edit(&|p| {
                p["batch"]["path"].as_array_mut().unwrap().pop();
            }),
            "an inclusion path missing its last hash",
            "path-length",
        ),
    );
    out.write(
        "bad-path-extra",
        neg(
            edit(&|p| {
                p["batch"]["path"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("11".repeat(32)));
            }),
            "an inclusion path with an extra hash",
            "path-length",
        ),
    );
    out.write(
        "bad-index-out-of-range",
        neg(
            edit(&|p| p["batch"]["index"] = json!(5)),
            "leaf index 5 in a tree of 5",
            "index-out-of-range",
        ),
    );
    out.write(
        "bad-index-changed",
        neg(
            edit(&|p| p["batch"]["index"] = json!(1)),
            "the leaf index changed: the path is hashed in the wrong order",
            "root-mismatch",
        ),
    );
    let mut v5_4_resized = pj(&v5_4);
    v5_4_resized["batch"]["size"] = json!(6);
    out.write("bad-size-changed", json!({"network": "regtest", "document_text": doc(4), "proof": v5_4_resized,
        "description": "the tree size of the last record's proof changed from 5 to 6: the path no longer fits", "expect": "path-length"}));
    out.write(
        "bad-root-changed",
        neg(
            edit(&|p| {
                p["batch"]["root"] = json!(flip_hex_char(p["batch"]["root"].as_str().unwrap(), 10))
            }),
            "the batch root changed",
            "root-mismatch",
        ),
    );
    out.write(
        "bad-output-is-change",
        neg(
            edit(&|p| p["anchor"]["output"] = json!(1)),
            "the output named is the change output, not the commitment",
            "no-commitment",
        ),
    );
    out.write(
        "bad-output-out-of-range",
        neg(
            edit(&|p| p["anchor"]["output"] = json!(2)),
            "output 2 of a transaction with 2 outputs",
            "output-out-of-range",
        ),
    );
    let mut tx_pd1 = tx5.clone();
    tx_pd1.output[0].script_pubkey = btc_anchor::bitcoin::ScriptBuf::from_bytes(
        [&[0x6a, 0x4c, 0x20][..], &b5.tree.root().0].concat(),
    );
    out.write(
        "bad-commitment-pushdata1",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(tx_hex(&tx_pd1))),
            "the root pushed with OP_PUSHDATA1: not the one canonical form",
            "no-commitment",
        ),
    );
    let mut tx_33 = tx5.clone();
    tx_33.output[0].script_pubkey = btc_anchor::bitcoin::ScriptBuf::from_bytes(
        [&[0x6a, 0x21][..], &b5.tree.root().0, &[0]].concat(),
    );
    out.write(
        "bad-commitment-33-bytes",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(tx_hex(&tx_33))),
            "a 33-byte push holding the root and one more byte",
            "no-commitment",
        ),
    );
    let mut tx_trail = tx5.clone();
    tx_trail.output[0].script_pubkey = btc_anchor::bitcoin::ScriptBuf::from_bytes(
        [&[0x6a, 0x20][..], &b5.tree.root().0, &[0x51]].concat(),
    );
    out.write(
        "bad-commitment-trailing-opcode",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(tx_hex(&tx_trail))),
            "an opcode after the 32-byte push",
            "no-commitment",
        ),
    );
    out.write(
        "bad-commitment-other-root",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(tx_hex(&tx1))),
            "a transaction committing to another batch's root",
            "wrong-commitment",
        ),
    );
    let mut tx_val = tx5.clone();
    tx_val.output[1].value =
        btc_anchor::bitcoin::Amount::from_sat(tx_val.output[1].value.to_sat() + 1);
    out.write(
        "bad-tx-changed",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(tx_hex(&tx_val))),
            "one satoshi more in the change output: another txid, not in the block",
            "merkle-root-mismatch",
        ),
    );
    let tx64 = spend(
        64,
        vec![TxOut {
            value: btc_anchor::bitcoin::Amount::from_sat(1),
            script_pubkey: btc_anchor::bitcoin::ScriptBuf::from_bytes(vec![0x51, 0x51, 0x51, 0x51]),
        }],
    );
    assert_eq!(consensus::serialize(&tx64).len(), 64);
    out.write(
        "bad-tx-64-bytes",
        neg(
            edit(&|p| p["anchor"]["tx"] = json!(tx_hex(&tx64))),
            "a 64-byte transaction could be an inner merkle node passed off as a transaction",
            "tx-64-bytes",
        ),
    );
    out.write(
        "bad-branch-flipped",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["branch"][0] = json!(flip_hex_char(
                    p["anchor"]["block"]["branch"][0].as_str().unwrap(),
                    5
                ))
            }),
            "one hash of the block merkle branch changed",
            "merkle-root-mismatch",
        ),
    );
    out.write(
        "bad-branch-short",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["branch"].as_array_mut().unwrap().pop();
            }),
            "a block merkle branch missing its last hash: it leads to another root",
            "merkle-root-mismatch",
        ),
    );
    out.write(
        "bad-tx-index-changed",
        neg(
            edit(&|p| p["anchor"]["block"]["tx_index"] = json!(2)),
            "the transaction's position changed from 3 to 2",
            "merkle-root-mismatch",
        ),
    );
    out.write(
        "bad-tx-index-out-of-range",
        neg(
            edit(&|p| p["anchor"]["block"]["tx_index"] = json!(8)),
            "position 8 with a branch of 3 hashes",
            "position-out-of-range",
        ),
    );
    let txid5 = btc_anchor::chain::sha256d(&consensus::serialize(&tx5));
    out.write(
        "bad-duplicate-sibling",
        neg(
            edit(&|p| p["anchor"]["block"]["branch"][0] = json!(hex::encode(txid5))),
            "the transaction (a right node) paired with a copy of itself, as in CVE-2012-2459",
            "duplicate-sibling",
        ),
    );
    // A step whose 64 bytes parse as a transaction: grind the anchoring
    // transaction until byte 4 of its txid reads as "one input", and craft
    // the sibling to complete a 64-byte transaction.
    let (tx_amb, sibling) = {
        let mut seed = 100_000;
        loop {
            let t = anchor_tx(&b5.tree.root().0, seed);
            let id = btc_anchor::chain::sha256d(&consensus::serialize(&t));
            if id[4] == 0x01 {
                let mut s = [0u8; 32];
                // prevout rest (9 bytes), script len 0, sequence, one output,
                // value, script len 4, script, locktime.
                s[9] = 0;
                s[10..14].copy_from_slice(&[0xff; 4]);
                s[14] = 1;
                s[15..23].copy_from_slice(&1000u64.to_le_bytes());
                s[23] = 4;
                s[24..28].copy_from_slice(&[0x51; 4]);
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(&id);
                buf[32..].copy_from_slice(&s);
                assert!(consensus::deserialize::<Transaction>(&buf).is_ok());
                break (t, s);
            }
            seed += 1;
        }
    };
    out.write("bad-ambiguous-branch-node", neg(edit(&|p| {
        p["anchor"]["tx"] = json!(tx_hex(&tx_amb));
        p["anchor"]["block"]["tx_index"] = json!(2);
        p["anchor"]["block"]["branch"][0] = json!(hex::encode(sibling));
    }), "the first branch step hashes 64 bytes that also parse as a transaction: an SPV proof must not allow that", "ambiguous-node"));
    out.write(
        "bad-header-from-other-block",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["header"] =
                    json!(hex::encode(consensus::serialize(&a.headers[8])))
            }),
            "the header of another block, valid in itself",
            "merkle-root-mismatch",
        ),
    );
    let mut h_bad = a.headers[1];
    while btc_anchor::bitcoin::Target::from_compact(h_bad.bits)
        .is_met_by(btc_anchor::chain::header_hash(&h_bad))
    {
        h_bad.nonce = h_bad.nonce.wrapping_add(1);
    }
    out.write(
        "bad-pow",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["header"] = json!(hex::encode(consensus::serialize(&h_bad)))
            }),
            "the header's nonce changed so that its hash misses its target",
            "bad-pow",
        ),
    );
    let mut h_neg = a.headers[1];
    h_neg.bits = btc_anchor::bitcoin::CompactTarget::from_consensus(0x2080_ffff);
    out.write(
        "bad-bits-negative",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["header"] = json!(hex::encode(consensus::serialize(&h_neg)))
            }),
            "nBits with the sign bit set: a negative target",
            "bad-bits",
        ),
    );
    let mut h_zero = a.headers[1];
    h_zero.bits = btc_anchor::bitcoin::CompactTarget::from_consensus(0);
    out.write(
        "bad-bits-zero",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["header"] = json!(hex::encode(consensus::serialize(&h_zero)))
            }),
            "nBits of zero: a target no hash can meet",
            "bad-bits",
        ),
    );
    // A signet block re-mined at the regtest limit: easy work on a network
    // that does not allow it.
    let mut vs_easy = vs.clone();
    {
        let blk = vs_easy.anchor.as_mut().unwrap().block.as_mut().unwrap();
        blk.header.bits = easiest_bits(Network::Regtest);
        mine_header(&mut blk.header);
        blk.headers_after.clear();
    }
    out.write("bad-target-above-limit", json!({"network": "signet", "document_text": doc(3), "proof": pj(&vs_easy),
        "description": "a signet header whose target is easier than signet allows (mined at the regtest limit)", "expect": "target-above-limit"}));
    out.write(
        "bad-headers-after-gap",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["headers_after"]
                    .as_array_mut()
                    .unwrap()
                    .remove(2);
            }),
            "a following header missing: the next one does not link",
            "not-linked",
        ),
    );
    out.write(
        "bad-headers-after-foreign",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["headers_after"][0] =
                    json!(hex::encode(consensus::serialize(&b.headers[2])))
            }),
            "a following header from another chain",
            "not-linked",
        ),
    );
    let mut h_after_bad = a.headers[4];
    while btc_anchor::bitcoin::Target::from_compact(h_after_bad.bits)
        .is_met_by(btc_anchor::chain::header_hash(&h_after_bad))
    {
        h_after_bad.nonce = h_after_bad.nonce.wrapping_add(1);
    }
    out.write(
        "bad-headers-after-pow",
        neg(
            edit(&|p| {
                p["anchor"]["block"]["headers_after"][2] =
                    json!(hex::encode(consensus::serialize(&h_after_bad)))
            }),
            "a following header whose hash misses its target",
            "bad-pow",
        ),
    );
    out.write(
        "bad-not-in-chain",
        with(
            neg(
                good.clone(),
                "the anchoring block is not in the headers file's chain (a competing fork)",
                "not-in-chain",
            ),
            json!({"headers_file": "headers/regtest-b.bin"}),
        ),
    );
    out.write(
        "bad-headers-file-short",
        with(
            neg(
                good.clone(),
                "the headers file ends before the anchoring block",
                "source-too-short",
            ),
            json!({"headers_file": "headers/regtest-genesis-only.bin"}),
        ),
    );
    out.write(
        "bad-headers-file-unlinked",
        with(
            neg(
                good.clone(),
                "the headers file has a header that does not link to the one before",
                "header-source",
            ),
            json!({"headers_file": "headers/regtest-unlinked.bin"}),
        ),
    );
    out.write(
        "bad-headers-file-retarget",
        with(
            neg(
                good.clone(),
                "the headers file has a header with another target than the chain's rules give (regtest never retargets), though it links and meets its own work",
                "header-source",
            ),
            json!({"headers_file": "headers/regtest-retarget.bin"}),
        ),
    );
    out.write(
        "bad-headers-file-truncated",
        with(
            neg(
                good.clone(),
                "the headers file is not a whole number of headers",
                "header-source",
            ),
            json!({"headers_file": "headers/regtest-truncated.bin"}),
        ),
    );
    out.write(
        "bad-headers-file-other-network",
        with(
            neg(
                good.clone(),
                "a mainnet headers file used for a regtest proof",
                "header-source",
            ),
            json!({"headers_file": "headers/bitcoin-genesis-only.bin"}),
        ),
    );
    out.write("bad-pending-other-document", json!({"network": "regtest", "document_text": "record 2", "proof": pj(&b5.queued(rt, 1)),
        "description": "a queued proof presented with another document", "expect": "digest-mismatch"}));
    out.write(
        "bad-broadcast-wrong-commitment",
        neg(
            pj(&{
                let mut p = b5.proof(rt, 0, Some(&tx1), None);
                p.network = rt;
                p
            }),
            "a broadcast proof whose transaction commits to another root",
            "wrong-commitment",
        ),
    );
    out.write(
        "bad-batched-root-mismatch",
        neg(
            edit(&|p| {
                p.as_object_mut().unwrap().remove("anchor");
                p["batch"]["root"] = json!("22".repeat(32));
            }),
            "a batched proof whose path does not lead to its root",
            "root-mismatch",
        ),
    );

    // The README's example: a document and its proof.
    let ex_docs = [
        "Discharge summary, example clinic, record 1\n",
        "Lab report, example clinic, record 2\n",
        "Referral letter, example clinic, record 3\n",
    ];
    let digests: Vec<_> = ex_docs
        .iter()
        .map(|d| RecordDigest::of_bytes(d.as_bytes()))
        .collect();
    let bex = Batch::new(&digests, 2026);
    let txex = anchor_tx(&bex.tree.root().0, 2026);
    let mut c = a.clone();
    let pex = c.place(txex.clone(), 1, 3);
    c.mine_empty(5);
    fs::write(root.join("example/record.txt"), ex_docs[1]).unwrap();
    fs::write(
        root.join("example/record.txt.anchor.json"),
        bex.proof(rt, 1, Some(&txex), Some((&pex, &c, 5))).to_json(),
    )
    .unwrap();
    fs::write(root.join("example/headers.bin"), c.headers_file_bytes()).unwrap();

    forged_vectors(&mut out);
    println!("wrote {} vectors", out.written.len());
}

/// One forgery mined by `fixtures/forge` (see its `src/main.rs`): a
/// made-up transaction in a made-up two-transaction block, under headers
/// mined at mainnet's easiest target.
struct Forgery {
    height: u32,
    document_text: String,
    proof: Value,
}

fn forgeries() -> Vec<(String, Forgery)> {
    let mined: Value =
        serde_json::from_slice(&fs::read(fixtures_dir().join("forge/mined.json")).unwrap())
            .unwrap();
    let mut out = Vec::new();
    for f in mined["forgeries"].as_array().unwrap() {
        let text = f["document_text"].as_str().unwrap().to_owned();
        let salt = f["salt"].as_str().unwrap();
        let digest = RecordDigest::of_bytes(text.as_bytes());
        let salt_bytes = Salt::from_bytes(&hex::decode(salt).unwrap()).unwrap();
        let leaf = btc_anchor::merkle::record_leaf(&salt_bytes, &digest);
        let coinbase: Transaction =
            consensus::deserialize(&hex::decode(f["coinbase"].as_str().unwrap()).unwrap()).unwrap();
        let height = f["height"].as_u64().unwrap() as u32;
        let proof = json!({
            "format": "btc-anchor-proof", "version": 1, "network": "bitcoin", "hash": "sha256",
            "record": {"digest": digest.to_hex(), "salt": salt},
            "batch": {"size": 1, "index": 0, "path": [], "root": leaf.to_hex()},
            "anchor": {
                "tx": f["tx"], "output": 0,
                "block": {
                    "height": height, "header": f["header"], "tx_index": 1,
                    "branch": [hex::encode(coinbase.compute_txid().to_byte_array())],
                    "headers_after": f["headers_after"],
                }
            }
        });
        out.push((
            f["name"].as_str().unwrap().to_owned(),
            Forgery {
                height,
                document_text: text,
                proof,
            },
        ));
    }
    out
}

/// The forged mainnet proofs of `docs/proof-format.md` §9: real mined
/// minimum-difficulty headers, none of which may verify as valid.
fn forged_vectors(out: &mut Out) {
    let all = forgeries();
    let get = |name: &str| {
        &all.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("fixtures/forge/mined.json lacks {name}"))
            .1
    };
    let vector = |f: &Forgery, height: u32, description: &str, expect: &str| {
        let mut proof = f.proof.clone();
        proof["anchor"]["block"]["height"] = json!(height);
        json!({"network": "bitcoin", "document_text": f.document_text, "proof": proof,
               "description": description, "expect": expect})
    };
    let f900 = get("height-900000");
    out.write("forged-mainnet-height-900000", vector(f900, f900.height,
        "a forged mainnet proof: made-up transaction and block, one header mined at difficulty 1, claimed at height 900,000 (whose epoch's real target is some 10^14 times harder)",
        "wrong-epoch-target"));
    // The issue's own attack: the same mined header, claimed elsewhere.
    out.write("forged-mainnet-backdated-100000", vector(f900, 100_000,
        "the forged proof backdated to height 100,000 (\"existed no later than 2010-12-29\"): difficulty 1 is not that epoch's target",
        "wrong-epoch-target"));
    out.write(
        "forged-mainnet-edited-height-plus-1000",
        vector(
            f900,
            f900.height + 1000,
            "the forged height-900,000 proof with its height edited by +1000, into the next epoch",
            "wrong-epoch-target",
        ),
    );
    out.write("forged-mainnet-edited-height-0", vector(f900, 0,
        "the forged proof with its height edited to 0: the only block at height 0 is the genesis block",
        "checkpoint-mismatch"));
    out.write("forged-mainnet-at-checkpoint-height", vector(f900, 2_015,
        "the forged proof claimed at height 2,015, the last block of epoch 0, whose real hash is built in",
        "checkpoint-mismatch"));
    let mut v = vector(f900, 1_000,
        "the forged proof claimed in epoch 0, whose real target is difficulty 1: it meets the epoch rule, but one header is no evidence (about 2^32 hashes to forge)",
        "inconclusive");
    v["shortfall"] = json!("few-headers");
    out.write("forged-mainnet-epoch0-one-header", v);
    let mut v = vector(f900, 1_300_000,
        "the forged proof claimed at height 1,300,000, far past the built-in checkpoints, where the retarget bound allows difficulty 1: inconclusive, never valid",
        "inconclusive");
    v["shortfall"] = json!("few-headers");
    out.write("forged-mainnet-beyond-checkpoints", v);
    let f0 = get("epoch0-6-after");
    let mut v = vector(f0, f0.height,
        "a forged proof in epoch 0 with 6 mined headers after the block, each at the epoch's real target (difficulty 1): enough headers, but about 2^35 hashes of work, far below the 2^80 threshold",
        "inconclusive");
    v["shortfall"] = json!("little-work");
    out.write("forged-mainnet-epoch0-six-after", v);
    out.write("forged-mainnet-six-after-across-checkpoint", vector(f0, 2_010,
        "the six-after forgery moved to height 2,010, so that its headers pass height 2,015, whose real hash is built in: the forged header there is not it",
        "checkpoint-mismatch"));
    out.write("forged-mainnet-six-after-backdated-100000", vector(f0, 100_000,
        "the six-after forgery moved to height 100,000, whose epoch's real target is some 14,000 times harder",
        "wrong-epoch-target"));
    out.write("forged-mainnet-one-epoch-past-checkpoints", vector(f900, 953_568 + 2016,
        "the forged proof claimed one epoch past the built-in checkpoints, where the target may be at most 4 times easier than the last known one",
        "target-too-easy"));
}

#[test]
fn generator_is_deterministic() {
    // The same chain is mined every time, which keeps the fixtures
    // reproducible and reviewable.
    let (_, chain1, p1) = complete(5, 2, 3, 7, 2);
    let (_, chain2, p2) = complete(5, 2, 3, 7, 2);
    assert_eq!(p1, p2);
    assert_eq!(chain1.headers, chain2.headers);
}
