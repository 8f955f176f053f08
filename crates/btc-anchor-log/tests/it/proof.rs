//! Offline single-event proofs: written from a tile store, parsed back
//! byte-exact, verified, and refused when anything is off.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use btc_anchor_log::checkpoint::Checkpoint;
use btc_anchor_log::entry::Entry;
use btc_anchor_log::proof::{Opening, TlogProof};
use btc_anchor_log::store::TileStore;

use crate::{event, log_signer, other_signer, outcome, salt, ORIGIN};

/// A log of `n` chained events in `dir`; returns the openings and the
/// proof of event `index` at size `n`.
pub fn log_with_proof(dir: &std::path::Path, n: u64, index: u64) -> (Vec<Opening>, TlogProof) {
    let mut openings: Vec<Opening> = Vec::new();
    for i in 0..n {
        let prev = openings
            .iter()
            .rev()
            .find(|o| o.event.record == event(i, None).record)
            .map(|o| o.entry());
        openings.push(Opening::new(event(i, prev), salt(&format!("entry salt {i}"))).unwrap());
    }
    let entries: Vec<Entry> = openings.iter().map(Opening::entry).collect();
    let store = TileStore::new(dir);
    store.write(&entries, 0).unwrap();
    let mut r = store.reader(n).unwrap();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: n,
        root: r.root().unwrap(),
        extensions: vec![],
    };
    let proof = TlogProof {
        extra: Some(openings[index as usize].to_bytes()),
        index,
        path: r.inclusion_proof(index).unwrap(),
        checkpoint: cp.sign(&[&log_signer(), &other_signer()]).unwrap(),
    };
    (openings, proof)
}

#[test]
fn proofs_round_trip_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (openings, proof) = log_with_proof(dir.path(), 37, 20);
    let text = proof.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    let parsed = TlogProof::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, proof);
    assert_eq!(parsed.to_text(), text);
    let (ev, cp) = parsed
        .verify_event(ORIGIN, &log_signer().verifier())
        .unwrap();
    assert_eq!(ev, openings[20].event);
    assert_eq!(cp.size, 37);
    parsed
        .verify(&openings[20].entry(), ORIGIN, &log_signer().verifier())
        .unwrap();
    // The previous event of the same record is a few entries back.
    assert_eq!(ev.prev, Some(openings[17].entry()));
    // Without extra data the proof still proves a known entry.
    let bare = TlogProof {
        extra: None,
        ..parsed.clone()
    };
    let bare = TlogProof::parse(bare.to_text().as_bytes()).unwrap();
    bare.verify(&openings[20].entry(), ORIGIN, &log_signer().verifier())
        .unwrap();
    assert_eq!(
        outcome(
            &bare
                .verify_event(ORIGIN, &log_signer().verifier())
                .unwrap_err()
        ),
        "no-opening"
    );
}

#[test]
fn wrong_proofs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (openings, proof) = log_with_proof(dir.path(), 37, 20);
    let key = log_signer().verifier();
    let entry = openings[20].entry();
    let v = |p: &TlogProof| outcome(&p.verify(&entry, ORIGIN, &key).unwrap_err());
    // Path one hash short, one too long, a hash changed, another index.
    let mut short = proof.clone();
    short.path.pop();
    assert_eq!(v(&short), "path-length");
    let mut long = proof.clone();
    long.path.push(long.path[0]);
    assert_eq!(v(&long), "path-length");
    let mut changed = proof.clone();
    changed.path[1].0[0] ^= 1;
    assert_eq!(v(&changed), "root-mismatch");
    let other = TlogProof {
        index: 21,
        ..proof.clone()
    };
    assert_eq!(v(&other), "root-mismatch");
    let past = TlogProof {
        index: 37,
        ..proof.clone()
    };
    assert_eq!(v(&past), "index-out-of-range");
    // Another entry, another origin, an unknown key.
    assert_eq!(
        outcome(
            &proof
                .verify(&openings[19].entry(), ORIGIN, &key)
                .unwrap_err()
        ),
        "root-mismatch"
    );
    assert_eq!(
        outcome(&proof.verify(&entry, "x.example/log", &key).unwrap_err()),
        "origin"
    );
    let stranger = btc_anchor_log::note::Verifier::parse(crate::note::SPEC_VKEY).unwrap();
    assert_eq!(
        outcome(&proof.verify(&entry, ORIGIN, &stranger).unwrap_err()),
        "no-known-signature"
    );
    // A forged opening: its entry is not in the log.
    let mut extra = proof.extra.clone().unwrap();
    extra[0] ^= 1;
    let forged = TlogProof {
        extra: Some(extra),
        ..proof.clone()
    };
    assert_eq!(
        outcome(&forged.verify_event(ORIGIN, &key).unwrap_err()),
        "root-mismatch"
    );
}

#[test]
fn malformed_proof_texts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, proof) = log_with_proof(dir.path(), 5, 3);
    let text = proof.to_text();
    let e = |t: &str| outcome(&TlogProof::parse(t.as_bytes()).unwrap_err());
    assert_eq!(e(&text.replacen("@v1", "@v2", 1)), "header");
    assert_eq!(e(&text.replacen("index 3", "index 03", 1)), "bad-index");
    assert_eq!(e(&text.replacen("index 3", "index  3", 1)), "bad-index");
    assert_eq!(e(&text.replacen("index 3", "idx 3", 1)), "bad-index");
    assert_eq!(e(&text.replacen("extra ", "extra !", 1)), "bad-extra");
    let first_hash = BASE64.encode(proof.path[0].as_bytes());
    assert_eq!(
        e(&text.replacen(&first_hash, &first_hash[..40], 1)),
        "bad-hash"
    );
    // A blank line inside the path: the rest is read as the checkpoint,
    // whose signature then does not verify.
    let split = TlogProof::parse(
        text.replacen(&format!("{first_hash}\n"), &format!("{first_hash}\n\n"), 1)
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        outcome(
            &split
                .verify_event(ORIGIN, &log_signer().verifier())
                .unwrap_err()
        ),
        "bad-signature"
    );
    assert_eq!(e(&text.replacen("\n\n", "\n", 1)), "bad-hash");
    assert_eq!(e(text.split("\n\n").next().unwrap()), "no-checkpoint");
    let many = format!("{first_hash}\n").repeat(33);
    assert_eq!(
        e(&text.replacen(&format!("{first_hash}\n"), &many, 1)),
        "path-too-long"
    );
    assert_eq!(e(&format!("{text}\n")), "no-signatures");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
                           width in 0u16..=300) {
        let _ = TlogProof::parse(&bytes);
        let _ = Opening::from_bytes(&bytes);
        let _ = btc_anchor_log::event::Event::from_canonical_json(&bytes);
        let _ = btc_anchor_log::tile::decode_bundle(&bytes, width);
        let _ = btc_anchor_log::tile::decode_tile(&bytes, width);
    }

    #[test]
    fn mutated_proofs_never_verify(at in proptest::prelude::any::<proptest::sample::Index>(), bit in 0u8..8) {
        let dir = tempfile::tempdir().unwrap();
        let (_, proof) = log_with_proof(dir.path(), 9, 4);
        let mut bytes = proof.to_text().into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(p) = TlogProof::parse(&bytes) {
            // Only the unsigned witness signature may change unnoticed.
            if p.verify_event(ORIGIN, &log_signer().verifier()).is_ok() {
                let witness_line = proof.to_text().rfind("\u{2014} witness").unwrap();
                proptest::prop_assert!(i >= witness_line, "byte {} changed and the proof still verifies", i);
            }
        }
    }
}
